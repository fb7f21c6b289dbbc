"""The outbox for operators: what is waiting, what failed and why, and putting messages back in line.

What each status means to an operator (and what to do):

    pending      waiting for its time: composed in quiet hours, or held at the send until they end
    limited      waiting for its bot's next free slot (20 a minute; or the bot itself said "too fast")
    sending      a running dispatcher is posting it
    sent         every part arrived (the channel said so)
    failed       did not arrive; tried again after a pause (1, 2, 4 … minutes), dead after DUBAN_MAX_ATTEMPTS
    unconfirmed  posted, but no answer came: it may have arrived. Tried once more after 10 minutes; after two
                 unanswered posts duban stops — ask the group, then `retry ID --unconfirmed` if it is missing
    dead         the channel refused it for good (an invalid webhook, a wrong signature, SMTP 535/550) or it
                 failed every try: fix the channel, then `retry --dead`
    dropped      not sent: nothing in it was still true at the send (handed in, excused, or said by a newer message)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from duban.domain.message_keys import NUMBER
from duban.errors import StoreError
from duban.instants import utc
from duban.services.dispatch import STATUSES, render_message
from duban.services.links import masked
from duban.services.send_notes import told_at_send
from duban.store.campaigns import campaign_ids
from duban.store.codec import Codec
from duban.store.db import reading, unit_of_work
from duban.store.outbox import (
    latest_messages,
    message_statuses,
    message_with_posts,
    messages_numbered,
    receipt_of,
    requeue,
    retry_candidates,
    status_counts,
)
from duban.store.plans import stored_campaign_row
from duban.store.tables import Delivery, OutboxMessage
from duban.views.campaigns import load_campaign
from duban.views.unit_lookup import unit_code, unit_names

if TYPE_CHECKING:
    from sqlalchemy import Engine

_BIGGEST = 2**63 - 1
MOST_LISTED = 100_000  # messages one `outbox list` prints at most


@dataclass(frozen=True)
class MessageDetail:
    message: OutboxMessage
    deliveries: list[Delivery]
    text: str  # what staff read: the parts as posted when it was split, else the text rendered at its last post
    parts: list[str]
    read_at: datetime | None = None  # the instant the text was rendered for (its time left, 已逾期 …)
    link_masked: bool = False  # the text holds a unit link, its token cut short (services.links.masked)
    link_expires: datetime | None = None  # until when a link issued at the send (or the send to come) opens


@dataclass(frozen=True)
class Retried:
    queued: int  # back in line
    unconfirmed_kept: int  # with a part that may have arrived: that part is not posted again unless asked
    not_waiting: list[tuple[int, str]] = field(default_factory=list)  # ids asked for that wait for no retry, status


def counts(engine: Engine, campaign_id: str | None = None, unit: str | None = None) -> dict[str, int]:
    """How many messages are in each status (of one campaign, of one unit as `list_messages` takes it)."""
    campaign_id, recipient = _unit_recipient(engine, campaign_id, unit)
    found = status_counts(engine, campaign_id, recipient)
    return {status: found.get(status, 0) for status in STATUSES}


def check_campaign(engine: Engine, campaign_id: str) -> None:
    """A campaign an operator names for the outbox (`list`, `dispatch --campaign`) is in the database: a mistyped
    id is a StoreError, not an empty outbox."""
    stored_campaign_row(engine, campaign_id)


def list_messages(
    engine: Engine,
    *,
    status: str | None = None,
    campaign_id: str | None = None,
    unit: str | None = None,
    limit: int = 50,
) -> list[OutboxMessage]:
    """The most recent messages, newest first, optionally of one status, campaign and unit (its code or its name,
    as other commands' --unit take it)."""
    if status is not None and status not in STATUSES:
        raise StoreError(f"unknown status {status!r}: choose one of {', '.join(STATUSES)}")
    if not 0 < limit <= MOST_LISTED:
        raise StoreError(f"--limit is how many messages to list: a whole number from 1 to {MOST_LISTED:,}")
    if campaign_id is not None:  # a mistyped id is said so, not shown as an empty outbox
        check_campaign(engine, campaign_id)
    campaign_id, recipient = _unit_recipient(engine, campaign_id, unit)
    return latest_messages(engine, status=status, campaign_id=campaign_id, recipient=recipient, limit=limit)


def _unit_recipient(engine: Engine, campaign_id: str | None, unit: str | None) -> tuple[str | None, str | None]:
    """(campaign, recipient code) that --unit names, in --campaign or the database's only campaign; a unit no
    campaign has is said so, not shown as an empty outbox."""
    if unit is None:
        return campaign_id, None
    campaign_id = campaign_id or _only_campaign(engine, unit)
    return campaign_id, unit_code(engine, campaign_id, unit)


def _only_campaign(engine: Engine, unit: str) -> str:
    """The campaign a --unit without --campaign is looked up in: the database's only one."""
    ids = campaign_ids(engine)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise StoreError(f"--unit {unit[:40]!r}: the database holds no campaign yet, and so no message")
    listed = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
    raise StoreError(f"--unit needs --campaign: the database holds {len(ids)} campaigns ({listed})")


def recipient_names(engine: Engine, messages: list[OutboxMessage]) -> dict[tuple[str, str], str]:
    """(campaign, recipient) → the name staff know it by (昔阳县统计局, a leader's name and title), for those of the
    messages' recipients their campaign still has."""
    codes: dict[str, set[str]] = {}
    for m in messages:
        codes.setdefault(m.campaign_id, set()).add(m.recipient)
    return {
        (campaign_id, code): name
        for campaign_id, wanted in codes.items()
        for code, name in unit_names(engine, campaign_id, wanted).items()
    }


def show(
    engine: Engine,
    message_id: int,
    *,
    portal_url: str | None = None,
    link_for: Callable[[str, str, datetime], str | None] | None = None,
    link_days: int | None = None,
) -> MessageDetail:
    """One message: its text as staff read it, and every post with what the channel answered. A message not
    posted yet reads as it will when it goes (at its not-before), one posted as it did then — never as of the
    operator's clock, which turned 还有18天 into 已逾期888天 in a record of a past campaign. With the portal's
    address (`portal_url`, `link_for` as the dispatcher has them) it has the 办理入口 line the send adds, each
    unit link's token cut short: the token is the unit's credential."""
    if not 0 < message_id <= _BIGGEST:
        raise StoreError(f"there is no outbox message {message_id}: `duban outbox list` shows the ids")
    found = message_with_posts(engine, message_id)
    if found is None:
        raise StoreError(f"there is no outbox message {message_id}: `duban outbox list` shows the ids")
    message, posts = found
    parts = list((message.progress or {}).get("parts") or [])
    if parts:  # as posted: any link in them masked
        shown = [masked(part) for part in parts]
        expires = _link_expiry(posts[-1].at if posts else message.sent_at, link_days)
        return MessageDetail(message, posts, "".join(shown), shown, None, shown != parts, expires)
    moment = posts[-1].at if posts else (message.sent_at or message.not_before)
    campaign = load_campaign(engine, message.campaign_id)
    payload = message.payload or {}
    if not posts and message.sent_at is None:  # what the send will add, as the record stands now
        with reading(engine) as conn:
            payload = told_at_send(conn, campaign, [payload])[0] or payload
    link = portal_url  # as the dispatcher gives it (Dispatcher.envelope): a unit its own, leaders the portal's
    if link_for is not None and message.recipient in campaign.units:
        link = link_for(campaign.id, message.recipient, moment) or link
    rendered = render_message(campaign, message.recipient, payload, message.idempotency_key, moment, link)
    text = masked(rendered.text)
    hidden = text != rendered.text
    return MessageDetail(message, posts, text, [], moment, hidden, _link_expiry(moment, link_days) if hidden else None)


def _link_expiry(issued: datetime | None, link_days: int | None) -> datetime | None:
    return issued + timedelta(days=link_days) if issued is not None and link_days is not None else None


def as_number(text: str) -> str:
    """A 编号 as staff dictate or paste it — 编号 1F3A 9C0E-2B7D, full-width characters — in its stored form."""
    plain = unicodedata.normalize("NFKC", text).strip().lower().removeprefix("编号").lstrip(":： ")
    return re.sub(r"[\s\-·.]", "", plain)


def message_id(engine: Engine, text: str) -> int:
    """The message an operator names: its outbox id, or the 编号 staff quote (the 12 characters at its foot and on
    each of its parts), as typed, dictated or pasted."""
    plain = unicodedata.normalize("NFKC", text).strip()  # an id as typed: -1 is not id 1
    receipt = plain[1:] if plain[:1] in ("R", "r") else plain if plain.startswith("0") else ""
    if receipt.isascii() and receipt.isdigit() and len(receipt) < 12:
        return _receipt_message(engine, plain)
    if plain.isascii() and plain.isdigit() and len(plain) < 12:
        return int(plain)
    return _numbered(engine, text)


def _receipt_message(engine: Engine, number: str) -> int:
    """The 回执 message of the hand-in whose portal 回执编号 is `number` (a clerk quotes 000013 from the receipt
    page: it named outbox message #13, another unit's message in another campaign)."""
    found = receipt_of(engine, int(number.lstrip("Rr")))
    if found is None:
        raise StoreError(f"no hand-in has the 回执编号 {number} (a message's own id has no leading zeros)")
    hand_in, message = found
    named = (
        f"回执编号 {number} is {hand_in.unit_code}'s 第{hand_in.version}版 of {hand_in.item_id} ({hand_in.campaign_id})"
    )
    if message is None:
        raise StoreError(f"{named}: its 回执 message is not composed yet (the next tick composes it)")
    return int(message)


def _numbered(engine: Engine, text: str) -> int:
    number = as_number(text)
    if not NUMBER.fullmatch(number):
        raise StoreError(f"{text[:40]!r} is neither an outbox id nor a 编号 (12 characters, 0–9 and a–f)")
    found = messages_numbered(engine, number)
    if not found:
        raise StoreError(f"no message has the 编号 {number}")
    if len(found) > 1:  # two messages of 2**32 intents apart in one campaign: rare, and both are shown by id
        raise StoreError(f"the 编号 {number} is on messages {', '.join(map(str, found))}: name one by its id")
    return found[0]


def retry(
    engine: Engine, now: datetime, *, ids: list[int] | None = None, dead: bool = False, unconfirmed: bool = False
) -> Retried:
    """Put dead (or failed) messages back in line with a fresh count of tries; unconfirmed ones only when asked.

    A part that may already have arrived (posted, no answer) is never posted again silently: `--dead` leaves
    such a part's message waiting for an operator's `--unconfirmed`, which is the explicit "send it again"."""
    if not ids and not dead and not unconfirmed:
        raise StoreError(
            "say which messages to retry: their ids, --dead for every dead letter, "
            "or --unconfirmed for those whose arrival is unconfirmed"
        )
    if ids and any(not 0 < i <= _BIGGEST for i in ids):
        raise StoreError("outbox ids are positive whole numbers: `duban outbox list` shows them")
    statuses = ["failed", "dead"] if (dead or ids) else []
    if unconfirmed or ids:
        statuses.append("unconfirmed")
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        rows = retry_candidates(codec, statuses, ids)
        not_waiting = _not_waiting(codec, ids, {row[0] for row in rows}) if ids else []
        queued, kept, updates = 0, 0, []
        for mid, status, unknown, progress in rows:
            progress = dict(codec.read_json(progress) or {})
            if (unknown or status == "unconfirmed") and not unconfirmed:  # it may have arrived: not silently again
                kept += 1
                continue
            progress.pop("refused", None)  # the channel may be fixed: try every channel again
            progress.pop("posting", None)
            if progress.get("unconfirmed") and progress.get("parts"):  # the rest arrived: post only these again
                progress["only"] = progress.pop("unconfirmed")
                progress["done"] = 0
            updates.append(("pending", 0, 0, codec.instant(utc(now)), codec.json(progress or None), mid))
            queued += 1
        requeue(codec, updates)
    return Retried(queued, kept, not_waiting)


def _not_waiting(codec: Codec, ids: list[int], retryable: set[int]) -> list[tuple[int, str]]:
    """(id, status) of the ids asked for that are not dead, failed or unconfirmed; an id of no message is an error."""
    others = sorted(set(ids) - retryable)
    found = dict(message_statuses(codec, others)) if others else {}
    missing = [mid for mid in others if mid not in found]
    if missing:
        listed = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        raise StoreError(
            f"there is no outbox message {listed}: `duban outbox list` shows the ids (nothing was retried)"
        )
    return [(mid, found[mid]) for mid in others]
