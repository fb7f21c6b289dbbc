"""Who was told an item was overdue (逾期未报 / 逾期催办), and the corrections (更正) written to them.

duban.services.overdue_corrections decides when an item told overdue turns out to have been handed in on time;
these are its reads and its write. A message counts as told once one of its posts reached the channel, or may have
(no answer: `unknown`), with the item still in it as sent: a message dropped at the send, or sent with that item
left out (duban.store.freshness), told nobody. One in flight (`sending`: claimed and judged still true before the
hand-in was entered, its posts recorded in batches) counts too: it is going out as it was; should it not, its
correction is dropped at the send (duban.store.freshness).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, func, insert, or_, select

from duban.store.core import core_table
from duban.store.tables import Delivery, Intent, OutboxMessage

_I = core_table(Intent)
_O = core_table(OutboxMessage)
_D = core_table(Delivery)

OVERDUE_KINDS = ("overdue", "escalation")
CORRECTED = "corrected"
EXTENDED = "extended"  # told 催办, the item's due was then extended (duban.services.overdue_corrections)


def told_overdue(conn: Connection, assignment: Any) -> dict[str, int]:
    """recipient → the newest message that reached it saying the assignment's item was overdue (an 逾期 to the
    unit, a 催办 to its parent, its leader or itself)."""
    reached = exists().where(_D.c.message_id == _O.c.id, or_(_D.c.ok.is_(True), _D.c.outcome == "unknown"))
    rows = conn.execute(
        select(_I.c.recipient, _I.c.kind, _O.c.id, _O.c.payload)
        .join(_O, _O.c.id == _I.c.message_id)
        .where(
            _I.c.assignment_id == assignment.id,
            _I.c.kind.in_(OVERDUE_KINDS),
            or_(_O.c.status.in_(("sent", "unconfirmed", "sending")), reached),
        )
    ).all()
    told: dict[str, int] = {}
    for recipient, kind, message_id, payload in rows:
        if _carries(payload, kind, assignment) and message_id > told.get(recipient, 0):
            told[recipient] = message_id
    return told


def _carries(payload: dict | None, kind: str, assignment: Any) -> bool:
    """Whether the message as sent still held the item (freshness may have left it out at the send)."""
    return any(
        item.get("kind") == kind
        and item.get("item_id") == assignment.item_id
        and (item.get("instance") or "") == (assignment.instance or "")
        and item.get("unit") == assignment.unit_code
        for item in (payload or {}).get("items", ())
    )


def corrected_up_to(conn: Connection, assignment_id: int, kind: str = CORRECTED) -> dict[str, int]:
    """recipient → the newest told message a correction (or another answer of `kind`: EXTENDED) already written for
    the assignment answers (its step)."""
    rows = conn.execute(
        select(_I.c.recipient, func.max(_I.c.step))
        .where(_I.c.assignment_id == assignment_id, _I.c.kind == kind)
        .group_by(_I.c.recipient)
    ).all()
    return {recipient: step for recipient, step in rows}


def write_corrections(
    conn: Connection, campaign_id: str, assignment_id: int, answers: dict[str, int], on_time_at: datetime, at: datetime
) -> None:
    """One correction intent per recipient (`answers`: recipient → the told message it answers, kept as its step),
    its event the on-time hand-in, for the next compose to put in that recipient's message."""
    if not answers:
        return
    conn.execute(
        insert(_I),
        [
            dict(
                campaign_id=campaign_id,
                assignment_id=assignment_id,
                recipient=recipient,
                kind=CORRECTED,
                step=message_id,
                event_at=on_time_at,
                created_at=at,
            )
            for recipient, message_id in sorted(answers.items())
        ],
    )
