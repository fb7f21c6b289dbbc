"""The dispatcher's statements on the outbox: claiming ready messages, confirming a claim before each post, writing
which part is being posted, the posts and final states of a batch, putting claims back, and trimming a message
to its urgent items at night.

duban.services.dispatch keeps the rules (which statuses wait, quiet hours, retries, what counts as delivered) and
opens the transactions; each function here runs inside the caller's transaction. They run once per message or
per post, so they speak to the driver directly through duban.store.codec (as duban.store.ratelimit does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from duban.store.codec import Codec
from duban.store.engine import is_postgres

if TYPE_CHECKING:
    from sqlalchemy import Connection

_COLUMNS = (
    "id",
    "campaign_id",
    "recipient",
    "kind",
    "idempotency_key",
    "payload",
    "not_before",
    "status",
    "attempts",
    "progress",
    "unknown_posts",
)


class Claimed(NamedTuple):
    """A message just claimed, as it stood before the claim (its status, tries, progress)."""

    id: int
    campaign_id: str
    recipient: str
    kind: str
    key: str
    payload: dict
    not_before: datetime
    status: str
    attempts: int
    progress: dict
    unknown: int  # posts of it that got no answer


def claim_holders(conn: Connection, campaign_id: str | None = None) -> list[str]:
    """The dispatchers holding claims now (messages `sending`), of one campaign or of all."""
    scope = " AND campaign_id = ?" if campaign_id is not None else ""
    extra = [campaign_id] if campaign_id is not None else []
    return [
        r[0]
        for r in Codec(conn).select(f"SELECT DISTINCT claimed_by FROM outbox WHERE status = 'sending'{scope}", extra)
        if r[0]
    ]


# A message a tick drafted waits for the compose that follows it (duban.store.tables.DraftRange): it may yet be
# merged with the unit's other items of the tick. The ranges live only that long (the probe reads a few rows);
# one that no compose has let go within DRAFT_HOLD (a worker that died after its tick) holds nothing any more.
DRAFT_HOLD = timedelta(minutes=15)
_NOT_HELD = (
    " AND NOT EXISTS (SELECT 1 FROM draft_range AS d WHERE outbox.id BETWEEN d.first_id AND d.last_id "
    "AND d.drafted_at > ?)"
)


def claim_ready(
    conn: Connection,
    as_of: datetime,
    *,
    waiting: Sequence[str],
    gone: Sequence[str],
    worker: str,
    limit: int,
    campaign_id: str | None = None,
) -> list[Claimed]:
    """Mark up to `limit` messages as claimed by `worker` (status `sending`), oldest `not_before` first: those in a
    `waiting` status whose time has come, the `unconfirmed` ones posted once without an answer whose one more try
    is due, and the claims of the `gone` dispatchers. On PostgreSQL rows another transaction is claiming are
    skipped (FOR UPDATE SKIP LOCKED), so two dispatchers never claim one message."""
    codec = Codec(conn)
    scope = " AND campaign_id = ?" if campaign_id is not None else ""
    extra = [campaign_id] if campaign_id is not None else []
    at = codec.instant(as_of)
    statuses = ", ".join(f"'{s}'" for s in waiting)
    ready = f"((status IN ({statuses}) OR (status = 'unconfirmed' AND unknown_posts < 2)) AND not_before <= ?)"
    params: list = [at]
    if gone:
        ready = f"({ready} OR (status = 'sending' AND claimed_by IN ({', '.join('?' * len(gone))})))"
        params += gone
    sql = f"SELECT id FROM outbox WHERE {ready}{scope}{_NOT_HELD} ORDER BY not_before, id LIMIT ?"
    if is_postgres(conn):
        sql += " FOR UPDATE SKIP LOCKED"
    ids = [r[0] for r in codec.select(sql, [*params, *extra, codec.instant(as_of - DRAFT_HOLD), limit])]
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = codec.select(f"SELECT {', '.join(_COLUMNS)} FROM outbox WHERE id IN ({marks}) ORDER BY not_before, id", ids)
    codec.execute(
        f"UPDATE outbox SET status = 'sending', claimed_by = ?, claimed_at = ? WHERE id IN ({marks})",
        [worker, codec.instant(datetime.now(timezone.utc)), *ids],
    )
    return [
        Claimed(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            codec.read_json(r[5]) or {},
            _not_before(codec.read_instant(r[6])),
            r[7],
            r[8],
            dict(codec.read_json(r[9]) or {}),
            r[10] or 0,
        )
        for r in rows
    ]


def _not_before(moment: datetime | None) -> datetime:
    """A claimed message's `not_before` (the column is NOT NULL)."""
    assert moment is not None, "outbox.not_before is never NULL"
    return moment


