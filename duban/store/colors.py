"""红黄绿 counted in the database (duban.views.colors, duban.views.matrix): each assignment's colour rank at an
instant as SQL, and the grouped counts the matrix shows.

A stored state holds until the assignment's `next_event_at` (the tick keeps that column), so colours are SQL
over the stored states. The assignments past it that the tick has not reached yet (`stale`: a due passed a
few minutes ago, or the ticks stopped) are grouped by what decides their state — opening, due, reminders,
state, reminders done; an item's assignments mostly share them — and each group is advanced once in Python.
The answers correct the counts (an item with one assignment per unit: its cell is that assignment) or go back
into the query as a CASE (the per-unit colour, items with several instances per unit).

A `Scope` names the assignments counted: a campaign's, of the units at a level and under a parent (a subquery of
the unit table, duban.store.registry.chosen_units), of a list of codes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, and_, case, cast, func, select

from duban.domain.standing import row_state_at
from duban.domain.state import Color, State, color
from duban.store.core import core_table
from duban.store.registry import chosen_units
from duban.store.tables import Assignment

RANKS = [Color.grey, Color.green, Color.yellow, Color.red]  # worst last: a colour's rank is its index
_A = core_table(Assignment)
_MOVING = (State.pending.value, State.open.value, State.due_soon.value)  # overdue stays overdue until handed in
# a version waiting for review handed in after the due is yellow, as a late hand-in is; STORED reads the colours
# index alone, so these few rows (the in_review partial index) are corrected by queries of their own
LATE_IN_REVIEW = and_(_A.c.state == State.in_review.value, _A.c.submitted_at > _A.c.due_at)
STORED = case(
    (_A.c.state == State.overdue.value, 3),
    (_A.c.state.in_([State.due_soon.value, State.late.value]), 2),
    (_A.c.state == State.pending.value, 0),
    else_=1,
)


@dataclass(frozen=True)
class Scope:
    """The assignments counted: the campaign's, of its units at `level` and under `parent` (each when given), of
    the units `codes` (when given)."""

    campaign_id: str
    level: str | None = None
    parent: str | None = None
    codes: Sequence[str] | None = None

    def where(self) -> ColumnElement[bool]:
        mine = _A.c.campaign_id == self.campaign_id
        if self.level or self.parent:
            mine = and_(mine, _A.c.unit_code.in_(chosen_units(self.campaign_id, level=self.level, parent=self.parent)))
        if self.codes is not None:
            mine = and_(mine, _A.c.unit_code.in_(self.codes))
        return mine


@dataclass
class Stale:
    """The assignments past their next event that the tick has not reached, by group."""

    groups: list[tuple[str, str, int, int]]  # (item, stored state, rank at as_of, how many)
    rank: Any  # an SQL expression of every assignment's rank at as_of


NO_STALE = Stale([], STORED)


def stale_at(conn: Connection, stage_ids: list[str], scope: Scope, as_of: datetime) -> Stale:
    """Group the stale assignments of `scope`, advance each group once, and build the exact rank expression."""
    stale = and_(_A.c.stage_id.in_(stage_ids), _A.c.next_event_at <= as_of, _A.c.state.in_(_MOVING))
    reminders = cast(_A.c.reminders, Text)
    decide = (_A.c.open_at, _A.c.due_at, reminders, _A.c.state, _A.c.reminders_done)
    # item last: grouped by item first, the planner would walk the colours index instead of the due-events one
    found = conn.execute(
        select(*decide, _A.c.item_id, func.count()).where(scope.where(), stale).group_by(*decide, _A.c.item_id)
    )
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


def several_instances(conn: Connection, scope: Scope) -> set[str]:
    """The items with more than one assignment per unit (recurring items, 整改 for each sample)."""
    return set(conn.execute(select(_A.c.item_id).where(scope.where(), _A.c.instance != "").distinct()).scalars())


def single_states(conn: Connection, scope: Scope, multi: set[str]) -> list[tuple[str, str, int]]:
    """(item, stored state, how many) of the items not in `multi`."""
    single = select(_A.c.item_id, _A.c.state, func.count()).where(scope.where(), _A.c.item_id.not_in(multi))
    return list(conn.execute(single.group_by(_A.c.item_id, _A.c.state)).all())


def worst_cells(conn: Connection, scope: Scope, stale: Stale, multi: set[str]) -> list[tuple[str, int, int]]:
    """(item, worst rank, how many cells) of the items in `multi`: a cell is a unit's worst over its instances."""
    worst = select(_A.c.unit_code, _A.c.item_id, func.max(stale.rank).label("worst"))
    cells = worst.where(scope.where(), _A.c.item_id.in_(multi)).group_by(_A.c.unit_code, _A.c.item_id).subquery()
    query = select(cells.c.item_id, cells.c.worst, func.count()).group_by(cells.c.item_id, cells.c.worst)
    return list(conn.execute(query).all())


