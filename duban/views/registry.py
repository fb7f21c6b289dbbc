"""A campaign's units as the portal reads them: by code, a unit's children, a subtree — one small query each.

A national campaign holds some 41,000 units; a page never reads them all. Lookups go through the primary
key (campaign, code) and the (campaign, parent) index, and a subtree is a recursive query in the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from duban.store import registry as stored
from duban.store.units import parent_codes
from duban.views.campaigns import Recipient

if TYPE_CHECKING:
    from sqlalchemy import Connection


def _recipient(row: Any) -> Recipient:
    return Recipient(row.code, row.display, row.kind, row.parent_code, tuple(row.channels or ()), row.level)


def units_by_code(conn: Connection, campaign_id: str, codes: Iterable[str]) -> dict[str, Recipient]:
    """The named units of the campaign (unknown codes are left out)."""
    return {row.code: _recipient(row) for row in stored.unit_rows_by_code(conn, campaign_id, codes)}


def unit_count(conn: Connection, campaign_id: str) -> int:
    """How many units the campaign has (leaders not counted)."""
    return stored.unit_count(conn, campaign_id)


def children_of(conn: Connection, campaign_id: str, code: str) -> list[Recipient]:
    """The units directly under `code` (leaders excluded), by code."""
    # sorted here, not by ORDER BY: SQLite would walk the primary key (every unit of the campaign, a million with
    # listed enterprises) to save this sort, instead of reading the few children by ix_campaign_unit_parent
    return sorted((_recipient(row) for row in stored.children_rows(conn, campaign_id, code)), key=lambda u: u.code)


def parent_choices(conn: Connection, campaign_id: str, current: str | None) -> list[tuple[str, str, int]]:
    """The units offered as 上级单位 filters, as (code, display, depth). With nothing chosen: the top units that
    have units below them, each with its children that have units below them. With `current` chosen: its
    ancestors, itself, and its children that have units below them. A drill-down that stays short for a nation
    (31 provinces and their prefectures, then a prefecture's counties …)."""
    parents = units_by_code(conn, campaign_id, parent_codes(conn, campaign_id))  # the units with units below them
    parents = {code: u for code, u in parents.items() if u.kind != "leader"}
    below: dict[str, list[Recipient]] = {}
    for unit in sorted(parents.values(), key=lambda u: u.code):
        below.setdefault(unit.parent or "", []).append(unit)
    chain: list[Recipient] = []
    code = current
    while code in parents and len(chain) < 12:
        chain.insert(0, parents[code])
        code = parents[code].parent
    if chain:
        out = [(unit.code, unit.display, depth) for depth, unit in enumerate(chain)]
        return out + [(c.code, c.display, len(chain)) for c in below.get(chain[-1].code, [])]
    out = []
    for root in sorted((u for u in parents.values() if u.parent not in parents), key=lambda u: u.code):
        out.append((root.code, root.display, 0))
        out += [(c.code, c.display, 1) for c in below.get(root.code, [])]
    return out
