"""The assignment tally's triggers: how many assignments of each campaign, stage and item stand in each state,
and how many units hold a duty, kept by the database in the same transaction as every change of an assignment.

The operators' dashboard shows these counts; counting them per page meant reading every assignment of the
campaign (4.2 million for a million enterprises, 21 s on SQLite). Triggers keep them whatever writes the
assignment table — a tick, a submission, an excuse, a review, an amendment, a plan or its removal — so no code
path can forget them.

A row of `assignment_tally` is (campaign, stage, item, state, part) with `n` assignments, `instanced` of them
with an instance (a recurring item's period, a 整改 per sample); the row with stage, item and state all '' counts
in `n` the units of the campaign that hold at least one assignment. A count is the SUM of its key's rows:
- SQLite (one writer at a time) keeps one row per key (part 0), changed by row triggers with an upsert (about
  1.5 µs per changed assignment).
- PostgreSQL appends one row per key a statement changed, each with its own part (statement triggers over the
  transition tables: one aggregate per statement), so concurrent writers never wait on, or deadlock over, a
  shared counter; `COMPACT` folds a campaign's rows into one per key (the tick runs it, duban.services.tick), so
  the rows a reader sums stay few.
"""

from __future__ import annotations

TABLE = "assignment_tally"
UNITS_KEY = ("", "", "")  # (stage_id, item_id, state) of the row that counts the units holding a duty

_KEY = "campaign_id = {0}.campaign_id AND item_id = {0}.item_id AND state = {0}.state AND stage_id = {0}.stage_id"
_UNITS = "campaign_id = {0}.campaign_id AND item_id = '' AND state = '' AND stage_id = '' AND part = 0"
_UPSERT = f"ON CONFLICT (campaign_id, item_id, state, stage_id, part) DO UPDATE SET n = {TABLE}.n + excluded.n"


def _sqlite_add(row: str) -> str:
    """Count the assignment `row` (NEW) in its key's row, made when missing (one statement: an upsert)."""
    return (
        f"INSERT INTO {TABLE} (campaign_id, stage_id, item_id, state, part, n, instanced) "
        f"VALUES ({row}.campaign_id, {row}.stage_id, {row}.item_id, {row}.state, 0, 1, {row}.instance <> '') "
        f"{_UPSERT}, instanced = {TABLE}.instanced + excluded.instanced;\n"
    )


def _sqlite_remove(row: str) -> str:
    """Count the assignment `row` (OLD) out of its key's row (which counted it, so it exists)."""
    return (
        f"UPDATE {TABLE} SET n = n - 1, instanced = instanced - ({row}.instance <> '') "
        f"WHERE {_KEY.format(row)} AND part = 0;\n"
    )


def _sqlite_unit_added(row: str) -> str:
    """The units row: `row`'s unit (NEW) holds its first assignment of the campaign."""
    return (
        f"INSERT INTO {TABLE} (campaign_id, stage_id, item_id, state, part, n, instanced) "
        f"SELECT {row}.campaign_id, '', '', '', 0, 1, 0 WHERE NOT EXISTS (SELECT 1 FROM assignment AS o "
        f"WHERE o.campaign_id = {row}.campaign_id AND o.unit_code = {row}.unit_code AND o.id <> {row}.id) {_UPSERT};\n"
    )


def _sqlite_unit_removed(row: str) -> str:
    """The units row: `row`'s unit (OLD) held its last assignment of the campaign."""
    return (
        f"UPDATE {TABLE} SET n = n - 1 WHERE {_UNITS.format(row)} AND NOT EXISTS (SELECT 1 FROM assignment AS o "
        f"WHERE o.campaign_id = {row}.campaign_id AND o.unit_code = {row}.unit_code);\n"
    )


_SQLITE_COUNTED = ("campaign_id", "stage_id", "item_id", "state")
_SQLITE_CHANGED = " OR ".join(
    [f"OLD.{c} IS NOT NEW.{c}" for c in _SQLITE_COUNTED] + ["(OLD.instance <> '') IS NOT (NEW.instance <> '')"]
)
_SQLITE_MOVED = "OLD.campaign_id IS NOT NEW.campaign_id OR OLD.unit_code IS NOT NEW.unit_code"

SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS assignment_tally_insert AFTER INSERT ON assignment BEGIN\n"
    + _sqlite_add("NEW")
    + _sqlite_unit_added("NEW")
    + "END",
    "CREATE TRIGGER IF NOT EXISTS assignment_tally_delete AFTER DELETE ON assignment BEGIN\n"
    + _sqlite_remove("OLD")
    + _sqlite_unit_removed("OLD")
    + "END",
    "CREATE TRIGGER IF NOT EXISTS assignment_tally_update AFTER UPDATE OF campaign_id, stage_id, item_id, state, "
    f"instance ON assignment WHEN {_SQLITE_CHANGED} BEGIN\n" + _sqlite_remove("OLD") + _sqlite_add("NEW") + "END",
    "CREATE TRIGGER IF NOT EXISTS assignment_tally_move AFTER UPDATE OF campaign_id, unit_code ON assignment "
    f"WHEN {_SQLITE_MOVED} BEGIN\n" + _sqlite_unit_removed("OLD") + _sqlite_unit_added("NEW") + "END",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS assignment_tally_{event}" for event in ("insert", "delete", "update", "move")]


_PG_PART = f"nextval(pg_get_serial_sequence('{TABLE}', 'id'))"  # each appended row its own part


_PG_UNITS = (  # the units row's change: a unit's presence before and after the statement
    "WITH changed AS ({units}), "
    "gained AS (SELECT campaign_id, unit_code, sum(d) AS gained FROM changed GROUP BY campaign_id, unit_code "
    "HAVING sum(d) <> 0), "
    "present AS (SELECT g.campaign_id, g.gained, (SELECT count(*) FROM assignment AS a "
    "WHERE a.campaign_id = g.campaign_id AND a.unit_code = g.unit_code) AS now FROM gained AS g) "
    f"INSERT INTO {TABLE} (campaign_id, stage_id, item_id, state, part, n, instanced) "
    f"SELECT campaign_id, '', '', '', {_PG_PART}, sum(CASE WHEN now > 0 THEN 1 ELSE 0 END "
    "- CASE WHEN now - gained > 0 THEN 1 ELSE 0 END), 0 FROM present GROUP BY campaign_id "
    "HAVING sum(CASE WHEN now > 0 THEN 1 ELSE 0 END - CASE WHEN now - gained > 0 THEN 1 ELSE 0 END) <> 0;\n"
)
_MOVED_FLAG = "duban.tally_units_moved"


def _pg_function(event: str, changed: str, *, moves_only: bool = False) -> str:
    """A statement trigger's function: one row per key the statement changed, and the units row's change.

    A unit holds `now` assignments after the statement and `now - gained` before it (gained: its rows in the new
    transition table less those in the old); only units whose number of rows changed are looked up. An UPDATE
    counts units only when a row changed its unit or campaign (a row trigger raises a flag for the
    transaction), so a stage opening (states only) never groups its rows by unit. The function plans with
    hash aggregates (enable_sort off): a few keys over a million rows, sorted, spilled to disk.
    """
    units = _PG_UNITS.format(units=changed)
    if moves_only:
        units = (
            f"IF current_setting('{_MOVED_FLAG}', true) = 'on' THEN\n{units}"
            f"PERFORM set_config('{_MOVED_FLAG}', 'off', true);\nEND IF;\n"
        )
    return (
        f"CREATE OR REPLACE FUNCTION duban_assignment_tally_{event}() RETURNS trigger LANGUAGE plpgsql "
        "SET enable_sort = off AS $$\n"
        "BEGIN\n"
        f"WITH changed AS ({changed})\n"
        f"INSERT INTO {TABLE} (campaign_id, stage_id, item_id, state, part, n, instanced)\n"
        f"SELECT campaign_id, stage_id, item_id, state, {_PG_PART}, sum(d), "
        "sum(CASE WHEN instance <> '' THEN d ELSE 0 END) "
        "FROM changed GROUP BY campaign_id, stage_id, item_id, state "
        "HAVING sum(d) <> 0 OR sum(CASE WHEN instance <> '' THEN d ELSE 0 END) <> 0;\n"
        f"{units}"
        "RETURN NULL;\n"
        "END $$"
    )