def late_in_review(conn: Connection, scope: Scope, multi: set[str]) -> list[tuple[str, int]]:
    """(item, how many) of the versions waiting for review that came after the due, of the items not in `multi`."""
    late = select(_A.c.item_id, func.count()).where(scope.where(), LATE_IN_REVIEW, _A.c.item_id.not_in(multi))
    return list(conn.execute(late.group_by(_A.c.item_id)).all())


def late_cells(conn: Connection, scope: Scope, stale: Stale, multi: set[str]) -> list[tuple[str, int, int]]:
    """(item, worst rank as stored, worst rank with late versions in review yellow) of the cells of the items in
    `multi` that hold such a version."""
    held = select(_A.c.unit_code).where(scope.where(), LATE_IN_REVIEW, _A.c.item_id.in_(multi)).distinct()
    codes = list(conn.execute(held).scalars())
    if not codes:
        return []
    lateness = case((LATE_IN_REVIEW, 2), else_=stale.rank)
    cells = (
        select(_A.c.item_id, func.max(stale.rank), func.max(lateness))
        .where(replace(scope, codes=codes).where(), _A.c.item_id.in_(multi))
        .group_by(_A.c.unit_code, _A.c.item_id)
    )
    return [(item, old, new) for item, old, new in conn.execute(cells) if old != new]


def late_units(conn: Connection, scope: Scope) -> list[str]:
    """The units of `scope` holding a version waiting for review that came after the due, in code order."""
    query = select(_A.c.unit_code).where(scope.where(), LATE_IN_REVIEW).distinct().order_by(_A.c.unit_code)
    return list(conn.execute(query).scalars())


def units_of_rank(conn: Connection, scope: Scope, stale: Stale, rank: int) -> list[str]:
    """The units of `scope` whose worst colour has `rank`, in code order (a unit green but for a late version in
    review is yellow)."""
    codes = _of_rank(conn, scope, stale, rank)
    if RANKS[rank] not in (Color.green, Color.yellow) or not (late := late_units(conn, scope)):
        return codes
    if RANKS[rank] is Color.green:
        return [code for code in codes if code not in set(late)]
    return sorted({*codes, *_of_rank(conn, replace(scope, codes=late), stale, RANKS.index(Color.green))})


def _of_rank(conn: Connection, scope: Scope, stale: Stale, rank: int) -> list[str]:
    """The units of `scope` whose worst stored colour has `rank`, in code order."""
    mine = scope.where()
    per_unit = select(_A.c.unit_code).where(mine).group_by(_A.c.unit_code).having(func.max(stale.rank) == rank)
    return list(conn.execute(per_unit.order_by(_A.c.unit_code)).scalars())


def items_owed(conn: Connection, scope: Scope) -> set[str]:
    """Every item some assignment of `scope` is of."""
    return set(conn.execute(select(_A.c.item_id).where(scope.where()).distinct()).scalars())


_OWED = (State.pending.value, State.open.value, State.due_soon.value, State.overdue.value)
_HANDED = (State.submitted.value, State.late.value, State.in_review.value)


def cooperating_owed(conn: Connection, scope: Scope, items: set[str]) -> list[Any]:
    """The 配合 assignments of `scope` on `items` the unit still owes as stored (id, unit, stage, item, instance,
    state, role): the ones a lead's hand-in may cover (duban.domain.lead_cover)."""
    query = select(_A.c.id, _A.c.unit_code, _A.c.stage_id, _A.c.item_id, _A.c.instance, _A.c.state, _A.c.role).where(
        scope.where(), _A.c.item_id.in_(sorted(items)), _A.c.state.in_(_OWED), _A.c.role == "cooperating"
    )
    return list(conn.execute(query.order_by(_A.c.unit_code, _A.c.id)).all())


def leads_handed_in(conn: Connection, campaign_id: str, items: set[str]) -> list[Any]:
    """The 牵头 assignments of the campaign on `items` handed in (unit, item, instance, state, role, hand-in, due)."""
    query = select(
        _A.c.unit_code, _A.c.item_id, _A.c.instance, _A.c.state, _A.c.role, _A.c.submitted_at, _A.c.due_at
    ).where(
        _A.c.campaign_id == campaign_id,
        _A.c.item_id.in_(sorted(items)),
        _A.c.state.in_(_HANDED),
        _A.c.role == "lead",
    )
    return list(conn.execute(query).all())
