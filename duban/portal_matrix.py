"""The operators' matrix: units × items in 红黄绿 at an instant, filtered by level, parent and colour.

A cell is the worst colour among the unit's instances of the item (a quarterly item has four). Rows come
in the registry's order and are paged, so a province's thousands of townships stay one click away.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from duban.campaigns import PlannedCampaign, load_campaign
from duban.duties import load_duties
from duban.spec.models import Item, Stage
from duban.state import Color, color, worst
from duban.units import Level

COLOR_NAMES = {"red": Color.red, "红": Color.red, "yellow": Color.yellow, "黄": Color.yellow,
               "green": Color.green, "绿": Color.green, "grey": Color.grey, "灰": Color.grey}  # fmt: skip


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
    parents: list[tuple[str, str]] = field(default_factory=list)  # units with units below them: (code, display)

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
    campaign = load_campaign(engine, campaign_id)
    units = {c: u for c, u in campaign.units.items() if u.kind != "leader"}
    chosen = [c for c, u in units.items() if (level is None or u.level == level)]
    if parent:
        below = _below(campaign, parent)
        chosen = [c for c in chosen if c in below]
    by_unit: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for duty in load_duties(engine, campaign, as_of, units=None if len(chosen) == len(units) else chosen):
        by_unit[duty.unit_code][duty.item_id].append(duty.state)
    rows = []
    for code in chosen:
        if code not in by_unit:
            continue
        cells = {item: Cell(worst([color(s) for s in states]), Counter(states)) for item, states in by_unit[code].items()}
        unit = units[code]
        rows.append(Row(code, unit.display, unit.level, campaign.display(unit.parent), cells))
    wanted = COLOR_NAMES.get(only or "")
    if wanted is not None:
        rows = [r for r in rows if r.overall is wanted]
    owed = {item for cells in by_unit.values() for item in cells}
    columns = [(stage, item) for stage, item in campaign.spec.items() if item.id in owed]
    counts = {item.id: Counter(r.cells[item.id].color for r in rows if item.id in r.cells) for _s, item in columns}
    has_children = {u.parent for u in units.values() if u.parent}
    parents = [(c, u.display) for c, u in units.items() if c in has_children]
    return Matrix(campaign, as_of, columns, rows[offset : offset + limit], len(rows), counts, parents)


def _below(campaign: PlannedCampaign, root: str) -> set[str]:
    """`root` and every unit under it."""
    children: dict[str, list[str]] = defaultdict(list)
    for code, unit in campaign.units.items():
        if unit.parent:
            children[unit.parent].append(code)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


LEVELS_CN = [(level.value, level.cn) for level in Level]
