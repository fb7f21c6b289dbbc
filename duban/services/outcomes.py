"""Outcomes a notice names for a slipping unit besides a message (约谈, 通报批评, 重新开展), decided by each tick.

An item's `outcomes:` (or `defaults.outcomes`) say when: `overdue` — still not handed in `after` the due —,
`late` — handed in after the due — or `failed` — scored below a score sheet's pass mark (检查未达标; each unit's
latest scoring counts). Each tick, after the stages, reads the overdue, late and failing units of those items and
records each outcome once, in the notice's words, at the instant it was decided (the due plus `after`, the late
submission, or the failing scoring). An outcome with a `due:` is owed as an item of its own (`<item>-o<n>`),
assigned to the unit from that instant and due that long after it: the next tick opens it and tells the unit, and it
is reminded and escalated like any item.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duban.domain.plan import PlannedAssignment, escalation_targets
from duban.domain.state import State
from duban.instants import in_zone, utc
from duban.store import outcome_rows as store
from duban.store.db import reading, unit_of_work
from duban.store.outcomes import failing_units
from duban.views.campaigns import load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from duban.spec.models import Campaign, Item, Outcome
    from duban.store.tables import OutcomeRow

Rules = dict[str, tuple[int, "Item", list["Outcome"]]]


def outcome_rules(campaign: Campaign) -> Rules:
    """item id → (stage index, item, its outcomes) for the items that have any."""
    found: Rules = {}
    for s_index, stage in enumerate(campaign.stages):
        for item in stage.items:
            rules = item.outcomes if item.outcomes is not None else campaign.defaults.outcomes
            if rules:
                found[item.id] = (s_index, item, rules)
    return found


def decide_outcomes(engine: Engine, campaign_id: str, as_of: datetime, *, calendar_file: Path | None = None) -> int:
    """Record the outcomes decided by `as_of` (each once) and assign those owed as items; how many were new."""
    spec = load_campaign(engine, campaign_id, units=False).spec
    rules = outcome_rules(spec)
    if not rules:
        return 0
    as_of = utc(as_of)
    with reading(engine) as conn:
        rows = store.in_states(conn, campaign_id, sorted(rules), [State.overdue.value, State.late.value])
        done = store.decided(conn, campaign_id)
        scored = _scored_rows(conn, campaign_id, rules, as_of)
    if not rows and not scored:
        return 0
    from duban.views.replanned import replan

    loaded, plan, timeline = None, None, None
    decided = []
    for row, failed_at in [*((r, None) for r in rows), *scored]:
        s_index, item, outcomes = rules[row.item_id]
        for index, outcome in enumerate(outcomes):
            if (row.id, index) in done or (outcome.when == "failed") != (failed_at is not None):
                continue
            done.add((row.id, index))
            if timeline is None:
                loaded, plan, timeline = replan(engine, campaign_id, calendar_file)
            due_at = in_zone(row.due_at, spec.timezone)
            if failed_at is not None:
                at = in_zone(failed_at, spec.timezone)
            elif outcome.when == "late":
                if row.state != State.late.value or row.submitted_at is None:
                    continue
                at = in_zone(row.submitted_at, spec.timezone)
            else:
                at = (
                    timeline.shift(due_at, outcome.after, spec.defaults.remind_time) if outcome.after.amount else due_at
                )
                handed_in_before = row.submitted_at is not None and utc(row.submitted_at) <= utc(at)
                if handed_in_before:
                    continue
            if utc(at) > as_of:
                continue
            owed = timeline.shift(at, outcome.due, spec.defaults.due_time) if outcome.due is not None else None
            decided.append((row, s_index, item, index, outcome, at, owed))
    if not decided:
        return 0
    assert timeline is not None and plan is not None  # replanned for the first outcome decided
    with unit_of_work(engine) as conn:
        store.add_outcomes(
            conn,
            [
                dict(
                    campaign_id=campaign_id,
                    assignment_id=row.id,
                    rule=index,
                    unit_code=row.unit_code,
                    item_id=row.item_id,
                    instance=row.instance,
                    words=outcome.words()[:200],
                    decided_at=utc(at),
                    due_at=utc(owed) if owed else None,
                )
                for row, _s, _item, index, outcome, at, owed in decided
            ],
        )
        owed_items = []
        for row, s_index, item, index, outcome, at, owed in decided:
            if owed is None:
                continue
            follow = item.outcome_item(index, outcome)
            reminders = timeline.reminders(follow, at, owed)
            steps = timeline.escalations(follow, owed)
            owed_items.append(
                PlannedAssignment(
                    stage_id=spec.stages[s_index].id,
                    stage_order=s_index,
                    item_id=follow.id,
                    instance=row.instance,
                    unit_code=row.unit_code,
                    role="responsible",
                    open_at=at,
                    due_at=owed,
                    reminders=reminders,
                    escalations=tuple((when, escalation_targets(plan, row.unit_code, to)) for when, to in steps),
                )
            )
        if owed_items:
            from duban.services.followup import insert_assignments

            insert_assignments(conn, campaign_id, owed_items, as_of)
    return len(decided)


def _scored_rows(conn: Connection, campaign_id: str, rules: Rules, as_of: datetime) -> list[tuple[Any, datetime]]:
    """(assignment, when it was scored below the pass mark) for the items with a `when: failed` outcome: one
    assignment per unit and item (its first), for each unit whose latest scoring by `as_of` fails."""
    items = sorted(k for k, (_s, _item, outcomes) in rules.items() if any(o.when == "failed" for o in outcomes))
    failing = failing_units(conn, campaign_id, as_of) if items else {}
    if not failing:
        return []
    found: dict[tuple[str, str], tuple[Any, datetime]] = {}
    for row in store.of_units(conn, campaign_id, items, sorted(failing)):
        found.setdefault((row.unit_code, row.item_id), (row, failing[row.unit_code]))
    return list(found.values())


def next_outcome_instant(
    engine: Engine, campaign_id: str, after: datetime, *, calendar_file: Path | None = None
) -> datetime | None:
    """For `duban simulate`: the next instant after `after` at which an overdue unit's outcome falls due (a tick
    every ten minutes finds it in production)."""
    spec = load_campaign(engine, campaign_id, units=False).spec
    rules = {k: v for k, v in outcome_rules(spec).items() if any(o.when == "overdue" for o in v[2])}
    if not rules:
        return None
    dues = store.overdue_dues(engine, campaign_id, sorted(rules))
    if not dues:
        return None
    from duban.views.replanned import replan

    _spec, _plan, timeline = replan(engine, campaign_id, calendar_file)
    found = []
    for item_id, due in dues:
        for outcome in rules[item_id][2]:
            if outcome.when == "overdue":
                moment = in_zone(due, spec.timezone)
                moment = (
                    timeline.shift(moment, outcome.after, spec.defaults.remind_time) if outcome.after.amount else moment
                )
                if utc(moment) > utc(after):
                    found.append(utc(moment))
    return min(found, default=None)


def recorded_outcomes(engine: Engine, campaign_id: str) -> list[OutcomeRow]:
    """The outcomes recorded for a campaign, in the order they were decided."""
    return store.recorded(engine, campaign_id)
