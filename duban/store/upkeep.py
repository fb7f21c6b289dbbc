"""Upkeep of the database after a large change: PostgreSQL's VACUUM (ANALYZE) of the tables a tick rewrote.

On PostgreSQL an UPDATE writes a new version of the row and leaves the old one, and the old one's index entries,
until a vacuum removes them. A stage opening for a million listed enterprises leaves a million dead versions in
the range of the due-events index that every tick and every dashboard reads (`next_event_at <= now`): each read
then visits them all (measured at 141,568 units: the dashboard's stale-state query 40 ms before a vacuum, 1.7 ms
after). Autovacuum comes eventually, throttled; duban asks for the vacuum right after such a tick instead.
SQLite keeps no old versions: nothing to do there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

REWRITTEN = ("assignment", "intent")  # the tables a tick updates in place (a compose links intents to messages)


def vacuum(engine: Engine, tables: tuple[str, ...] = REWRITTEN) -> float | None:
    """VACUUM (ANALYZE) `tables` on PostgreSQL (outside any transaction, as it must run); seconds taken, or None
    on SQLite. Readers and writers go on meanwhile (a vacuum takes no lock they wait for)."""
    if engine.dialect.name != "postgresql":
        return None
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(tables)}")
    return time.perf_counter() - started
