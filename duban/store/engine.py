"""Engines for SQLite (the embedded default) and PostgreSQL: connection settings and SQLite's WAL checkpoints.

On SQLite a writer's transaction (`writing`, and the unit of work built on it) begins IMMEDIATE (one writer at a
time, no upgrade deadlocks); every other connection reads by default, its transaction deferred, so a read never
waits for a write (a plain `engine.connect()` used to begin IMMEDIATE and queue behind a tick); its WAL is
folded into the file on a thread of its own after each unit of work (see Checkpointer). The unit of work and the
schema check live in duban/store/db.py, keeping a plan in duban/store/plans.py.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from duban.errors import StoreError

# A commit that is not a unit of work (a migration) leaves its pages for SQLite's own checkpoint once the WAL holds
# this much (in pages of the file's size); every unit of work hands its pages to the checkpointer below.
WAL_AUTOCHECKPOINT_BYTES = 80 * 1024 * 1024
# The page size of a database file duban creates (SQLite's default is 4 KB; a file keeps the size it was made
# with). A stage opening writes each changed page whole into the WAL at its commit, one write per page: for
# 141,568 units about 220 MB, in 54,000 writes with 4 KB pages and 13,500 with 16 KB. The changed rows lie
# together (a stage's assignments, the new messages, intents and transitions at the tables' ends), so larger pages
# add few bytes; the opening took 15-25% less (bench/README.md, stop 35).
PAGE_SIZE = 16 * 1024
# A WAL file this long is checkpointed in the commit (see Checkpointer.request), and cut back to the limit when
# it starts over: a national stage opening writes about 66 MB with its messages, a 5,000-township one 9 MB.
WAL_LONG_BYTES = 64 * 1024 * 1024
WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024
# The page cache of a connection that writes (SQLite's default is 2 MB). A stage opening for a million units
# changes pages all over the assignment, intent and outbox indexes; with 2 MB each change read its page again and
# spilled dirty ones into the WAL mid-transaction (274 s at 1,041,568 units on a loaded machine, 138 s at load
# 5; 71 s with this cache). Pages are taken only as a transaction touches them: small writes stay small.
WRITER_CACHE_KIB = 1024 * 1024
# A transaction that changes many rows at once (a stage opening: `widen_cache`) gets this much per row, up to the
# ceiling: a million-unit opening changes about 1.4 GB of pages, which through 1 GiB spilled into the WAL before
# its commit and were written again (16 KB pages: 27.7 s against 23-24 s with room for all). The connection goes
# back to WRITER_CACHE_KIB at its next transaction, which gives the pages back.
ROW_CACHE_KIB = 2
MAX_WRITER_CACHE_KIB = 3 * 1024 * 1024


class Checkpointer:
    """Copies a SQLite file's WAL into the database on a thread of its own, after each unit of work commits.

    SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages and waits for two
    fsyncs there: about 40 ms of the commit of a 5,000-township stage opening on this machine, and as much again
    in the commit of its messages. Here the commit returns at once and the checkpoint follows beside the next
    step (PASSIVE: it never waits for a reader or a writer; what a reader still needs is copied next time),
    unless the WAL has grown long under close commits (see request). Commits are as durable as before:
    synchronous=NORMAL in WAL mode makes a commit survive a crash of the process, and a power cut may lose the
    last transactions either way. Each checkpoint opens and closes its own connection, so the last connection to
    close still folds the WAL into the file, as SQLite always does; the thread ends when no commit has come for a
    few seconds, and at exit it finishes the checkpoint asked for.
    """

    IDLE_S = 5.0

    def __init__(self, path: str) -> None:
        self.path = path
        self.wanted = threading.Event()
        self.lock = threading.Lock()
        self.running = threading.Lock()  # held while a checkpoint runs: a fork waits for it (see below)
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.wal_path = path + "-wal"
        self.requested = self.done = 0  # checkpoints asked for and run (the tests read them)

    def request(self) -> None:
        """Called by a unit of work that committed; when the WAL file has grown long, it checkpoints right here.

        SQLite starts the WAL over only when a writer begins with every frame already copied. A checkpoint beside
        the next transaction rarely finishes first when commits follow each other closely (a simulation, a
        dispatcher's deliveries), and the WAL would grow by all they write. Past WAL_LONG_BYTES the commit copies
        the WAL itself before its caller writes again, as SQLite's own checkpoint would; the next writer then
        starts the WAL over, and journal_size_limit cuts the file back to WAL_SIZE_LIMIT_BYTES.
        """
        self.requested += 1
        try:
            long = os.stat(self.wal_path).st_size >= WAL_LONG_BYTES
        except OSError:
            long = False
        if long:
            self.checkpoint()
            return
        self.wanted.set()
        with self.lock:
            if self.thread is None and not self.stopping:
                self.thread = threading.Thread(target=self._run, name="duban-wal-checkpoint", daemon=True)
                self.thread.start()

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint; a busy database (another process checkpointing) is left to the next one."""
        with self.running, suppress(sqlite3.Error):
            # mode=rw: a checkpoint never creates the file (a scratch database removed with its folder stays gone)
            connection = sqlite3.connect(
                f"{Path(self.path).as_uri()}?mode=rw", timeout=0, isolation_level=None, uri=True
            )
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.done += 1
            finally:
                connection.close()

    def _run(self) -> None:
        while True:
            if not self.wanted.wait(self.IDLE_S):
                with self.lock:
                    if not self.wanted.is_set():
                        self.thread = None
                        return
            self.wanted.clear()
            self.checkpoint()
            if self.stopping and not self.wanted.is_set():  # at exit: a commit during this checkpoint gets its own
                return

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the checkpoint asked for (at exit), then let no thread start again."""
        with self.lock:
            self.stopping, thread = True, self.thread
        if thread is not None:
            self.wanted.set()
            thread.join(timeout)


_checkpointers: dict[str, Checkpointer] = {}
_checkpointers_lock = threading.Lock()


def _before_fork() -> None:
    """A fork waits for a running checkpoint: SQLite keeps its file locks in process-wide state, and a child forked
    in the middle of a checkpoint would find the checkpoint lock held by a thread it does not have."""
    for wal in set(_checkpointers.values()):
        wal.running.acquire()


def _after_fork_in_parent() -> None:
    for wal in set(_checkpointers.values()):
        wal.running.release()


def _after_fork_in_child() -> None:
    """A forked process (a pre-forking web server, a forking worker) has none of its parent's threads: its
    checkpointers start their own, with fresh locks, instead of waiting on a thread or a lock left behind."""
    global _checkpointers_lock
    _checkpointers_lock = threading.Lock()
    for wal in set(_checkpointers.values()):
        wal.wanted, wal.lock, wal.running = threading.Event(), threading.Lock(), threading.Lock()
        wal.thread, wal.stopping = None, False


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


@atexit.register
def _finish_checkpoints() -> None:
    for wal in set(_checkpointers.values()):
        wal.stop()


def checkpointer(engine: Engine) -> Checkpointer | None:
    """The checkpointer of a SQLite file engine (one per file per process), None for Postgres or memory."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    if not os.path.isabs(path):  # a relative path names a file in the working directory of the moment
        path = os.path.join(os.getcwd(), path)
    wal = _checkpointers.get(path)
    if wal is None:
        with _checkpointers_lock:  # one per file: two spellings of one path share it
            resolved = str(Path(path).resolve())
            same = next((w for w in _checkpointers.values() if w.path == resolved), None)
            wal = _checkpointers.setdefault(path, same or Checkpointer(resolved))
    return wal


def close_engine(engine: Engine) -> None:
    """Dispose of `engine` for good: its SQLite file's last checkpoint finishes first and its thread ends, so the
    file's folder (a simulation's scratch database) can be removed at once without a checkpoint writing into it."""
    wal = checkpointer(engine)
    if wal is not None:
        wal.stop()
        with _checkpointers_lock:
            for key in [key for key, value in _checkpointers.items() if value is wal]:
                del _checkpointers[key]
    engine.dispose()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: committed when the block ends normally, rolled back otherwise. On SQLite it
    begins IMMEDIATE (it takes the write lock at once, so writers queue instead of deadlocking on an upgrade); any
    other connection reads, and its transaction begins deferred, never waiting for a writer nor holding one up."""
    with engine.connect() as connection:
        connection.execution_options(duban_writer=True)
        with connection.begin():
            yield connection


def _private_file(path: Path) -> None:
    """A database file duban makes is its owner's alone (0600; SQLite gives its -wal and -shm the same mode): it
    holds the units' links, the operators' sessions and every record. Its folder, when made here, is 0700."""
    if path.exists():
        return
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with suppress(OSError):
            path.parent.chmod(0o700)
    with suppress(OSError):  # made by another process first (theirs, as it is), or not to be made: SQLite says why
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


_SECRET_ARGS = ("password", "passwd", "pass", "sslpassword", "secret", "token", "key")


def url_secrets(url: str) -> list[str]:
    """What of a database URL is secret, in every form a message may repeat it: the password of user:password@
    (up to the last @: a password with an @ in it), its pieces around an @, and a `?password=` (libpq's way)."""
    found: list[str] = []
    netloc = url.split("://", 1)[-1].partition("/")[0]
    if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:
        password = netloc.rsplit("@", 1)[0].split(":", 1)[1]
        found += [password, unquote(password), *password.split("@")]
    for name, value in parse_qsl(url.partition("?")[2], keep_blank_values=True):
        if name.lower() in _SECRET_ARGS:
            found += [value, quote(value, safe="")]
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


def without_secrets(text: str, url: str) -> str:
    """`text` (an error, a URL) with every secret of the database URL `url` written as ***."""
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    return text


def shown_url(engine: Engine) -> str:
    """The engine's URL as messages show it: password, `?password=` and the like as ***."""
    full = engine.url.render_as_string(hide_password=False)
    return without_secrets(engine.url.render_as_string(hide_password=True), full)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder, WAL, foreign keys, reads that never take the write lock,
    IMMEDIATE transactions for writers (`writing`), and their WAL checkpoints on a thread of their own."""
    if not url.startswith("sqlite"):
        try:
            return create_engine(url, pool_pre_ping=True, future=True)
        except (ArgumentError, NoSuchModuleError, ModuleNotFoundError, ValueError) as exc:  # postgres://, a typo
            raise StoreError(
                "DUBAN_DATABASE_URL must be sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DATABASE "
                f"(the database could not be opened: {type(exc).__name__})"
            ) from None
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        _private_file(Path(path.split("?", 1)[0]))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, future=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new file only: before its first page is written
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        (page_size,) = cursor.execute("PRAGMA page_size").fetchone()
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_BYTES // page_size}")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")  # the WAL file, cut back when it restarts
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writer = connection.get_execution_options().get("duban_writer", False)
        cache = connection.connection.info.get("duban_writer_cache")  # None: the connection has only read
        if (writer or cache is not None) and cache != WRITER_CACHE_KIB:  # a writer's, or one widen_cache widened
            connection.exec_driver_sql(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
            connection.connection.info["duban_writer_cache"] = WRITER_CACHE_KIB
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def widen_cache(connection: Connection, rows: int) -> None:
    """SQLite: this transaction changes about `rows` rows at once; its page cache holds them all (ROW_CACHE_KIB
    per row, up to MAX_WRITER_CACHE_KIB) when WRITER_CACHE_KIB would not. A reader's own deferred transaction
    never needs it; the connection's next transaction sets its cache back."""
    wanted = min(MAX_WRITER_CACHE_KIB, rows * ROW_CACHE_KIB)
    info = connection.connection.info
    if wanted > info.get("duban_writer_cache", WRITER_CACHE_KIB):
        connection.exec_driver_sql(f"PRAGMA cache_size = -{wanted}")
        info["duban_writer_cache"] = wanted


def is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"
