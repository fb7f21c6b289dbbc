"""Drain the outbox: claim ready messages, render, send over the recipient's channels, record every attempt.

At-least-once: a message is marked sent only after a channel said so; a dispatcher that dies mid-batch
leaves its claims to expire, and the next one sends them again with the same idempotency key. Channels are
tried in the unit's order; the first success ends the message. Failures back off exponentially and a message
that has failed `max_attempts` times becomes dead letter for operators to see (`status = dead`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, insert, or_, select, update

from duban.campaigns import PlannedCampaign, load_campaign
from duban.compose import describe
from duban.instants import utc
from duban.messages import render
from duban.notify import Envelope, Notifier, SendResult
from duban.store import is_postgres, unit_of_work
from duban.tables import Delivery, OutboxMessage

_O = OutboxMessage.__table__


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def backoff(attempts: int, base_seconds: int = 60) -> timedelta:
    """1, 2, 4, 8 … minutes, capped at 6 hours."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 6 * 3600))


def claim(
    engine: Engine, as_of: datetime, *, worker: str, limit: int, campaign_id: str | None = None,
    lease: timedelta = timedelta(minutes=10),
) -> list[int]:  # fmt: skip
    """Mark up to `limit` ready messages as ours; expired claims of dead dispatchers count as ready."""
    as_of = utc(as_of)
    with unit_of_work(engine) as conn:
        ready = or_(
            and_(_O.c.status.in_(("pending", "failed")), _O.c.not_before <= as_of),
            and_(_O.c.status == "sending", _O.c.claimed_at < as_of - lease),
        )
        query = select(_O.c.id).where(ready).order_by(_O.c.not_before, _O.c.id).limit(limit)
        if campaign_id is not None:
            query = query.where(_O.c.campaign_id == campaign_id)
        if is_postgres(conn):
            query = query.with_for_update(skip_locked=True)
        ids = list(conn.execute(query).scalars())
        if ids:
            conn.execute(
                update(_O).where(_O.c.id.in_(ids)).values(status="sending", claimed_by=worker, claimed_at=as_of)
            )
    return ids


def dispatch(
    engine: Engine,
    as_of: datetime,
    notifier_for: Callable[[str], Notifier],
    *,
    fallback_channels: list[str],
    campaign_id: str | None = None,
    worker: str = "dispatcher",
    batch: int = 500,
    max_attempts: int = 5,
    portal_url: str | None = None,
    limit: int | None = None,
) -> DispatchResult:
    """Send every message ready at `as_of` (at most `limit`), batch by batch, until none is left."""
    result = DispatchResult()
    campaigns: dict[str, PlannedCampaign] = {}
    while limit is None or result.claimed < limit:
        take = batch if limit is None else min(batch, limit - result.claimed)
        ids = claim(engine, as_of, worker=worker, limit=take, campaign_id=campaign_id)
        if not ids:
            return result
        result.claimed += len(ids)
        with engine.connect() as conn:
            rows = conn.execute(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).all()
        for row in rows:
            message = OutboxMessage.model_validate(row._mapping)
            if message.campaign_id not in campaigns:
                campaigns[message.campaign_id] = load_campaign(engine, message.campaign_id)
            outcome = _send_one(engine, campaigns[message.campaign_id], message, as_of, notifier_for,
                                fallback_channels, max_attempts, portal_url)  # fmt: skip
            setattr(result, outcome, getattr(result, outcome) + 1)
            if outcome == "sent":
                result.by_kind[message.kind] = result.by_kind.get(message.kind, 0) + 1
    return result


def _send_one(engine, campaign, message, as_of, notifier_for, fallback, max_attempts, portal_url) -> str:
    recipient = campaign.units.get(message.recipient)
    channels = list(recipient.channels) if recipient and recipient.channels else list(fallback)
    spec = campaign.spec
    contacts = [" ".join(filter(None, (c.name, c.phone, c.email))) for c in spec.contacts]
    rendered = render(
        describe(campaign, message.payload or {}), title=spec.title, issuer=spec.issuer, doc_no=spec.doc_no, tz=campaign.tz,
        key=message.idempotency_key, contacts=contacts, link=portal_url, now=utc(as_of),
    )  # fmt: skip
    envelope = Envelope(
        key=message.idempotency_key, recipient=message.recipient, recipient_display=campaign.display(message.recipient),
        kind=message.kind, rendered=rendered, at=utc(as_of).isoformat(), tz=campaign.tz,
    )  # fmt: skip
    attempt = message.attempts + 1
    deliveries, outcome = [], SendResult(False, "the recipient has no channel")
    for channel in channels:
        try:
            outcome = notifier_for(channel).send(channel, envelope)
        except Exception as exc:  # a notifier bug must not lose the message: record it and retry later
            outcome = SendResult(False, f"{type(exc).__name__}: {exc}")
        deliveries.append(dict(message_id=message.id, channel=channel, attempt=attempt, ok=outcome.ok,
                               detail=outcome.detail[:500], at=utc(as_of)))  # fmt: skip
        if outcome.ok:
            break
    with unit_of_work(engine) as conn:
        if deliveries:
            conn.execute(insert(Delivery), deliveries)
        if outcome.ok:
            values = dict(status="sent", attempts=attempt, sent_at=utc(as_of), last_error=None)
            status = "sent"
        elif attempt >= max_attempts:
            values = dict(status="dead", attempts=attempt, last_error=outcome.detail[:500])
            status = "dead"
        else:
            values = dict(status="failed", attempts=attempt, last_error=outcome.detail[:500],
                          not_before=utc(as_of) + backoff(attempt))  # fmt: skip
            status = "failed"
        conn.execute(update(_O).where(_O.c.id == message.id).values(**values))
    return status
