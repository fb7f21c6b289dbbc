"""红黄绿 counted in the database: each assignment's colour rank at an instant as SQL, and the counts the matrix shows.

A stored state holds until the assignment's `next_event_at` (the tick keeps that column), so colours are SQL
over the stored states. The assignments past it that the tick has not reached yet (`stale`: a due passed a
few minutes ago, or the ticks stopped) are grouped by what decides their state — opening, due, reminders,
state, reminders done; an item's assignments mostly share them — and each group is advanced once in Python.
The answers correct the counts (an item with one assignment per unit: its cell is that assignment) or go back
into the query as a CASE (the per-unit colour, items with several instances per unit).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import Text, and_, case, cast, func, select

from duban.domain.standing import row_state_at
from duban.domain.state import Color, State, color
from duban.store.core import core_table
from duban.store.tables import Assignment
from duban.store.tally import Tally

RANKS = [Color.grey, Color.green, Color.yellow, Color.red]  # worst last
_A = core_table(Assignment)
_MOVING = (State.pending.value, State.open.value, State.due_soon.value)  # overdue stays overdue until handed in
STORED = case(
    (_A.c.state == State.overdue.value, 3),
    (_A.c.state.in_([State.due_soon.value, State.late.value]), 2),
    (_A.c.state == State.pending.value, 0),
    else_=1,
)


def rank_of(state: str) -> int:
    return RANKS.index(color(State(state)))


@dataclass
class Stale:
    """The assignments past their next event that the tick has not reached, by group."""

    groups: list[tuple[str, str, int, int]]  # (item, stored state, rank at as_of, how many)
    rank: object  # an SQL expression of every assignment's rank at as_of


def stale_at(conn, stage_ids: list[str], mine, as_of: datetime) -> Stale:
    """Group the stale assignments `mine` selects, advance each group once, and build the exact rank expression."""
    stale = and_(_A.c.stage_id.in_(stage_ids), _A.c.next_event_at <= as_of, _A.c.state.in_(_MOVING))
    reminders = cast(_A.c.reminders, Text)
    decide = (_A.c.open_at, _A.c.due_at, reminders, _A.c.state, _A.c.reminders_done)
    # item last: grouped by item first, the planner would walk the colours index instead of the due-events one
    found = conn.execute(select(*decide, _A.c.item_id, func.count()).where(mine, stale).group_by(*decide, _A.c.item_id))
    groups, whens, seen = [], [], set()
    for open_at, due_at, text, state, done, item_id, n in found:
        row = SimpleNamespace(
            open_at=open_at,
            due_at=due_at,
            reminders=json.loads(text) if text else None,
            escalations=None,
            state=state,
            reminders_done=done,
            escalations_done=0,
        )
        now = RANKS.index(color(row_state_at(row, as_of)))
        groups.append((item_id, state, now, n))
        if (open_at, due_at, text, state, done) not in seen:
            seen.add((open_at, due_at, text, state, done))
            same = and_(
                _A.c.open_at == open_at,
                _A.c.due_at == due_at,
                _A.c.state == state,
                _A.c.reminders_done == done,
                reminders == text if text is not None else _A.c.reminders.is_(None),
            )
            whens.append((same, now))
    rank = case((~stale, STORED), else_=case(*whens, else_=STORED)) if whens else STORED
    return Stale(groups, rank)


def several_instances(conn, mine) -> set[str]:
    """The items with more than one assignment per unit (recurring items, 整改 for each sample)."""
    return set(conn.execute(select(_A.c.item_id).where(mine, _A.c.instance != "").distinct()).scalars())


def item_counts(
    conn, mine, stale: Stale, multi: set[str] | None = None, kept: Tally | None = None
) -> dict[str, Counter]:
    """Item → colours of its cells (a unit's worst over its instances) over the units `mine` selects.

    `kept`: the campaign's tally (duban.store.tally), when `mine` is the whole campaign — the items with one
    assignment per unit are counted from it instead of from every assignment."""
    multi = several_instances(conn, mine) if multi is None else multi
    counts: dict[str, Counter] = defaultdict(Counter)
    if kept is not None:
        states = ((item, state, n) for (item, state), n in kept.by_item_state().items() if item not in multi)
    else:
        single = select(_A.c.item_id, _A.c.state, func.count()).where(mine, _A.c.item_id.not_in(multi))
        states = conn.execute(single.group_by(_A.c.item_id, _A.c.state))
    for item_id, state, n in states:
        counts[item_id][RANKS[rank_of(state)]] += n
    for item_id, state, now, n in stale.groups:  # one assignment per unit: its cell moves with it
        if item_id not in multi:
            counts[item_id][RANKS[rank_of(state)]] -= n
            counts[item_id][RANKS[now]] += n
    if multi:
        worst = select(_A.c.unit_code, _A.c.item_id, func.max(stale.rank).label("worst"))
        cells = worst.where(mine, _A.c.item_id.in_(multi)).group_by(_A.c.unit_code, _A.c.item_id).subquery()
        query = select(cells.c.item_id, cells.c.worst, func.count()).group_by(cells.c.item_id, cells.c.worst)
        for item_id, worst_rank, n in conn.execute(query):
            counts[item_id][RANKS[worst_rank]] += n
    return {item: Counter({c: n for c, n in counter.items() if n > 0}) for item, counter in counts.items()}


def units_of_colour(
    conn, stage_ids: list[str], mine, stale: Stale, rank: int, as_of: datetime, multi: set[str]
) -> tuple[list[str], dict[str, Counter], set[str]]:
    """The units whose worst colour has `rank`, in code order; item → colours over them; every item owed."""
    per_unit = select(_A.c.unit_code).where(mine).group_by(_A.c.unit_code).having(func.max(stale.rank) == rank)
    codes = list(conn.execute(per_unit.order_by(_A.c.unit_code)).scalars())
    owed = set(conn.execute(select(_A.c.item_id).where(mine).distinct()).scalars())
    matching = and_(mine, _A.c.unit_code.in_(codes))  # the list, not the query again: it was just computed
    counts = item_counts(
        conn, matching, stale_at(conn, stage_ids, matching, as_of) if stale.groups else Stale([], STORED), multi
    )
    return codes, counts, owed
