"""The statements of a tick by case: one case's transitions, intents and new progress, written by the database.

A case is every due assignment of a stage with one progress and one schedule (escalation instants, not their
targets): all 38,723 townships of a national stage opening are one. The tick works out what happens to a case
(duban.domain.standing.tick_outcome) and `encode` turns it into the driver's values once;
these statements apply it to the case's rows without sending them to Python — INSERT … SELECT for transitions
and intents (escalations go to the targets in each row's own JSON), then one UPDATE. SQLite holds the write lock
for the whole transaction, so the statements see the same rows; on PostgreSQL they are one statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from duban.domain.message_keys import SINGLE
from duban.domain.standing import TickOutcome
from duban.store.codec import Codec
from duban.store.composing import OUTBOX_COLUMNS, payload_sql
from duban.store.engine import widen_cache

TRANSITION_COLUMNS = (
    "campaign_id",
    "assignment_id",
    "event",
    "step",
    "from_state",
    "to_state",
    "event_at",
    "recorded_at",
    "actor",
)
INTENT_COLUMNS = ("campaign_id", "assignment_id", "recipient", "kind", "step", "event_at", "created_at")
LOCK_WAIT = "60s"  # a share of a spread tick or compose waits no longer for a lock (see no_long_waits)
WORK_MEM = "64MB"  # PostgreSQL's memory per sort or hash of a large tick or compose (see make_room)
ROOMY_FROM = 10_000  # rows from which a tick or a compose asks for WORK_MEM
ESCALATION_PATHS = 8  # escalation steps whose instants SQLite's case key reads by paths (see case_key)
UPDATED = ("state", "reminders_done", "escalations_done", "next_event_at", "updated_at")


@dataclass
class Outcome:
    """What advancing one case (schedule + progress) gives, encoded for the driver (see `encode`)."""

    update: tuple  # state, reminders_done, escalations_done, next_event_at
    transitions: list[tuple]  # (event, step, from, to, event_at)
    unit_intent: tuple | None  # (kind, step, event_at) for the unit itself
    escalation: tuple | None  # (step, event_at) of the escalation to announce to the step's targets
    count: int = 0
    overdue: bool = False  # the assignment slipped past its due in this tick


@dataclass
class Draft:
    """The tick writes a case's unit intents with their messages (duban.store.tables.DraftRange): what they
    need besides the rows, in the driver's terms."""

    tag: str  # the campaign's part of a one-intent key (duban.domain.message_keys.campaign_tag)
    as_of: str  # the payload's as_of (Codec.iso)
    created: Any  # the messages' created_at (Codec.instant)
    not_before: Any  # the tick's instant, or the end of quiet hours for a kind that is not urgent
    batch: str  # names the case's ranges (one per share of a spread tick)


def encode(codec: Codec, outcome: TickOutcome) -> Outcome:
    """A tick's outcome in the driver's terms: every instant encoded here, once per case."""
    moved, unit, escalation = outcome.progress, outcome.unit_intent, outcome.escalation
    return Outcome(
        update=(moved.state.value, moved.reminders_done, moved.escalations_done, codec.instant(outcome.next_event_at)),
        transitions=[
            (c.event.value, c.step, c.from_state.value, c.to_state.value, codec.instant(c.at)) for c in outcome.changes
        ],
        unit_intent=(unit.event.value, unit.step, codec.instant(unit.at)) if unit else None,
        escalation=(escalation.step, codec.instant(escalation.at)) if escalation else None,
        overdue=outcome.overdue,
    )


_DUE = "a.campaign_id = ? AND a.stage_id = ? AND a.next_event_at <= ?"
_SET = ", ".join(f"{column} = ?" for column in UPDATED)
_TRANSITIONS = f"INSERT INTO transition ({', '.join(TRANSITION_COLUMNS)})"
_INTENTS = f"INSERT INTO intent ({', '.join(INTENT_COLUMNS)})"


_SELECT_DUE = (
    "SELECT id, unit_code, item_id, instance, state, open_at, due_at, CAST(reminders AS TEXT) AS reminders, "
    "CAST(escalations AS TEXT) AS escalations, reminders_done, escalations_done "
    "FROM assignment WHERE campaign_id = ? AND stage_id = ? AND next_event_at <= ? ORDER BY next_event_at, id"
)


def take_turn(codec: Codec, campaign_id: str, stage_id: str) -> None:
    """PostgreSQL: two workers ticking one stage at once take turns, so the second finds the stage done rather
    than half of it, and each unit still gets one message per tick (SQLite's IMMEDIATE transactions queue)."""
    if not codec.sqlite:
        codec.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"duban.tick.{campaign_id}.{stage_id}",))


