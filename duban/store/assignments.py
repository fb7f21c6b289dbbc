"""Writes of one assignment outside a tick: the one way an assignment is excused (免报).

An item is excused by an operator (`duban excuse`, the portal) or because a unit passed a later scoring of the
score sheet whose 整改 it owed; both go through `record_excused`, which applies the state machine's rule
(duban.domain.state.excuse) and keeps the transition, with who and why, in the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from duban.domain.plan import PlannedAssignment
from duban.domain.state import Progress, State, Transition, excuse
from duban.instants import utc
from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.engine import is_postgres
from duban.store.extension_requests import settle_finished
from duban.store.tables import Assignment, Intent, Submission, TransitionRow

_A = core_table(Assignment)
_S = core_table(Submission)


def record_excused(
    conn: Connection, campaign_id: str, assignment_id: int, state: str, at: datetime, *, actor: str, reason: str
) -> State:
    """Excuse one assignment (in `state`) at `at`: no further events, and a transition naming `actor: reason`."""
    change, progress = excuse(Progress(State(state)), at)
    conn.execute(
        update(_A).where(_A.c.id == assignment_id).values(state=progress.state.value, next_event_at=None, updated_at=at)
    )
    record_transition(conn, campaign_id, assignment_id, change, at, step=0, actor=f"{actor}: {reason}"[:80])
    # nothing is owed now: a waiting 延期申请 is settled, never answered "同意延期" for an item not to be handed in
    settle_finished(conn, assignment_id, at, decided_by=actor[:80], note="不再需要：事项已免报", handed_in=None)
    return progress.state


def record_transition(
    conn: Connection, campaign_id: str, assignment_id: int, change: Transition, at: datetime, *, step: int, actor: str
) -> None:
    """Keep one state change of an assignment in the audit trail (the transition table), applied at `at` by `actor`
    (at most 80 characters; the caller words and cuts it); the one place a transition outside a tick is written."""
    conn.execute(
        insert(TransitionRow),
        [
            dict(
                campaign_id=campaign_id,
                assignment_id=assignment_id,
                event=change.event.value,
                step=step,
                from_state=change.from_state.value,
                to_state=change.to_state.value,
                event_at=at,
                recorded_at=at,
                actor=actor,
            )
        ],
    )


def record_settled(
    conn: Connection,
    campaign_id: str,
    assignment_id: int,
    change: Transition,
    state: State,
    at: datetime,
    *,
    step: int,
    actor: str,
) -> None:
    """An assignment's new `state` at `at` with no further events (a version accepted in review), and the
    transition `change` that led there."""
    conn.execute(
        update(_A).where(_A.c.id == assignment_id).values(state=state.value, next_event_at=None, updated_at=at)
    )
    record_transition(conn, campaign_id, assignment_id, change, at, step=step, actor=actor)


def record_rescheduled(
    conn: Connection,
    campaign_id: str,
    assignment_id: int,
    change: Transition,
    progress: Progress,
    at: datetime,
    *,
    due_at: datetime,
    reminders: Sequence[datetime],
    escalations: Sequence[tuple[datetime, Sequence[str]]],
    next_event_at: datetime | None,
    step: int,
    actor: str,
) -> None:
    """An assignment's due, reminders and escalations (when, to whom) moved at `at` (an extension granted, a
    return for rework), its `progress` re-derived on them, and the transition `change` that led there."""
    codec = Codec(conn)
    conn.execute(
        update(_A)
        .where(_A.c.id == assignment_id)
        .values(
            due_at=due_at,
            reminders=[codec.iso(t) for t in reminders],
            escalations=[[codec.iso(w), list(to)] for w, to in escalations],
            state=progress.state.value,
            reminders_done=progress.reminders_done,
            escalations_done=progress.escalations_done,
            next_event_at=next_event_at,
            updated_at=at,
        )
    )
    record_transition(conn, campaign_id, assignment_id, change, at, step=step, actor=actor)


def insert_planned(conn: Connection, campaign_id: str, planned: list[PlannedAssignment], now: datetime) -> None:
    """Keep assignments made after planning (a 整改, an outcome's item), pending and opening at their `open_at`;
    an (item, instance, unit) the campaign holds already is left as it is."""
    if not planned:
        return
    items = {p.item_id for p in planned}
    existing = {
        tuple(r)
        for r in conn.execute(
            select(_A.c.item_id, _A.c.instance, _A.c.unit_code).where(
                _A.c.campaign_id == campaign_id, _A.c.item_id.in_(items)
            )
        )
    }
    rows = [
        dict(
            campaign_id=campaign_id,
            stage_id=p.stage_id,
            stage_order=p.stage_order,
            item_id=p.item_id,
            instance=p.instance,
            unit_code=p.unit_code,
            role=p.role,
            open_at=utc(p.open_at),
            due_at=utc(p.due_at),
            reminders=[utc(t).isoformat() for t in p.reminders],
            escalations=[[utc(t).isoformat(), list(to)] for t, to in p.escalations],
            state=State.pending.value,
            reminders_done=0,
            escalations_done=0,
            next_event_at=utc(p.open_at),
            updated_at=utc(now),
        )
        for p in planned
        if (p.item_id, p.instance, p.unit_code) not in existing
    ]
    if rows:
        conn.execute(insert(Assignment), rows)


def owed_rows(conn: Connection, campaign_id: str, unit_code: str, item_id: str, instance: str | None) -> list[Any]:
    """The unit's assignments of the item (of one instance, when given), the first due first; locked until the
    transaction ends on PostgreSQL."""
    query = select(_A).where(_A.c.campaign_id == campaign_id, _A.c.unit_code == unit_code, _A.c.item_id == item_id)
    if instance is not None:
        query = query.where(_A.c.instance == instance)
    if is_postgres(conn):
        query = query.with_for_update()
    return list(conn.execute(query.order_by(_A.c.due_at)).all())


def record_handed_in(
    conn: Connection,
    campaign_id: str,
    row: Any,
    at: datetime,
    change: Transition,
    state: State,
    *,
    late: bool,
    files: list[dict[str, Any]],
    metrics: dict[str, Any],
    actor: str,
) -> tuple[int, int]:
    """Keep a version handed in for the assignment `row` at `at`: the submission (numbered after those kept), the
    assignment's new `state` (no further events), the transition `change` and the receipt intent.
    Returns (the submission's id, its version)."""
    version = (conn.execute(select(func.count()).select_from(_S).where(_S.c.assignment_id == row.id)).scalar() or 0) + 1
    submission_id = conn.execute(
        insert(Submission).returning(_S.c.id),
        [
            dict(
                campaign_id=campaign_id,
                assignment_id=row.id,
                unit_code=row.unit_code,
                item_id=row.item_id,
                version=version,
                submitted_at=at,
                late=late,
                files=files,
                metrics=metrics,
                actor=actor,
            )
        ],
    ).scalar_one()
    conn.execute(
        update(_A)
        .where(_A.c.id == row.id)
        .values(
            state=state.value,
            next_event_at=None,
            updated_at=at,
            submitted_at=row.submitted_at or at,
        )
    )
    record_transition(conn, campaign_id, row.id, change, at, step=version, actor=actor)
    conn.execute(
        insert(Intent),
        [
            dict(
                campaign_id=campaign_id,
                assignment_id=row.id,
                recipient=row.unit_code,
                kind="receipt",
                step=version,
                event_at=at,
                created_at=at,
            )
        ],
    )
    return submission_id, version
