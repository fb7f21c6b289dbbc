"""`duban demo`: seed 004 (晋中 2024 "回头看") over the real 晋中 units, through the real Prefect flows.

The clock is simulated from 2024-05-10 to 2024-07-02; units behave by a seeded draw (most on time, some
late, some never). Every tick is a `campaign-tick` flow run and every send a `dispatch-outbox` run against
Prefect's embedded server; messages land in the local sink (DUBAN_HOME/sink/messages.txt). The record stays
in the database, so `duban status` can be run on it afterwards. At the end it drafts one 通报 of the whole campaign
(the `duban bulletin` service) into DUBAN_HOME/reports and says where.
"""

from __future__ import annotations

import time as _time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from duban.domain.plan import load_calendar_for
from duban.errors import StoreError
from duban.instants import fmt, parse_instant
from duban.report.bulletin import write_bulletin
from duban.services.lifecycle import ensure_planned
from duban.settings import Settings
from duban.simulation.loop import LoopScript
from duban.simulation.simulate import RunLog, feeds_rollups, run_clock
from duban.simulation.synthetic import Behaviour, synthetic_submissions
from duban.store.db import engine_for, reading
from duban.store.outbox import sent_by_kind
from duban.store.samples import recorded_draws
from duban.store.tables import SampleDraw
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
    bulletin: Path | None = None  # the one 通报 the demo drafted at its end (as `duban bulletin` does), where kept


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

    loop = LoopScript(engine, campaign_id, quiet=settings.quiet(), submissions=submissions)

    def tick(at: datetime) -> None:
        loop.play(at)
        campaign_tick(spec=str(spec_path), as_of=at)
        progress(f"tick {fmt(at, tz)} done")

    def send(at: datetime) -> None:
        dispatch_outbox(as_of=at, campaign=campaign_id)

    # In-process runs on a simulated clock: one API client for all of them, no crash-detection heartbeat
    with many_runs():
        log = run_clock(
            engine,
            campaign_id,
            stages,
            tz,
            start=start,
            end=end,
            submissions=submissions,
            tick=tick,
            dispatch=send,
            quiet=settings.quiet(),
            with_rollups=feeds_rollups(engine, campaign_id),
        )
    bulletin = settings.home / "reports" / f"{campaign_id}-通报.docx"
    files, _draft, _record = write_bulletin(
        engine, campaign_id, end, bulletin, load_calendar_for(planned.spec, settings.calendar_file), actor="demo"
    )
    loop.done.append(
        f"{fmt(end, tz)} 起草通报（第{files.number}期，逾期未报{files.missing}项、逾期报送{files.late}项，"
        f"点名{files.units_named}个单位）：{files.docx}"
    )
    with reading(engine) as conn:
        sent = sent_by_kind(conn, campaign_id)
        samples = recorded_draws(conn, campaign_id)
    return DemoResult(
        campaign_id=campaign_id,
        spec_path=spec_path,
        log=log,
        sent_by_kind=sent,
        loop=loop.done,
        bulletin=files.docx,
        status=status_report(engine, campaign_id, end),
        samples=samples,
        sink=settings.sink_dir / "messages.txt",
        seconds=_time.perf_counter() - began,
    )
