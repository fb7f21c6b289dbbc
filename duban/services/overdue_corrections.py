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

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.instants import utc
from duban.store.codec import Codec
from duban.store.overdue_told import EXTENDED, corrected_up_to, told_overdue, write_corrections
from duban.store.unit_notices import write_notice

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from duban.domain.quiet import QuietHours


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


def tell_extended(
    conn: Connection,
    campaign_id: str,
    tz: str,
    assignment: Any,
    request_id: int,
    new_due: datetime,
    at: datetime,
    quiet: QuietHours,
) -> tuple[str, ...]:
    """After an approved 延期 of an item still owed, tell each one its 催办 reached (a parent, a 包联领导 — not the
    unit, which reads the answer to its request) that the due is now `new_due` and the 催办 rests: one message each
    (kind `extended`), once per 催办 it answers; the recipients told."""
    told = told_overdue(conn, assignment)
    told.pop(assignment.unit_code, None)
    answered = corrected_up_to(conn, assignment.id, EXTENDED)
    codec = Codec(conn)
    for recipient, told_id in sorted(told.items()):
        if told_id <= answered.get(recipient, 0):
            continue
        entry = {
            "kind": EXTENDED,
            "step": told_id,
            "item_id": assignment.item_id,
            "instance": assignment.instance,
            "unit": assignment.unit_code,
            "due_at": codec.iso(new_due),
            "old_due_at": codec.iso(assignment.due_at),
            "event_at": codec.iso(at),
        }
        payload = {"recipient": recipient, "kind": EXTENDED, "as_of": codec.iso(at), "items": [entry]}
        key = hashlib.sha256(f"{campaign_id}|{recipient}|extended#{request_id}".encode()).hexdigest()[:32]
        write_notice(
            conn,
            campaign_id,
            assignment.id,
            recipient,
            EXTENDED,
            step=told_id,
            key=key,
            payload=payload,
            at=at,
            not_before=quiet.release(EXTENDED, at, tz),
        )
    return tuple(r for r in sorted(told) if told[r] > answered.get(r, 0))
