"""Simulate a campaign on a simulated clock: ticks at every event instant, synthetic units, the messages out.

The clock steps to the next instant at which anything can happen: an assignment's next event, the end of
quiet hours for a waiting message, or the day's 18:00 batch for receipts of that day's submissions. Units
behave by a seeded draw: most submit on time, some late, some never. The same driver runs the demo through
Prefect flows; `duban simulate` runs the domain directly on a throw-away database.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import Engine, func, select

from duban.compose import compose_messages
from duban.instants import at_clock, in_zone, utc
from duban.state import Progress, Schedule, State, submit
from duban.fastsql import Codec
from duban.store import unit_of_work
from duban.tables import Assignment, OutboxMessage
from duban.tick import _INTENT_COLUMNS, _TRANSITION_COLUMNS, next_instant, tick_stage

_A = Assignment.__table__
_O = OutboxMessage.__table__
DAILY_BATCH = time(18, 0)


@dataclass(frozen=True)
class Behaviour:
    """How synthetic units behave: shares on time and late; the rest never submit."""

    on_time: float = 0.75
    late: float = 0.15
    max_late_days: int = 6


@dataclass(frozen=True)
class PlannedSubmission:
    at: datetime
    assignment_id: int
    unit_code: str
    item_id: str
    late: bool


@dataclass
class RunLog:
    steps: int = 0
    ticks: int = 0
    dispatches: int = 0
    submissions: int = 0
    instants: list[datetime] = field(default_factory=list)


def synthetic_submissions(engine: Engine, campaign_id: str, tz: str, behaviour: Behaviour, seed: int) -> list[PlannedSubmission]:
    """A seeded plan of who submits when: office hours on a day in the window, or a few days late."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        rows = conn.execute(
            select(_A.c.id, _A.c.unit_code, _A.c.item_id, _A.c.open_at, _A.c.due_at)
            .where(_A.c.campaign_id == campaign_id)
            .order_by(_A.c.id)
        ).all()
    found = []
    for row in rows:
        draw = rng.random()
        if draw < behaviour.on_time:
            at = _office_instant(rng, row.open_at, row.due_at, tz)
        elif draw < behaviour.on_time + behaviour.late:
            start = row.due_at + timedelta(hours=1)
            at = _office_instant(rng, start, start + timedelta(days=behaviour.max_late_days), tz)
        else:
            continue
        found.append(PlannedSubmission(at, row.id, row.unit_code, row.item_id, at > row.due_at))
    found.sort(key=lambda s: (s.at, s.assignment_id))
    return found


