"""The outbox for operators: what is waiting, what failed and why, and putting dead letters back in line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, update

from duban.errors import StoreError
from duban.instants import utc
from duban.store import unit_of_work
from duban.tables import Delivery, OutboxMessage

STATUSES = ("pending", "sending", "sent", "failed", "dead")
_O = OutboxMessage.__table__


@dataclass(frozen=True)
class MessageDetail:
    message: OutboxMessage
    deliveries: list[Delivery]


def counts(engine: Engine, campaign_id: str | None = None) -> dict[str, int]:
    """How many messages are in each status."""
    query = select(_O.c.status, func.count()).group_by(_O.c.status)
    if campaign_id:
        query = query.where(_O.c.campaign_id == campaign_id)
    with engine.connect() as conn:
        found = dict(conn.execute(query).all())
    return {status: found.get(status, 0) for status in STATUSES}


def list_messages(
    engine: Engine, *, status: str | None = None, campaign_id: str | None = None, limit: int = 50
) -> list[OutboxMessage]:
    """The most recent messages, newest first, optionally of one status and campaign."""
    if status is not None and status not in STATUSES:
        raise StoreError(f"unknown status {status!r}: choose one of {', '.join(STATUSES)}")
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    if campaign_id:
        query = query.where(OutboxMessage.campaign_id == campaign_id)
    with engine.connect() as conn:
        return [OutboxMessage.model_validate(r._mapping) for r in conn.execute(query)]


def show(engine: Engine, message_id: int) -> MessageDetail:
    """One message with every delivery attempt (channel, outcome, what the channel answered)."""
    with engine.connect() as conn:
        row = conn.execute(select(OutboxMessage).where(OutboxMessage.id == message_id)).first()
        if row is None:
            raise StoreError(f"there is no outbox message {message_id}: `duban outbox list` shows the ids")
        deliveries = conn.execute(select(Delivery).where(Delivery.message_id == message_id).order_by(Delivery.id))
        return MessageDetail(OutboxMessage.model_validate(row._mapping),
                             [Delivery.model_validate(d._mapping) for d in deliveries])  # fmt: skip


def retry(engine: Engine, now: datetime, *, ids: list[int] | None = None, dead: bool = False) -> int:
    """Put failed or dead messages back in line for the next dispatch, with a fresh count of tries."""
    if not ids and not dead:
        raise StoreError("say which messages to retry: their ids, or --dead for every dead letter")
    query = update(_O).where(_O.c.status.in_(("failed", "dead")))
    if ids:
        query = query.where(_O.c.id.in_(ids))
    with unit_of_work(engine) as conn:
        return conn.execute(query.values(status="pending", attempts=0, not_before=utc(now), claimed_by=None)).rowcount
