"""A campaign's units as a portal page or the API looks them up, each in a short read of its own: one unit by its
code, the names of the units a list mentions, how many units the campaign has."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from duban.errors import StoreError
from duban.store.db import reading
from duban.store.registry import unit_rows_named
from duban.views.campaigns import Recipient
from duban.views.registry import unit_count, units_by_code

if TYPE_CHECKING:
    from sqlalchemy import Engine


def unit_named(engine: Engine, campaign_id: str, code: str) -> Recipient | None:
    """The campaign's unit `code`, or None when it has none of that code."""
    with reading(engine) as conn:
        return units_by_code(conn, campaign_id, [code]).get(code)


def unit_names(engine: Engine, campaign_id: str, codes: Iterable[str | None]) -> dict[str, str]:
    """code → display name of those of `codes` that are the campaign's units (others and blanks left out)."""
    with reading(engine) as conn:
        return {c: u.display for c, u in units_by_code(conn, campaign_id, [c for c in codes if c]).items()}


def units_in(engine: Engine, campaign_id: str) -> int:
    """How many units the campaign has (leaders not counted)."""
    with reading(engine) as conn:
        return unit_count(conn, campaign_id)


def unit_code(engine: Engine, campaign_id: str, ref: str) -> str:
    """The code of the campaign's unit `ref` names: its code, or its name (昔阳县统计局, 乐平镇) when that names one
    unit; StoreError naming what was asked otherwise (a unit outside the campaign was told it "owes nothing")."""
    ref = ref.strip()
    with reading(engine) as conn:
        if units_by_code(conn, campaign_id, [ref]):
            return ref
        named = unit_rows_named(conn, campaign_id, ref)
    if len(named) == 1:
        return named[0].code
    if named:
        listing = ", ".join(f"{row.code} {row.display}" for row in named[:5])
        raise StoreError(
            f"--unit {ref[:40]!r} names several units of campaign {campaign_id!r} ({listing}): give one's code"
        )
    raise StoreError(
        f"--unit {ref[:40]!r} is no unit of campaign {campaign_id!r}: give a unit's code (e.g. 140724100) or its name "
        "as messages show it (`duban status SPEC` lists them)"
    )