def _office_instant(rng: random.Random, start: datetime, end: datetime, tz: str) -> datetime:
    """A random instant in [start, end], moved into office hours (09:00–17:30) of its day when possible."""
    span = max((end - start).total_seconds(), 60.0)
    moment = start + timedelta(seconds=rng.uniform(0, span))
    local = in_zone(moment, tz)
    minute = rng.randrange(9 * 60, 17 * 60 + 30)
    office = at_clock(local.date(), time(minute // 60, minute % 60), tz)
    return utc(office) if start <= office <= end else utc(moment)


_SUBMISSION_COLUMNS = ("campaign_id", "assignment_id", "unit_code", "item_id", "version", "submitted_at", "late",
                       "files", "metrics", "actor")  # fmt: skip


def record_synthetic(engine: Engine, campaign_id: str, batch: list[PlannedSubmission]) -> int:
    """Record a batch of synthetic submissions (no files) in one transaction, with receipts."""
    if not batch:
        return 0
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        states: dict[int, tuple] = {}
        ids = [s.assignment_id for s in batch]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in codec.select(f"SELECT id, state, open_at, due_at FROM assignment WHERE id IN ({', '.join('?' * len(chunk))})", chunk):
                states[row[0]] = (row[1], codec.read_instant(row[2]), codec.read_instant(row[3]))
        subs, updates, transitions, intents = [], [], [], []
        for s in batch:
            state, open_at, due_at = states[s.assignment_id]
            change, progress = submit(Schedule(open_at, due_at), Progress(State(state)), s.at)
            at = codec.instant(s.at)
            subs.append((campaign_id, s.assignment_id, s.unit_code, s.item_id, 1, at, s.at > due_at, "[]", "{}",
                         "simulated"))  # fmt: skip
            updates.append((progress.state.value, None, at, at, s.assignment_id))
            transitions.append((campaign_id, s.assignment_id, "submitted", 1, change.from_state.value,
                                change.to_state.value, at, at, "simulated"))  # fmt: skip
            intents.append((campaign_id, s.assignment_id, s.unit_code, "receipt", 1, at, at))
        codec.insert("submission", _SUBMISSION_COLUMNS, subs)
        codec.update("assignment", ("state", "next_event_at", "submitted_at", "updated_at"), updates)
        codec.insert("transition", _TRANSITION_COLUMNS, transitions)
        codec.insert("intent", _INTENT_COLUMNS, intents)
    return len(batch)


def next_release(engine: Engine, campaign_id: str, after: datetime) -> datetime | None:
    """When the next waiting message becomes ready (quiet hours, retry backoff)."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.min(_O.c.not_before)).where(
                _O.c.campaign_id == campaign_id, _O.c.status.in_(("pending", "failed")), _O.c.not_before > utc(after)
            )
        ).scalar()


def ready_messages(engine: Engine, campaign_id: str, as_of: datetime) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(_O).where(
                _O.c.campaign_id == campaign_id, _O.c.status.in_(("pending", "failed")), _O.c.not_before <= utc(as_of)
            )
        ).scalar() or 0


def run_clock(
    engine: Engine,
    campaign_id: str,
    stages: list[str],
    tz: str,
    *,
    start: datetime,
    end: datetime,
    submissions: list[PlannedSubmission],
    tick: Callable[[datetime], object],
    dispatch: Callable[[datetime], object],
    quiet_hours: str,
) -> RunLog:
    """Step the campaign from `start` to `end` through every instant at which something happens."""
    log = RunLog()
    start, end = utc(start), utc(end)
    pending = [s for s in submissions if start <= s.at <= end]
    cursor = 0
    last: datetime | None = None
    while True:
        floor = last if last is not None else start - timedelta(microseconds=1)
        candidates = [
            next_instant(engine, campaign_id, stages, after=floor),
            next_release(engine, campaign_id, floor),
            pending[cursor].at if cursor < len(pending) else None,
        ]
        found = [c for c in candidates if c is not None]
        if not found:
            break
        moment = max(min(found), start)
        if cursor < len(pending) and pending[cursor].at == moment:
            moment = _daily_batch(moment, tz)  # receipts of the day go out in the 18:00 batch
            upcoming = next_instant(engine, campaign_id, stages, after=floor)
            if upcoming is not None and upcoming < moment:
                moment = upcoming
        if moment > end:
            break
        batch = []
        while cursor < len(pending) and pending[cursor].at <= moment:
            batch.append(pending[cursor])
            cursor += 1
        if batch:
            log.submissions += record_synthetic(engine, campaign_id, batch)
        due = next_instant(engine, campaign_id, stages, after=None)
        if due is not None and due <= moment:
            tick(moment)
            log.ticks += 1
        elif batch:
            compose_messages(engine, campaign_id, moment, quiet_hours=quiet_hours)
        if ready_messages(engine, campaign_id, moment):
            dispatch(moment)
            log.dispatches += 1
        log.steps += 1
        log.instants.append(moment)
        last = moment
    return log


def _daily_batch(moment: datetime, tz: str) -> datetime:
    local = in_zone(moment, tz)
    batch = at_clock(local.date(), DAILY_BATCH, tz)
    return utc(batch if batch >= local else at_clock(local.date() + timedelta(days=1), DAILY_BATCH, tz))


def domain_tick(engine: Engine, campaign_id: str, stages: list[str], quiet_hours: str) -> Callable[[datetime], object]:
    """A tick without Prefect: every stage in order, then compose (what the flow's tasks call)."""

    def tick(as_of: datetime) -> None:
        for stage_id in stages:
            tick_stage(engine, campaign_id, stage_id, as_of)
        compose_messages(engine, campaign_id, as_of, quiet_hours=quiet_hours)

    return tick
