"""The queries behind duties as of an instant (duban.views.duties): a campaign's assignments, their submitted
versions (all, or each one's latest; only those handed in by an instant, when asked), and one submission by its id.

Lists of assignment ids are read 900 at a time (SQLite's limit on a statement's parameters, with room to spare).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func, or_, select

from duban.instants import utc
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import Assignment, Submission

_A = core_table(Assignment)
_S = core_table(Submission)


def duty_rows(
    engine: Engine,
    campaign_id: str,
    *,
    units: list[str] | None,
    versions: str,
    before: datetime | None,
) -> tuple[list[Any], dict[int, list[Any]]]:
    """Read in one transaction: the campaign's assignments (of `units`, or all) and their submissions by assignment
    id, oldest first (`versions` none, latest or all; handed in by `before`, when given)."""
    query = select(
        _A.c.id,
        _A.c.unit_code,
        _A.c.stage_id,
        _A.c.stage_order,
        _A.c.item_id,
        _A.c.instance,
        _A.c.role,
        _A.c.open_at,
        _A.c.due_at,
        _A.c.reminders,
        _A.c.escalations,
        _A.c.state,
        _A.c.reminders_done,
        _A.c.escalations_done,
        _A.c.next_event_at,
        _A.c.submitted_at,
    ).where(_A.c.campaign_id == campaign_id)
    if units is not None:
        query = query.where(_A.c.unit_code.in_(units))
    with reading(engine) as conn:
        rows = conn.execute(query).all()
        ids = [r.id for r in rows] if units is not None else None
        found = _versions(conn, campaign_id, ids, versions, before)
    return list(rows), found


def lead_codes(engine: Engine, campaign_id: str, items: set[str], divisions: set[str]) -> list[str]:
    """The units leading (牵头) any of `items` in the campaign among the bodies of `divisions` (140105 leads its
    140105@stats), in code order."""
    bodies: list[ColumnElement[bool]] = [_A.c.unit_code.in_(sorted(divisions))]
    bodies += [_A.c.unit_code.startswith(f"{division}@", autoescape=True) for division in sorted(divisions)]
    query = (
        select(_A.c.unit_code)
        .where(_A.c.campaign_id == campaign_id, _A.c.item_id.in_(sorted(items)), _A.c.role == "lead", or_(*bodies))
        .distinct()
        .order_by(_A.c.unit_code)
    )
    with reading(engine) as conn:
        return list(conn.execute(query).scalars())


def _versions(
    conn: Connection, campaign_id: str, assignment_ids: list[int] | None, which: str, before: datetime | None = None
) -> dict[int, list[Any]]:
    """Submission rows of the given assignments (through the submission's assignment index), or of the whole
    campaign; only those handed in by `before`, when given."""
    if which == "none" or assignment_ids == []:
        return {}
    if assignment_ids is not None and len(assignment_ids) > 900:
        found: dict[int, list[Any]] = {}
        for start in range(0, len(assignment_ids), 900):
            found |= _versions(conn, campaign_id, assignment_ids[start : start + 900], which, before)
        return found
    mine = _S.c.assignment_id.in_(assignment_ids) if assignment_ids is not None else _S.c.campaign_id == campaign_id
    if before is not None:
        mine = mine & (_S.c.submitted_at <= utc(before))
    query = select(_S).where(mine)
    if which == "latest":
        newest = (
            select(_S.c.assignment_id, func.max(_S.c.version).label("v"))
            .where(mine)
            .group_by(_S.c.assignment_id)
            .subquery()
        )
        query = query.join(newest, (newest.c.assignment_id == _S.c.assignment_id) & (newest.c.v == _S.c.version))
    found = {}
    for r in conn.execute(query.order_by(_S.c.assignment_id, _S.c.version)):
        found.setdefault(r.assignment_id, []).append(r)
    return found


def submission_row(engine: Engine, submission_id: int) -> Any | None:
    """One submission's row by its id, or None."""
    with reading(engine) as conn:
        return conn.execute(select(_S).where(_S.c.id == submission_id)).first()
