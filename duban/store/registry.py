"""The queries behind a campaign's units as the portal reads them (duban.views.registry): by code, a unit's
children, how many there are, and the codes chosen by level and parent (a subtree, a recursive query in the
database).

A national campaign holds some 41,000 units; a page never reads them all. Lookups go through the primary
key (campaign, code) and the (campaign, parent) index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.sql.selectable import CTE

from duban.store.core import core_table
from duban.store.tables import Assignment, CampaignUnit

_A = core_table(Assignment)
_U = core_table(CampaignUnit)
_CHUNK = 900  # below every SQLite build's limit on bound parameters


def unit_rows_by_code(conn: Connection, campaign_id: str, codes: Iterable[str]) -> list[Any]:
    """The rows of the named units of the campaign (unknown codes are left out)."""
    wanted = sorted({c for c in codes if c})
    found: list[Any] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found += conn.execute(select(_U).where(_U.c.campaign_id == campaign_id, _U.c.code.in_(chunk))).all()
    return found


def unit_rows_named(conn: Connection, campaign_id: str, name: str, limit: int = 6) -> list[Any]:
    """The campaign's units (leaders excluded) whose display or place name is `name`: a few, by code (a scan of
    the campaign's units: asked only when no unit has `name` as its code)."""
    query = (
        select(_U)
        .where(_U.c.campaign_id == campaign_id, _U.c.kind != "leader", (_U.c.display == name) | (_U.c.name == name))
        .order_by(_U.c.code)
        .limit(limit)
    )
    return list(conn.execute(query).all())


def unit_count(conn: Connection, campaign_id: str) -> int:
    """How many units the campaign has (leaders not counted)."""
    query = select(func.count()).select_from(_U).where(_U.c.campaign_id == campaign_id, _U.c.kind != "leader")
    return conn.execute(query).scalar_one()


def children_rows(conn: Connection, campaign_id: str, code: str) -> list[Any]:
    """The rows of the units directly under `code` (leaders excluded), unordered: the caller sorts the few children
    read by ix_campaign_unit_parent (an ORDER BY would have SQLite walk the primary key instead)."""
    query = select(_U).where(_U.c.campaign_id == campaign_id, _U.c.parent_code == code, _U.c.kind != "leader")
    return list(conn.execute(query).all())


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


def chosen_codes(conn: Connection, campaign_id: str, *, level: str | None, parent: str | None) -> set[str]:
    """The codes of the units at `level` and under `parent` (chosen_units), read."""
    return set(conn.execute(chosen_units(campaign_id, level=level, parent=parent)).scalars())


def chosen_codes_with_duties(conn: Connection, campaign_id: str, *, level: str | None, parent: str | None) -> list[str]:
    """The codes of the units at `level` and under `parent` that hold a duty, by code: from the unit table (no scan of
    the duties)."""
    owes = select(_A.c.id).where(_A.c.campaign_id == campaign_id, _A.c.unit_code == _U.c.code).exists()
    chosen = chosen_units(campaign_id, level=level, parent=parent)
    return list(conn.execute(chosen.where(owes).order_by(_U.c.code)).scalars())