def release_claims(conn: Connection, worker: str) -> int:
    """Put back what `worker` still holds: `pending`, unclaimed, its progress kept. How many were put back."""
    return (
        Codec(conn)
        .execute(
            "UPDATE outbox SET status = 'pending', claimed_by = NULL WHERE status = 'sending' AND claimed_by = ?",
            (worker,),
        )
        .rowcount
    )


def still_ours(codec: Codec, message_id: int, worker: str) -> bool:
    """The message is still being sent under `worker`'s claim (no other dispatcher took it over)."""
    return bool(
        codec.select(
            "SELECT 1 FROM outbox WHERE id = ? AND status = 'sending' AND claimed_by = ?", (message_id, worker)
        )
    )


def record_progress(codec: Codec, message_id: int, worker: str, progress: dict) -> bool:
    """Write the message's progress (which part is being posted) if it is still `worker`'s claim; False if not."""
    return bool(
        codec.execute(
            f"UPDATE outbox SET progress = {codec.json_marker} WHERE id = ? AND status = 'sending' AND claimed_by = ?",
            (codec.json(progress), message_id, worker),
        ).rowcount
    )


def keep_urgent_only(codec: Codec, message_id: int, worker: str, payload: dict, later: list[dict]) -> None:
    """A claimed message cut down to its urgent items (`payload`): stored so, and the intents of the items taken
    out of it (`later`: kind, item_id, instance, unit) freed of it, for the next tick to write them again."""
    codec.execute(
        f"UPDATE outbox SET payload = {codec.json_marker}, kind = ? WHERE id = ? AND claimed_by = ?",
        (codec.json(payload), payload["kind"], message_id, worker),
    )
    codec.execute_many(
        "UPDATE intent SET message_id = NULL WHERE message_id = ? AND kind = ? AND assignment_id IN "
        "(SELECT id FROM assignment WHERE item_id = ? AND COALESCE(instance, '') = ? AND unit_code = ?)",
        [(message_id, i["kind"], i["item_id"], i.get("instance") or "", i["unit"]) for i in later],
    )


def record_deliveries(codec: Codec, deliveries: Sequence[tuple]) -> None:
    """One `delivery` row per post: (message_id, channel, attempt, part, parts, ok, outcome, detail, at)."""
    if deliveries:
        codec.insert(
            "delivery",
            ("message_id", "channel", "attempt", "part", "parts", "ok", "outcome", "detail", "at"),
            [(*d[:8], codec.instant(d[8])) for d in deliveries],
        )


def record_finals(codec: Codec, worker: str, finals: Sequence[tuple]) -> None:
    """Each message's state after its pass — (status, attempts, sent_at, last_error, not_before, progress,
    unknown_posts, kind, payload, id) — written only where `worker` still holds it; the claim is let go."""
    if finals:
        rows: list[tuple[Any, ...]] = [
            (
                f[0],
                f[1],
                codec.instant(f[2]),
                f[3],
                codec.instant(f[4]),
                codec.json(f[5]),
                f[6],
                f[7],
                codec.json(f[8]),
                f[9],
                worker,
            )
            for f in finals
        ]
        codec.execute_many(
            "UPDATE outbox SET status = ?, attempts = ?, sent_at = ?, last_error = ?, not_before = ?, "
            f"progress = {codec.json_marker}, unknown_posts = ?, kind = ?, payload = {codec.json_marker}, "
            "claimed_by = NULL WHERE id = ? AND claimed_by = ?",
            rows,
        )
