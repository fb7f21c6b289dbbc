"""The operators' matrix: units × items in 红黄绿 at an instant, filtered by level, parent and colour, paged.

A cell is the worst colour among the unit's instances of the item (a quarterly item has four). Rows come in
code order and are paged. The database does the counting: an assignment's stored state is its state at any
instant before its `next_event_at` (the tick keeps that column), so the filters, the totals and the colour
counts per item are SQL over the stored states, and only the assignments whose next event has come and
that the tick has not reached yet (`stale`) are advanced in Python to correct them. A page costs a few
aggregate queries and the duties of its own rows, whether the campaign has 130 units or 41,000.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, and_, case, func, select

from duban.campaigns import PlannedCampaign, load_campaign
from duban.duties import load_duties, state_at
from duban.instants import utc
from duban.portal_registry import chosen_units, parent_choices, units_by_code
from duban.spec.models import Item, Stage
from duban.state import Color, State, color, worst
from duban.tables import Assignment
from duban.units import Level

COLOR_NAMES = {"red": Color.red, "红": Color.red, "yellow": Color.yellow, "黄": Color.yellow,
               "green": Color.green, "绿": Color.green, "grey": Color.grey, "灰": Color.grey}  # fmt: skip
RANKS = [Color.grey, Color.green, Color.yellow, Color.red]  # worst last
_A = Assignment.__table__
_MOVING = (State.pending.value, State.open.value, State.due_soon.value)  # overdue stays overdue until handed in
_RANK = case(
    (_A.c.state == State.overdue.value, 3), (_A.c.state.in_([State.due_soon.value, State.late.value]), 2),
    (_A.c.state == State.pending.value, 0), else_=1,
)  # fmt: skip


@dataclass
class Cell:
    color: Color
    states: Counter  # State → how many instances


@dataclass
class Row:
    code: str
    display: str
    level: str | None
    parent: str
    cells: dict[str, Cell]

    @property
    def overall(self) -> Color:
        return worst([c.color for c in self.cells.values()])


@dataclass
class Matrix:
    campaign: PlannedCampaign
    as_of: datetime
    columns: list[tuple[Stage, Item]]
    rows: list[Row]
    total: int  # rows matching the filters, before paging
    counts: dict[str, Counter] = field(default_factory=dict)  # item → colours over the matching rows
    parents: list[tuple[str, str, int]] = field(default_factory=list)  # 上级单位 choices: (code, display, depth)

    @property
    def stage_spans(self) -> list[tuple[Stage, int]]:
        """The stages over the columns, in order, with how many columns each spans."""
        spans: list[tuple[Stage, int]] = []
        for stage, _item in self.columns:
            if spans and spans[-1][0].id == stage.id:
                spans[-1] = (stage, spans[-1][1] + 1)
            else:
                spans.append((stage, 1))
        return spans


def matrix(
    engine: Engine, campaign_id: str, as_of: datetime, *, level: str | None = None, parent: str | None = None,
    only: str | None = None, offset: int = 0, limit: int = 200,
) -> Matrix:  # fmt: skip
    """The matrix at `as_of`; `parent` keeps that unit and every unit below it, `only` one overall colour."""
    campaign = load_campaign(engine, campaign_id, units=False)
    wanted = COLOR_NAMES.get(only or "")
    mine = _A.c.campaign_id == campaign_id
    if level or parent:
        mine = and_(mine, _A.c.unit_code.in_(chosen_units(campaign_id, level=level, parent=parent)))
    with engine.connect() as conn:
        moved = _moved(conn, campaign, mine, utc(as_of))
        owed = set(conn.execute(select(_A.c.item_id).where(mine).distinct()).scalars())
        if wanted is None:
            total = conn.execute(select(func.count(func.distinct(_A.c.unit_code))).where(mine)).scalar_one()
            page = list(conn.execute(select(_A.c.unit_code).where(mine).distinct().order_by(_A.c.unit_code)
                                     .offset(offset).limit(limit)).scalars())  # fmt: skip
            counts = _counts(conn, mine, moved, None)
        else:
            rank = RANKS.index(wanted)
            stored = select(_A.c.unit_code).where(mine).group_by(_A.c.unit_code).having(func.max(_RANK) == rank)
            codes = set(conn.execute(stored).scalars()) - set(moved)
            codes |= {code for code, m in moved.items() if m.overall_now == rank}
            ordered = sorted(codes)
            total, page = len(ordered), ordered[offset : offset + limit]
            counts = _counts(conn, and_(mine, _A.c.unit_code.in_(stored)), moved, rank)
        units = units_by_code(conn, campaign_id, page)
        names = units_by_code(conn, campaign_id, {u.parent for u in units.values() if u.parent})
        parents = parent_choices(conn, campaign_id, parent)
    rows = _rows(engine, campaign, as_of, page, units, names)
    columns = [(stage, item) for stage, item in campaign.spec.items() if item.id in owed]
    return Matrix(campaign, as_of, columns, rows, total, {item.id: counts.get(item.id, Counter()) for _s, item in columns},
                  parents)  # fmt: skip


@dataclass
class _Moved:
    """A unit with assignments whose state moved since the last tick: its cells as stored and as of now."""

    stored: dict[str, int] = field(default_factory=dict)  # item → worst rank as stored
    now: dict[str, int] = field(default_factory=dict)  # item → worst rank at as_of

    @property
    def overall_stored(self) -> int:
        return max(self.stored.values(), default=0)

    @property
    def overall_now(self) -> int:
        return max(self.now.values(), default=0)


def _moved(conn, campaign: PlannedCampaign, mine, as_of: datetime) -> dict[str, _Moved]:
    """The units with an assignment the tick has not caught up with at `as_of`, with all their cells."""
    stale = and_(mine, _A.c.stage_id.in_(campaign.stage_ids()), _A.c.next_event_at <= as_of, _A.c.state.in_(_MOVING))
    codes = set(conn.execute(select(_A.c.unit_code).where(stale).distinct()).scalars())
    if not codes:
        return {}
    columns = (_A.c.unit_code, _A.c.item_id, _A.c.open_at, _A.c.due_at, _A.c.reminders, _A.c.escalations,
               _A.c.state, _A.c.reminders_done, _A.c.escalations_done)  # fmt: skip
    query = select(*columns).where(mine)
    if len(codes) <= 900:
        query = query.where(_A.c.unit_code.in_(sorted(codes)))
    found: dict[str, _Moved] = {}
    for row in conn.execute(query):
        if row.unit_code not in codes:
            continue
        moved = found.setdefault(row.unit_code, _Moved())
        before, after = RANKS.index(color(State(row.state))), RANKS.index(color(state_at(row, as_of)))
        moved.stored[row.item_id] = max(moved.stored.get(row.item_id, 0), before)
        moved.now[row.item_id] = max(moved.now.get(row.item_id, 0), after)
    return found


def _counts(conn, where, moved: dict[str, _Moved], rank: int | None) -> dict[str, Counter]:
    """Item → colours of its cells over the units `where` selects, as of now: SQL over the stored states, then
    the moved units' stored cells taken out and their cells as of now put in (when they match `rank`)."""
    cells = select(_A.c.unit_code, _A.c.item_id, func.max(_RANK).label("worst")).where(where)
    cells = cells.group_by(_A.c.unit_code, _A.c.item_id).subquery()
    query = select(cells.c.item_id, cells.c.worst, func.count()).group_by(cells.c.item_id, cells.c.worst)
    counts: dict[str, Counter] = defaultdict(Counter)
    for item_id, worst_rank, n in conn.execute(query):
        counts[item_id][RANKS[worst_rank]] += n
    for m in moved.values():
        if rank is None or m.overall_stored == rank:
            for item_id, r in m.stored.items():
                counts[item_id][RANKS[r]] -= 1
        if rank is None or m.overall_now == rank:
            for item_id, r in m.now.items():
                counts[item_id][RANKS[r]] += 1
    return {item: Counter({c: n for c, n in counter.items() if n > 0}) for item, counter in counts.items()}


def _rows(engine: Engine, campaign: PlannedCampaign, as_of: datetime, page: list[str], units: dict,
          names: dict) -> list[Row]:  # fmt: skip
    if not page:
        return []
    by_unit: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for duty in load_duties(engine, campaign, as_of, units=page):
        by_unit[duty.unit_code][duty.item_id].append(duty.state)
    rows = []
    for code in page:
        unit = units.get(code)
        cells = {item: Cell(worst([color(s) for s in states]), Counter(states)) for item, states in by_unit[code].items()}
        parent = names.get(unit.parent) if unit and unit.parent else None
        rows.append(Row(code, unit.display if unit else code, unit.level if unit else None,
                        parent.display if parent else (unit.parent or "" if unit else ""), cells))  # fmt: skip
    return rows


LEVELS_CN = [(level.value, level.cn) for level in Level]
