"""The assignment rows the 督办 loop reads: the one a review names (the portal's 审核 forms), and the ones the
simulated loop (duban.simulation.loop) picks its 延期申请 from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from duban.store.core import core_table
from duban.store.tables import Assignment

_A = core_table(Assignment)


@dataclass(frozen=True)
class DutyKey:
    """Which duty an assignment is: the unit, the item and its instance ('' for a single one), and its due in force."""

    unit_code: str
    item_id: str
    instance: str
    due_at: datetime


@dataclass(frozen=True)
class Owed:
    """A unit's assignment of an item with its due, as the simulated loop picks one."""

    unit_code: str
    instance: str
    due_at: datetime


def duty_of(conn: Connection, campaign_id: str, assignment_id: int) -> DutyKey | None:
    """The duty of assignment `assignment_id`, if it is one of the campaign's."""
    row = conn.execute(
        select(_A.c.unit_code, _A.c.item_id, _A.c.instance, _A.c.due_at).where(
            _A.c.id == assignment_id, _A.c.campaign_id == campaign_id
        )
    ).first()
    return None if row is None else DutyKey(row.unit_code, row.item_id, row.instance, row.due_at)


def first_of_item(conn: Connection, campaign_id: str, item_id: str) -> Owed | None:
    """The item's assignment of the first unit in code order (its earliest due first)."""
    row = conn.execute(
        select(_A.c.unit_code, _A.c.instance, _A.c.due_at)
        .where(_A.c.campaign_id == campaign_id, _A.c.item_id == item_id)
        .order_by(_A.c.unit_code, _A.c.due_at)
        .limit(1)
    ).first()
    return None if row is None else Owed(row.unit_code, row.instance, row.due_at)


def owing(conn: Connection, campaign_id: str, item_id: str, *, due_after: datetime, limit: int = 500) -> list[Owed]:
    """The item's assignments not handed in and due after `due_after`, in unit-code order (the first `limit`)."""
    rows = conn.execute(
        select(_A.c.unit_code, _A.c.instance, _A.c.due_at)
        .where(
            _A.c.campaign_id == campaign_id,
            _A.c.item_id == item_id,
            _A.c.submitted_at.is_(None),
            _A.c.due_at > due_after,
        )
        .order_by(_A.c.unit_code, _A.c.due_at)
        .limit(limit)
    ).all()
    return [Owed(row.unit_code, row.instance, row.due_at) for row in rows]
