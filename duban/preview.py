"""`duban simulate`: the preview an administrator reads before go-live.

Plans the spec into a throw-away SQLite database, runs the whole campaign on a simulated clock with seeded
synthetic units, and returns every message that would go out (when, to whom, what).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from duban.campaigns import load_campaign
from duban.dispatch import dispatch
from duban.lifecycle import ensure_planned
from duban.notify import Envelope, SendResult
from duban.simulate import Behaviour, RunLog, domain_tick, run_clock, synthetic_submissions
from duban.store import make_engine, init_db


@dataclass
class Collector:
    """A notifier that keeps every envelope in the order sent."""

    envelopes: list[Envelope] = field(default_factory=list)

    def send(self, channel: str, envelope: Envelope) -> SendResult:
        self.envelopes.append(envelope)
        return SendResult(True, "collected")


@dataclass
class Preview:
    campaign_id: str
    title: str
    tz: str
    start: datetime
    end: datetime
    log: RunLog
    messages: list[Envelope]
    assignments: int
    planned_submissions: int
    planned_late: int

    def by_kind(self) -> Counter:
        return Counter(e.kind for e in self.messages)


def simulate_spec(
    path: Path | str,
    *,
    seed: int = 1,
    start: datetime | None = None,
    end: datetime | None = None,
    behaviour: Behaviour = Behaviour(),
    quiet_hours: str = "22:00-07:30",
    calendar_file: Path | None = None,
) -> Preview:
    """Run the campaign in `path` from `start` to `end` (default: its whole timeline) on a scratch database."""
    with tempfile.TemporaryDirectory(prefix="duban-simulate-") as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'simulate.db'}")
        init_db(engine)
        try:
            planned = ensure_planned(engine, path, now=datetime.now().astimezone(), calendar_file=calendar_file)
            plan = planned.plan
            campaign = load_campaign(engine, planned.campaign_id)
            first = min(a.open_at for a in plan.assignments)
            last = max(max([a.due_at, *(t for t, _ in a.escalations)]) for a in plan.assignments)
            start = start or first
            end = end or (last + timedelta(days=3))
            subs = synthetic_submissions(engine, campaign.id, campaign.tz, behaviour, seed)
            collector = Collector()
            stages = campaign.stage_ids()
            log = run_clock(
                engine, campaign.id, stages, campaign.tz, start=start, end=end, submissions=subs,
                tick=domain_tick(engine, campaign.id, stages, quiet_hours),
                dispatch=lambda at: dispatch(engine, at, lambda _ref: collector, fallback_channels=["preview"],
                                             campaign_id=campaign.id),
                quiet_hours=quiet_hours,
            )  # fmt: skip
            return Preview(
                campaign_id=campaign.id, title=campaign.spec.title, tz=campaign.tz, start=start, end=end, log=log,
                messages=collector.envelopes, assignments=len(plan.assignments),
                planned_submissions=len(subs), planned_late=sum(1 for s in subs if s.late),
            )  # fmt: skip
        finally:
            engine.dispose()
