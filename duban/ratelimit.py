"""Per-bot rate limits kept in the database, so they hold across dispatcher processes and restarts.

WeCom and DingTalk group bots accept 20 messages a minute and answer errcode 45009 / 130101 beyond that;
a bureau's shared bot must never be pushed past it by two dispatchers at once. Each bot's row keeps the
instants of its sends within the last window (a sliding log, at most `limit` entries); a send takes a slot
under the row's lock or learns when the next slot frees, and the message waits until then without
counting as a failed attempt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, insert, select, update

from duban.store import is_postgres, unit_of_work
from duban.tables import ChannelRate

_R = ChannelRate.__table__


@dataclass(frozen=True)
class Limit:
    per_window: int
    window_seconds: float = 60.0


def channel_digest(url: str) -> str:
    """A stable name for a bot that reveals nothing of its key."""
    return hashlib.sha256(url.encode()).hexdigest()[:40]


def take_slot(engine: Engine, url: str, limit: Limit, now: datetime) -> datetime | None:
    """Take one send slot for the bot at `url`: None when taken, else the instant the next slot frees."""
    channel = channel_digest(url)
    moment = now.timestamp()
    with unit_of_work(engine) as conn:
        query = select(_R.c.sends).where(_R.c.channel == channel)
        if is_postgres(conn):
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(_R).values(channel=channel, sends=[moment]))
                return None
            except Exception:  # another dispatcher created the row first: lock it and count as usual
                row = conn.execute(query).first()
        recent = [t for t in (row[0] or []) if t > moment - limit.window_seconds]
        if len(recent) >= limit.per_window:
            frees = recent[-limit.per_window] + limit.window_seconds
            return datetime.fromtimestamp(frees, timezone.utc) + timedelta(milliseconds=1)
        recent.append(moment)
        conn.execute(update(_R).where(_R.c.channel == channel).values(sends=recent[-limit.per_window:]))
    return None
