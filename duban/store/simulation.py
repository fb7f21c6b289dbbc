"""The queries of the simulated clock and of the preview (duban.simulation): when the next waiting message becomes
ready and how many are ready, the dry dispatcher that marks them sent, the span of a campaign's assignments, and
the submissions duban made itself for its roll-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Connection, func, select

from duban.instants import utc
from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.freshness import check as freshness
from duban.store.tables import OutboxMessage, Submission

_O = core_table(OutboxMessage)
_S = core_table(Submission)
_WAITING = ("pending", "failed", "limited")


def next_release(conn: Connection, campaign_id: str, after: datetime) -> datetime | None:
    """When the next waiting message of the campaign becomes ready (quiet hours, retry backoff) after `after`."""
    return conn.execute(
        select(func.min(_O.c.not_before)).where(
            _O.c.campaign_id == campaign_id, _O.c.status.in_(_WAITING), _O.c.not_before > utc(after)
        )
    ).scalar()


def ready_count(conn: Connection, campaign_id: str, as_of: datetime) -> int:
    """How many of the campaign's waiting messages are ready at `as_of`."""
    query = (
        select(func.count())
        .select_from(_O)
        .where(_O.c.campaign_id == campaign_id, _O.c.status.in_(_WAITING), _O.c.not_before <= utc(as_of))
    )
    return conn.execute(query).scalar() or 0


@dataclass(frozen=True)
class Released:
    """A message the dry dispatcher marked sent, as it says at its send (stale items left out)."""

    recipient: str
    kind: str
    key: str  # its idempotency key
    payload_json: str


def release_ready(conn: Connection, campaign_id: str, as_of: datetime) -> tuple[str, list[Released]]:
    """Mark every pending message of the campaign ready at `as_of` as sent, in one statement, in the caller's
    transaction: (the send instant as ISO 8601 in UTC, the messages released, in id order).

    As the real dispatcher does, a message says only what is still true at its send (duban.store.freshness): stale
    items are left out, and a message with nothing left is dropped instead of sent."""
    codec = Codec(conn)
    at = codec.instant(as_of)
    where = "campaign_id = ? AND status = 'pending' AND not_before <= ?"
    rows = codec.select(
        f"SELECT id, recipient, kind, idempotency_key, CAST(payload AS TEXT) FROM outbox WHERE {where} ORDER BY id",
        (campaign_id, at),
    )
    stale = freshness(codec, [(r[0], orjson.loads(r[4])) for r in rows], as_of) if rows else {}
    codec.execute(f"UPDATE outbox SET status = 'sent', attempts = 1, sent_at = ? WHERE {where}", (at, campaign_id, at))
    if stale:
        dropped = [mid for mid, fresh in stale.items() if fresh.payload is None]
        codec.execute_many(
            "UPDATE outbox SET status = 'dropped', sent_at = NULL, last_error = ? WHERE id = ?",
            [(stale[mid].reason, mid) for mid in dropped],
        )
    released = []
    for r in rows:
        fresh = stale.get(r[0])
        if fresh is None:
            released.append(Released(r[1], r[2], r[3], r[4]))
        elif fresh.payload is not None:
            released.append(Released(r[1], fresh.payload["kind"], r[3], orjson.dumps(fresh.payload).decode()))
    return codec.iso(as_of), released


def assignment_span(conn: Connection, campaign_id: str) -> tuple[datetime | None, datetime | None, int]:
    """(the earliest open, the latest due, how many) of the campaign's assignments."""
    codec = Codec(conn)
    first, last, count = codec.select(
        "SELECT MIN(open_at), MAX(due_at), COUNT(*) FROM assignment WHERE campaign_id = ?", (campaign_id,)
    )[0]
    return codec.read_instant(first), codec.read_instant(last), count


@dataclass(frozen=True)
class MadeSubmission:
    """A submission duban recorded itself: an automatic roll-up, or a forward's roll-up on the upper campaign."""

    campaign_id: str  # where it was recorded
    unit_code: str
    item_id: str
    submitted_at: datetime
    late: bool
    forwarded: bool  # recorded on the upper campaign by the forward


def made_submissions(conn: Connection, campaign_id: str) -> list[MadeSubmission]:
    """What duban handed in for the campaign's roll-ups, in order: its automatic ones and those fed upward."""
    forward_actor = f"forward:{campaign_id}"[:80]
    rows = conn.execute(
        select(_S.c.campaign_id, _S.c.unit_code, _S.c.item_id, _S.c.submitted_at, _S.c.late, _S.c.actor)
        .where(((_S.c.campaign_id == campaign_id) & _S.c.actor.like("rollup:%")) | (_S.c.actor == forward_actor))
        .order_by(_S.c.submitted_at, _S.c.id)
    ).all()
    return [
        MadeSubmission(r.campaign_id, r.unit_code, r.item_id, r.submitted_at, r.late, r.actor == forward_actor)
        for r in rows
    ]
