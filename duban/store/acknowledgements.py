"""The SQL of 签收 (duban.services.acknowledgements): the rows a tick finds due and advances, the ticks' turns on
PostgreSQL, a unit's rows as it acknowledges, the next event to come, and the rows a unit's page and the rates
read. Writes run inside the caller's unit of work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, func, insert, select, update

from duban.instants import utc
from duban.store.codec import Codec
from duban.store.composing import ACK_BATCH
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.engine import is_postgres
from duban.store.tables import AcknowledgementRow, Assignment, DraftRange, Intent, OutboxMessage

_K = core_table(AcknowledgementRow)
_O = core_table(OutboxMessage)
_A = core_table(Assignment)
_I = core_table(Intent)
_R = core_table(DraftRange)


def any_due(engine: Engine, campaign_id: str, as_of: datetime) -> bool:
    """Whether some 签收 of the campaign has an event due by `as_of`: one probe of the due index, read outside any
    write transaction (an idle tick takes no lock)."""
    due = select(_K.c.id).where(_K.c.campaign_id == campaign_id, _K.c.next_event_at <= as_of).limit(1)
    with reading(engine) as conn:
        return conn.execute(due).first() is not None


def take_due(conn: Connection, campaign_id: str, as_of: datetime) -> list[Any]:
    """The rows with an event due by `as_of`, in id order. On PostgreSQL concurrent ticks of the campaign take
    turns (an advisory lock) and the rows are locked, skipping those a unit's acknowledgement holds."""
    query = select(_K).where(_K.c.campaign_id == campaign_id, _K.c.next_event_at <= as_of).order_by(_K.c.id)
    if is_postgres(conn):
        Codec(conn).execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"duban.ack.{campaign_id}",))
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query).all())


def set_state(conn: Connection, row_id: int, state: str, next_event_at: datetime | None, at: datetime) -> None:
    """A 签收's state at `at` and its next event."""
    conn.execute(update(_K).where(_K.c.id == row_id).values(state=state, next_event_at=next_event_at, updated_at=at))


def _openings(when):  # noqa: ANN001, ANN202
    """Whether a 签收 row's unit was told of its opening (the stage's first item, or for the notice the unit's first
    item of any stage) by an intent `when` selects: correlated with the row."""
    return (
        select(_I.c.id)
        .join(_A, _A.c.id == _I.c.assignment_id)
        .where(
            _A.c.campaign_id == _K.c.campaign_id,
            _A.c.unit_code == _K.c.unit_code,
            (_K.c.stage_id == "") | (_A.c.stage_id == _K.c.stage_id),
            _I.c.kind == "opened",
            _I.c.recipient == _K.c.unit_code,
            when,
        )
        .exists()
    )


def told_late(engine: Engine, campaign_id: str, at: datetime, readable_at: datetime) -> list[Any]:
    """The 签收 still waiting whose unit the tick at `at` first told of its opening (the stage's first item, or for
    the notice the unit's first item of any stage) when the unit can read of it only at `readable_at`, after the
    window started. Read outside any write transaction, from the waiting rows (each looked up by the unit's
    assignments and their intents' index)."""

    query = select(_K.c.id, _K.c.open_at, _K.c.due_at, _K.c.escalate_at).where(
        _K.c.campaign_id == campaign_id,
        _K.c.state == "waiting",
        _K.c.open_at <= utc(at),
        _K.c.open_at < utc(readable_at),
        _openings(_I.c.created_at == utc(at)),
        ~_openings(_I.c.created_at < utc(at)),
    )
    with reading(engine) as conn:
        return list(conn.execute(query.order_by(_K.c.id)).all())


def windows(conn: Connection, campaign_id: str, units: list[str]) -> dict[tuple[str, str], tuple[datetime, str]]:
    """(stage, unit) → the 签收's due and state now, of the given units ('' stage: the notice)."""
    query = select(_K.c.stage_id, _K.c.unit_code, _K.c.due_at, _K.c.state).where(
        _K.c.campaign_id == campaign_id, _K.c.unit_code.in_(units)
    )
    return {(r.stage_id, r.unit_code): (utc(r.due_at), r.state) for r in conn.execute(query)}


def move_window(conn: Connection, row_id: int, open_at: datetime, due_at: datetime, escalate_at: datetime) -> None:
    """A 签收's window started again at `open_at` (its unit could read of the opening only then)."""
    conn.execute(
        update(_K)
        .where(_K.c.id == row_id, _K.c.state == "waiting")  # not one its unit gave since the read
        .values(open_at=open_at, due_at=due_at, escalate_at=escalate_at, next_event_at=due_at, updated_at=open_at)
    )


