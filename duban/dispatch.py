"""Drain the outbox: claim ready messages, render, send over the recipient's channels, record every attempt.

At-least-once: a message is marked sent only after a channel said so; a dispatcher that dies mid-batch
leaves its claims to expire (the lease), and the next one sends them again with the same idempotency key.
Outcomes are written every few dozen messages, so a crash repeats at most those since the last write, all
within the claimed batch. Channels are tried in the unit's order; the first success ends the message.
Failures back off exponentially and a message that failed `max_attempts` times becomes dead letter
(`status = dead`, `duban outbox list --status dead`). A bot at its rate limit is no failure: the message
waits for the bot's next free slot.

Sends run on `concurrency` threads: a slow endpoint (50 ms a reply) costs latency, not throughput.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, insert, or_, select, update

from duban.campaigns import PlannedCampaign, load_campaign
from duban.compose import describe
from duban.instants import utc
from duban.messages import render, render_digest
from duban.notify import Envelope, Notifier, SendResult
from duban.ratelimit import take_slot
from duban.store import is_postgres, unit_of_work
from duban.tables import Delivery, OutboxMessage

_O = OutboxMessage.__table__
OPERATORS = "督办工作人员"  # who reads the daily digest
_WRITE_EVERY = 50  # outcomes per write: the most a crash can repeat


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0  # waiting for a rate-limited bot's next slot
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class _Outcome:
    message: OutboxMessage
    status: str  # sent | failed | dead | deferred
    deliveries: list[dict]
    error: str | None = None
    not_before: datetime | None = None


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


@dataclass
class Dispatcher:
    """One draining pass's settings: where to send, how hard to try, how many sends at once."""

    engine: Engine
    notifier_for: Callable[[str], Notifier]
    fallback_channels: list[str]
    operator_channels: list[str] = field(default_factory=lambda: ["sink"])
    max_attempts: int = 5
    portal_url: str | None = None
    link_for: Callable[[str, str, datetime], str | None] | None = None  # (campaign, unit, now) → portal link
    concurrency: int = 8
    clock: Callable[[], datetime] | None = None  # the rate limiter's clock; default: the pass's as_of
    _campaigns: dict[str, PlannedCampaign] = field(default_factory=dict)

    def envelope(self, message: OutboxMessage, as_of: datetime) -> tuple[Envelope, list[str]]:
        """The rendered message and the channels to try, in order."""
        if message.campaign_id not in self._campaigns:
            self._campaigns[message.campaign_id] = load_campaign(self.engine, message.campaign_id)
        campaign = self._campaigns[message.campaign_id]
        recipient = campaign.units.get(message.recipient)
        if message.recipient == "operators":
            channels = list(self.operator_channels)
        else:
            channels = list(recipient.channels) if recipient and recipient.channels else list(self.fallback_channels)
        spec = campaign.spec
        contacts = [" ".join(filter(None, (c.name, c.phone, c.email))) for c in spec.contacts]
        link = self.portal_url
        if self.link_for is not None and recipient is not None:
            link = self.link_for(campaign.id, message.recipient, as_of) or link
        if message.kind == "digest":
            rendered = render_digest(message.payload or {}, campaign, key=message.idempotency_key)
        else:
            rendered = render(
                describe(campaign, message.payload or {}), title=spec.title, issuer=spec.issuer, doc_no=spec.doc_no,
                tz=campaign.tz, key=message.idempotency_key, contacts=contacts, link=link, now=as_of,
            )  # fmt: skip
        display = OPERATORS if message.recipient == "operators" else campaign.display(message.recipient)
        envelope = Envelope(
            key=message.idempotency_key, recipient=message.recipient, recipient_display=display, kind=message.kind,
            rendered=rendered, at=as_of.isoformat(), tz=campaign.tz,
        )  # fmt: skip
        return envelope, channels

    def deliver(self, message: OutboxMessage, envelope: Envelope, channels: list[str], as_of: datetime) -> _Outcome:
        """Try the channels in order; a rate-limited bot defers the message instead of failing it."""
        attempt = message.attempts + 1
        deliveries, result = [], SendResult(False, "the recipient has no channel")
        for channel in channels:
            notifier = self.notifier_for(channel)
            gate = getattr(notifier, "limit_for", None)
            limited = gate(channel) if gate else None
            if limited is not None:
                frees = take_slot(self.engine, limited[0], limited[1], utc(self.clock() if self.clock else as_of))
                if frees is not None:
                    if deliveries:  # an earlier channel failed: the fallback waits for its slot
                        return _Outcome(message, "deferred", deliveries, result.detail, frees)
                    return _Outcome(message, "deferred", [], None, frees)
            try:
                result = notifier.send(channel, envelope)
            except Exception as exc:  # a notifier bug must not lose the message: record it and retry later
                result = SendResult(False, f"{type(exc).__name__}: {exc}")
            deliveries.append(dict(message_id=message.id, channel=channel, attempt=attempt, ok=result.ok,
                                   detail=result.detail[:500], at=as_of))  # fmt: skip
            if result.ok:
                return _Outcome(message, "sent", deliveries)
        if attempt >= self.max_attempts:
            return _Outcome(message, "dead", deliveries, result.detail[:500])
        return _Outcome(message, "failed", deliveries, result.detail[:500], as_of + backoff(attempt))

    def record(self, outcomes: list[_Outcome], as_of: datetime) -> None:
        """Write a group of outcomes in one transaction: deliveries, then each message's new state."""
        if not outcomes:
            return
        rows = []
        for o in outcomes:
            m = o.message
            counted = o.status != "deferred" or bool(o.deliveries)
            rows.append(dict(
                mid=m.id, status={"deferred": "pending"}.get(o.status, o.status),
                attempts=m.attempts + (1 if counted else 0),
                sent_at=as_of if o.status == "sent" else None,
                last_error=o.error if o.status != "sent" else None,
                not_before=o.not_before or m.not_before,
            ))  # fmt: skip
        with unit_of_work(self.engine) as conn:
            deliveries = [d for o in outcomes for d in o.deliveries]
            if deliveries:
                conn.execute(insert(Delivery), deliveries)
            conn.execute(
                update(_O).where(_O.c.id == bindparam("mid")).values(
                    status=bindparam("status"), attempts=bindparam("attempts"), sent_at=bindparam("sent_at"),
                    last_error=bindparam("last_error"), not_before=bindparam("not_before"), claimed_by=None,
                ),
                rows,
            )  # fmt: skip

    def run(
        self, as_of: datetime, *, campaign_id: str | None = None, worker: str = "dispatcher", batch: int = 200,
        limit: int | None = None, lease: timedelta = timedelta(minutes=10),
    ) -> DispatchResult:  # fmt: skip
        """Send every message ready at `as_of` (at most `limit`), batch by batch, until none is left."""
        as_of = utc(as_of)
        result = DispatchResult()
        with ThreadPoolExecutor(max_workers=max(self.concurrency, 1), thread_name_prefix="duban-send") as pool:
            while limit is None or result.claimed < limit:
                take = batch if limit is None else min(batch, limit - result.claimed)
                ids = claim(self.engine, as_of, worker=worker, limit=take, campaign_id=campaign_id, lease=lease)
                if not ids:
                    break
                result.claimed += len(ids)
                with self.engine.connect() as conn:
                    rows = conn.execute(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                        .order_by(OutboxMessage.id)).all()  # fmt: skip
                messages = [OutboxMessage.model_validate(row._mapping) for row in rows]
                self._drain(pool, messages, as_of, result)
        return result

    def _drain(self, pool: ThreadPoolExecutor, messages: list[OutboxMessage], as_of: datetime, result) -> None:
        pending, done = set(), []
        queue = iter(messages)
        for message in queue:  # keep at most 2 × concurrency sends in flight: renders stay close to sends
            envelope, channels = self.envelope(message, as_of)
            pending.add(pool.submit(self.deliver, message, envelope, channels, as_of))
            if len(pending) >= 2 * max(self.concurrency, 1):
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                done += [f.result() for f in finished]
                if len(done) >= _WRITE_EVERY:
                    self._tally(done, as_of, result)
                    done = []
        finished, _ = wait(pending)
        done += [f.result() for f in finished]
        self._tally(done, as_of, result)

    def _tally(self, outcomes: list[_Outcome], as_of: datetime, result: DispatchResult) -> None:
        self.record(outcomes, as_of)
        for o in outcomes:
            setattr(result, o.status, getattr(result, o.status) + 1)
            if o.status == "sent":
                result.by_kind[o.message.kind] = result.by_kind.get(o.message.kind, 0) + 1


def dispatch(
    engine: Engine,
    as_of: datetime,
    notifier_for: Callable[[str], Notifier],
    *,
    fallback_channels: list[str],
    campaign_id: str | None = None,
    worker: str = "dispatcher",
    batch: int = 200,
    max_attempts: int = 5,
    portal_url: str | None = None,
    limit: int | None = None,
    concurrency: int = 1,
    operator_channels: list[str] | None = None,
) -> DispatchResult:
    """Send every message ready at `as_of` (at most `limit`): the one-call form of `Dispatcher.run`."""
    dispatcher = Dispatcher(
        engine, notifier_for, fallback_channels, operator_channels or ["sink"], max_attempts, portal_url,
        concurrency=concurrency,
    )  # fmt: skip
    return dispatcher.run(as_of, campaign_id=campaign_id, worker=worker, batch=batch, limit=limit)
