"""The outbox's queries for operators and summaries: counts per status and kind, the latest messages, one message
with its posts, and putting messages back in line (`duban outbox retry`).

The dispatcher's claims and records are in duban.store.dispatching; these are the reads and the retry.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from duban.domain.message_keys import keys_of_number, message_number
from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import CampaignRow, Delivery, Intent, OutboxMessage, Submission

_O = core_table(OutboxMessage)
_D = core_table(Delivery)
_C = core_table(CampaignRow)
_I = core_table(Intent)
_S = core_table(Submission)


def sent_by_kind(conn: Connection, campaign_id: str) -> Counter[str]:
    """How many of the campaign's messages were sent, per kind (reminder, overdue, …)."""
    return Counter(
        dict(
            conn.execute(
                select(_O.c.kind, func.count())
                .where(_O.c.campaign_id == campaign_id, _O.c.status == "sent")
                .group_by(_O.c.kind)
            )
            .tuples()
            .all()
        )
    )


def status_counts(engine: Engine, campaign_id: str | None = None, recipient: str | None = None) -> dict[str, int]:
    """status → how many messages have it (of one campaign, or of all; to one recipient, or to all); statuses no
    message has are left out."""
    query = select(_O.c.status, func.count()).group_by(_O.c.status)
    if campaign_id:
        query = query.where(_O.c.campaign_id == campaign_id)
    if recipient:
        query = query.where(_O.c.recipient == recipient)
    with reading(engine) as conn:
        return dict(conn.execute(query).tuples().all())


def latest_messages(
    engine: Engine,
    *,
    status: str | None = None,
    campaign_id: str | None = None,
    recipient: str | None = None,
    limit: int = 50,
) -> list[OutboxMessage]:
    """The most recent messages, newest first (at most `limit`), optionally of one status, campaign and recipient
    (a unit's code, or leader:<id>)."""
    query = select(OutboxMessage).order_by(_O.c.id.desc()).limit(max(limit, 0))
    if status:
        query = query.where(_O.c.status == status)
    if campaign_id:
        query = query.where(_O.c.campaign_id == campaign_id)
    if recipient:
        query = query.where(_O.c.recipient == recipient)
    with reading(engine) as conn:
        return [OutboxMessage.model_validate(r._mapping) for r in conn.execute(query)]


def message_with_posts(engine: Engine, message_id: int) -> tuple[OutboxMessage, list[Delivery]] | None:
    """One message and every post of it (oldest first), read together; None when there is no such message."""
    with reading(engine) as conn:
        row = conn.execute(select(OutboxMessage).where(_O.c.id == message_id)).first()
        if row is None:
            return None
        deliveries = conn.execute(select(Delivery).where(_D.c.message_id == message_id).order_by(_D.c.id))
        return OutboxMessage.model_validate(row._mapping), [Delivery.model_validate(d._mapping) for d in deliveries]


def messages_numbered(engine: Engine, number: str) -> list[int]:
    """The ids of the messages whose 编号 (duban.domain.message_keys.message_number) is `number`, oldest first."""
    with reading(engine) as conn:
        campaigns = conn.execute(select(_C.c.id)).scalars().all()
        exact = keys_of_number(number, campaigns)
        keys = _O.c.idempotency_key
        # a key beginning with the 编号: a range of the unique index ('g' follows every hex digit)
        query = select(_O.c.id, keys).where(keys.in_(exact) | ((keys >= number) & (keys < f"{number}g")))
        return sorted(mid for mid, key in conn.execute(query) if message_number(key) == number)


def receipt_of(engine: Engine, submission_id: int) -> tuple[Any, int | None] | None:
    """A hand-in named by the portal's 回执编号 (its submission id): (campaign, unit, item, version) and the id of
    the 回执 message that carries it (None: not composed yet); None when no hand-in has that number."""
    with reading(engine) as conn:
        found = conn.execute(
            select(
                _S.c.campaign_id, _S.c.unit_code, _S.c.item_id, _S.c.version, _S.c.assignment_id, _S.c.submitted_at
            ).where(_S.c.id == submission_id)
        ).first()
        if found is None:
            return None
        message = conn.execute(
            select(func.max(_I.c.message_id)).where(
                _I.c.assignment_id == found.assignment_id,
                _I.c.kind == "receipt",
                _I.c.step == found.version,
                _I.c.recipient == found.unit_code,
            )
        ).scalar()
        return found, message


def message_statuses(codec: Codec, ids: list[int]) -> list[Any]:
    """(id, status) of those of `ids` that are messages."""
    return codec.select(f"SELECT id, status FROM outbox WHERE id IN ({', '.join('?' * len(ids))})", ids)


def retry_candidates(codec: Codec, statuses: list[str], ids: list[int] | None) -> list[Any]:
    """(id, status, unknown_posts, progress) of the messages in these statuses (and among `ids`, when given)."""
    where, params = f"status IN ({', '.join('?' * len(statuses))})", list[Any](statuses)
    if ids:
        where += f" AND id IN ({', '.join('?' * len(ids))})"
        params += ids
    return codec.select(f"SELECT id, status, unknown_posts, progress FROM outbox WHERE {where}", params)


def requeue(codec: Codec, updates: list[tuple]) -> None:
    """Put messages back in line: each update is (status, attempts, unknown_posts, not_before, progress, id),
    its instant and JSON already encoded by `codec`; the claim on it is let go."""
    codec.execute_many(
        f"UPDATE outbox SET status = ?, attempts = ?, unknown_posts = ?, not_before = ?, "
        f"progress = {codec.json_marker}, claimed_by = NULL WHERE id = ?",
        updates,
    )
