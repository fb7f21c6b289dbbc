"""The operators' matrix: units × items in 红黄绿 at an instant, filtered by level, parent and colour, paged.

A cell is the worst colour among the unit's instances of the item (a quarterly item has four). Rows come in
code order and are paged. The database does the counting (duban.views.colors): the filters, the totals and
the colour counts per item are SQL over the stored states, corrected for what the tick has not reached yet.
A page costs a few aggregate queries and the duties of its own rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from duban.domain.state import Color, worst
from duban.domain.units import Level
from duban.instants import utc
from duban.spec.models import Item, Stage
from duban.store.colors import RANKS, Scope, several_instances, stale_at
from duban.store.db import reading
from duban.store.registry import chosen_codes, chosen_codes_with_duties
from duban.store.tally import read_tally
from duban.store.units import duty_codes
from duban.views.campaigns import PlannedCampaign, load_campaign
from duban.views.colors import covered_by_leads, item_counts, units_of_colour
from duban.views.duties import load_duties
from duban.views.registry import parent_choices, units_by_code

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

COLOR_NAMES = {
    "red": Color.red,
    "红": Color.red,
    "yellow": Color.yellow,
    "黄": Color.yellow,
    "green": Color.green,
    "绿": Color.green,
    "grey": Color.grey,
    "灰": Color.grey,
}


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
    engine: Engine,
    campaign_id: str,
    as_of: datetime,
    *,
    level: str | None = None,
    parent: str | None = None,
    only: str | None = None,
    offset: int = 0,
    limit: int = 200,
    history: bool = False,
) -> Matrix:
    """The matrix at `as_of`; `parent` keeps that unit and every unit below it, `only` one overall colour.
    `history`: as the record stood at an earlier `as_of` (the preview), counted in Python from every duty."""
    campaign = load_campaign(engine, campaign_id, units=False)
    wanted = COLOR_NAMES.get(only or "")
    everyone = Scope(campaign_id)
    chosen = bool(level or parent)
    mine = Scope(campaign_id, level, parent)
    if history:
        return _history(engine, campaign, as_of, level, parent, wanted, offset, limit)
    with reading(engine) as conn:
        stale = stale_at(conn, campaign.stage_ids(), mine, utc(as_of))
        if wanted is None and not chosen:
            # the whole campaign: its counts and its number of units are kept (duban.store.tally), and only the
            # page's codes are read, from the (campaign, unit) index — nothing here grows with the campaign
            kept = read_tally(conn, campaign_id)
            multi = kept.items_with_instances()
            page = duty_codes(conn, campaign_id, offset, limit)
            total = kept.units
            counts = item_counts(conn, mine, stale, multi, kept)
            owed = set(counts)
            _covered_by_leads(engine, campaign, as_of, conn, mine, counts, None, None)
        else:
            multi = several_instances(conn, everyone)
            if wanted is None:  # the units with duties, by code: from the unit table (no scan of duties)
                codes = chosen_codes_with_duties(conn, campaign_id, level=level, parent=parent)
                counts = item_counts(conn, mine, stale, multi)
                owed = set(counts)
            else:
                codes, counts, owed = units_of_colour(
                    conn, campaign.stage_ids(), mine, stale, RANKS.index(wanted), utc(as_of), multi
                )
            codes = _covered_by_leads(engine, campaign, as_of, conn, mine, counts, codes, wanted)
            total, page = len(codes), codes[offset : offset + limit]
        units = units_by_code(conn, campaign_id, page)
        names = units_by_code(conn, campaign_id, {u.parent for u in units.values() if u.parent})
        parents = parent_choices(conn, campaign_id, parent)
    rows = _rows(engine, campaign, as_of, page, units, names)
    columns = [(stage, item) for stage, item in campaign.spec.items() if item.id in owed]
    return Matrix(
        campaign,
        as_of,
        columns,
        rows,
        total,
        {item.id: counts.get(item.id, Counter()) for _s, item in columns},
        parents,
    )


def _covered_by_leads(
    engine: Engine,
    campaign: PlannedCampaign,
    as_of: datetime,
    conn: Connection,
    scope: Scope,
    counts: dict[str, Counter],
    codes: list[str] | None,
    wanted: Color | None,
) -> list[str]:
    """Correct `counts` (and the units `codes` of the colour `wanted`, when filtered by one) for the 配合 items
    whose 牵头 unit has handed them in: the colours index counts them by their own state, every view reads them as
    the lead's hand-in (duban.domain.lead_cover). Only the units holding one are read, duty by duty. The codes as
    corrected, in code order."""
    held = sorted({row.unit_code for row, _state, _late in covered_by_leads(conn, campaign.spec, scope)})
    if not held:
        return codes or []
    cells: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for duty in load_duties(engine, campaign, as_of, units=held):
        cells[duty.unit_code][duty.item_id].append(duty)
    chosen = set(codes or ())
    for code in held:
        before = {item: worst([d.own_color for d in duties]) for item, duties in cells[code].items()}
        after = {item: worst([d.color for d in duties]) for item, duties in cells[code].items()}
        was = wanted is None or (code in chosen)
        now = wanted is None or worst(list(after.values())) is wanted
        for item in after:
            if was:
                counts.setdefault(item, Counter())[before[item]] -= 1
            if now:
                counts.setdefault(item, Counter())[after[item]] += 1
        if wanted is not None:
            chosen = chosen | {code} if now else chosen - {code}
    for item, counter in counts.items():
        counts[item] = +counter
    return sorted(chosen)


def _history(
    engine: Engine,
    campaign: PlannedCampaign,
    as_of: datetime,
    level: str | None,
    parent: str | None,
    wanted: Color | None,
    offset: int,
    limit: int,
) -> Matrix:
    """The matrix as the record stood at `as_of`: every duty of the campaign replayed (a preview's cost)."""
    with reading(engine) as conn:
        allowed = chosen_codes(conn, campaign.id, level=level, parent=parent) if level or parent else None
        parents = parent_choices(conn, campaign.id, parent)
    by_unit: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for duty in load_duties(engine, campaign, as_of, history=True):
        if allowed is None or duty.unit_code in allowed:
            by_unit[duty.unit_code][duty.item_id].append(duty)
    owed = {item for cells in by_unit.values() for item in cells}
    codes = sorted(
        code
        for code, cells in by_unit.items()
        if wanted is None or worst([d.color for duties in cells.values() for d in duties]) is wanted
    )
    counts: dict[str, Counter] = defaultdict(Counter)
    for code in codes:
        for item, duties in by_unit[code].items():
            counts[item][worst([d.color for d in duties])] += 1
    page = codes[offset : offset + limit]
    with reading(engine) as conn:
        units = units_by_code(conn, campaign.id, page)
        names = units_by_code(conn, campaign.id, {u.parent for u in units.values() if u.parent})
    rows = _rows(engine, campaign, as_of, page, units, names, by_unit)
    columns = [(stage, item) for stage, item in campaign.spec.items() if item.id in owed]
    return Matrix(
        campaign,
        as_of,
        columns,
        rows,
        len(codes),
        {item.id: counts.get(item.id, Counter()) for _s, item in columns},
        parents,
    )


def _rows(
    engine: Engine,
    campaign: PlannedCampaign,
    as_of: datetime,
    page: list[str],
    units: dict,
    names: dict,
    known: dict | None = None,
) -> list[Row]:
    if not page:
        return []
    by_unit: dict[str, dict[str, list]] = known if known is not None else defaultdict(lambda: defaultdict(list))
    if known is None:
        for duty in load_duties(engine, campaign, as_of, units=page):
            by_unit[duty.unit_code][duty.item_id].append(duty)
    rows = []
    for code in page:
        unit = units.get(code)
        cells = {
            item: Cell(worst([d.color for d in duties]), Counter(d.shown for d in duties))
            for item, duties in by_unit[code].items()
        }
        parent = names.get(unit.parent) if unit and unit.parent else None
        rows.append(
            Row(
                code,
                unit.display if unit else code,
                unit.level if unit else None,
                parent.display if parent else (unit.parent or "" if unit else ""),
                cells,
            )
        )
    return rows


LEVELS_CN = [(level.value, level.cn) for level in Level]
