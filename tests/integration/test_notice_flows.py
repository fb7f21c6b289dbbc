"""The campaign-tick flow on the notices of issue 25: a stage waiting for another's units is opened by the flow
from the record, and the outcomes a notice names are decided by it (a real, temporary Prefect server)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from duban.instants import fmt
from duban.services.outcomes import recorded_outcomes
from duban.services.submit import record_submission
from duban.settings import get_settings
from duban.store.db import engine_for
from duban.store.tables import Assignment
from tests.conftest import ROOT
from tests.integration.helpers import at

pytestmark = pytest.mark.prefect
SPECS = ROOT / "tests" / "specs"


def test_the_tick_flow_opens_a_stage_from_the_record_and_decides_outcomes(prefect_harness, tmp_path):
    from flows.campaign_tick import campaign_tick

    order = str(SPECS / "jinzhong-2024-stage-order.yaml")
    campaign_tick(spec=order, as_of=at("2024-06-03 09:00"))
    engine = engine_for(get_settings().resolved_database_url)
    for unit in ("140724", "140725"):
        record_submission(
            engine, "jinzhong-2024-stage-order", unit, "county_report", at("2024-06-12 15:00"), files_dir=tmp_path
        )
    summary = campaign_tick(spec=order, as_of=at("2024-06-13 08:30"))
    city = next(s for s in summary["stages"] if s["stage"] == "city_check")
    assert city["events"] == {"opened": 2}  # 80% reached 6/12 15:00, one working day later
    with engine.connect() as conn:
        due = conn.execute(select(Assignment.due_at).where(Assignment.item_id == "city_binder")).scalars().first()
    assert fmt(due, "Asia/Shanghai") == "2024-06-18 周二 24:00"

    outcomes = str(SPECS / "xiyang-2024-outcomes.yaml")
    campaign_tick(spec=outcomes, as_of=at("2024-05-13 08:30"))
    campaign_tick(spec=outcomes, as_of=at("2024-05-31 09:00"))  # after a gap: overdue, then decided, in one tick
    campaign_tick(spec=outcomes, as_of=at("2024-05-31 09:10"))  # the next tick opens what is owed
    words = {r.words for r in recorded_outcomes(engine, "xiyang-2024-outcomes")}
    assert words == {"逾期3个工作日未报：约谈", "逾期5个工作日未报：重新开展（限10个工作日）"}
    with engine.connect() as conn:
        owed = conn.execute(select(Assignment.state).where(Assignment.item_id == "self_report-o2")).scalars().all()
    assert owed and set(owed) == {"open"}  # owed as an item (重新开展) and opened


def test_a_tick_run_is_named_after_its_campaign_not_its_file(prefect_harness, tmp_path):
    """A bureau keeps the notice as 关于开展统计执法自查的通知.yaml: the Prefect UI shows the campaign's id, as its
    artifacts, events and `duban status` do, with the instant ticked; a file that does not read as a spec keeps
    its own name (the run says why it failed)."""
    from prefect.client.orchestration import get_client

    from flows.campaign_tick import campaign_tick

    notice = tmp_path / "关于开展统计执法自查的通知.yaml"
    notice.write_text((SPECS / "xiyang-2024-outcomes.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "草稿.yaml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")

    async def name_of(state) -> str:
        async with get_client() as client:
            return (await client.read_flow_run(state.state_details.flow_run_id)).name

    import asyncio

    ticked = campaign_tick(spec=str(notice), as_of=at("2024-05-13 08:30"), return_state=True)
    failed = campaign_tick(spec=str(broken), as_of=at("2024-05-13 08:40"), return_state=True)
    assert ticked.is_completed() and failed.is_failed() and "草稿.yaml" in str(failed.message)
    added = [asyncio.run(name_of(state)) for state in (ticked, failed)]
    assert added == ["xiyang-2024-outcomes @ 2024-05-13 周一 08:30", "草稿 @ 2024-05-13 周一 08:40"]
