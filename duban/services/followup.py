"""Assignments made after planning: a follow-up (整改) for a unit that fails its score sheet.

They are planned like any other: the campaign's working-day calendar for the due, its reminder and
escalation policies (to the parent unit and the leader answering for it), and kept in the same table, so
the next tick opens them and messages the unit.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.plan import PlannedAssignment, escalation_targets
from duban.instants import in_zone
from duban.spec.models import ScoreSheet
from duban.store.assignments import insert_planned
from duban.views.replanned import replan

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


def follow_up_assignments(
    engine: Engine,
    campaign_id: str,
    sheet: ScoreSheet,
    instance: str,
    units: list[str],
    at: datetime,
    *,
    calendar_file: Path | None = None,
) -> list[PlannedAssignment]:
    """The 整改 each failing unit owes: open from `at`, due `within` after it, reminded and escalated."""
    assert sheet.follow_up is not None
    spec, plan, timeline = replan(engine, campaign_id, calendar_file)
    campaign = spec.campaign
    item = sheet.follow_up_item()
    assert item is not None  # the sheet has a follow-up (asserted above)
    stage_index = next(
        (i for i, s in enumerate(campaign.stages) if s.id == sheet.follow_up.stage), len(campaign.stages) - 1
    )
    opens = in_zone(at, campaign.timezone)
    clock = campaign.defaults.due_time
    due = timeline.postponed(timeline.shift(opens, sheet.follow_up.within, clock), campaign.defaults.postpone)
    reminders = timeline.reminders(item, opens, due)
    steps = timeline.escalations(item, due)
    return [
        PlannedAssignment(
            stage_id=campaign.stages[stage_index].id,
            stage_order=stage_index,
            item_id=item.id,
            instance=instance,
            unit_code=code,
            role="responsible",
            open_at=opens,
            due_at=due,
            reminders=reminders,
            escalations=tuple((when, escalation_targets(plan, code, to)) for when, to in steps),
        )
        for code in units
    ]


def insert_assignments(conn: Connection, campaign_id: str, planned: list[PlannedAssignment], now: datetime) -> None:
    """Keep assignments made after planning; the next tick finds them by their opening."""
    insert_planned(conn, campaign_id, planned, now)
