"""The tick groups a stage's due rows into cases by their schedule; on SQLite the escalation instants of each row
are read from its JSON by paths (one call) for up to ESCALATION_PATHS steps, by json_each beyond. Either way a
case's instants are the row's own, and rows whose instants agree fall into one case whatever their targets."""

import json
import sqlite3

import pytest

from duban.services.tick import _escalation_instants
from duban.store.tick_sql import ESCALATION_PATHS, case_key


class _SQLite:
    sqlite = True


def _instants(count: int, day: int = 1) -> list[str]:
    return [f"2025-03-{day + k:02d}T01:00:00.000000+00:00" for k in range(count)]


def _escalation_key(rows: list) -> list:
    (expression,) = [sql for name, sql in case_key(_SQLite()) if name == "escalation_at"]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE assignment (id INTEGER PRIMARY KEY, escalations JSON)")
    conn.executemany("INSERT INTO assignment (escalations) VALUES (?)", [(r,) for r in rows])
    return [r[0] for r in conn.execute(f"SELECT {expression} FROM assignment AS a ORDER BY a.id")]


@pytest.mark.parametrize("steps", [0, 1, 3, ESCALATION_PATHS, ESCALATION_PATHS + 1, 12])
def test_each_rows_escalation_instants_come_back_as_they_are_stored(steps):
    stored = [[at, [f"1407{k:02d}", "leader:张三"]] for k, at in enumerate(_instants(steps))]
    (key,) = _escalation_key([json.dumps(stored)])
    assert _escalation_instants(key) == tuple(_instants(steps))


def test_rows_told_to_different_targets_at_the_same_instants_are_one_case_and_other_instants_another():
    for steps in (2, ESCALATION_PATHS + 2):
        to_county = json.dumps([[at, ["140702"]] for at in _instants(steps)])
        to_leader = json.dumps([[at, ["leader:李四", "140700"]] for at in _instants(steps)])
        later = json.dumps([[at, ["140702"]] for at in _instants(steps, day=2)])
        fewer = json.dumps([[at, ["140702"]] for at in _instants(steps - 1)])
        keys = _escalation_key([to_county, to_leader, later, fewer, None])
        assert keys[0] == keys[1]
        assert len({keys[0], keys[2], keys[3]}) == 3
        assert _escalation_instants(keys[4]) == ()
