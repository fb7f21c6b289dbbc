"""Per-bot rate limits and post order, kept in the database so they hold across dispatcher processes.

WeCom and DingTalk group bots accept 20 messages a minute and answer errcode 45009 / 130101 beyond that;
a bureau's shared bot must never be pushed past it by two dispatchers at once. Each bot's row keeps:

- the instants of its posts within the last window (a sliding log, at most `limit` entries). A post takes a
  slot under the row's lock or learns when the next slot frees. Every post takes its own slot — each part of a
  split message too — and the slot's instant is moved to the moment the bot answered, so a slow answer cannot
  bring two posts closer together at the bot than the window allows;
- `holder`: the message whose parts are going out. Its parts go out together: another message to the same bot
  waits until the holder is sent or given up, so two messages' parts never interleave in the group;
- `blocked_until`: when the bot itself said "too fast" (its own count may differ from ours), no post until
  then; `refusals` counts such answers in a row, and the wait doubles with each (duban.vendor_replies.penalty).

A message that waits for its slot does not count as a failed try: it is not posted at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError

from duban.fastsql import Codec
from duban.vendor_replies import penalty

# A holder in one of these states has finished with the bot (or never will continue): its hold is void.
_DONE = ("sent", "dead", "dropped", "unconfirmed")
_BUSY_WAIT = timedelta(seconds=5)  # when the holder is being posted right now by another dispatcher


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


def take_slot(codec: Codec, bot: str, limit: Limit, now: datetime, *, message_id: int = 0, hold: bool = False) -> Wait | None:
    """Take one post slot for `bot` inside the caller's transaction: None when taken, else when to try again.

    `hold`: the message has more parts after this one, so the bot stays with it until its last part.
    Runs once per post, so it speaks to the driver directly (a third of the cost of Core statements).
    """
    moment = now.timestamp()
    query = "SELECT sends, holder, blocked_until FROM channel_rate WHERE channel = ?" + ("" if codec.sqlite else " FOR UPDATE")
    row = codec.execute(query, (bot,)).first()
    holder = message_id if hold else None
    if row is None:
        try:
            with codec.conn.begin_nested():
                codec.execute(f"INSERT INTO channel_rate (channel, sends, holder, refusals) VALUES (?, {_as_json(codec)}, ?, 0)",
                              (bot, codec.json([moment]), holder))  # fmt: skip
            return None
        except IntegrityError:  # another dispatcher created the row first: lock it and count as usual
            row = codec.execute(query, (bot,)).first()
    sends, held_by, blocked = codec.read_json(row[0]) or [], row[1], codec.read_instant(row[2])
    if blocked is not None and now < blocked:
        return Wait(blocked, "vendor")
    if held_by and held_by != message_id:
        found = codec.execute("SELECT status, not_before FROM outbox WHERE id = ?", (held_by,)).first()
        if found is not None and found[0] not in _DONE:
            resume = codec.read_instant(found[1]) if found[0] != "sending" else None
            return Wait(max(resume or now, now) + _BUSY_WAIT, "busy")
    recent = [t for t in sends if t > moment - limit.window_seconds]
    if len(recent) >= limit.per_window:
        frees = recent[-limit.per_window] + limit.window_seconds
        return Wait(_moment(frees) + timedelta(milliseconds=1), "limit")
    recent.append(moment)
    codec.execute(f"UPDATE channel_rate SET sends = {_as_json(codec)}, holder = ? WHERE channel = ?",
                  (codec.json(recent[-limit.per_window:]), holder, bot))  # fmt: skip
    return None


def posted(codec: Codec, bot: str, slot: datetime, answered: datetime, *, ok: bool, release: int | None) -> None:
    """After a post: its slot moves to when the bot answered; a success ends a run of "too fast" answers;
    `release`: that message lets go of the bot (it is done with it: sent, given up, or moved to another channel)."""
    row = codec.execute("SELECT sends FROM channel_rate WHERE channel = ?", (bot,)).first()
    if row is None:
        return
    sends = codec.read_json(row[0]) or []
    moved = sorted(answered.timestamp() if t == slot.timestamp() else t for t in sends)
    sets, values = [f"sends = {_as_json(codec)}"], [codec.json(moved)]
    if ok:
        sets.append("refusals = 0")
    if release is not None:  # only its own hold: another message may hold the bot by now
        sets.append("holder = CASE WHEN holder = ? THEN NULL ELSE holder END")
        values.append(release)
    codec.execute(f"UPDATE channel_rate SET {', '.join(sets)} WHERE channel = ?", (*values, bot))


def vendor_said_too_fast(codec: Codec, bot: str, service: str, now: datetime, asked_s: float | None) -> datetime:
    """The bot answered with its rate-limit code: no post to it until the returned instant (for every dispatcher)."""
    row = codec.execute("SELECT refusals FROM channel_rate WHERE channel = ?", (bot,)).first()
    refusals = (row[0] or 0) + 1 if row else 1
    wait = max(penalty(service, refusals), asked_s or 0.0)
    until = now + timedelta(seconds=wait)
    codec.execute("UPDATE channel_rate SET blocked_until = ?, refusals = ? WHERE channel = ?",
                  (codec.instant(until), refusals, bot))  # fmt: skip
    return until


def _as_json(codec: Codec) -> str:
    return codec.json_marker
