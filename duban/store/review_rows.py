"""The SQL of 审核与退回 (duban.services.review): the version a review decides on, the review kept, the queue of
versions waiting for review and the reviews of a campaign. Writes run inside the caller's unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from duban.domain.state import State
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import Assignment, CampaignUnit, ReviewRow, Submission

_A = core_table(Assignment)
_S = core_table(Submission)
_V = core_table(ReviewRow)
_U = core_table(CampaignUnit)


def latest_version(conn: Connection, assignment_id: int) -> Any:
    """(id, version, submitted_at) of the assignment's newest version."""
    return conn.execute(
        select(_S.c.id, _S.c.version, _S.c.submitted_at)
        .where(_S.c.assignment_id == assignment_id)
        .order_by(_S.c.version.desc())
        .limit(1)
    ).one()


def newest_version(assignment_id: Any) -> Any:
    """The newest version number of the assignment `assignment_id` (a column), as a correlated subquery: read
    through the submissions' index on the assignment, a few rows per assignment asked about, however many
    submissions the campaign holds."""
    older = _S.alias("older")
    return select(func.max(older.c.version)).where(older.c.assignment_id == assignment_id).scalar_subquery()


def add_review(conn: Connection, **values: Any) -> int:
    """Keep one review (its columns as `values`); its id."""
    review_id: int = conn.execute(insert(_V).returning(_V.c.id), [values]).scalar_one()
    return review_id


def waiting_for_review(engine: Engine, campaign_id: str, *, parent: str | None = None, limit: int = 200) -> list[Any]:
    """Assignments waiting for review with their newest version, the longest waiting first (only `parent`'s
    children's, when given)."""
    query = (
        select(
            _A.c.id,
            _A.c.unit_code,
            _A.c.item_id,
            _A.c.instance,
            _A.c.due_at,
            _S.c.id.label("submission_id"),
            _S.c.version,
            _S.c.submitted_at,
            _S.c.files,
            _S.c.metrics,
        )
        .select_from(_A)
        .join(_S, (_S.c.assignment_id == _A.c.id) & (_S.c.version == newest_version(_A.c.id)))
        .where(_A.c.campaign_id == campaign_id, _A.c.state == State.in_review.value)
    )
    if parent is not None:
        query = query.join(_U, (_U.c.campaign_id == _A.c.campaign_id) & (_U.c.code == _A.c.unit_code)).where(
            _U.c.parent_code == parent
        )
    with reading(engine) as conn:
        return list(conn.execute(query.order_by(_S.c.submitted_at, _A.c.id).limit(limit)).all())


def reviews(engine: Engine, campaign_id: str, *, unit_code: str | None = None) -> list[Any]:
    """Every review of the campaign (or of one unit), oldest first."""
    query = select(_V).where(_V.c.campaign_id == campaign_id)
    if unit_code is not None:
        query = query.where(_V.c.unit_code == unit_code)
    with reading(engine) as conn:
        return list(conn.execute(query.order_by(_V.c.id)).all())
