"""Per-bot rate limits and post order, kept in the database so they hold across dispatcher processes.

WeCom and DingTalk group bots accept 20 messages a minute and answer errcode 45009 / 130101 beyond that;
a bureau's shared bot must never be pushed past it by two dispatchers at once. Each bot's row keeps:

- the instants of its posts within the last window (a sliding log, at most `limit` entries). A post takes a
  slot under the row's lock or learns when the next slot frees. Every post takes its own slot — each part of a
  split message too — and keeps it a second past the window, since the bot counts a post when it arrives;
- `holder`: the message whose parts are going out. Its parts go out together: another message to the same bot
  waits until the holder is sent or given up, so two messages' parts never interleave in the group;
- `blocked_until`: when the bot itself said "too fast" (its own count may differ from ours), no post until
  then; `refusals` counts such answers in a row, and the wait doubles with each (duban.notify.vendor_replies.penalty).

A message that waits for its slot does not count as a failed try: it is not posted at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from duban.notify.vendor_replies import penalty
from duban.store.codec import Codec

# A holder in one of these states has finished with the bot (or never will continue): its hold is void.
_DONE = ("sent", "dead", "dropped", "unconfirmed")
_BUSY_WAIT = timedelta(seconds=5)  # when the holder is being posted right now by another dispatcher
MARGIN_S = 1.0  # a post keeps its slot this long past the window: the bot counts it when it arrives, a little later


@dataclass(frozen=True)
class Limit:
    per_window: int
    window_seconds: float = 60.0


@dataclass(frozen=True)
class Wait:
    """No slot now: the instant to try again, and why (`limit` ours, `vendor` the bot said so, `busy` held)."""

    until: datetime
    why: str


def channel_digest(url: str) -> str:
    """A stable name for a bot that reveals nothing of its key."""
    return hashlib.sha256(url.encode()).hexdigest()[:40]


def _moment(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


LOST = "lost"  # take_slot's answer when the message is no longer claimed by the caller


def take_slot(
    codec: Codec,
    bot: str,
    limit: Limit,
    now: datetime,
    *,
    message_id: int = 0,
    hold: bool = False,
    claimed_by: str | None = None,
) -> Wait | str | None:
    """Take one post slot for `bot` inside the caller's transaction: None when taken, else when to try again.

    `hold`: the message has more parts after this one, so the bot stays with it until its last part.
    `claimed_by`: also confirm, in the same statement, that the message is still claimed by this dispatcher
    (LOST if not: it must not be posted). A post occupies its slot for the window plus MARGIN_S, so a bot that
    answers slowly cannot see more posts inside its window than it allows.
    Runs once per post, so it speaks to the driver directly (a third of the cost of Core statements).
    """
    moment = now.timestamp()
    window = limit.window_seconds + MARGIN_S
    mine = (
        ", (SELECT COUNT(*) FROM outbox WHERE id = ? AND status = 'sending' AND claimed_by = ?)" if claimed_by else ""
    )
    query = f"SELECT sends, holder, blocked_until, refusals{mine} FROM channel_rate WHERE channel = ?" + (
        "" if codec.sqlite else " FOR UPDATE"
    )
    params = (message_id, claimed_by, bot) if claimed_by else (bot,)
    holder = message_id if hold else None
    row = codec.execute(query, params).first()
    if row is None:  # the bot's first post: its row, made by whoever comes first
        if claimed_by and not _claimed(codec, message_id, claimed_by):
            return LOST
        made = codec.execute(
            f"INSERT INTO channel_rate (channel, sends, holder, refusals) VALUES (?, {codec.json_marker}, ?, 0) "
            "ON CONFLICT (channel) DO NOTHING RETURNING channel",
            (bot, codec.json([moment]), holder),
        ).first()
        if made is not None:
            return None
        row = codec.execute(query, params).first()
    if claimed_by and not row[4]:
        return LOST
    sends, held_by, blocked = codec.read_json(row[0]) or [], row[1], codec.read_instant(row[2])
    if blocked is not None and now < blocked:
        return Wait(blocked, "vendor")
    if held_by and held_by != message_id:
        found = codec.execute("SELECT status, not_before FROM outbox WHERE id = ?", (held_by,)).first()
        if found is not None and found[0] not in _DONE:
            resume = codec.read_instant(found[1]) if found[0] != "sending" else None
            return Wait(max(resume or now, now) + _BUSY_WAIT, "busy")
    recent = [t for t in sends if t > moment - window]
    if len(recent) >= limit.per_window:
        frees = recent[-limit.per_window] + window
        return Wait(_moment(frees) + timedelta(milliseconds=1), "limit")
    recent.append(moment)
    # A block that has run out is cleared; if it was cleared before this post (the last post was taken), the
    # run of "too fast" answers is over and the next one starts the wait afresh.
    refusals = row[3] if blocked is not None else 0
    codec.execute(
        f"UPDATE channel_rate SET sends = {codec.json_marker}, holder = ?, blocked_until = NULL, refusals = ? "
        "WHERE channel = ?",
        (codec.json(recent[-limit.per_window :]), holder, refusals, bot),
    )
    return None


def _claimed(codec: Codec, message_id: int, worker: str) -> bool:
    return bool(
        codec.select(
            "SELECT 1 FROM outbox WHERE id = ? AND status = 'sending' AND claimed_by = ?", (message_id, worker)
        )
    )


def let_go(codec: Codec, bot: str, message_id: int) -> None:
    """A message done with the bot (its last part went, or it gave up or moved on) lets go of it — only its own
    hold: another message may hold the bot by now."""
    codec.execute(
        "UPDATE channel_rate SET holder = CASE WHEN holder = ? THEN NULL ELSE holder END WHERE channel = ?",
        (message_id, bot),
    )


def vendor_said_too_fast(codec: Codec, bot: str, service: str, now: datetime, asked_s: float | None) -> datetime:
    """The bot answered with its rate-limit code: no post to it until the returned instant (for every dispatcher)."""
    row = codec.execute("SELECT refusals FROM channel_rate WHERE channel = ?", (bot,)).first()
    refusals = (row[0] or 0) + 1 if row else 1
    wait = max(penalty(service, refusals), asked_s or 0.0)
    until = now + timedelta(seconds=wait)
    codec.execute(
        "UPDATE channel_rate SET blocked_until = ?, refusals = ? WHERE channel = ?",
        (codec.instant(until), refusals, bot),
    )
    return until


def lock_bots(codec: Codec, bots: set[str]) -> None:
    """On PostgreSQL a transaction that touches several bots locks their rows first, in one order: no deadlock
    between dispatcher threads (one bot alone is locked by the statement that reads it, in take_slot)."""
    if len(bots) > 1 and not codec.sqlite:
        ordered = sorted(bots)
        codec.execute(
            f"SELECT channel FROM channel_rate WHERE channel IN ({', '.join('?' * len(ordered))}) "
            "ORDER BY channel FOR UPDATE",
            ordered,
        )
