"""Writes of one assignment outside a tick: the one way an assignment is excused (免报).

An item is excused by an operator (`duban excuse`, the portal) or because a unit passed a later scoring of the
score sheet whose 整改 it owed; both go through `record_excused`, which applies the state machine's rule
(duban.domain.state.excuse) and keeps the transition, with who and why, in the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, update

from duban.domain.state import Progress, State, excuse
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
