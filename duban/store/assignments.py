"""Writes of one assignment outside a tick: the one way an assignment is excused (免报).

An item is excused by an operator (`duban excuse`, the portal) or because a unit passed a later scoring of the
score sheet whose 整改 it owed; both go through `record_excused`, which applies the state machine's rule
(duban.domain.state.excuse) and keeps the transition, with who and why, in the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from duban.domain.plan import PlannedAssignment
from duban.domain.state import Progress, State, excuse
from duban.instants import utc
from duban.store.core import core_table
from duban.store.tables import Assignment, TransitionRow

_A = core_table(Assignment)


def record_excused(
    conn: Connection, campaign_id: str, assignment_id: int, state: str, at: datetime, *, actor: str, reason: str
) -> State:
    """Excuse one assignment (in `state`) at `at`: no further events, and a transition naming `actor: reason`."""
    change, progress = excuse(Progress(State(state)), at)
    conn.execute(
        update(_A).where(_A.c.id == assignment_id).values(state=progress.state.value, next_event_at=None, updated_at=at)
    )
    conn.execute(
        insert(TransitionRow),
        [
            dict(
                campaign_id=campaign_id,
                assignment_id=assignment_id,
                event=change.event.value,
                step=0,
                from_state=change.from_state.value,
                to_state=change.to_state.value,
                event_at=at,
                recorded_at=at,
                actor=f"{actor}: {reason}"[:80],
            )
        ],
    )
    return progress.state


def insert_planned(conn: Connection, campaign_id: str, planned: list[PlannedAssignment], now: datetime) -> None:
    """Keep assignments made after planning (a 整改, an outcome's item), pending and opening at their `open_at`;
    an (item, instance, unit) the campaign holds already is left as it is."""
    if not planned:
        return
    items = {p.item_id for p in planned}
    existing = {
        tuple(r)
        for r in conn.execute(
            select(_A.c.item_id, _A.c.instance, _A.c.unit_code).where(
                _A.c.campaign_id == campaign_id, _A.c.item_id.in_(items)
            )
        )
    }
    rows = [
        dict(
            campaign_id=campaign_id,
            stage_id=p.stage_id,
            stage_order=p.stage_order,
            item_id=p.item_id,
            instance=p.instance,
            unit_code=p.unit_code,
            role=p.role,
            open_at=utc(p.open_at),
            due_at=utc(p.due_at),
            reminders=[utc(t).isoformat() for t in p.reminders],
            escalations=[[utc(t).isoformat(), list(to)] for t, to in p.escalations],
            state=State.pending.value,
            reminders_done=0,
            escalations_done=0,
            next_event_at=utc(p.open_at),
            updated_at=utc(now),
        )
        for p in planned
        if (p.item_id, p.instance, p.unit_code) not in existing
    ]
    if rows:
        conn.execute(insert(Assignment), rows)
