"""Drain the outbox: claim ready messages, say only what is still true, post them part by part, record each post.

A message reaches its group once, at a decent hour, and says what is true when it is read:

- **Claims belong to live dispatchers.** A dispatcher claims rows under its name and holds a liveness lock for
  as long as it runs (duban.store.liveness); another takes its claims over only when that lock is gone — at once
  after a crash, never while it runs, whatever instants the two believe in. Right before each post the
  dispatcher confirms in the database that the claim is still its own, so a message taken over is never posted
  by the first.
- **Quiet hours hold at the send too** (duban.domain.quiet): a backlog or a retry reaching its send at 23:10 waits for
  07:30 unless its kind is urgent.
- **Only what is still true goes out** (duban.store.freshness): items handed in, excused, superseded by a newer
  message or past their due are dropped at the send; a message left with nothing is not sent (`dropped`), nor is a
  每日简报 past its day or followed by a newer one.
- **Every post is recorded** (`delivery`: channel, part k of n, outcome, the channel's own words), and the
  message's progress (which part arrived) is written before the next post, so a retry or a takeover sends only
  what is missing. A message split for a bot keeps its parts as first split, each naming its 编号 and place.
- **Each outcome means what it says** (duban.notify.notifier): sent when every part was taken; a bot's "too fast" waits
  for its next free slot (`limited`, never a failed try); a post with no answer is `unconfirmed` — tried once
  more after UNCONFIRMED_WAIT, then left for an operator (`duban outbox retry --unconfirmed`); a final refusal
  (an invalid webhook, SMTP 535) is `dead` at once with the vendor's words; other failures back off (1, 2, 4 …
  minutes) and are `dead` after `max_attempts` tries. A channel duban cannot use as configured (its variable unset,
  its URL one Apprise cannot read) posts nothing: the message waits (`pending`, no try counted, saying which channel)
  and the first pass after the fix sends it.
- **Bots keep their order** (duban.store.ratelimit): each post takes its own slot; one message's parts go out
  together; the messages for one bot are posted in order, by one thread.

Channels are tried in the unit's order; one that fails or refuses hands the message to the next.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from duban.domain.message_keys import message_number
from duban.domain.messages import Rendered, contact_lines, render, render_digest
from duban.domain.quiet import QuietHours
from duban.errors import DubanError
from duban.instants import fmt_cn, said_ahead, utc
from duban.notify.channels import settings_that_cannot_deliver, unreadable_unit_channels
from duban.notify.notifier import Envelope, Notifier, SendResult, misconfigured, parts_of, post_part
from duban.services.compose import OPERATORS_DISPLAY, compose_messages, describe
from duban.services.send_notes import told_at_send
from duban.settings import Settings, SettingsError, quiet_policy
from duban.store import dispatching
from duban.store.codec import Codec
from duban.store.composing import stale_drafts
from duban.store.db import reading, unit_of_work
from duban.store.dispatching import DRAFT_HOLD
from duban.store.freshness import URGENCY, Fresh, check as freshness, digests_now
from duban.store.liveness import Liveness, worker_name
from duban.store.ratelimit import LOST, Wait, let_go, lock_bots, take_slot, vendor_said_too_fast
from duban.views.campaigns import PlannedCampaign, load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from duban.domain.plan import Plan

OPERATORS = OPERATORS_DISPLAY  # who reads the daily digest
UNCONFIRMED_WAIT = timedelta(minutes=10)  # before the one more try of a post that got no answer
CONFIG_WAIT = timedelta(minutes=1)  # a message held for a channel's configuration: claimed again by the next pass
WAITING = ("pending", "failed", "limited")  # claimable at their not_before
WRITE_EVERY = 50  # records gathered before they ride along with a post's transaction (the most a crash repeats)
FINAL = ("sent", "dead", "dropped", "unconfirmed")
STATUSES = ("pending", "limited", "sending", "sent", "failed", "unconfirmed", "dead", "dropped")


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0  # waiting for a bot's next free slot (status limited)
    held: int = 0  # waiting for the end of quiet hours
    dropped: int = 0  # nothing true left to say at the send
    unconfirmed: int = 0  # posted with no answer: may have arrived
    misconfigured: int = 0  # waiting for a channel's configuration to be fixed (nothing posted, no try counted)
    lost: int = 0  # claims another dispatcher took over (this one had been judged gone)
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class _Message:
    """A claimed outbox row, as the dispatcher works on it."""

    id: int
    campaign_id: str
    recipient: str
    kind: str
    key: str
    payload: dict
    not_before: datetime
    status: str  # before the claim
    attempts: int
    progress: dict
    unknown: int
    fresh: Fresh | None = None


@dataclass
class _Final:
    """What a pass decided for a message: the row's new state."""

    status: str
    error: str | None = None
    not_before: datetime | None = None
    counted: bool = False  # a try (it was posted, and not refused for the bot's rate)
    counter: str | None = None  # the DispatchResult count it adds to, when not the one its status names


