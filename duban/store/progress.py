"""The queries behind what operators see after a tick (duban.views.progress): the marks of the last publication,
the campaign counted per item (or stage) and state, each unit's worst colour counted, the units overdue longest,
and the escalations of the last day.

Counted in the database, so a national campaign costs a few grouped queries; only the units shown are read one by
one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, literal, literal_column, null, select, union_all

from duban.domain.state import Color, State
from duban.store.core import core_table
from duban.store.db import reading, unit_of_work
from duban.store.engine import is_postgres
from duban.store.tables import (
    AcknowledgementRow,
    Assignment,
    CampaignRow,
    Intent,
    ScoreRecord,
    Submission,
    TransitionRow,
    ViewMark,
)

_A, _I = core_table(Assignment), core_table(Intent)
_M, _C = core_table(ViewMark), core_table(CampaignRow)
_RANKED = (Color.red, Color.yellow, Color.green, Color.grey)  # worst first, as state.worst orders them
_RANK = case(
    (_A.c.state == State.overdue.value, 0),
    (_A.c.state.in_((State.due_soon.value, State.late.value)), 1),
    (_A.c.state == State.pending.value, 3),
    else_=2,
)  # state.color in SQL, as a rank: a unit's worst colour is its smallest rank


def current_marks(engine: Engine, campaign_id: str) -> tuple[tuple[int, int, int, int], Any | None, str | None]:
    """The newest transition, submission and score ids (three primary-key maxima, no scan) and the campaign's 签收
    given (counted from ix_acknowledgement_given); the campaign's last publication (its ViewMark row, None when
    none) and, when there is one, the campaign's zone."""
    k = core_table(AcknowledgementRow)
    with reading(engine) as conn:
        transition, submission, score = (
            conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one()
            for t in (core_table(TransitionRow), core_table(Submission), core_table(ScoreRecord))
        )
        acknowledged = conn.execute(
            select(func.count()).where(k.c.campaign_id == campaign_id, k.c.acknowledged_at.is_not(None))
        ).scalar_one()
        marks = (transition, submission, score, acknowledged)
        row = conn.execute(select(ViewMark).where(_M.c.campaign_id == campaign_id)).first()
        if row is None:
            return marks, None, None
        tz = conn.execute(select(_C.c.timezone).where(_C.c.id == campaign_id)).scalar_one()
    return marks, row, tz


def record_marks(engine: Engine, campaign_id: str, values: dict[str, Any]) -> None:
    """Record a publication's marks; each only moves forward (two ticks may finish in either order)."""
    with unit_of_work(engine) as conn:
        query = select(ViewMark).where(_M.c.campaign_id == campaign_id)
        row = conn.execute(query.with_for_update() if is_postgres(conn) else query).first()
        if row is None:
            conn.execute(_M.insert().values(campaign_id=campaign_id, **values))
            return
        newer = {k: max(v, getattr(row, k)) for k, v in values.items()}
        conn.execute(_M.update().where(_M.c.campaign_id == campaign_id).values(**newer))


def item_state_counts(conn: Connection, campaign_id: str) -> list[tuple[str, str, int]]:
    """(item, state, assignments) of the campaign, counted from the colours index alone (no table rows read)."""
    return list(
        conn.execute(
            select(_A.c.item_id, _A.c.state, func.count())
            .where(_A.c.campaign_id == campaign_id)
            .group_by(_A.c.item_id, _A.c.state)
        ).all()
    )


def stage_state_counts(conn: Connection, campaign_id: str) -> list[tuple[str, str, int]]:
    """(stage, state, assignments) of the campaign."""
    return list(
        conn.execute(
            select(_A.c.stage_id, _A.c.state, func.count())
            .where(_A.c.campaign_id == campaign_id)
            .group_by(_A.c.stage_id, _A.c.state)
        ).all()
    )


def unit_stage_states(conn: Connection, campaign_id: str, codes: list[str]) -> list[tuple[str, str, str, int]]:
    """(unit, stage, state, assignments) of the named units."""
    if not codes:
        return []
    return list(
        conn.execute(
            select(_A.c.unit_code, _A.c.stage_id, _A.c.state, func.count())
            .where(_A.c.campaign_id == campaign_id, _A.c.unit_code.in_(codes))
            .group_by(_A.c.unit_code, _A.c.stage_id, _A.c.state)
        ).all()
    )


