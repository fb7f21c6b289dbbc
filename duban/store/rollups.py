"""The queries of roll-ups (汇总): the assignments of the feeding and holding items with their latest submissions,
the units' planned attributes, and what the close-out report reads of a roll-up's holder and a forward's upper item.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select

from duban.domain.state import State
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import Assignment, CampaignUnit, Submission

_A = core_table(Assignment)
_S = core_table(Submission)
_U = core_table(CampaignUnit)


def planned_attributes(engine: Engine, campaign_id: str, codes: list[str]) -> list[tuple[str, Any]]:
    """(code, attributes) of these planned units, read 900 codes at a time."""
    found: list[tuple[str, Any]] = []
    with reading(engine) as conn:
        for start in range(0, len(codes), 900):
            found += conn.execute(
                select(_U.c.code, _U.c.attributes).where(
                    _U.c.campaign_id == campaign_id, _U.c.code.in_(codes[start : start + 900])
                )
            ).tuples()
    return found


def item_assignments(engine: Engine, campaign_id: str, items: set[str]) -> tuple[list[Any], dict[int, Any]]:
    """The assignments of these items (id, item, unit, state, submitted_at; by id), and the latest submission
    (metrics, files, submitted_at) of each by its assignment id, read in one transaction."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(_A.c.id, _A.c.item_id, _A.c.unit_code, _A.c.state, _A.c.submitted_at)
            .where(_A.c.campaign_id == campaign_id, _A.c.item_id.in_(items))
            .order_by(_A.c.id)
        ).all()
        latest: dict[int, Any] = {}
        for sub in conn.execute(
            select(_S.c.assignment_id, _S.c.metrics, _S.c.files, _S.c.submitted_at)
            .where(_S.c.campaign_id == campaign_id, _S.c.item_id.in_(items))
            .order_by(_S.c.version)
        ):
            latest[sub.assignment_id] = sub
    return list(rows), latest


def unfinished_units(conn: Connection, campaign_id: str, item_id: str, codes: list[str]) -> list[str]:
    """Those of `codes` whose assignment of `item_id` is not finished (not handed in, late, excused or in review),
    read 900 codes at a time by the (campaign, unit) index."""
    finished = [state.value for state in State if state.finished]
    found: list[str] = []
    for start in range(0, len(codes), 900):
        found += conn.execute(
            select(_A.c.unit_code).where(
                _A.c.campaign_id == campaign_id,
                _A.c.unit_code.in_(codes[start : start + 900]),
                _A.c.item_id == item_id,
                _A.c.state.not_in(finished),
            )
        ).scalars()
    return found


def item_roles(conn: Connection, campaign_id: str, item_id: str, codes: list[str]) -> list[Any]:
    """(unit, instance, role, state, submitted_at) of the item's assignments held by `codes`, 900 codes at a time."""
    found: list[Any] = []
    for start in range(0, len(codes), 900):
        found += conn.execute(
            select(_A.c.unit_code, _A.c.instance, _A.c.role, _A.c.state, _A.c.submitted_at).where(
                _A.c.campaign_id == campaign_id,
                _A.c.unit_code.in_(codes[start : start + 900]),
                _A.c.item_id == item_id,
            )
        ).all()
    return found


def holder_rows(engine: Engine, ids: list[int]) -> tuple[dict[int, Any], dict[int, str]]:
    """The assignment rows of these roll-up holders by id, and who handed in each one's first version."""
    if not ids:
        return {}, {}
    with reading(engine) as conn:
        rows = {r.id: r for r in conn.execute(select(_A).where(_A.c.id.in_(ids)))}
        actors = dict(
            conn.execute(select(_S.c.assignment_id, _S.c.actor).where(_S.c.assignment_id.in_(ids), _S.c.version == 1))
            .tuples()
            .all()
        )
    return rows, actors


def item_holders(conn: Connection, campaign_id: str, item_id: str) -> list[str]:
    """The units holding an item's assignments, one code per assignment (by the table's order)."""
    return list(
        conn.execute(select(_A.c.unit_code).where(_A.c.campaign_id == campaign_id, _A.c.item_id == item_id))
        .scalars()
        .all()
    )


def earliest_due(conn: Connection, campaign_id: str, item_id: str, unit_code: str) -> Any | None:
    """The unit's assignment of the item due first (the whole row), or None."""
    return conn.execute(
        select(_A)
        .where(_A.c.campaign_id == campaign_id, _A.c.item_id == item_id, _A.c.unit_code == unit_code)
        .order_by(_A.c.due_at)
    ).first()