def draft_messages(conn: Connection, campaign_id: str, rows: list[dict[str, Any]], at: datetime) -> None:
    """Queue a tick's 签收 messages (their columns as each row), held from the dispatcher until the compose that
    follows the tick (a DraftRange of their ids): a unit also told of its 逾期 or a 催办 in the same tick gets one
    message with both (duban.store.composing.release_drafts hands their entries back to the compose)."""
    if not rows:
        return
    ids = Codec(conn).reserve_ids("outbox", len(rows))
    conn.execute(insert(_O), [{**row, "id": message_id} for message_id, row in zip(ids, rows)])
    conn.execute(
        insert(_R).values(
            campaign_id=campaign_id,
            first_id=min(ids),
            last_id=max(ids),
            messages=len(rows),
            batch=f"{ACK_BATCH}{uuid.uuid4().hex}",
            drafted_at=utc(at),
        )
    )


def next_event(engine: Engine, campaign_id: str, after: datetime | None = None) -> datetime | None:
    """The earliest 签收 event still to come (strictly after `after`, when given)."""
    query = select(func.min(_K.c.next_event_at)).where(_K.c.campaign_id == campaign_id)
    if after is not None:
        query = query.where(_K.c.next_event_at > utc(after))
    with reading(engine) as conn:
        return conn.execute(query).scalar()


def unit_rows(conn: Connection, campaign_id: str, unit_code: str, at: datetime, stage_id: str | None) -> list[Any]:
    """The unit's 签收 asked by `at` (only that of `stage_id`, when given), in id order, locked on PostgreSQL."""
    query = select(_K).where(_K.c.campaign_id == campaign_id, _K.c.unit_code == unit_code, _K.c.open_at <= at)
    if stage_id is not None:
        query = query.where(_K.c.stage_id == stage_id)
    if is_postgres(conn):
        query = query.with_for_update()
    return list(conn.execute(query.order_by(_K.c.id)).all())


def record_given(conn: Connection, row_id: int, state: str, at: datetime, *, actor: str) -> None:
    """A 签收 given at `at` by `actor`: no further events."""
    conn.execute(
        update(_K)
        .where(_K.c.id == row_id)
        .values(state=state, next_event_at=None, acknowledged_at=at, acknowledged_by=actor, updated_at=at)
    )


def not_given(engine: Engine | Connection, campaign_id: str, unit_code: str, at: datetime, given: str) -> list[Any]:
    """The unit's 签收 asked by `at` whose state is not `given`, in id order, each with `told`: whether a tick had
    told the unit of the opening by `at` (before that its window has not begun: the first tick counts it)."""
    query = (
        select(_K, _openings(_I.c.created_at <= utc(at)).label("told"))
        .where(
            _K.c.campaign_id == campaign_id,
            _K.c.unit_code == unit_code,
            _K.c.open_at <= utc(at),
            _K.c.state != given,
        )
        .order_by(_K.c.id)
    )
    if isinstance(engine, Connection):
        return list(engine.execute(query).all())
    with reading(engine) as conn:
        return list(conn.execute(query).all())


def given(engine: Engine, campaign_id: str, unit_code: str, at: datetime) -> list[Any]:
    """(stage, when, by whom) of the unit's 签收 given by `at`, in id order."""
    query = (
        select(_K.c.stage_id, _K.c.acknowledged_at, _K.c.acknowledged_by)
        .where(_K.c.campaign_id == campaign_id, _K.c.unit_code == unit_code, _K.c.acknowledged_at <= utc(at))
        .order_by(_K.c.id)
    )
    with reading(engine) as conn:
        return list(conn.execute(query).all())


def rates(conn: Connection, campaign_id: str, as_of: datetime) -> dict[str, tuple[int, int]]:
    """签收率 per stage ('' for the notice): (acknowledged by `as_of`, asked by `as_of`)."""
    as_of = utc(as_of)
    acked = func.sum(case((_K.c.acknowledged_at <= as_of, 1), else_=0))
    query = (
        select(_K.c.stage_id, acked, func.count())
        .where(_K.c.campaign_id == campaign_id, _K.c.open_at <= as_of)
        .group_by(_K.c.stage_id)
    )
    return {stage: (int(done or 0), int(asked)) for stage, done, asked in conn.execute(query)}


def missing(conn: Connection, campaign_id: str, as_of: datetime, limit: int = 50) -> list[Any]:
    """(stage, unit, due) of the 签收 past their due and not given by `as_of`, the longest missing first."""
    as_of = utc(as_of)
    late = (_K.c.acknowledged_at.is_(None)) | (_K.c.acknowledged_at > as_of)
    query = (
        select(_K.c.stage_id, _K.c.unit_code, _K.c.due_at)
        .where(_K.c.campaign_id == campaign_id, _K.c.due_at <= as_of, late)
        .order_by(_K.c.due_at, _K.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).all())


def first_asked(conn: Connection, campaign_id: str, unit_code: str, stage_id: str) -> Any | None:
    """When the unit's 签收 of the stage is first asked (stored form), or None: the stage asks it none (it holds no
    duty there)."""
    query = select(func.min(_K.c.open_at)).where(
        _K.c.campaign_id == campaign_id, _K.c.unit_code == unit_code, _K.c.stage_id == stage_id
    )
    return conn.execute(query).scalar()
