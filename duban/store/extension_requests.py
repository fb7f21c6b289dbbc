"""The SQL of 延期申请 (extension requests, duban.services.extension): a request kept, read back, listed and decided,
and the reads a request and its decision make of the unit's assignment — every write inside the caller's unit of
work, the rows a decision changes locked on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, update

from duban.store.core import core_table
from duban.store.db import reading
from duban.store.engine import is_postgres
from duban.store.tables import Assignment, ExtensionRequest

_A = core_table(Assignment)
_R = core_table(ExtensionRequest)


def first_approved_due(conn: Connection, assignment_id: int) -> datetime | None:
    """The due the assignment's first approved request moved (None when none was approved)."""
    return conn.execute(
        select(_R.c.due_at)
        .where(_R.c.assignment_id == assignment_id, _R.c.status == "approved")
        .order_by(_R.c.id)
        .limit(1)
    ).scalar()


def one_waiting(conn: Connection, assignment_id: int) -> bool:
    """Whether a request of the assignment waits for its decision."""
    return (
        conn.execute(select(_R.c.id).where(_R.c.assignment_id == assignment_id, _R.c.status == "pending")).first()
        is not None
    )


def assignments_waiting(conn: Connection, campaign_id: str) -> set[int]:
    """The campaign's assignments with a request waiting for its decision (few: a re-plan settles among them)."""
    query = select(_R.c.assignment_id).where(_R.c.campaign_id == campaign_id, _R.c.status == "pending")
    return set(conn.execute(query).scalars())


def add_request(conn: Connection, **values: Any) -> Any:
    """Keep a request (its columns as `values`); the row as stored."""
    new_id = conn.execute(insert(_R).returning(_R.c.id), [values]).scalar_one()
    return conn.execute(select(_R).where(_R.c.id == new_id)).one()


def request_row(engine: Engine, request_id: int) -> Any | None:
    """The request with this id, or None."""
    with reading(engine) as conn:
        return conn.execute(select(_R).where(_R.c.id == request_id)).first()


def request_rows(
    engine: Engine | Connection, campaign_id: str, *, status: str | None = None, unit_code: str | None = None
) -> list[Any]:
    """The campaign's requests, oldest first (only those of one status or unit, when given), each with the due in
    force now (`due_in_force`: a 退回 may have moved it since the request was made)."""
    query = (
        select(_R, _A.c.due_at.label("due_in_force"))
        .join(_A, _A.c.id == _R.c.assignment_id)
        .where(_R.c.campaign_id == campaign_id)
    )
    if status is not None:
        query = query.where(_R.c.status == status)
    if unit_code is not None:
        query = query.where(_R.c.unit_code == unit_code)
    if isinstance(engine, Connection):
        return list(engine.execute(query.order_by(_R.c.id)))
    with reading(engine) as conn:
        return list(conn.execute(query.order_by(_R.c.id)))


def locked_request(conn: Connection, request_id: int) -> tuple[Any, Any]:
    """(the request, its assignment), each locked until the transaction ends on PostgreSQL."""
    postgres = is_postgres(conn)
    query = select(_R).where(_R.c.id == request_id)
    request = conn.execute(query.with_for_update() if postgres else query).one()
    query = select(_A).where(
        _A.c.id == conn.execute(select(_R.c.assignment_id).where(_R.c.id == request_id)).scalar_one()
    )
    row = conn.execute(query.with_for_update() if postgres else query).one()
    return request, row


def cooperating_beside(conn: Connection, row: Any) -> list[Any]:
    """The 配合 assignments of a 牵头 assignment's item and instance held by the other bodies of its division
    (140724 leads, 140724@stats cooperates) and due when it was, each locked until the transaction ends on
    PostgreSQL; none for an assignment that does not lead."""
    if row.role != "lead":
        return []
    base = row.unit_code.partition("@")[0]
    query = select(_A).where(
        _A.c.campaign_id == row.campaign_id,
        _A.c.item_id == row.item_id,
        _A.c.instance == row.instance,
        _A.c.role == "cooperating",
        _A.c.due_at == row.due_at,
        or_(_A.c.unit_code == base, _A.c.unit_code.startswith(f"{base}@", autoescape=True)),
    )
    return list(conn.execute(query.with_for_update() if is_postgres(conn) else query))


def record_decision(
    conn: Connection,
    request_id: int,
    status: str,
    at: datetime,
    *,
    decided_by: str,
    granted_until: datetime | None,
    note: str | None,
) -> Any:
    """Keep the decision on a request; the row as decided."""
    conn.execute(
        update(_R)
        .where(_R.c.id == request_id)
        .values(status=status, decided_at=at, decided_by=decided_by, granted_until=granted_until, note=note)
    )
    return conn.execute(select(_R).where(_R.c.id == request_id)).one()


def settle_waiting(
    conn: Connection, assignment_id: int, due: datetime, at: datetime, *, decided_by: str, note: str, keep: int | None
) -> list[int]:
    """Close the assignment's waiting requests that ask for no later than `due` (the due moved there by a return or
    another request): nothing is left to approve. Kept as settled (不再需要, not 未批准: nobody refused it) with
    `note` saying why; the ids settled."""
    query = select(_R.c.id).where(_R.c.assignment_id == assignment_id, _R.c.status == "pending", _R.c.until <= due)
    return _settle(conn, [i for i in conn.execute(query).scalars() if i != keep], at, decided_by, note)


def settle_finished(
    conn: Connection, assignment_id: int, at: datetime, *, decided_by: str, note: str, handed_in: datetime | None
) -> list[int]:
    """Close the assignment's waiting requests once its item is finished so that no extension can change anything
    (accepted in review, handed in, excused): kept as settled (不再需要) with `note` saying why; the ids settled.
    `handed_in`: for a late hand-in, only the requests asking for a date before it close — approving one that reaches
    it still makes the hand-in count as on time."""
    query = select(_R.c.id).where(_R.c.assignment_id == assignment_id, _R.c.status == "pending")
    if handed_in is not None:
        query = query.where(_R.c.until < handed_in)
    return _settle(conn, list(conn.execute(query).scalars()), at, decided_by, note)


def settled_rows(conn: Connection, ids: list[int]) -> list[Any]:
    """The requests with these ids (just settled), oldest first: each its id, the date asked and the note."""
    if not ids:
        return []
    return list(conn.execute(select(_R.c.id, _R.c.until, _R.c.note).where(_R.c.id.in_(ids)).order_by(_R.c.id)))


def _settle(conn: Connection, ids: list[int], at: datetime, decided_by: str, note: str) -> list[int]:
    """Keep these waiting requests as settled (不再需要) with `note`: the ids."""
    if ids:
        conn.execute(
            update(_R)
            .where(_R.c.id.in_(ids))
            .values(status="settled", decided_at=at, decided_by=decided_by, granted_until=None, note=note)
        )
    return ids
