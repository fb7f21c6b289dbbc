"""On the embedded SQLite database a read never waits for a write: the portal's busiest pages (a unit's page, the
matrix) and any plain connection read the last commit while a tick holds the write lock. Only a writer (the unit
of work) begins IMMEDIATE. Measured before: a plain `engine.connect()` read waited for the whole write."""

from __future__ import annotations

import sqlite3
import threading
import time

from sqlalchemy import text

from duban.views.matrix import matrix
from duban.views.unit_page import unit_page
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick

HELD_S = 2.0


def _hold_the_write_lock(path: str) -> threading.Thread:
    """Another process's writer: an IMMEDIATE transaction that keeps the write lock for HELD_S."""
    started = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE assignment SET updated_at = updated_at WHERE id = 1")
        started.set()
        time.sleep(HELD_S)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait(10)
    return thread


def test_reads_do_not_wait_for_a_write(sqlite_engine):
    plan_jinzhong(sqlite_engine)
    when = at("2024-05-10 08:30")
    tick(sqlite_engine, when)

    def plain() -> None:
        with sqlite_engine.connect() as conn:
            conn.execute(text("SELECT COUNT(*) FROM assignment")).scalar()

    reads = {
        "plain connection": plain,
        "unit page": lambda: unit_page(sqlite_engine, CAMPAIGN, "140724100", when),
        "matrix": lambda: matrix(sqlite_engine, CAMPAIGN, when),
    }
    for name, read in reads.items():
        writer = _hold_the_write_lock(sqlite_engine.url.database)
        started = time.perf_counter()
        read()
        waited = time.perf_counter() - started
        writer.join()
        assert waited < HELD_S / 2, f"{name} waited {waited:.2f} s for a write"
