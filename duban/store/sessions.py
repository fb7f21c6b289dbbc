"""Operators' sessions (table `operator_session`): a session's row kept, read by its id's digest, and ended — one
session, or every session of a login. Hashing, signing and the rules are duban.services.operators'."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from duban.store.core import core_table
from duban.store.db import reading, unit_of_work
from duban.store.tables import OperatorSession

_S = core_table(OperatorSession)


def keep_session(engine: Engine, row: dict[str, Any]) -> None:
    """Keep a new session's row, in a transaction of its own."""
    with unit_of_work(engine) as conn:
        conn.execute(insert(OperatorSession), [row])


def session_row(engine: Engine, id_sha256: str) -> Any | None:
    """(operator, login_tag, expires_at, revoked_at) of the session with this id digest, or None."""
    with reading(engine) as conn:
        return conn.execute(
            select(_S.c.operator, _S.c.login_tag, _S.c.expires_at, _S.c.revoked_at).where(_S.c.id_sha256 == id_sha256)
        ).first()


def end_session_row(engine: Engine, id_sha256: str, at: datetime, by: str) -> int:
    """End the session with this id digest unless it is ended already; how many rows were ended (0 or 1)."""
    with unit_of_work(engine) as conn:
        done = conn.execute(
            update(_S)
            .where(_S.c.id_sha256 == id_sha256, _S.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
        )
    return done.rowcount


def end_operator_sessions(engine: Engine, operator: str, at: datetime, by: str) -> int:
    """End every session of `operator` not ended yet; how many."""
    with unit_of_work(engine) as conn:
        done = conn.execute(
            update(_S).where(_S.c.operator == operator, _S.c.revoked_at.is_(None)).values(revoked_at=at, revoked_by=by)
        )
    return done.rowcount