def make_room(codec: Codec, rows: int | None = None) -> None:
    """PostgreSQL: a stage opening sorts and hashes every unit's row (a million for listed enterprises); from
    ROOMY_FROM rows it does so in memory rather than in temporary files (the default work_mem is 4 MB), for this
    transaction only (`rows` None: whatever their number). An idle tick asks nothing (one round trip fewer).
    SQLite: the writer's page cache holds every page the `rows` change (duban.store.engine.widen_cache)."""
    if codec.sqlite:
        if rows is not None and rows >= ROOMY_FROM:
            widen_cache(codec.conn, rows)
    elif rows is None or rows >= ROOMY_FROM:
        codec.execute(f"SET LOCAL work_mem = '{WORK_MEM}'", ())


def no_long_waits(codec: Codec) -> None:
    """PostgreSQL, in a share of work spread over several transactions: a lock the share waits for longer than
    LOCK_WAIT ends it with an error (the task's retry then finds what is left), rather than a wait that nothing
    would break if the lock were ever held by the transaction that waits for this share (the database cannot see
    such a wait: it is in duban)."""
    if not codec.sqlite:
        codec.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'", ())


def id_ranges(first: int, last: int, shares: int) -> list[tuple[int, int]]:
    """[first, last] cut into at most `shares` consecutive ranges of ids, as even as the ids allow."""
    span = last - first + 1
    shares = max(1, min(shares, span))
    bounds = [first + span * k // shares for k in range(shares + 1)]
    return [(bounds[k], bounds[k + 1] - 1) for k in range(shares)]


def due_rows(codec: Codec, campaign_id: str, stage_id: str, now: Any) -> list[Any]:
    """The stage's assignments with an event at or before `now` (stored form), earliest first, for the tick row
    by row; PostgreSQL locks them and skips rows another transaction holds (they stay due for the next tick)."""
    sql = _SELECT_DUE + ("" if codec.sqlite else " FOR UPDATE SKIP LOCKED")
    return codec.select(sql, (campaign_id, stage_id, now))


def earliest_event(codec: Codec, campaign_id: str, stage_id: str, after: datetime | None) -> datetime | None:
    """The stage's earliest pending event instant (strictly after `after`, when given), from the due index."""
    sql = "SELECT MIN(next_event_at) FROM assignment WHERE campaign_id = ? AND stage_id = ?"
    params: list[Any] = [campaign_id, stage_id]
    if after is not None:
        sql += " AND next_event_at > ?"
        params.append(codec.instant(after))
    return codec.read_instant(codec.select(sql, params)[0][0])


def case_key(codec: Codec) -> list[tuple[str, str]]:
    """(name, SQL) of what decides a row's outcome: its progress and schedule, escalation instants without targets."""
    if codec.sqlite:
        # up to ESCALATION_PATHS steps (every spec seen has one to three) read by paths in one call: a JSON array
        # of the instants, nulls after the last; beyond, each step's instant joined by spaces (json_each, 4× slower)
        paths = ", ".join(f"'$[{k}][0]'" for k in range(ESCALATION_PATHS))
        escalation_at = (
            f"CASE WHEN json_array_length(a.escalations) <= {ESCALATION_PATHS} "
            f"THEN json_extract(a.escalations, {paths}) ELSE (SELECT group_concat(json_extract(e.value, '$[0]'), ' ') "
            "FROM json_each(a.escalations) AS e) END"
        )
    else:
        escalation_at = (
            "(SELECT string_agg(e.value ->> 0, ' ' ORDER BY e.n) "
            "FROM json_array_elements(a.escalations) WITH ORDINALITY AS e(value, n))"
        )
    return [
        ("state", "a.state"),
        ("reminders_done", "a.reminders_done"),
        ("escalations_done", "a.escalations_done"),
        ("open_at", "a.open_at"),
        ("due_at", "a.due_at"),
        ("reminders", "CAST(a.reminders AS TEXT)"),
        ("escalation_at", escalation_at),
    ]


_ONE_ITEM = (  # every row of the case is one item (and instance): each of its units is in it once
    "CASE WHEN MIN(a.item_id) = MAX(a.item_id) AND MIN(a.instance) = MAX(a.instance) THEN 1 ELSE 0 END AS one_item"
)


NULLABLE_KEYS = ("reminders", "escalation_at")  # the case key's parts that may be empty (no reminders, no escalations)
_NULL = "'~'"  # an empty part in the one-case probe: no reminders' JSON or escalation instants begin with it


@dataclass(frozen=True)
class OneCase:
    """The due rows as one case, in the shape of a `select_cases` row: the key's parts by name and by place, then
    count, first_id, last_id and one_item."""

    names: tuple[str, ...]
    values: tuple[Any, ...]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[self.names.index(name)]
        except ValueError:
            raise AttributeError(name) from None

    def __getitem__(self, index: Any) -> Any:
        return self.values[index]

    def __len__(self) -> int:
        return len(self.values)


def one_case(codec: Codec, key: list[tuple[str, str]], due: tuple) -> list[Any] | None:
    """The due rows when they are one case ([] when none is due), found by each part's least and greatest value in
    one pass over the due range; None when they are several (then `select_cases` groups them). A stage opening is
    one case of every unit's row: on SQLite this pass takes three quarters of the grouping's time (0.38 against
    0.50 s of CPU at 141,568 rows); on PostgreSQL, which evaluates the escalation instants twice here, no less
    (2.9 against 2.6 s), so it groups there."""
    parts = []
    for name, expr in key:
        value = f"COALESCE({expr}, {_NULL})" if name in NULLABLE_KEYS else expr
        parts += [f"MIN({value})", f"MAX({value})"]
    (row,) = codec.select(
        f"SELECT {', '.join(parts)}, COUNT(*), MIN(a.id), MAX(a.id), {_ONE_ITEM} FROM assignment AS a WHERE {_DUE}",
        due,
    )
    count = row[2 * len(key)]
    if not count:
        return []
    values = []
    for place, (name, _expr) in enumerate(key):
        least, greatest = row[2 * place], row[2 * place + 1]
        if least != greatest:
            return None
        values.append(None if name in NULLABLE_KEYS and least == _NULL.strip("'") else least)
    names = (*(name for name, _expr in key), "count", "first_id", "last_id", "one_item")
    return [OneCase(names, (*values, *row[2 * len(key) :]))]


def select_cases(codec: Codec, key: list[tuple[str, str]], due: tuple) -> list[Any]:
    """The stage's due cases with their row counts, first and last ids and whether all are of one item, earliest
    first (an index range scan, then a grouping; none when the range is one case: `one_case`)."""
    single = one_case(codec, key, due) if codec.sqlite else None  # PostgreSQL: no faster than its grouping
    return group_cases(codec, key, due) if single is None else single


def group_cases(codec: Codec, key: list[tuple[str, str]], due: tuple) -> list[Any]:
    """`select_cases` by grouping the due rows, whatever their number of cases."""
    columns = ", ".join(f"{expr} AS {name}" for name, expr in key)
    grouped = ", ".join(expr for _name, expr in key)
    return codec.select(
        f"SELECT {columns}, COUNT(*) AS count, MIN(a.id) AS first_id, MAX(a.id) AS last_id, {_ONE_ITEM} "
        f"FROM assignment AS a WHERE {_DUE} "
        f"GROUP BY {grouped} ORDER BY MIN(a.next_event_at), MIN(a.id)",
        due,
    )


def apply_case(
    codec: Codec,
    key: list[tuple[str, str]],
    due: tuple,
    case: Any,
    outcome: Outcome,
    actor: str,
    *,
    alone: bool = False,
    ids: tuple[int, int] | None = None,
    draft: Draft | None = None,
) -> tuple[int, int, list[tuple]]:
    """Apply one case's outcome to its rows: (rows changed, intents written, (unit, item, instance) that slipped).

    `alone`: the case is every due row of the stage and no other transaction can change them before this one
    ends (SQLite's write lock), so the due range alone names its rows and no row's key is worked out again.
    `ids`: only the case's rows with an id in this range (first, last), a share of a spread tick.
    `draft`: each row's unit intent is written with its message, held until the compose (a case of one item).
    """
    if alone and codec.sqlite:
        where, params = _DUE, list(due)
    else:
        same = "IS" if codec.sqlite else "IS NOT DISTINCT FROM"
        where = " AND ".join([_DUE, *(f"{expr} {same} ?" for _name, expr in key)])
        params = [*due, *case[: len(key)]]
    if ids is not None:
        where += " AND a.id BETWEEN ? AND ?"
        params += list(ids)
    if codec.sqlite:
        span = ids or (case.first_id, case.last_id)
        return _apply_sqlite(codec, due[0], due[2], where, params, outcome, actor, draft, span)
    return _apply_postgres(codec, due[0], due[2], where, params, outcome, actor, draft)


_OUTBOX = f"INSERT INTO outbox ({', '.join(('id', *OUTBOX_COLUMNS))})"
_RANGE = "INSERT INTO draft_range (campaign_id, first_id, last_id, messages, batch, drafted_at)"
_DRAFTED_INTENTS = f"INSERT INTO intent (id, {', '.join(INTENT_COLUMNS)}, message_id)"


def _draft_sqlite(
    codec: Codec, campaign_id: str, now, where: str, params: list, unit_intent: tuple, draft: Draft, span: tuple
) -> int:
    """The case's unit intents and their messages, each numbered by its row's id shifted past each table's last id
    (gaps are harmless; SQLite's write lock: nobody writes between), and the range the messages take: how many."""
    (mtop,), (itop,) = (codec.select(f"SELECT COALESCE(MAX(id), 0) FROM {t}", ())[0] for t in ("outbox", "intent"))
    rows = (
        "SELECT a.id AS aid, a.id - ? AS n, a.unit_code AS recipient, ? AS kind, ? AS step, "
        "? AS event_at, a.item_id AS item_id, a.instance AS instance, a.unit_code AS unit_code, a.due_at AS due_at, "
        "a.role AS role "
        f"FROM assignment AS a WHERE {where}"
    )
    key = f"'{SINGLE}' || ? || printf('%012x', ? + i.n)"
    count: int = codec.execute(
        f"{_OUTBOX} SELECT ? + i.n, ?, i.recipient, i.kind, {key}, {payload_sql(codec, 'i')}, ?, ?, 'pending', 0 "
        f"FROM ({rows}) AS i",
        [
            mtop,
            campaign_id,
            draft.tag,
            itop,
            draft.as_of,
            draft.created,
            draft.not_before,
            span[0] - 1,
            *unit_intent,
            *params,
        ],
    ).rowcount
    if count:
        codec.execute(
            f"{_DRAFTED_INTENTS} SELECT ? + a.id - ?, ?, a.id, a.unit_code, ?, ?, ?, ?, "
            f"? + a.id - ? FROM assignment AS a WHERE {where}",
            [itop, span[0] - 1, campaign_id, *unit_intent, now, mtop, span[0] - 1, *params],
        )
        codec.execute(
            f"{_RANGE} VALUES (?, ?, ?, ?, ?, ?)",
            [campaign_id, mtop + 1, mtop + span[1] - span[0] + 1, count, draft.batch, now],
        )
    return count


def _apply_sqlite(
    codec: Codec,
    campaign_id: str,
    now,
    where: str,
    params: list,
    outcome: Outcome,
    actor: str,
    draft: Draft | None,
    span: tuple[int, int],
):
    rows = f"FROM assignment AS a WHERE {where} ORDER BY a.id"
    for part in outcome.transitions:
        sql = f"{_TRANSITIONS} SELECT ?, a.id, ?, ?, ?, ?, ?, ?, ? {rows}"
        codec.execute(sql, [campaign_id, *part, now, actor, *params])
    intents = 0
    if outcome.unit_intent and draft is not None:
        intents += _draft_sqlite(codec, campaign_id, now, where, params, outcome.unit_intent, draft, span)
    elif outcome.unit_intent:
        sql = f"{_INTENTS} SELECT ?, a.id, a.unit_code, ?, ?, ?, ? {rows}"
        intents += codec.execute(sql, [campaign_id, *outcome.unit_intent, now, *params]).rowcount
    if outcome.escalation:
        step, event_at = outcome.escalation
        sql = (
            f"{_INTENTS} SELECT ?, a.id, t.value, 'escalation', ?, ?, ? FROM assignment AS a, "
            f"json_each(a.escalations, '$[{int(step)}][1]') AS t WHERE {where} ORDER BY a.id, t.key"
        )
        intents += codec.execute(sql, [campaign_id, step, event_at, now, *params]).rowcount
    overdue = []
    if outcome.overdue:
        overdue = [tuple(r) for r in codec.select(f"SELECT a.unit_code, a.item_id, a.instance {rows}", params)]
    update = f"UPDATE assignment AS a SET {_SET} WHERE {where}"
    applied = codec.execute(update, [*outcome.update, now, *params]).rowcount
    return applied, intents, overdue


def _apply_postgres(
    codec: Codec, campaign_id: str, now, where: str, params: list, outcome: Outcome, actor: str, draft: Draft | None
):
    """One statement: the UPDATE changes the rows it could lock, and the INSERTs take exactly the rows it changed."""
    # The rows are locked by the inner SELECT and skipped when another transaction holds them (a unit submitting,
    # an amendment): the tick never waits on a row, so it can never deadlock with them; skipped rows stay due
    # for the next tick, as in the row-by-row path.
    ctes = [
        f"moved AS (UPDATE assignment SET {_SET} WHERE id IN (SELECT a.id FROM assignment AS a WHERE {where} "
        "FOR UPDATE SKIP LOCKED) RETURNING id, unit_code, item_id, instance, due_at, role, escalations)"
    ]
    values = [*outcome.update, now, *params]
    if outcome.transitions:  # one INSERT, each assignment's transitions in event order (ids as on SQLite)
        parts = ", ".join(["(?::integer, ?, ?::integer, ?, ?, ?::timestamptz)"] * len(outcome.transitions))
        ctes.append(
            f"transitions AS ({_TRANSITIONS} SELECT ?, m.id, p.event, p.step, p.from_state, p.to_state, "
            f"p.event_at, ?::timestamptz, ? FROM moved AS m CROSS JOIN (VALUES {parts}) "
            "AS p(n, event, step, from_state, to_state, event_at) ORDER BY m.id, p.n)"
        )
        values += [campaign_id, now, actor]
        values += [value for n, part in enumerate(outcome.transitions) for value in (n, *part)]
    counts = []
    if outcome.unit_intent and draft is not None:  # the unit intents written with their messages, held (DraftRange)
        key = f"'{SINGLE}' || ? || lpad(to_hex(i.iid::bigint), 12, '0')"  # intent ids are 32-bit here: never cut
        ctes += [
            "drafted AS MATERIALIZED (SELECT m.id AS aid, nextval(pg_get_serial_sequence('outbox', 'id')) AS mid, "
            "nextval(pg_get_serial_sequence('intent', 'id')) AS iid, m.unit_code AS recipient, ?::text AS kind, "
            "?::integer AS step, ?::timestamptz AS event_at, m.item_id, m.instance, m.unit_code, m.due_at, m.role "
            "FROM moved AS m ORDER BY m.id)",  # ids drawn in the rows' order (PostgreSQL: after the sort)
            f"drafts AS ({_OUTBOX} SELECT i.mid, ?, i.recipient, i.kind, {key}, {payload_sql(codec, 'i')}, "
            "?::timestamptz, ?::timestamptz, 'pending', 0 FROM drafted AS i ORDER BY i.aid RETURNING 1)",
            f"unit_intents AS ({_DRAFTED_INTENTS} SELECT iid, ?, aid, recipient, kind, step, event_at, "
            "?::timestamptz, mid FROM drafted ORDER BY aid RETURNING 1)",
            f"ranged AS ({_RANGE} SELECT ?, min(mid), max(mid), count(*), ?, ?::timestamptz FROM drafted "
            "HAVING count(*) > 0 "
            "RETURNING 1)",
        ]
        values += [*outcome.unit_intent, campaign_id, draft.tag, draft.as_of, draft.created, draft.not_before]
        values += [campaign_id, now, campaign_id, draft.batch, now]
        counts.append("(SELECT count(*) FROM unit_intents)")
    elif outcome.unit_intent:
        ctes.append(
            f"unit_intents AS ({_INTENTS} SELECT ?, id, unit_code, ?, ?, ?::timestamptz, ?::timestamptz "
            "FROM moved ORDER BY id RETURNING 1)"
        )
        values += [campaign_id, *outcome.unit_intent, now]
        counts.append("(SELECT count(*) FROM unit_intents)")
    if outcome.escalation:
        step, event_at = outcome.escalation
        ctes.append(
            f"escalation_intents AS ({_INTENTS} SELECT ?, m.id, t.value, 'escalation', ?, ?::timestamptz, "
            f"?::timestamptz FROM moved AS m CROSS JOIN LATERAL json_array_elements_text(m.escalations -> "
            f"{int(step)} -> 1) WITH ORDINALITY AS t(value, n) ORDER BY m.id, t.n RETURNING 1)"
        )
        values += [campaign_id, step, event_at, now]
        counts.append("(SELECT count(*) FROM escalation_intents)")
    intents = " + ".join(counts) or "0"
    if outcome.overdue:
        rows = codec.select(
            f"WITH {', '.join(ctes)} SELECT id, unit_code, item_id, instance, {intents} FROM moved", values
        )
        return len(rows), (rows[0][4] if rows else 0), [tuple(r[1:4]) for r in sorted(rows)]
    applied, intents = codec.select(f"WITH {', '.join(ctes)} SELECT count(*), {intents} FROM moved", values)[0]
    return applied, intents, []
