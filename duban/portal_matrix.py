"""The operators' matrix: units × items in 红黄绿 at an instant, filtered by level, parent and colour, paged.

A cell is the worst colour among the unit's instances of the item (a quarterly item has four). Rows come in
code order and are paged. The database does the counting: an assignment's stored state is its state at any
instant before its `next_event_at` (the tick keeps that column), so the filters, the totals and the colour
counts per item are SQL over the stored states; the assignments whose next event has come but that the tick
has not reached yet are advanced in Python once per distinct schedule and put back into the query as a CASE
(`rank_at`). A page costs a few aggregate queries and the duties of its own rows.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import Engine, Text, and_, case, cast, func, select

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
        rank = rank_at(conn, campaign, mine, utc(as_of))
        cells = select(_A.c.unit_code, _A.c.item_id, func.max(rank).label("worst")).where(mine)
        cells = cells.group_by(_A.c.unit_code, _A.c.item_id).subquery()
        counts: dict[str, Counter] = defaultdict(Counter)
        owed = set()
        if wanted is None:
            total = conn.execute(select(func.count(func.distinct(_A.c.unit_code))).where(mine)).scalar_one()
            page = list(conn.execute(select(_A.c.unit_code).where(mine).distinct().order_by(_A.c.unit_code)
                                     .offset(offset).limit(limit)).scalars())  # fmt: skip
        else:
            units = select(cells.c.unit_code).group_by(cells.c.unit_code)
            units = units.having(func.max(cells.c.worst) == RANKS.index(wanted)).subquery()
            total = conn.execute(select(func.count()).select_from(units)).scalar_one()
            page = list(conn.execute(select(units.c.unit_code).order_by(units.c.unit_code).offset(offset)
                                     .limit(limit)).scalars())  # fmt: skip
            owed = set(conn.execute(select(_A.c.item_id).where(mine).distinct()).scalars())
            cells = select(cells).where(cells.c.unit_code.in_(select(units.c.unit_code))).subquery()
        query = select(cells.c.item_id, cells.c.worst, func.count()).group_by(cells.c.item_id, cells.c.worst)
        for item_id, worst_rank, n in conn.execute(query):
            counts[item_id][RANKS[worst_rank]] += n
        owed |= set(counts)
        units = units_by_code(conn, campaign_id, page)
        names = units_by_code(conn, campaign_id, {u.parent for u in units.values() if u.parent})
        parents = parent_choices(conn, campaign_id, parent)
    rows = _rows(engine, campaign, as_of, page, units, names)
    columns = [(stage, item) for stage, item in campaign.spec.items() if item.id in owed]
    return Matrix(campaign, as_of, columns, rows, total, {item.id: counts.get(item.id, Counter()) for _s, item in columns},
                  parents)  # fmt: skip


def rank_at(conn, campaign: PlannedCampaign, mine, as_of: datetime):
    """An SQL expression of each assignment's colour rank at `as_of` (0 grey … 3 red).

    A stored state holds until the assignment's `next_event_at`. The assignments past it that the tick has not
    reached (`stale`) are grouped by what decides their state (open, due, reminders, state, reminders done; an
    item's assignments mostly share them), each group is advanced once in Python, and the answers go back into
    the query as a CASE: the database still does all the counting.
    """
    stale = and_(_A.c.stage_id.in_(campaign.stage_ids()), _A.c.next_event_at <= as_of, _A.c.state.in_(_MOVING))
    reminders = cast(_A.c.reminders, Text)
    decide = (_A.c.open_at, _A.c.due_at, reminders, _A.c.state, _A.c.reminders_done)
    groups = conn.execute(select(*decide).where(mine, stale).group_by(*decide)).all()
    if not groups:
        return _RANK
    whens = []
    for open_at, due_at, text, state, done in groups:
        row = SimpleNamespace(open_at=open_at, due_at=due_at, reminders=json.loads(text) if text else None,
                              escalations=None, state=state, reminders_done=done, escalations_done=0)  # fmt: skip
        same = and_(_A.c.open_at == open_at, _A.c.due_at == due_at, _A.c.state == state, _A.c.reminders_done == done,
                    reminders == text if text is not None else _A.c.reminders.is_(None))  # fmt: skip
        whens.append((same, RANKS.index(color(state_at(row, as_of)))))
    return case((~stale, _RANK), else_=case(*whens, else_=_RANK))


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
