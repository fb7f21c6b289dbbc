"""Bulk writes on Postgres (COPY into a staging table, one UPDATE … FROM) keep each column set apart."""

from collections import Counter

from sqlalchemy import select

from duban.store.codec import Codec
from duban.store.tables import Assignment
from tests.integration.helpers import plan_jinzhong


def test_bulk_updates_of_different_columns_in_one_postgres_session(pg_engine):
    """A national simulation updates assignments from the tick (state, counters) and from synthetic submissions
    (state, submitted_at …) on one connection; the second must not reuse the first's staging table."""
    plan_jinzhong(pg_engine)
    a = Assignment.__table__
    with pg_engine.begin() as conn:
        ids = conn.execute(select(a.c.id)).scalars().all()
        codec = Codec(conn)
        codec.update("assignment", ("state",), [("open", i) for i in ids])
        codec.update("assignment", ("state", "reminders_done"), [("due_soon", 1, i) for i in ids])
    with pg_engine.begin() as conn:  # a later transaction on the same pooled session
        Codec(conn).update("assignment", ("reminders_done",), [(2, i) for i in ids])
    with pg_engine.connect() as conn:
        rows = Counter(conn.execute(select(a.c.state, a.c.reminders_done)).all())
    assert rows == {("due_soon", 2): len(ids)} and len(ids) == 324
