"""Stages opened by others (按阶段顺序): each tick decides from the record whether a held stage may open.

A stage that `follows:` an earlier one with `finished: all` or `finished: 80%` is planned at the earliest instants
it could have (the earlier stage's opening) but held: its assignments have no next event. Before the stages are
ticked, the record is read: once that share of the earlier stage's units have finished (a unit's last
submission or 免报, as recorded by `as_of`), the stage opens at that instant plus the offset; its dues are
counted from that opening (`lasts:`, `due: {after: stage:<id>.start …}`), its rows are re-planned and released,
and the stage's own tick opens them and tells the units. A stage following a held one (when it closes, or a
time after) is released once that one's opening is known. Releasing twice changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pendulum import DateTime

from duban.domain.calendar import WorkCalendar, load_calendar
from duban.domain.plan import held_stages, item_instances
from duban.domain.state import Progress, Schedule, State, next_event_at
from duban.domain.timeline import Timeline
from duban.instants import utc, zone
from duban.spec.models import Campaign
from duban.store.db import reading, unit_of_work
from duban.store.stage_order import held_rows, release_held, stage_progress, waiting_stages
from duban.views.campaigns import load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine

# (unit_code, state, when it finished or last changed) of each of a stage's assignments (store.stage_order)
Rows = Iterable[tuple[str, str, Any]]
_FINISHED = (State.submitted.value, State.late.value, State.excused.value)


def share_reached(rows: Rows, share: float, as_of: datetime) -> datetime | None:
    """When `share` per cent of the units had finished every row they hold, by `as_of` (None: not yet).

    `rows` are (unit_code, state, finished_at) of the earlier stage."""
    done, units = _finished_units(rows, as_of)
    needed = _needed(units, share)
    return done[needed - 1] if len(done) >= needed else None


def _finished_units(rows: Rows, as_of: datetime) -> tuple[list[datetime], int]:
    """When each unit that had finished all its rows by `as_of` finished (sorted), and how many units there are."""
    units: dict[str, list[datetime | None]] = {}
    for unit, state, finished_at in rows:
        finished = utc(finished_at) if state in _FINISHED and finished_at is not None else None
        units.setdefault(unit, []).append(finished)
    done: list[datetime] = []
    for times in units.values():
        by_then = [t for t in times if t is not None and t <= utc(as_of)]
        if len(by_then) == len(times):  # every row finished by `as_of`
            done.append(max(by_then))
    return sorted(done), len(units)


def _needed(units: int, share: float) -> int:
    return max(1, math.ceil(units * share / 100 - 1e-9))


def decided_starts(
    campaign: Campaign, calendar: WorkCalendar, finished_rows: Callable[[str], Rows], as_of: datetime
) -> dict[str, DateTime]:
    """The openings the record has decided for held stages (those still undecided are absent)."""
    starts: dict[str, DateTime] = {}
    held = held_stages(campaign)
    for stage in campaign.stages:
        if stage.id not in held or stage.follows is None:
            continue
        order = stage.follows
        if order.stage in held and order.stage not in starts:
            continue  # waits for the stage it follows to be decided first
        timeline = Timeline(campaign, calendar, actual_starts=dict(starts))
        if order.finished is None:
            base = timeline.stage_end(timeline.stages[order.stage])
        else:
            reached = share_reached(finished_rows(order.stage), order.finished[0], as_of)
            if reached is None:
                continue
            base = DateTime.instance(reached).in_timezone(zone(campaign.timezone))
        starts[stage.id] = (
            timeline.shift(base, order.offset, campaign.defaults.open_time) if order.offset.amount else base
        )
    return starts


def release_stages(
    engine: Engine, campaign_id: str, as_of: datetime, *, calendar_file: Path | None = None
) -> list[tuple[str, datetime]]:
    """Release the held stages whose opening the record now decides; (stage, opening) for each released."""
    campaign = load_campaign(engine, campaign_id, units=False)
    if not held_stages(campaign.spec):
        return []
    from duban.services.amend import campaign_as_amended

    spec = campaign_as_amended(engine, campaign.spec)  # the dates an amendment (调整通知) put in force
    released: list[tuple[str, datetime]] = []
    with unit_of_work(engine) as conn:
        held = held_rows(conn, campaign_id)
        if not held:
            return []

        def finished_rows(stage_id: str) -> Rows:
            return stage_progress(conn, campaign_id, stage_id)

        calendar = _calendar(campaign.row.spec_path, calendar_file)
        starts = decided_starts(spec, calendar, finished_rows, as_of)
        waiting = {r.stage_id for r in held}
        timeline = Timeline(spec, calendar, actual_starts=dict(starts))
        stages = {s.id: s for s in spec.stages}
        updates: list[
            tuple[
                int, datetime, datetime, Sequence[datetime], Sequence[tuple[datetime, Sequence[str]]], datetime | None
            ]
        ] = []
        for stage_id in [s.id for s in spec.stages if s.id in waiting and s.id in starts]:
            stage = stages[stage_id]
            planned = {}
            for item in stage.items:
                for instance, opens, due in item_instances(timeline, stage, item):
                    reminders = timeline.reminders(item, opens, due)
                    steps = [when for when, _to in timeline.escalations(item, due)]
                    planned[(item.id, instance)] = (opens, due, reminders, steps)
            for r in (r for r in held if r.stage_id == stage_id):
                opens, due, reminders, steps = planned[(r.item_id, r.instance)]
                targets = [t for _when, t in (r.escalations or [])]
                schedule = Schedule(opens, due, reminders, tuple(steps))
                updates.append(
                    (r.id, opens, due, reminders, list(zip(steps, targets)), next_event_at(schedule, Progress()))
                )
            released.append((stage_id, starts[stage_id]))
        if updates:
            release_held(conn, updates, as_of)
    return released


def never_opened(engine: Engine, campaign_id: str, as_of: datetime) -> list[tuple[str, str]]:
    """The stages still waiting for the record at `as_of`, each with why in words: the share of the earlier stage's
    units it waits for and how many had finished (报送或免报), or the waiting stage it follows."""
    campaign = load_campaign(engine, campaign_id, units=False)
    waiting = waiting_stages(engine, campaign_id)
    names = {s.id: s.name for s in campaign.spec.stages}
    found: list[tuple[str, str]] = []
    for stage in campaign.spec.stages:
        if stage.id not in waiting or stage.follows is None:
            continue
        order = stage.follows
        earlier = names.get(order.stage, order.stage)
        if order.finished is None:
            found.append((stage.id, f"it follows {earlier}, which never opened"))
            continue
        with reading(engine) as conn:
            done, units = _finished_units(stage_progress(conn, campaign_id, order.stage), as_of)
        share = order.finished[0]
        words = "all" if share >= 100 else f"{share:g}%"
        found.append(
            (
                stage.id,
                f"it waits for {words} of {earlier}'s units to finish (报送或免报): {len(done)} of {units} had, "
                f"{_needed(units, share)} needed" + (f", and {earlier} never opened" if order.stage in waiting else ""),
            )
        )
    return found


def _calendar(spec_path: str, calendar_file: Path | None) -> WorkCalendar:
    if calendar_file is not None:
        return load_calendar(calendar_file, named=True)
    return load_calendar(Path(spec_path).parent / "calendar" / "overrides.yaml")
