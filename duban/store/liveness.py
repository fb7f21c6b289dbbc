"""Which dispatchers are alive: a claim belongs to a live dispatcher, and only a dead one's claims are taken over.

A dispatcher marks the outbox rows it claims with its name. Another dispatcher may take those rows over only when
their holder is gone, and it judges that by the holder's liveness, not by instants the two might see
differently (a pass that started long ago, a clock that is simulated or skewed):

- on PostgreSQL the holder keeps a session-level advisory lock, keyed by its name, on a connection of its own
  for as long as it runs; the server drops the lock the moment that session ends (the process exits or is
  killed, the machine goes away). Another dispatcher asks `pg_try_advisory_lock` for the key: granted means the
  holder is gone (and it lets go again at once).
- on SQLite (one machine) the holder keeps an exclusive `flock` on a small file beside the database file; the
  kernel releases it when the process dies, however it dies.
- in the same process, the registry of running dispatchers answers first (an in-memory database has no file).

So a dispatcher killed with SIGKILL has its claims taken over by the very next pass, and a live one's never are.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import threading
import uuid
from contextlib import suppress
from pathlib import Path
from typing import TextIO

from sqlalchemy import Connection, Engine, text

_NAMESPACE = 0x6475_6261  # the advisory lock class ("duba"): keeps duban's keys apart from other users of the server
_running: set[str] = set()
_running_lock = threading.Lock()


def worker_name(prefix: str = "dispatcher") -> str:
    """A name no other dispatcher has had: the given prefix, the host, the process, a random part (≤ 80 chars)."""
    return f"{prefix[:30]}@{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _key(worker: str) -> int:
    return int.from_bytes(hashlib.sha256(worker.encode()).digest()[:4], "big", signed=True)


def _folder(engine: Engine) -> Path | None:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return None
    path = Path(database)
    return path.parent / f"{path.name}.dispatchers"


class Liveness:
    """Held by a running dispatcher for the length of its pass; answers whether other holders are alive."""

    def __init__(self, engine: Engine, worker: str) -> None:
        self.engine = engine
        self.worker = worker
        self._conn: Connection | None = None
        self._file: TextIO | None = None
        self._lock = threading.Lock()  # the advisory connection serves one question at a time

    def __enter__(self) -> Liveness:
        with _running_lock:
            _running.add(self.worker)
        if self.engine.dialect.name == "postgresql":
            self._conn = self.engine.connect()
            self._conn.execute(text("SELECT pg_advisory_lock(:ns, :key)"), {"ns": _NAMESPACE, "key": _key(self.worker)})
            self._conn.commit()
        else:
            folder = _folder(self.engine)
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
                self._file = open(folder / f"{hashlib.sha256(self.worker.encode()).hexdigest()[:24]}.lock", "a+")
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        with _running_lock:
            _running.discard(self.worker)
        if self._conn is not None:
            with suppress(Exception):
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": _NAMESPACE, "key": _key(self.worker)}
                )
                self._conn.commit()
            with suppress(Exception):
                self._conn.close()
        if self._file is not None:
            with suppress(OSError):
                os.unlink(self._file.name)
            self._file.close()

    def gone(self, holders: list[str]) -> list[str]:
        """Those of `holders` whose dispatcher is no longer running (never this one)."""
        dead = []
        for holder in holders:
            if holder == self.worker:
                continue
            with _running_lock:
                if holder in _running:
                    continue
            if self._alive_elsewhere(holder):
                continue
            dead.append(holder)
        return dead

    def _alive_elsewhere(self, holder: str) -> bool:
        if self._conn is not None:
            with self._lock:
                params = {"ns": _NAMESPACE, "key": _key(holder)}
                got = self._conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), params).scalar()
                if got:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), params)
                self._conn.commit()
                return not got
        folder = _folder(self.engine)
        if folder is None:
            return False  # an in-memory database lives in this process only: the registry above has answered
        path = folder / f"{hashlib.sha256(holder.encode()).hexdigest()[:24]}.lock"
        try:
            handle = open(path)
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            with suppress(OSError):  # the holder died and left its file: tidy it away
                os.unlink(path)
            return False
