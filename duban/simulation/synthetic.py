"""Synthetic units for `duban simulate` and `duban demo`: who submits when, with which counts, by a seeded draw.

Most units submit on time (office hours on a day in the window), some a few days late, the rest never. Items
with counts get plausible figures (within the notice's minimum and maximum) so roll-ups and the report have
sums to show. An automatic roll-up is not drawn: duban hands it in when the units below have, as a real tick
does. The same seed gives the same plan; the counts come from their own draw, so adding a metric to a spec
does not move anyone's submission time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from duban.domain.state import Progress, Schedule, State, submit
from duban.instants import at_clock, in_zone, utc
from duban.services.rollups import rollups_of
from duban.spec.models import Metric
from duban.store.codec import Codec
from duban.store.db import unit_of_work
from duban.store.synthetic import campaign_assignments, held_ids, released, schedules
from duban.store.tick_sql import INTENT_COLUMNS, TRANSITION_COLUMNS
from duban.views.campaigns import load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine


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
    metrics: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def synthetic_submissions(
    engine: Engine, campaign_id: str, tz: str, behaviour: Behaviour, seed: int
) -> list[PlannedSubmission]:
    """A seeded plan of who submits when: office hours on a day in the window, or a few days late."""
    rng = random.Random(seed)
    figures = random.Random(f"duban-metrics-{seed}")
    campaign = load_campaign(engine, campaign_id, units=False)
    metrics = {item.id: item.metrics for _stage, item in campaign.spec.items() if item.metrics}
    by_duban = {r.into for r in rollups_of(campaign) if r.auto and r.into}
    rows = campaign_assignments(engine, campaign_id)
    rows = [
        r for r in rows if not (r.state == State.pending.value and r.next_event_at is None)
    ]  # held: drawn when released
    return _draw(rows, rng, figures, behaviour, tz, metrics, by_duban)


def released_submissions(engine: Engine, campaign_id: str, tz: str, behaviour: Behaviour, seed: int):
    """For `duban simulate`: a callable giving the submissions of held rows (stages opened by others) once a tick
    has released them, drawn per row with their actual instants (each row's own seed: the order of release does
    not move anyone's time)."""
    campaign = load_campaign(engine, campaign_id, units=False)
    metrics = {item.id: item.metrics for _stage, item in campaign.spec.items() if item.metrics}
    by_duban = {r.into for r in rollups_of(campaign) if r.auto and r.into}
    held = held_ids(engine, campaign_id)

    def more() -> list[PlannedSubmission]:
        if not held:
            return []
        rows = released(engine, campaign_id, sorted(held))
        found = []
        for row in rows:
            held.discard(row.id)
            found += _draw(
                [row],
                random.Random(f"{seed}-{row.id}"),
                random.Random(f"duban-metrics-{seed}-{row.id}"),
                behaviour,
                tz,
                metrics,
                by_duban,
            )
        return found

    return more


def _draw(
    rows, rng: random.Random, figures: random.Random, behaviour: Behaviour, tz: str, metrics, by_duban
) -> list[PlannedSubmission]:
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
        if row.item_id in by_duban:  # drawn all the same, so the other units' times do not depend on it
            continue
        values = {m.name: _figure(figures, m) for m in metrics.get(row.item_id, ())}
        found.append(PlannedSubmission(at, row.id, row.unit_code, row.item_id, at > row.due_at, values))
    found.sort(key=lambda s: (s.at, s.assignment_id))
    return found


def _figure(rng: random.Random, metric: Metric) -> Any:
    """A plausible value: a count from the minimum up, a yes mostly, a short text."""
    if metric.type == "bool":
        return rng.random() < 0.9
    if metric.type == "text":
        return "已按要求完成（模拟）"
    low = int(metric.min or 0)
    high = max(low + (500 if metric.unit == "人" else 10), 2 * low)  # people are counted in hundreds
    if metric.max is not None:
        high = min(high, int(metric.max))
    value = rng.randint(low, max(low, high))
    return value if metric.type == "int" else float(value)


def _office_instant(rng: random.Random, start: datetime, end: datetime, tz: str) -> datetime:
    """A random instant in [start, end], moved into office hours (09:00–17:30) of its day when possible."""
    span = max((end - start).total_seconds(), 60.0)
    moment = start + timedelta(seconds=rng.uniform(0, span))
    local = in_zone(moment, tz)
    minute = rng.randrange(9 * 60, 17 * 60 + 30)
    office = at_clock(local.date(), time(minute // 60, minute % 60), tz)
    return utc(office) if start <= office <= end else utc(moment)


_SUBMISSION_COLUMNS = (
    "campaign_id",
    "assignment_id",
    "unit_code",
    "item_id",
    "version",
    "submitted_at",
    "late",
    "files",
    "metrics",
    "actor",
)


def record_synthetic(engine: Engine, campaign_id: str, batch: list[PlannedSubmission]) -> int:
    """Record a batch of synthetic submissions (no files) in one transaction, with receipts."""
    if not batch:
        return 0
    reviewed = {item.id for _stage, item in load_campaign(engine, campaign_id, units=False).spec.items() if item.review}
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        states = schedules(codec, [s.assignment_id for s in batch])
        subs, updates, transitions, intents = [], [], [], []
        for s in batch:
            state, open_at, due_at = states[s.assignment_id]
            change, progress = submit(
                Schedule(open_at, due_at), Progress(State(state)), s.at, review=s.item_id in reviewed
            )
            at = codec.instant(s.at)
            subs.append(
                (
                    campaign_id,
                    s.assignment_id,
                    s.unit_code,
                    s.item_id,
                    1,
                    at,
                    s.at > due_at,
                    "[]",
                    codec.json(s.metrics),
                    "simulated",
                )
            )
            updates.append((progress.state.value, None, at, at, s.assignment_id))
            transitions.append(
                (
                    campaign_id,
                    s.assignment_id,
                    "submitted",
                    1,
                    change.from_state.value,
                    change.to_state.value,
                    at,
                    at,
                    "simulated",
                )
            )
            intents.append((campaign_id, s.assignment_id, s.unit_code, "receipt", 1, at, at))
        codec.insert("submission", _SUBMISSION_COLUMNS, subs)
        codec.update("assignment", ("state", "next_event_at", "submitted_at", "updated_at"), updates)
        codec.insert("transition", TRANSITION_COLUMNS, transitions)
        codec.insert("intent", INTENT_COLUMNS, intents)
    return len(batch)