_PG_COLUMNS = "campaign_id, stage_id, item_id, state, instance, unit_code"
_PG_NEW = f"SELECT {_PG_COLUMNS}, 1 AS d FROM tally_new"
_PG_OLD = f"SELECT {_PG_COLUMNS}, -1 AS d FROM tally_old"
POSTGRES = [
    _pg_function("insert", _PG_NEW),
    _pg_function("delete", _PG_OLD),
    _pg_function("update", f"{_PG_NEW} UNION ALL {_PG_OLD}", moves_only=True),
    "CREATE OR REPLACE FUNCTION duban_assignment_tally_moved() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    f"BEGIN PERFORM set_config('{_MOVED_FLAG}', 'on', true); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS assignment_tally_insert ON assignment",
    "CREATE TRIGGER assignment_tally_insert AFTER INSERT ON assignment REFERENCING NEW TABLE AS tally_new "
    "FOR EACH STATEMENT EXECUTE FUNCTION duban_assignment_tally_insert()",
    "DROP TRIGGER IF EXISTS assignment_tally_delete ON assignment",
    "CREATE TRIGGER assignment_tally_delete AFTER DELETE ON assignment REFERENCING OLD TABLE AS tally_old "
    "FOR EACH STATEMENT EXECUTE FUNCTION duban_assignment_tally_delete()",
    "DROP TRIGGER IF EXISTS assignment_tally_update ON assignment",
    "CREATE TRIGGER assignment_tally_update AFTER UPDATE ON assignment "
    "REFERENCING OLD TABLE AS tally_old NEW TABLE AS tally_new "
    "FOR EACH STATEMENT EXECUTE FUNCTION duban_assignment_tally_update()",
    # row triggers fire before statement ones: the flag is up when the update's function runs
    "DROP TRIGGER IF EXISTS assignment_tally_moved ON assignment",
    "CREATE TRIGGER assignment_tally_moved AFTER UPDATE OF campaign_id, unit_code ON assignment FOR EACH ROW "
    "WHEN (OLD.campaign_id IS DISTINCT FROM NEW.campaign_id OR OLD.unit_code IS DISTINCT FROM NEW.unit_code) "
    "EXECUTE FUNCTION duban_assignment_tally_moved()",
]
POSTGRES_DROP = [
    *(
        f"DROP TRIGGER IF EXISTS assignment_tally_{event} ON assignment"
        for event in ("insert", "delete", "update", "moved")
    ),
    *(f"DROP FUNCTION IF EXISTS duban_assignment_tally_{event}()" for event in ("insert", "delete", "update", "moved")),
]

# The tally counted again from the assignments (what the triggers keep; the migration fills the table with it).
RECOUNT = (
    "SELECT campaign_id, stage_id, item_id, state, COUNT(*) AS n, "
    "SUM(CASE WHEN instance <> '' THEN 1 ELSE 0 END) AS instanced FROM assignment {where}"
    "GROUP BY campaign_id, stage_id, item_id, state "
    "UNION ALL SELECT campaign_id, '', '', '', COUNT(DISTINCT unit_code), 0 FROM assignment {where}"
    "GROUP BY campaign_id"
)
FILL = (  # part 0: the one row of its key on SQLite, and on PostgreSQL a row like the others
    f"INSERT INTO {TABLE} (campaign_id, stage_id, item_id, state, n, instanced, part) "
    f"SELECT r.campaign_id, r.stage_id, r.item_id, r.state, r.n, r.instanced, 0 FROM ({RECOUNT.format(where='')}) AS r"
)

# PostgreSQL: fold a campaign's rows into one per key, once it has more than this many (one statement; a
# concurrent compaction skips the rows this one deleted, rows written meanwhile stay for the next).
COMPACT_ABOVE = 256
COMPACT = (
    f"WITH gone AS (DELETE FROM {TABLE} WHERE campaign_id = ? AND "
    f"(SELECT count(*) FROM {TABLE} WHERE campaign_id = ?) > {COMPACT_ABOVE} "
    "RETURNING stage_id, item_id, state, n, instanced) "
    f"INSERT INTO {TABLE} (campaign_id, stage_id, item_id, state, part, n, instanced) "
    f"SELECT ?, stage_id, item_id, state, {_PG_PART}, sum(n), sum(instanced) FROM gone "
    "GROUP BY stage_id, item_id, state "
    "HAVING sum(n) <> 0 OR sum(instanced) <> 0"
)


def install(connection) -> None:
    """Create the triggers (and PostgreSQL's functions) on `connection`'s database; both tables exist."""
    for statement in SQLITE if connection.dialect.name == "sqlite" else POSTGRES:
        connection.exec_driver_sql(statement)


def remove(connection) -> None:
    for statement in SQLITE_DROP if connection.dialect.name == "sqlite" else POSTGRES_DROP:
        connection.exec_driver_sql(statement)
