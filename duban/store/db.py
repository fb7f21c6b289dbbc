"""The database as the rest of duban uses it: one engine per URL with its schema current, and the unit of work.

A unit of work commits everything or nothing: a tick's transitions, intents and messages land together.
On SQLite a unit of work begins IMMEDIATE (one writer at a time, no upgrade deadlocks) and every read begins
deferred (`reading`, or any plain connection); on Postgres two workers ticking one campaign take turns per stage
and per compose (advisory locks) and lock the rows they change, so no transition is applied twice and each unit
still gets one message per tick.
The schema comes from Alembic revisions (duban/store/migrate.py); a fresh database is created at the newest one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar, cast

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from duban.errors import StoreError
from duban.store.engine import checkpointer, make_engine, shown_url, without_secrets, writing
from duban.store.migrate import create_fresh, ensure_schema

if TYPE_CHECKING:
    import sqlite3

T = TypeVar("T")


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL per process, its schema current.

    An empty database is created at the newest revision; the embedded SQLite file is upgraded in place; a
    Postgres database that lags is refused with the command that upgrades it (`duban db upgrade`).
    """
    engine = make_engine(url)
    try:
        ensure_schema(engine, upgrade=engine.dialect.name == "sqlite")
    except OperationalError as exc:  # no server, no such database, a refused login: said in one line, no password
        engine.dispose()
        reason = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else type(exc).__name__
        reason = without_secrets(reason, engine.url.render_as_string(hide_password=False))
        raise StoreError(f"cannot open the database {shown_url(engine)}: {reason} (DUBAN_DATABASE_URL)") from None
    return engine


def init_db(engine: Engine) -> None:
    """Create every table of an empty database at once, stamped with the newest migration."""
    create_fresh(engine)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """A transaction that commits when the block ends normally and rolls back otherwise."""
    with writing(engine) as connection:
        wal = checkpointer(engine) if engine.dialect.name == "sqlite" else None
        changes = _sqlite(connection).total_changes if wal else 0
        yield connection
        wrote = wal is not None and _sqlite(connection).total_changes != changes
    if wal is not None and wrote:  # an idle tick's transactions write nothing: no checkpoint to ask for
        wal.request()


def _sqlite(connection: Connection) -> sqlite3.Connection:
    """The driver's own connection under a SQLite engine's connection (pysqlite hands out sqlite3's)."""
    return cast("sqlite3.Connection", connection.connection.dbapi_connection)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection that only reads. On SQLite its transaction does not take the write lock (WAL: it sees the
    last commit), so a reader such as the operators' view neither waits for a tick's write nor holds one up.
    Every connection but a writer's reads so (see duban.store.engine.writing); this names the intent."""
    with engine.connect() as connection:
        yield connection


class PartlyCommitted(RuntimeError):
    """Some works of `all_or_none` committed and others did not (a share's connection lost while it waited for the
    others, or in the moment of the commits): `done` holds the committed works' results by their place; the others'
    rows are as they were, and the caller does those again itself, so that what it reports is what was done."""

    def __init__(self, message: str, done: dict[int, object]) -> None:
        super().__init__(message)
        self.done = done


def all_or_none(engine: Engine, works: Sequence[Callable[[Connection], T]]) -> list[T]:
    """Run each work at once in a transaction of its own, on a connection of its own (PostgreSQL: the server
    works on as many cores), and commit them all only when every one has done its work: one that fails rolls
    every other back, as one transaction would, and its error is raised. The transactions hold their rows until
    the last one is done, so the works must never wait for each other's rows (disjoint ranges of ids or of
    recipients). A share whose connection is lost after its work, while it waits, is found only at its commit,
    when the others have committed: PartlyCommitted then says which (see there)."""
    ready = [threading.Event() for _ in works]
    decided = threading.Event()
    verdict = {"commit": False}
    results: list = [None] * len(works)
    errors: list[BaseException | None] = [None] * len(works)
    committed = [False] * len(works)

    def run(k: int) -> None:
        try:
            with engine.connect() as connection:
                transaction = None
                try:
                    transaction = connection.begin()
                    results[k] = works[k](connection)
                except BaseException as exc:  # noqa: BLE001 - carried to the caller once every work is settled
                    errors[k] = exc
                finally:
                    ready[k].set()
                decided.wait()
                if transaction is not None and transaction.is_active:
                    if verdict["commit"]:
                        transaction.commit()
                        committed[k] = True
                    else:
                        transaction.rollback()
        except BaseException as exc:  # noqa: BLE001 - no connection, or a commit that failed
            errors[k] = errors[k] or exc
            ready[k].set()

    threads = [threading.Thread(target=run, args=(k,), name=f"duban-share-{k}") for k in range(len(works))]
    for thread in threads:
        thread.start()
    for event in ready:
        event.wait()
    verdict["commit"] = not any(errors)
    decided.set()
    for thread in threads:
        thread.join()
    failed = [exc for exc in errors if exc is not None]
    if failed and any(committed):
        raise PartlyCommitted(
            f"{sum(committed)} of {len(works)} shares committed before one failed: {failed[0]!r}",
            {k: results[k] for k in range(len(works)) if committed[k]},
        ) from failed[0]
    if failed:
        raise failed[0]
    return results


def all_or_none_here(engine: Engine, connection: Connection, works: Sequence[Callable[[Connection], T]]) -> list[T]:
    """`all_or_none`, and when only some works committed, the others done again on `connection` (the caller's own
    transaction, which holds the turn): every work's result, so that what the caller reports is what was done. A
    work that fails again raises, and what committed stands (the next tick applies the rest)."""
    try:
        return all_or_none(engine, works)
    except PartlyCommitted as partly:
        return [cast(T, partly.done[k]) if k in partly.done else works[k](connection) for k in range(len(works))]
