"""The SQL of deciding outcomes (duban.services.outcomes): the slipping assignments of the items that name
outcomes, the outcomes recorded already, a failing unit's assignments, the outcomes kept (inside the caller's unit
of work), the dues that make an overdue outcome fall due, and the outcomes recorded for a campaign."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from duban.domain.state import State
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import Assignment, OutcomeRow

_A = core_table(Assignment)
_O = core_table(OutcomeRow)
_COLUMNS = (_A.c.id, _A.c.unit_code, _A.c.item_id, _A.c.instance, _A.c.state, _A.c.due_at, _A.c.submitted_at)


def in_states(conn: Connection, campaign_id: str, items: list[str], states: list[str]) -> list[Any]:
    """(id, unit_code, item_id, instance, state, due_at, submitted_at) of the assignments of `items` in `states`."""
    return list(
        conn.execute(
            select(*_COLUMNS).where(_A.c.campaign_id == campaign_id, _A.c.item_id.in_(items), _A.c.state.in_(states))
        ).all()
    )


def decided(conn: Connection, campaign_id: str) -> set[tuple[int, int]]:
    """(assignment, rule) of every outcome recorded for the campaign."""
    return {
        (r.assignment_id, r.rule)
        for r in conn.execute(select(_O.c.assignment_id, _O.c.rule).where(_O.c.campaign_id == campaign_id))
    }


def of_units(conn: Connection, campaign_id: str, items: list[str], units: list[str]) -> list[Any]:
    """The assignments of `items` held by `units` (the columns of `in_states`), in id order."""
    return list(
        conn.execute(
            select(*_COLUMNS)
            .where(_A.c.campaign_id == campaign_id, _A.c.item_id.in_(items), _A.c.unit_code.in_(units))
            .order_by(_A.c.id)
        ).all()
    )


def add_outcomes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Keep decided outcomes (their columns as each row)."""
    conn.execute(insert(_O), rows)


def overdue_dues(engine: Engine, campaign_id: str, items: list[str]) -> list[tuple[str, datetime]]:
    """(item, due) of the overdue assignments of `items`, each pair once."""
    with reading(engine) as conn:
        return [
            (item_id, due)
            for item_id, due in conn.execute(
                select(_A.c.item_id, _A.c.due_at)
                .distinct()
                .where(_A.c.campaign_id == campaign_id, _A.c.item_id.in_(items), _A.c.state == State.overdue.value)
            )
        ]


def recorded(engine: Engine, campaign_id: str) -> list[OutcomeRow]:
    """The outcomes recorded for a campaign, in the order they were decided."""
    with reading(engine) as conn:
        rows = conn.execute(select(_O).where(_O.c.campaign_id == campaign_id).order_by(_O.c.decided_at, _O.c.id))
        return [OutcomeRow.model_validate(r._mapping) for r in rows]
