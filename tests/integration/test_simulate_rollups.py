"""`duban simulate` feeds roll-ups as the real tick does: an automatic 汇总 is handed in when the units below are
in, a forward's 汇总 is recorded on the upper campaign, and the preview agrees with the tick's own path
(the tasks the `campaign-tick` flow runs, in its order, and the real dispatcher), seed for seed."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import orjson
import pytest
from sqlalchemy import func, select

from duban.instants import fmt
from duban.settings import get_settings
from duban.simulation.preview import rollup_events, simulate_spec
from duban.simulation.simulate import feeds_rollups, run_clock
from duban.simulation.synthetic import Behaviour, synthetic_submissions
from duban.store.db import engine_for
from duban.store.tables import Assignment, OutboxMessage
from tests.conftest import SPECS
from tests.integration.helpers import at

TZ = "Asia/Shanghai"
SEED = 8  # every 乡镇 of 昔阳 hands in by 6/25; the county's automatic 汇总 goes in on time and up to the city
START, END = "2024-05-25 00:00", "2024-07-05 23:59"


@pytest.fixture
def auto_xiyang(tmp_path):
    """昔阳's re-issue with an automatic roll-up, beside the city's spec it forwards (as in campaign_specs/)."""
    (tmp_path / "units").mkdir()
    for name in ("units/xiyang.yaml", "units/jinzhong.yaml", "jinzhong-2024-lookback.yaml"):
        (tmp_path / name).write_text((SPECS / name).read_text(encoding="utf-8"), encoding="utf-8")
    spec = tmp_path / "xiyang-auto.yaml"
    spec.write_text(
        (SPECS / "xiyang-2024-lookback.yaml")
        .read_text(encoding="utf-8")
        .replace("      from: township_materials ", "      auto: true\n      from: township_materials "),
        encoding="utf-8",
    )
    return spec


def _local(iso: str) -> str:
    return fmt(datetime.fromisoformat(iso), TZ)


def test_the_preview_shows_the_automatic_rollup_and_its_forward_to_the_city(auto_xiyang):
    preview = simulate_spec(auto_xiyang, seed=SEED, start=at(START), end=at(END))
    [auto, up] = preview.handed_in
    assert (fmt(auto.at, TZ), auto.unit, auto.forwarded, auto.late) == (
        "2024-06-25 周二 13:10",
        "昔阳县统计局",
        False,
        False,
    )
    assert auto.item.startswith("全县抽查县、乡统计机构评分表")
    assert (up.campaign_id, up.forwarded, up.late, up.at) == ("jinzhong-2024-lookback", True, False, auto.at)
    county = [
        (_local(m.at), m.kind, [i["item_id"] for i in orjson.loads(m.payload_json)["items"]])
        for m in preview.messages
        if m.recipient == "140724"
    ]
    # the county hears its roll-up was received in the day's 18:00 batch, and is not reminded of it the next day
    assert ("2024-06-25 周二 18:00", "receipt", ["materials_rollup"]) in county
    assert not [c for c in county if c[0] > "2024-06-25" and c[1] == "reminder"]
    [status] = preview.rollups
    assert (len(status.finished), len(status.feeders), status.state.value) == (11, 11, "submitted")
    assert preview.never == preview.assignments - preview.planned_submissions - 1  # duban handed one in


def test_the_preview_agrees_with_the_ticks_own_path(auto_xiyang):
    """As the flow: plan, tick every stage, feed the roll-ups, compose; the real dispatcher sends to the sink."""
    from flows.dispatch_outbox import send_ready
    from tasks.rollups import feed_rollups_task
    from tasks.stages import compose_task, ensure_campaign, tick_stage_task

    preview = simulate_spec(auto_xiyang, seed=SEED, start=at(START), end=at(END), quiet=get_settings().quiet())
    settings = get_settings()
    engine = engine_for(settings.resolved_database_url)
    upper = ensure_campaign.fn(
        str(auto_xiyang.parent / "jinzhong-2024-lookback.yaml"), at(START)
    )  # the city's, ticking beside it
    lower = ensure_campaign.fn(str(auto_xiyang), at(START))
    stages = ["county_check", "materials"]
    ticked: list[dict] = []

    def tick(moment):
        for stage in stages:
            tick_stage_task.fn(lower, stage, moment)
        ticked.append(feed_rollups_task.fn(lower, moment))
        compose_task.fn(lower, moment)

    run_clock(
        engine,
        lower,
        stages,
        TZ,
        start=at(START),
        end=at(END),
        submissions=synthetic_submissions(engine, lower, TZ, Behaviour(), SEED),
        tick=tick,
        dispatch=lambda moment: send_ready.fn(moment, lower, live=False),
        quiet=settings.quiet(),
        with_rollups=feeds_rollups(engine, lower),
    )

    with engine.connect() as conn:
        sent = conn.execute(
            select(OutboxMessage.recipient, OutboxMessage.kind, OutboxMessage.not_before).where(
                OutboxMessage.campaign_id == lower, OutboxMessage.status == "sent"
            )
        ).all()
        states = Counter(
            dict(
                conn.execute(
                    select(Assignment.campaign_id, func.count())
                    .where(Assignment.state == "submitted")
                    .group_by(Assignment.campaign_id)
                ).all()
            )
        )
    assert Counter((r.recipient, r.kind) for r in sent) == Counter((m.recipient, m.kind) for m in preview.messages)
    assert len(sent) == len(preview.messages) > 50
    assert rollup_events(engine, lower) == preview.handed_in
    assert sum(t["submitted"] for t in ticked) == 1 and sum(t["fed_up"] for t in ticked) == 1
    assert states[upper] == 1  # 昔阳县's 材料上报 on the city's campaign, and nothing else there
    sink = (settings.sink_dir / "messages.txt").read_text(encoding="utf-8")
    assert sink.count("────") == len(sent)
    assert "全县抽查县、乡统计机构评分表、调查问卷和总结报告" in sink


def test_the_hengyang_preview_adds_up_the_counties_counts_for_the_city():
    """衡阳's roll-ups are not automatic: the preview shows where they stand, with the counts the counties sent."""
    preview = simulate_spec(SPECS / "hengyang-2021-law-month.yaml", seed=3)
    assert preview.handed_in == []  # the city hands in its own report to the province
    tally = next(s for s in preview.rollups if s.rollup.id == "county_counts")
    assert tally.unit_code == "430400" and len(tally.feeders) == 12 and 0 < len(tally.finished) <= 12
    quiz = [f.metrics["quiz_participants"] for f in tally.finished]
    assert all(isinstance(q, int) and 0 <= q <= 500 for q in quiz) and tally.sums["quiz_participants"] == sum(quiz) > 0
    essays = next(s for s in preview.rollups if s.rollup.id == "articles_up")
    assert essays.state is not None  # the city's own item, handed in (or not) by a synthetic city bureau
