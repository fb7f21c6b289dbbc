"""A correction (更正) to each one told an item was overdue, once it counts as handed in on time after all.

An operator enters a unit's hand-in with its real, earlier time (补登: the paper came on time, the record later), or a
reviewer accepts a version handed in before the due, or an approved 延期 reaches a hand-in made after the old due.
The status then says 按时报送, but the unit had been sent 逾期未报 and its parent and 包联领导 逾期催办 — and nothing
took those back (an outside tester's finding, a 晋中市统计局 operator). Each recipient a 逾期 or 催办 of the item
reached (duban.store.overdue_told) now gets one correction, written as an intent in the same transaction as the
change and composed like every message: it names the item and the unit, the hand-in time, and that the earlier
逾期 notice no longer stands (duban.domain.messages). One that never went out needs none: the dispatcher dropped
it as no longer true (duban.store.freshness). A correction already written answers the same notices again:
nothing is written twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.instants import utc
from duban.store.overdue_told import corrected_up_to, told_overdue, write_corrections

if TYPE_CHECKING:
    from sqlalchemy import Connection


def correct_overdue_notices(
    conn: Connection, campaign_id: str, assignment: Any, on_time_at: datetime, at: datetime
) -> tuple[str, ...]:
    """Write a correction for each recipient told the `assignment` was overdue and not corrected since, saying it
    was handed in on time at `on_time_at`; the recipients written to (for the caller's compose)."""
    told = told_overdue(conn, assignment)
    if not told:
        return ()
    answered = corrected_up_to(conn, assignment.id)
    fresh = {recipient: mid for recipient, mid in told.items() if mid > answered.get(recipient, 0)}
    write_corrections(conn, campaign_id, assignment.id, fresh, utc(on_time_at), utc(at))
    return tuple(sorted(fresh))
