"""`duban demo`: seed 004 (晋中 2024 "回头看") over the real 晋中 units, through the real Prefect flows.

The clock is simulated from 2024-05-10 to 2024-07-02; units behave by a seeded draw (most on time, some
late, some never). Every tick is a `campaign-tick` flow run and every send a `dispatch-outbox` run against
Prefect's embedded server; messages land in the local sink (DUBAN_HOME/sink/messages.txt). The record stays
in the database, so `duban status` can be run on it afterwards.
"""

from __future__ import annotations

import time as _time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from duban.errors import StoreError
from duban.instants import fmt, parse_instant
from duban.services.lifecycle import ensure_planned
from duban.settings import Settings
from duban.simulation.simulate import RunLog, feeds_rollups, run_clock
from duban.simulation.synthetic import Behaviour, synthetic_submissions
from duban.store.db import engine_for
from duban.store.tables import OutboxMessage, SampleDraw
from duban.views.status import StatusReport, status_report

DEMO_SPEC = "jinzhong-2024-lookback.yaml"
DEMO_START = "2024-05-10 00:00"
DEMO_END = "2024-07-02 24:00"  # the end of 2 July, as the summary shows it
DEMO_SEED = 2024


@dataclass
class DemoResult:
    campaign_id: str
    spec_path: Path
    log: RunLog
    sent_by_kind: Counter
    status: StatusReport
    samples: list[SampleDraw]
    sink: Path
    seconds: float
    loop: list[str] = field(default_factory=list)  # the 督办 loop's moments the demo played, in words


class LoopScript:
    """The 督办 loop once each, on the demo's clock: 昔阳县 asks on 6/6 to hand in its 县级实地检查评分表 on 6/14, the
    市局 approves 6/13 the next day; 设管科 reviews each county's 检查材料 the morning after it comes in, returning the
    first with a reason and accepting the others (and the returned one when it comes back)."""

    REQUEST_AT, DECIDE_AT = "2024-06-06 10:00", "2024-06-07 10:00"

    def __init__(self, engine, campaign_id: str, tz: str, settings: Settings) -> None:  # noqa: ANN001
        self.engine, self.campaign_id, self.tz, self.settings = engine, campaign_id, tz, settings
        self.asked: int | None = None
        self.returned = False
        self.done: list[str] = []

    def play(self, at: datetime) -> None:
        from duban.errors import RequestError
        from duban.services.extension import decide_extension, request_extension
        from duban.services.review import record_review, review_queue

        if self.asked is None and at >= parse_instant(self.REQUEST_AT, self.tz):
            try:
                asked = request_extension(self.engine, self.campaign_id, "140724", "county_inspection",
                                          parse_instant("2024-06-14", self.tz, end_of_day=True), at,
                                          reason="端午假期后乡镇实地检查未完成", actor="simulated")  # fmt: skip
                self.asked = asked.id
                self.done.append(f"{fmt(at, self.tz)} 昔阳县统计局申请将县级实地检查评分表延期至6月14日（延期申请#{asked.id}）")
            except RequestError as exc:  # handed in already by the seeded draw
                self.asked = 0
                self.done.append(f"{fmt(at, self.tz)} 昔阳县统计局的延期申请未提出：{exc.cn}")
        if self.asked and at >= parse_instant(self.DECIDE_AT, self.tz):
            decision = decide_extension(self.engine, self.asked, at, approve=True,
                                        until=parse_instant("2024-06-13", self.tz, end_of_day=True),
                                        note="同意延期至6月13日", actor="operator:设管科", quiet=self.settings.quiet())  # fmt: skip
            self.done.append(f"{fmt(at, self.tz)} 市局批准延期至{fmt(decision.new_due, self.tz)}（{decision.new_state.cn}）")
            self.asked = 0
        for row in review_queue(self.engine, self.campaign_id):
            if (at - row.submitted_at).total_seconds() < 12 * 3600:
                continue  # reviewed the morning after it came in
            accept = self.returned or row.version > 1
            result = record_review(self.engine, self.campaign_id, row.unit_code, row.item_id, at, accept_it=accept,
                                   reason=None if accept else "评分表缺少乡镇签章，请补充后重报", reviewer="operator:设管科",
                                   quiet=self.settings.quiet())  # fmt: skip
            if not accept:
                from duban.store.campaigns import load_campaign

                name = load_campaign(self.engine, self.campaign_id, units={row.unit_code}).display(row.unit_code)
                self.returned = True
                self.done.append(f"{fmt(at, self.tz)} 设管科退回{name}的检查材料（{result.reason}），"
                                 f"新的截止时间{fmt(result.new_due, self.tz)}")  # fmt: skip


def find_spec(name: str = DEMO_SPEC) -> Path:
    """The demo spec in ./campaign_specs, or in the source tree this package came from."""
    for folder in (Path.cwd() / "campaign_specs", Path(__file__).resolve().parent.parent / "campaign_specs"):
        if (folder / name).is_file():
            return folder / name
    raise StoreError(f"cannot find campaign_specs/{name}: run `duban demo` from the duban checkout")


def run_demo(settings: Settings, *, progress=lambda text: None) -> DemoResult:
    """Run the whole campaign through Prefect on a simulated clock; return what happened."""
    from flows.campaign_tick import campaign_tick
    from flows.dispatch_outbox import dispatch_outbox
    from flows.in_process import many_runs

    began = _time.perf_counter()
    spec_path = find_spec()
    tz = settings.timezone
    start, end = parse_instant(DEMO_START, tz), parse_instant(DEMO_END, tz)
    engine = engine_for(settings.resolved_database_url)
    planned = ensure_planned(engine, spec_path, now=start, replace=True, calendar_file=settings.calendar_file)
    campaign_id = planned.campaign_id
    for name in ("messages.txt", "messages.jsonl"):
        (settings.sink_dir / name).unlink(missing_ok=True)
    progress(f"planned {len(planned.plan.assignments)} assignments over {len(planned.plan.registry)} units")
    submissions = synthetic_submissions(engine, campaign_id, tz, Behaviour(), DEMO_SEED)
    stages = [stage.id for stage in planned.spec.campaign.stages]

    loop = LoopScript(engine, campaign_id, tz, settings)

    def tick(at: datetime) -> None:
        loop.play(at)
        campaign_tick(spec=str(spec_path), as_of=at)
        progress(f"tick {fmt(at, tz)} done")

    def send(at: datetime) -> None:
        dispatch_outbox(as_of=at, campaign=campaign_id)

    # In-process runs on a simulated clock: one API client for all of them, no crash-detection heartbeat
    with many_runs():
        log = run_clock(
            engine, campaign_id, stages, tz, start=start, end=end, submissions=submissions,
            tick=tick, dispatch=send, quiet=settings.quiet(),
            with_rollups=feeds_rollups(engine, campaign_id),
        )  # fmt: skip
    with engine.connect() as conn:
        sent = Counter(
            dict(
                conn.execute(
                    select(OutboxMessage.kind, func.count())
                    .where(OutboxMessage.campaign_id == campaign_id, OutboxMessage.status == "sent")
                    .group_by(OutboxMessage.kind)
                ).all()
            )
        )
        samples = [
            SampleDraw.model_validate(r._mapping)
            for r in conn.execute(select(SampleDraw).where(SampleDraw.campaign_id == campaign_id))
        ]
    return DemoResult(
        campaign_id=campaign_id, spec_path=spec_path, log=log, sent_by_kind=sent, loop=loop.done,
        status=status_report(engine, campaign_id, end), samples=samples, sink=settings.sink_dir / "messages.txt",
        seconds=_time.perf_counter() - began,
    )  # fmt: skip