def backoff(attempts: int, base_seconds: int = 60) -> timedelta:
    """1, 2, 4, 8 … minutes, capped at 6 hours."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 6 * 3600))


class _Journal:
    """Deliveries and final states not yet written. They ride along with the next post's transaction once
    WRITE_EVERY have gathered (and at the end of each batch), so a message costs about one transaction, as
    before: a crash repeats at most the posts whose answers were not yet written (they are sent again by the
    dispatcher that takes the claims over; a split message's part in flight counts as unknown)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deliveries: list[tuple] = []
        self.finals: list[tuple] = []
        self.slots: list[tuple] = []  # (bot, message letting go of it): a split message done with its bot

    def take(self, *, at_least: int = 0) -> tuple[list, list, list]:
        with self.lock:
            if len(self.deliveries) + len(self.finals) < at_least:
                return [], [], []
            taken = self.deliveries, self.finals, self.slots
            self.deliveries, self.finals, self.slots = [], [], []
        return taken


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
    clock: Callable[[], datetime] | None = None  # the posts' clock (rate limits, records); default: the pass's as_of
    quiet: QuietHours = field(default_factory=quiet_policy)  # by default the settings' quiet hours and urgent kinds
    _campaigns: dict[str, PlannedCampaign] = field(default_factory=dict)
    _campaigns_lock: threading.Lock = field(default_factory=threading.Lock)

    # --- rendering ----------------------------------------------------------------------------------------
    def campaign(self, campaign_id: str) -> PlannedCampaign:
        with self._campaigns_lock:
            if campaign_id not in self._campaigns:
                self._campaigns[campaign_id] = load_campaign(self.engine, campaign_id)
            return self._campaigns[campaign_id]

    def envelope(self, message: _Message, payload: dict, as_of: datetime) -> tuple[Envelope, list[str]]:
        """The rendered message and the channels to try, in order."""
        campaign = self.campaign(message.campaign_id)
        recipient = campaign.units.get(message.recipient)
        if message.recipient == "operators":
            channels = list(self.operator_channels)
        else:
            channels = list(recipient.channels) if recipient and recipient.channels else list(self.fallback_channels)
        link = self.portal_url
        if self.link_for is not None and recipient is not None:
            link = self.link_for(campaign.id, message.recipient, as_of) or link
        rendered = render_message(campaign, message.recipient, payload, message.key, as_of, link)
        display = OPERATORS if message.recipient == "operators" else campaign.display(message.recipient)
        envelope = Envelope(
            key=message.key,
            recipient=message.recipient,
            recipient_display=display,
            kind=payload.get("kind", message.kind),
            rendered=rendered,
            at=as_of.isoformat(),
            tz=campaign.tz,
        )
        return envelope, channels

    # --- a pass -------------------------------------------------------------------------------------------
    def run(
        self,
        as_of: datetime,
        *,
        campaign_id: str | None = None,
        worker: str = "dispatcher",
        batch: int = 200,
        limit: int | None = None,
    ) -> DispatchResult:
        """Send every message ready at `as_of` (at most `limit`), batch by batch, until none is left."""
        as_of = utc(as_of)
        result = DispatchResult()
        name = worker_name(worker)
        self._compose_stale_drafts(as_of, campaign_id)
        with (
            Liveness(self.engine, name) as live,
            ThreadPoolExecutor(max_workers=max(self.concurrency, 1), thread_name_prefix="duban-send") as pool,
        ):
            pass_ = _Pass(self, name, as_of, result)
            try:
                while limit is None or result.claimed < limit:
                    take = batch if limit is None else min(batch, limit - result.claimed)
                    messages = claim(self.engine, as_of, live, worker=name, limit=take, campaign_id=campaign_id)
                    if not messages:
                        break
                    result.claimed += len(messages)
                    pass_.drain(pool, messages)
            finally:
                pass_.flush()
                if result.claimed:
                    release_claims(self.engine, name)
        return result

    def _compose_stale_drafts(self, as_of: datetime, campaign_id: str | None) -> None:
        """Messages a tick drafted whose compose never came (the worker died between them) are composed here once
        DRAFT_HOLD has passed: a unit that two stages opened for in that tick still gets one message with both
        items, not one per stage (an outside tester's finding)."""
        with reading(self.engine) as conn:
            stale = stale_drafts(Codec(conn), as_of - DRAFT_HOLD, campaign_id)
        for campaign in stale:
            compose_messages(self.engine, campaign, as_of, quiet=self.quiet)


def render_message(
    campaign: PlannedCampaign, recipient: str, payload: dict, key: str, as_of: datetime, link: str | None
) -> Rendered:
    """The text staff read, as of `as_of` (time left and overdue counted to it)."""
    spec = campaign.spec
    if payload.get("kind") == "digest":
        return render_digest(payload, campaign, key=key)
    if payload.get("kind") == "bulletin":  # 通报: its text as drafted (duban.report.bulletin.short_text)
        text = f"{payload['text']}\n编号 {message_number(key)}\n"
        return Rendered(subject=f"【通报】{payload.get('title', spec.title)}", text=text)
    contacts = contact_lines(spec.contacts, recipient, campaign.display(recipient))
    return render(
        describe(campaign, payload),
        title=spec.title,
        issuer=spec.issuer,
        doc_no=spec.doc_no,
        tz=campaign.tz,
        key=key,
        contacts=contacts,
        link=link,
        now=as_of,
    )


def claim(
    engine: Engine,
    as_of: datetime,
    live: Liveness,
    *,
    worker: str,
    limit: int,
    campaign_id: str | None = None,
) -> list[_Message]:
    """Mark up to `limit` ready messages as ours: waiting ones whose time has come, and the claims of gone
    dispatchers (their part in flight counts as a post with no answer)."""
    as_of = utc(as_of)
    with reading(engine) as conn:
        holders = dispatching.claim_holders(conn, campaign_id)
    gone = live.gone(holders)
    with unit_of_work(engine) as conn:
        claimed = dispatching.claim_ready(
            conn, as_of, waiting=WAITING, gone=gone, worker=worker, limit=limit, campaign_id=campaign_id
        )
    return [_Message(*c) for c in claimed]


def release_claims(engine: Engine, worker: str) -> int:
    """Put back what this dispatcher still holds (a pass cut short): waiting, with its progress kept."""
    with unit_of_work(engine) as conn:
        return dispatching.release_claims(conn, worker)


class _Pass:
    """One pass of one dispatcher: the claimed messages in lanes (one per bot), the journal, the counts."""

    def __init__(self, dispatcher: Dispatcher, worker: str, as_of: datetime, result: DispatchResult) -> None:
        self.d = dispatcher
        self.worker = worker
        self.as_of = as_of
        self.result = result
        self.journal = _Journal()
        self.counts_lock = threading.Lock()

    def now(self) -> datetime:
        return utc(self.d.clock()) if self.d.clock else self.as_of

    # --- lanes --------------------------------------------------------------------------------------------
    def drain(self, pool: ThreadPoolExecutor, messages: list[_Message]) -> None:
        """Check what is still true, then post each bot's messages in order on one thread (bots in parallel)."""
        with reading(self.d.engine) as conn:
            stale = freshness(Codec(conn), [(m.id, m.payload) for m in messages], self.as_of)
            stale.update(digests_now(Codec(conn), [(m.id, m.payload) for m in messages], self.as_of))
            for m in messages:
                m.fresh = stale.get(m.id)
            self._told_at_send(conn, messages)
        lanes: dict[str, list[_Message]] = defaultdict(list)
        self._keep_the_night_for_the_urgent(messages)
        for m in messages:
            lanes[self._lane(m)].append(m)
        futures = [pool.submit(self._lane_run, lane) for lane in lanes.values()]
        for future in wait(futures).done:
            future.result()  # a bug in a lane surfaces here (its claims are put back by run())
        self.flush()

    def _told_at_send(self, conn, messages: list[_Message]) -> None:  # noqa: ANN001
        """What the send adds (duban.services.send_notes: a roll-up's units still missing, a 牵头/配合 unit's
        partners), kept like a freshness change: what was sent is what the record shows."""
        by_campaign: dict[str, list[_Message]] = defaultdict(list)
        for m in messages:
            if m.payload and (m.fresh is None or m.fresh.payload is not None):
                by_campaign[m.campaign_id].append(m)
        for campaign_id, some in by_campaign.items():
            try:
                campaign = self.d.campaign(campaign_id)
            except Exception:  # noqa: BLE001 - a campaign that cannot be loaded fails in its lane, recorded
                continue
            payloads = [m.fresh.payload if m.fresh is not None else m.payload for m in some]
            for m, named in zip(some, told_at_send(conn, campaign, payloads)):  # type: ignore[arg-type]
                if named is not None:
                    m.fresh = Fresh(named, m.fresh.dropped if m.fresh is not None else [])

    def _keep_the_night_for_the_urgent(self, messages: list[_Message]) -> None:
        """In quiet hours an urgent message goes out with its urgent items only. A unit's message that also
        carries an opening or a reminder (composed in the day, or by a tick at 00:00 that found both) would
        otherwise bring those to the group at night: they are taken out of it and left to the next tick, which
        writes them into a message for the end of the quiet hours. The trimmed message is stored before it is
        posted, so a dispatcher that dies in between never sends the rest at night."""
        quiet = self.d.quiet
        trims = []
        for m in messages:
            payload = m.fresh.payload if m.fresh is not None else m.payload
            if not payload or not payload.get("items"):
                continue
            try:
                tz = self.d.campaign(m.campaign_id).tz
            except Exception:  # noqa: BLE001 - a campaign that cannot be loaded fails in its lane, recorded
                continue
            now = self.now()
            if payload.get("kind", m.kind) not in quiet.urgent or not quiet.inside(now, tz):
                continue
            urgent = [i for i in payload["items"] if i["kind"] in quiet.urgent]
            later = [i for i in payload["items"] if i["kind"] not in quiet.urgent]
            if not urgent or not later:
                continue
            when = fmt_cn(quiet.end_after(now, tz), tz)
            moved = [
                {
                    "kind": i["kind"],
                    "item_id": i["item_id"],
                    "instance": i.get("instance") or "",
                    "unit": i["unit"],
                    "why": f"静默时段：非紧急事项于{when}后另发",
                }
                for i in later
            ]
            dropped = (m.fresh.dropped if m.fresh is not None else []) + moved
            kind = min((i["kind"] for i in urgent), key=URGENCY.index)
            trimmed = {**payload, "kind": kind, "items": urgent, "dropped": dropped}
            m.fresh = Fresh(trimmed, dropped)
            trims.append((m, trimmed, later))
        if not trims:
            return
        with unit_of_work(self.d.engine) as conn:
            codec = Codec(conn)
            for m, trimmed, later in trims:
                dispatching.keep_urgent_only(codec, m.id, self.worker, trimmed, later)
                m.payload, m.kind = trimmed, trimmed["kind"]
                m.fresh = None

    def _lane(self, m: _Message) -> str:
        """Messages for the same bot share a lane (a thread posts them in order), and so do a recipient's
        messages on channels without a bot's limit (e-mail, the local file): staff read them in the order they
        were written — a receipt of 第1版, its 退回, the receipt of 第2版 — never the 退回 of 第2版 before that of
        第1版 because two threads raced."""
        recipient = f"to:{m.campaign_id}|{m.recipient}"
        try:
            campaign = self.d.campaign(m.campaign_id)
        except Exception:  # noqa: BLE001 - a campaign that cannot be loaded fails in the lane, recorded
            return recipient
        unit = campaign.units.get(m.recipient)
        channels = (
            self.d.operator_channels
            if m.recipient == "operators"
            else (unit.channels if unit and unit.channels else self.d.fallback_channels)
        )
        if not channels:
            return recipient
        gate = _gate(self.d.notifier_for(channels[0]), channels[0])
        return gate.bot if gate else recipient

    def _lane_run(self, lane: list[_Message]) -> None:
        for m in lane:
            try:
                final = self.deliver(m)
            except Exception as exc:  # a bug must not lose the message: recorded, retried with backoff
                final = _Final(
                    "failed", f"{type(exc).__name__}: {exc}"[:500], self.now() + backoff(m.attempts + 1), counted=True
                )
            if final is not None:
                self._finish(m, final)

    # --- one message --------------------------------------------------------------------------------------
    def deliver(self, m: _Message) -> _Final | None:
        """Post what is missing of one message; None when its claim was lost to another dispatcher."""
        now = self.now()
        payload = m.payload
        if m.fresh is not None:
            if m.fresh.payload is None:
                return _Final("dropped", m.fresh.reason)
            payload = m.fresh.payload
        campaign = self.d.campaign(m.campaign_id)
        kind = payload.get("kind", m.kind)
        release = self.d.quiet.release(kind, now, campaign.tz)
        if release > now:
            return _Final("pending", f"静默时段：{fmt_cn(release, campaign.tz)}后发送", release)
        envelope, channels = self.d.envelope(m, payload, now)
        progress = m.progress
        # every channel is tried again at each pass: one that refused at an earlier pass (an invalid URL, a wrong
        # key) may have been fixed since, and a message still `failed` goes by the channels as they are now; it
        # was skipped, and with the other channel gone the message went dead untried as "no channel" (an outside
        # tester's finding). A refusal still ends the message when every channel refuses in one pass.
        refused: list[str] = []
        problems: list[str] = []  # channels duban cannot use as configured: nothing posted on them
        attempt = m.attempts + 1
        answers: list[SendResult] = []
        interrupted = m.status == "sending" and progress.get("posting", 0) > progress.get("done", 0)
        for channel in channels:
            if channel in refused:
                continue
            notifier = self.d.notifier_for(channel)
            if problem := misconfigured(notifier, channel):
                problems.append(problem)
                continue
            gate = _gate(notifier, channel)
            same = progress.get("channel") == channel
            kept = progress.get("parts") if same else None  # the parts an earlier pass split it into
            parts: list[str] = kept if kept else parts_of(notifier, channel, envelope)
            done = progress.get("done", 0) if same else 0
            previous = progress
            progress = {"channel": channel, "done": done, **({"parts": parts} if len(parts) > 1 else {})}
            if refused:
                progress["refused"] = refused
            if interrupted and same:  # a gone dispatcher was posting this part: it may have arrived
                interrupted = False
                m.unknown += 1
                self._delivery(
                    m,
                    channel,
                    attempt,
                    done + 1,
                    len(parts),
                    SendResult.unknown(
                        "the dispatcher posting this part stopped before it heard the answer: it may have arrived"
                    ),
                    now,
                )
                if m.unknown >= 2 and done + 1 < len(parts):  # the rest follow it in order
                    progress["unconfirmed"] = sorted({*progress.get("unconfirmed", []), done + 1})
                    done = progress["done"] = done + 1
                    m.unknown = 0
                elif m.unknown >= 2:
                    return self._unconfirmed(m, progress, now, final=True)
            only = set(previous.get("only", [])) if same else set()  # an operator's retry of unconfirmed parts
            if only:
                progress["only"] = sorted(only)
            if same and previous.get("unconfirmed"):
                progress["unconfirmed"] = list(previous["unconfirmed"])
            for number in range(done + 1, len(parts) + 1):
                if only and number not in only:
                    progress["done"] = number
                    continue
                progress["posting"] = number
                now = self.now()
                outcome = self._before_post(m, progress, gate, hold=number < len(parts), now=now, parted=len(parts) > 1)
                if outcome == LOST:
                    return None
                if isinstance(outcome, Wait):
                    m.progress = progress
                    words = {
                        "limit": "等待机器人限额（每分钟条数）",
                        "vendor": "机器人答复发送过快，等待其限额",
                        "busy": "等待同一机器人的上一条消息发完",
                    }[outcome.why]
                    return _Final(
                        "limited", f"{words}：{fmt_cn(outcome.until, campaign.tz)}后再发", outcome.until, counted=False
                    )
                answer = post_part(notifier, channel, envelope, number, parts)
                if answer.outcome == "misconfigured":  # found only at the post (a mailbox's URL): nothing posted
                    problems.append(answer.detail)
                    progress.pop("posting", None)
                    m.progress = progress
                    break
                answered = self.now()
                self._delivery(m, channel, attempt, number, len(parts), answer, answered)
                if (
                    gate is not None
                    and len(parts) > 1
                    and (not answer.ok or number == len(parts))
                    and answer.outcome != "limited"
                ):  # a split message lets go of its bot (it keeps it while waiting)
                    with self.journal.lock:
                        self.journal.slots.append((gate.bot, m.id))
                if answer.ok:
                    progress["done"] = number
                    m.unknown = 0
                    continue
                progress.pop("posting", None)
                m.progress = progress
                if answer.outcome == "limited":
                    until = (
                        self._too_fast(gate, answered, answer.wait_s)
                        if gate
                        else answered + timedelta(seconds=answer.wait_s or 60)
                    )
                    return _Final(
                        "limited",
                        f"{answer.detail}（机器人限额，{fmt_cn(until, campaign.tz)}后再发）",
                        until,
                        counted=False,
                    )
                if answer.outcome == "unknown":
                    m.unknown += 1
                    if m.unknown < 2:
                        return self._unconfirmed(m, progress, answered, final=False, detail=answer.detail)
                    if number < len(parts):  # twice unanswered: it may well be there; the rest follow it in order
                        progress["unconfirmed"] = sorted({*progress.get("unconfirmed", []), number})
                        progress["done"] = number
                        m.unknown = 0
                        continue
                answers.append(answer)
                if answer.outcome == "refused":
                    refused.append(channel)
                break  # this channel did not take it: the next one gets the whole message
            else:
                m.progress = {k: v for k, v in progress.items() if k != "only"} | {"posting": 0}
                if progress.get("unconfirmed"):  # the other parts arrived; these may have
                    m.unknown = 2
                    numbers = "、".join(f"第{n}条" for n in progress["unconfirmed"])
                    return _Final(
                        "unconfirmed",
                        f"共{len(parts)}条，{numbers}两次发出均无答复（可能已到达），其余各条已送达；"
                        f"请向该群核实，需要时用 duban outbox retry {m.id} --unconfirmed 只补发这几条",
                        counted=True,
                    )
                return _Final("sent", counted=True)
        m.progress = {**progress, "refused": refused} if refused else progress
        m.progress.pop("posting", None)
        if problems and not any(a.outcome == "unknown" for a in answers):
            return self._held_for_configuration(problems, answers)
        if not answers:
            return _Final(
                "dead", "the recipient has no channel (set its channels or DUBAN_FALLBACK_CHANNELS)", counted=False
            )
        last = answers[-1]
        if any(a.outcome == "unknown" for a in answers):
            return self._unconfirmed(m, m.progress, self.now(), final=True, detail=last.detail)
        if all(a.outcome == "refused" for a in answers) or len(refused) >= len(channels):
            return _Final("dead", _words(answers), counted=True)
        if attempt >= self.d.max_attempts:
            return _Final("dead", _words(answers), counted=True)
        return _Final("failed", _words(answers), self.now() + backoff(attempt), counted=True)

    def _held_for_configuration(self, problems: list[str], answers: list[SendResult]) -> _Final:
        """No channel took the message and one of them is configured wrong (its variable unset, its URL one Apprise
        cannot read): an operator's fix, not the recipient's channel, decides it, so the message waits without a try
        counted — never dead for it — saying which channel and where it is kept; the first pass after the fix
        sends it (claimed again each pass from CONFIG_WAIT on)."""
        others = f"；其他通道：{_words(answers)}" if answers else ""
        said = (
            f"通道配置有误，未发送（不计入重试次数）：{'；'.join(problems)}{others}。改正后下一次 duban dispatch 即发出"
        )
        return _Final(
            "pending",
            said[:500],
            self.now() + CONFIG_WAIT,
            counted=False,
            counter="misconfigured",
        )

    def _unconfirmed(self, m: _Message, progress: dict, now: datetime, *, final: bool, detail: str = "") -> _Final:
        m.progress = {k: v for k, v in progress.items() if k != "posting"}
        tz = self.d.campaign(m.campaign_id).tz
        if final:
            return _Final(
                "unconfirmed",
                f"{detail}；两次发送均无答复，不再自动重发：请向该群核实，需要时用 "
                f"duban outbox retry {m.id} --unconfirmed 再发".lstrip("；"),
                counted=True,
            )
        again = now + UNCONFIRMED_WAIT
        return _Final("unconfirmed", f"{detail}；{fmt_cn(again, tz)}再试一次（至多一次）", again, counted=True)

    # --- the database around each post -------------------------------------------------------------------
    def _before_post(self, m: _Message, progress: dict, gate, *, hold: bool, now: datetime, parted: bool):  # noqa: ANN001
        """One transaction: write what the journal holds (when enough has gathered), confirm the claim is still
        ours, record which part is being posted (a split message), take the bot's slot.

        Returns "lost" (another dispatcher holds the message now), a Wait (no slot yet), or None (post now)."""
        deliveries, finals, slots = self.journal.take(at_least=WRITE_EVERY)
        if gate is None and not parted and not (deliveries or finals or slots):
            with reading(self.d.engine) as conn:  # nothing to write: a read confirms the claim
                return None if dispatching.still_ours(Codec(conn), m.id, self.worker) else LOST
        with unit_of_work(self.d.engine) as conn:
            codec = Codec(conn)
            lock_bots(codec, {s[0] for s in slots} | ({gate.bot} if gate else set()))
            self._write(codec, deliveries, finals, slots)
            if parted:  # the part being posted is on record: a dispatcher that dies now leaves it as unknown
                if not dispatching.record_progress(codec, m.id, self.worker, progress):
                    return LOST
            elif gate is None:
                return None if dispatching.still_ours(codec, m.id, self.worker) else LOST
            if gate is None:
                return None
            return take_slot(
                codec, gate.bot, gate.limit, now, message_id=m.id, hold=hold, claimed_by=None if parted else self.worker
            )

    def _too_fast(self, gate, now: datetime, asked_s: float | None) -> datetime:  # noqa: ANN001
        deliveries, finals, slots = self.journal.take()
        with unit_of_work(self.d.engine) as conn:
            codec = Codec(conn)
            lock_bots(codec, {s[0] for s in slots} | {gate.bot})
            self._write(codec, deliveries, finals, slots)
            return vendor_said_too_fast(codec, gate.bot, gate.service, now, asked_s)

    def flush(self) -> None:
        """Write whatever the journal still holds."""
        deliveries, finals, slots = self.journal.take()
        if not (deliveries or finals or slots):
            return
        with unit_of_work(self.d.engine) as conn:
            codec = Codec(conn)
            lock_bots(codec, {s[0] for s in slots})
            self._write(codec, deliveries, finals, slots)

    def _write(self, codec: Codec, deliveries: list, finals: list, slots: list) -> None:
        dispatching.record_deliveries(codec, deliveries)
        for bot, message_id in slots:
            let_go(codec, bot, message_id)
        dispatching.record_finals(codec, self.worker, finals)

    def _delivery(
        self, m: _Message, channel: str, attempt: int, part: int, parts: int, answer: SendResult, at: datetime
    ) -> None:
        with self.journal.lock:
            self.journal.deliveries.append(
                (m.id, channel, attempt, part, parts, answer.ok, answer.outcome, (answer.detail or "")[:500], at)
            )

    def _finish(self, m: _Message, final: _Final) -> None:
        now = self.now()
        payload = m.payload
        kind = m.kind
        if m.fresh is not None and m.fresh.payload is not None:
            payload, kind = m.fresh.payload, m.fresh.payload.get("kind", m.kind)
        elif m.fresh is not None:
            payload = {**m.payload, "dropped": m.fresh.dropped}
        attempts = m.attempts + (1 if final.counted else 0)
        row = (
            final.status,
            attempts,
            now if final.status == "sent" else None,
            None if final.status == "sent" else final.error,
            final.not_before or m.not_before,
            m.progress or None,
            m.unknown,
            kind,
            payload,
            m.id,
        )
        with self.journal.lock:
            self.journal.finals.append(row)
        counter = final.counter or {"pending": "held", "limited": "deferred"}.get(final.status, final.status)
        with self.counts_lock:
            setattr(self.result, counter, getattr(self.result, counter) + 1)
            if final.status == "sent":
                self.result.by_kind[kind] = self.result.by_kind.get(kind, 0) + 1


def _gate(notifier: Notifier, channel: str):  # noqa: ANN202
    gate = getattr(notifier, "gate", None)
    return gate(channel) if gate else None


def _words(answers: list[SendResult]) -> str:
    """What the channels said, in their own words (each channel's last answer)."""
    return "; ".join(a.detail for a in answers if a.detail)[:500] or "refused"


def check_dispatch_instant(as_of: datetime, now: datetime, tz: str, written: str) -> None:
    """A dispatch asked for at a later instant than now (`duban dispatch --as-of`): refused. It would post now, to
    the real channels, what waits for that instant — openings quiet hours hold for the morning, at night — with time
    left counted to it and its records dated ahead. A past instant replays a campaign's record as before."""
    if (ahead := said_ahead(as_of, now, tz, f"--as-of {written!r}")) is None:
        return
    raise DubanError(
        f"{ahead}. A dispatch posts now, to the "
        "channels, so it would send at this hour what waits for that instant (messages held by quiet hours or for "
        "a later time) and count time left to it: dispatch without --as-of, or at that instant "
        "(`duban simulate` previews a campaign's messages at any instant)"
    )


def channel_warnings(plan: Plan, settings: Settings) -> list[str]:
    """`duban validate`'s warnings about the channels of the units a plan tasks and of its leaders: a variable set
    here to a URL Apprise cannot read (their messages would wait for the fix, duban.notify.channels)."""
    units = [plan.registry.units[code] for code in plan.units_in_plan() if code in plan.registry.units]
    named = [(u.display, u.channels) for u in units] + [
        (f"{c.name}（{c.title or '领导'}）", c.channels) for c in plan.campaign.leaders
    ]
    return unreadable_unit_channels(settings, named)


def check_channel_settings(settings: Settings) -> None:
    """Refuse DUBAN_FALLBACK_CHANNELS or DUBAN_OPERATOR_CHANNELS when none of their entries can be used (each one's
    variable unset or holding a URL Apprise cannot read): every message sent by them would only wait for the fix."""
    if broken := settings_that_cannot_deliver(settings):
        raise SettingsError("; ".join(broken) + ". Set or correct the variable, then dispatch again")


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
    quiet: QuietHours | None = None,
) -> DispatchResult:
    """Send every message ready at `as_of` (at most `limit`): the one-call form of `Dispatcher.run`."""
    dispatcher = Dispatcher(
        engine,
        notifier_for,
        fallback_channels,
        operator_channels or ["sink"],
        max_attempts,
        portal_url,
        concurrency=concurrency,
        quiet=quiet_policy(quiet),
    )
    return dispatcher.run(as_of, campaign_id=campaign_id, worker=worker, batch=batch, limit=limit)