def recent_escalations(
    conn: Connection, campaign_id: str, since: datetime, until: datetime, limit: int
) -> list[tuple[str, str, str, int, datetime]]:
    """(unit, item, recipient, step, event_at) of the escalations written after `since`, up to `until`, the latest
    event first (at most `limit`)."""
    found = conn.execute(  # from ix_intent_escalations, whose WHERE the literal matches
        select(_A.c.unit_code, _A.c.item_id, _I.c.recipient, _I.c.step, _I.c.event_at)
        .join(_A, _A.c.id == _I.c.assignment_id)
        .where(
            _I.c.campaign_id == campaign_id,
            _I.c.kind == literal_column("'escalation'"),
            _I.c.created_at > since,
            _I.c.created_at <= until,
        )
        .order_by(_I.c.event_at.desc(), _A.c.unit_code, _I.c.recipient)
        .limit(limit)
    )
    return [(unit, item, recipient, step, at) for unit, item, recipient, step, at in found]


def overdue_units(
    conn: Connection, campaign_id: str, limit: int, leave_out: Sequence[int] = ()
) -> tuple[int, list[tuple[str, int, datetime]], list[tuple[str, str, str, datetime]]]:
    """How many units have overdue items; the `limit` overdue longest as (unit, overdue items, oldest due); and
    every overdue item of those as (unit, stage, item, due), the oldest first; the assignments `leave_out` (a 配合
    item its lead has handed in) are not overdue."""
    overdue = and_(_A.c.campaign_id == campaign_id, _A.c.state == State.overdue.value)
    if leave_out:
        overdue = and_(overdue, _A.c.id.not_in(list(leave_out)))
    units = conn.execute(select(func.count(func.distinct(_A.c.unit_code))).where(overdue)).scalar_one()
    oldest = func.min(_A.c.due_at)
    listed: list[tuple[str, int, datetime]] = [
        (code, count, due)
        for code, count, due in conn.execute(
            select(_A.c.unit_code, func.count(), oldest)
            .where(overdue)
            .group_by(_A.c.unit_code)
            .order_by(oldest, _A.c.unit_code)
            .limit(limit)
        )
    ]
    items: list[tuple[str, str, str, datetime]] = [
        (code, stage_id, item_id, due)
        for code, stage_id, item_id, due in conn.execute(
            select(_A.c.unit_code, _A.c.stage_id, _A.c.item_id, _A.c.due_at)
            .where(overdue, _A.c.unit_code.in_([code for code, _n, _due in listed]))
            .order_by(_A.c.due_at, _A.c.id)
        )
    ]
    return units, listed, items


def unit_ranks(
    conn: Connection, campaign_id: str, shown: int, leave_out: Sequence[str] = ()
) -> tuple[Counter[Color], list[tuple[int, str]]]:
    """Every unit by its worst colour, counted, and the reddest `shown` units (then by code) with their rank (0 red,
    1 yellow, 2 green, 3 grey), in one statement; the units `leave_out` (read duty by duty by the caller) neither.

    Each unit's worst colour is worked out once by the database (a grouping of the colours index) and only the
    four counts and the units shown come back: a national campaign's 41,568 units never travel to Python.
    """
    mine = _A.c.campaign_id == campaign_id
    if leave_out:
        mine = and_(mine, _A.c.unit_code.not_in(list(leave_out)))
    per_unit = (
        select(_A.c.unit_code.label("code"), func.min(_RANK).label("rank"))
        .where(mine)
        .group_by(_A.c.unit_code)
        .cte("per_unit")
    )
    by_code = per_unit.c.code.collate("C") if is_postgres(conn) else per_unit.c.code  # code points, as Python sorts
    top = (
        select(per_unit.c.code, per_unit.c.rank, literal(0).label("n"))
        .order_by(per_unit.c.rank, by_code)
        .limit(shown)
        .subquery("top")
    )
    counts = select(null().label("code"), per_unit.c.rank, func.count().label("n")).group_by(per_unit.c.rank)
    colours: Counter[Color] = Counter()
    found = []
    for code, rank, n in conn.execute(union_all(counts, select(top.c.code, top.c.rank, top.c.n))):
        if code is None:
            colours[_RANKED[rank]] = n
        else:
            found.append((rank, code))
    return colours, sorted(found)
