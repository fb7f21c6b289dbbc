"""Who may try to log in now (督办工作台): a lockout per name and address, and a slow-down for everyone under attack.

Five failures for one name from one address within 15 minutes lock that name from that address for 15 minutes:
someone guessing from elsewhere cannot lock an operator out. When failures pile up across names and addresses
(more than 20 in a minute: a spread-out attack), every attempt waits a little longer before its answer, up to
10 seconds. The answers never say whether a name exists: an unknown name fails, locks and waits like a known one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from duban import audit

LOCK_AFTER, LOCK_FOR = 5, timedelta(minutes=15)
SLOW_AFTER, SLOW_WINDOW, SLOW_STEP, SLOW_MAX = 20, timedelta(minutes=1), 0.5, 10.0


@dataclass(frozen=True)
class Gate:
    locked: bool  # this name from this address: refused without looking at the password
    delay: float  # seconds to wait before answering (0 unless many attempts fail everywhere)


def login_gate(engine: Engine, name: str, client: str | None, now: datetime) -> Gate:
    """Whether a login for `name` from `client` is refused now, and how long to wait before answering."""
    mine = audit.count(engine, action="login", actor=f"operator:{name}", client=client, since=now - LOCK_FOR, ok=False)
    everyone = audit.count(engine, action="login", since=now - SLOW_WINDOW, ok=False)
    return Gate(mine >= LOCK_AFTER, slow_down(everyone))


def slow_down(failures: int) -> float:
    """Seconds every login waits when `failures` logins failed in the last minute."""
    return min(SLOW_MAX, SLOW_STEP * max(0, failures - SLOW_AFTER + 1))
