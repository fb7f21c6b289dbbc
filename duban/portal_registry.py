"""A campaign's units as the portal reads them: by code, a unit's children, a subtree — one small query each.

A national campaign holds some 41,000 units; a page never reads them all. Lookups go through the primary
key (campaign, code) and the (campaign, parent) index, and a subtree is a recursive query in the database.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.sql.selectable import CTE

from duban.campaigns import Recipient
from duban.tables import CampaignUnit

_U = CampaignUnit.__table__
_CHUNK = 900  # below every SQLite build's limit on bound parameters


def _recipient(row) -> Recipient:
    return Recipient(row.code, row.display, row.kind, row.parent_code, tuple(row.channels or ()), row.level)


def units_by_code(conn: Connection, campaign_id: str, codes: Iterable[str]) -> dict[str, Recipient]:
    """The named units of the campaign (unknown codes are left out)."""
    wanted = sorted({c for c in codes if c})
    found: dict[str, Recipient] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for row in conn.execute(select(_U).where(_U.c.campaign_id == campaign_id, _U.c.code.in_(chunk))):
            found[row.code] = _recipient(row)
    return found


def unit_count(conn: Connection, campaign_id: str) -> int:
    """How many units the campaign has (leaders not counted)."""
    query = select(func.count()).select_from(_U).where(_U.c.campaign_id == campaign_id, _U.c.kind != "leader")
    return conn.execute(query).scalar_one()


def children_of(conn: Connection, campaign_id: str, code: str) -> list[Recipient]:
    """The units directly under `code` (leaders excluded), by code."""
    query = select(_U).where(_U.c.campaign_id == campaign_id, _U.c.parent_code == code, _U.c.kind != "leader")
    return [_recipient(row) for row in conn.execute(query.order_by(_U.c.code))]


def subtree(campaign_id: str, root: str) -> CTE:
    """A recursive query of `root` and every unit below it (column `code`)."""
    top = select(_U.c.code).where(_U.c.campaign_id == campaign_id, _U.c.code == root).cte("subtree", recursive=True)
    below = select(_U.c.code).where(_U.c.campaign_id == campaign_id, _U.c.parent_code == top.c.code)
    return top.union_all(below)


def chosen_units(campaign_id: str, *, level: str | None = None, parent: str | None = None) -> Select:
    """The codes of the campaign's units (no leaders) at `level` and under `parent` (itself included)."""
    query = select(_U.c.code).where(_U.c.campaign_id == campaign_id, _U.c.kind != "leader")
    if level:
        query = query.where(_U.c.level == level)
    if parent:
        tree = subtree(campaign_id, parent)
        query = query.where(_U.c.code.in_(select(tree.c.code)))
    return query


def parent_choices(conn: Connection, campaign_id: str, current: str | None) -> list[tuple[str, str, int]]:
    """The units offered as 上级单位 filters, as (code, display, depth). With nothing chosen: the top units that
    have units below them, each with its children that have units below them. With `current` chosen: its
    ancestors, itself, and its children that have units below them. A drill-down that stays short for a nation
    (31 provinces and their prefectures, then a prefecture's counties …)."""
    has_children = select(_U.c.parent_code).where(_U.c.campaign_id == campaign_id, _U.c.parent_code.is_not(None))
    chain: list[Recipient] = []
    code = current
    while code and len(chain) < 12:
        unit = units_by_code(conn, campaign_id, [code]).get(code)
        if unit is None:
            break
        chain.insert(0, unit)
        code = unit.parent
    if chain:
        out = [(unit.code, unit.display, depth) for depth, unit in enumerate(chain)]
        return out + [(c.code, c.display, len(chain)) for c in _with_children(conn, campaign_id, chain[-1].code, has_children)]
    up = _U.alias("up")
    parent_in_campaign = select(up.c.code).where(up.c.campaign_id == campaign_id, up.c.code == _U.c.parent_code).exists()
    roots = conn.execute(
        select(_U).where(_U.c.campaign_id == campaign_id, _U.c.kind != "leader", _U.c.code.in_(has_children),
                         ~parent_in_campaign).order_by(_U.c.code)
    ).all()  # fmt: skip
    out = []
    for root in map(_recipient, roots):
        out.append((root.code, root.display, 0))
        out += [(c.code, c.display, 1) for c in _with_children(conn, campaign_id, root.code, has_children)]
    return out


def _with_children(conn: Connection, campaign_id: str, code: str, has_children: Select) -> list[Recipient]:
    query = select(_U).where(_U.c.campaign_id == campaign_id, _U.c.parent_code == code, _U.c.code.in_(has_children),
                             _U.c.kind != "leader")  # fmt: skip
    return [_recipient(row) for row in conn.execute(query.order_by(_U.c.code))]
