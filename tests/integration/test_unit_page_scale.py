"""A unit page reads a unit's children by ix_campaign_unit_parent, not by walking every unit of the campaign: with
a million listed enterprises an enterprise's page took 5 s (ORDER BY code made SQLite walk the primary key)."""

from __future__ import annotations

from sqlalchemy import event

from duban.instants import parse_instant
from duban.services.lifecycle import ensure_planned
from duban.views.registry import children_of
from tests.conftest import JINZHONG


def test_children_are_read_by_the_parent_index_and_come_sorted(sqlite_engine):
    planned = ensure_planned(sqlite_engine, JINZHONG, now=parse_instant("2024-05-01", "Asia/Shanghai"))
    statements: list[tuple[str, tuple]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(sqlite_engine, "before_cursor_execute", record)
    try:
        with sqlite_engine.connect() as conn:
            children = children_of(conn, planned.campaign_id, "140724")
    finally:
        event.remove(sqlite_engine, "before_cursor_execute", record)
    assert [c.code for c in children] == sorted(c.code for c in children) and len(children) == 10
    statement, parameters = next((s, p) for s, p in statements if "parent_code" in s)
    with sqlite_engine.connect() as conn:
        plan = " ".join(str(row) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "ix_campaign_unit_parent" in plan, plan
