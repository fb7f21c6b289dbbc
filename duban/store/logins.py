"""The login throttle's statements (table `login_throttle`): an attempt's number claimed in one upsert, and how a
checked attempt ended (its number given back, or the lock started). The rule lives in duban.services.logins."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, case, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from duban.instants import utc
from duban.store.core import core_table
from duban.store.db import unit_of_work
from duban.store.tables import LoginThrottle

_T = core_table(LoginThrottle)


def claim_attempt(
    engine: Engine, name: str, client: str, now: datetime, *, window: timedelta, forget_after: timedelta
) -> int:
    """The attempt's number for `name` from `client`, counted atomically: a window older than `window` starts again
    at 1. Pairs idle for `forget_after` are deleted in the same transaction."""
    fresh = _T.c.window_start <= now - window
    with unit_of_work(engine) as conn:
        insert = pg_insert(_T) if conn.dialect.name == "postgresql" else sqlite_insert(_T)
        statement = (
            insert.values(name=name, client=client, window_start=now, attempts=1)
            .on_conflict_do_update(
                index_elements=[_T.c.name, _T.c.client],
                set_={
                    "attempts": case((fresh, 1), else_=_T.c.attempts + 1),
                    "window_start": case((fresh, now), else_=_T.c.window_start),
                },
            )
            .returning(_T.c.attempts)
        )
        number = conn.execute(statement).scalar_one()
        # pairs idle for a day are forgotten: a guesser rotating names cannot grow the table without end
        conn.execute(delete(_T).where(_T.c.window_start < now - forget_after))
        return number


def settle_attempt(
    engine: Engine, name: str, client: str, now: datetime, *, ok: bool, lock: bool, locked_attempts: int
) -> None:
    """A checked attempt ended: a success (`ok`) gives its number back; else, when `lock`, the lock starts at `now`
    (the pair's count set to `locked_attempts`)."""
    mine = (_T.c.name == name) & (_T.c.client == client)
    with unit_of_work(engine) as conn:
        if ok:
            conn.execute(update(_T).where(mine, _T.c.attempts > 0).values(attempts=_T.c.attempts - 1))
        elif lock:
            conn.execute(update(_T).where(mine).values(window_start=utc(now), attempts=locked_attempts))
