"""Who may try to log in now (督办工作台): a lockout per name and address, and a slow-down for everyone under attack.

At most five passwords are checked for one name from one address in a window of 15 minutes that starts with the
first attempt; the fifth failure locks that name from that address for 15 minutes: someone guessing from elsewhere
cannot lock an operator out. The count is taken in the database in one statement (an upsert that returns the new
count) BEFORE the password is looked at, so guesses sent at the same moment — to one portal process or to several
over one PostgreSQL — each draw their own number, and the sixth and later are refused unchecked. A success gives its
number back. When failures pile up across names and addresses (more than 20 in a minute: a spread-out attack), every
attempt waits a little longer before its answer, up to 10 seconds. The answers never say whether a name exists: an
unknown name fails, locks and waits like a known one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from duban.instants import utc
from duban.services import audit
from duban.store.logins import claim_attempt, settle_attempt

if TYPE_CHECKING:
    from sqlalchemy import Engine

LOCK_AFTER, LOCK_FOR = 5, timedelta(minutes=15)
SLOW_AFTER, SLOW_WINDOW, SLOW_STEP, SLOW_MAX = 20, timedelta(minutes=1), 0.5, 10.0
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Gate:
    locked: bool  # this name from this address: refused without looking at the password
    delay: float  # seconds to wait before answering (0 unless many attempts fail everywhere)
    attempt: int = 0  # this attempt's number in the window (1 … LOCK_AFTER are checked)


def login_gate(engine: Engine, name: str, client: str | None, now: datetime) -> Gate:
    """Claim a numbered attempt for `name` from `client`: refused when it is past the fifth of the window; and how
    long to wait before answering. Call `settle` with the outcome of every attempt that was not refused."""
    number = _claim(engine, name[:40], (client or "")[:64], utc(now))
    everyone = audit.count(engine, action="login", since=now - SLOW_WINDOW, ok=False)
    return Gate(number > LOCK_AFTER, slow_down(everyone), number)


def _claim(engine: Engine, name: str, client: str, now: datetime) -> int:
    """The attempt's number, counted atomically: a window older than LOCK_FOR starts again at 1."""
    return claim_attempt(engine, name, client, now, window=LOCK_FOR, forget_after=FORGET_AFTER)


def settle(engine: Engine, name: str, client: str | None, now: datetime, *, gate: Gate, ok: bool) -> None:
    """Record how a checked attempt ended: a success gives its number back; the fifth failure starts the lock."""
    if gate.locked:
        return
    settle_attempt(
        engine,
        name[:40],
        (client or "")[:64],
        now,
        ok=ok,
        lock=gate.attempt >= LOCK_AFTER,  # locked for LOCK_FOR from this failure on
        locked_attempts=LOCK_AFTER + 1,
    )


def slow_down(failures: int) -> float:
    """Seconds every login waits when `failures` logins failed in the last minute."""
    return min(SLOW_MAX, SLOW_STEP * max(0, failures - SLOW_AFTER + 1))
