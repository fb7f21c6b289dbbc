"""A tick of one stage: apply every transition that is due, and promise its notifications, in one transaction.

Only assignments whose `next_event_at` is at or before `as_of` are read (an index range scan on
(campaign_id, stage_id, next_event_at)), so an idle tick costs the same for 300 units or 170,000.
Ticking the same instant twice changes nothing; a tick after a gap applies the missed events in order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, bindparam, func, insert, select, update

from duban.instants import utc
from duban.state import EventKind, Progress, Schedule, State, Transition, advance, next_event_at
from duban.store import is_postgres, unit_of_work
from duban.tables import Assignment, Intent, TransitionRow

_A = Assignment.__table__
_UNIT_FACING = (EventKind.opened, EventKind.reminder, EventKind.overdue)


@dataclass
class StageTick:
    """What one stage's tick did."""

    stage_id: str
    examined: int = 0
    events: Counter = field(default_factory=Counter)
    intents: int = 0

    @property
    def transitions(self) -> int:
        return sum(self.events.values())


def tick_stage(engine: Engine, campaign_id: str, stage_id: str, as_of: datetime, *, actor: str = "tick") -> StageTick:
    """Advance the stage's due assignments to `as_of`; transitions and intents commit together."""
    as_of = utc(as_of)
    result = StageTick(stage_id)
    with unit_of_work(engine) as conn:
        query = (
            select(_A.c.id, _A.c.unit_code, _A.c.state, _A.c.open_at, _A.c.due_at, _A.c.reminders, _A.c.escalations,
                   _A.c.reminders_done, _A.c.escalations_done)
            .where(_A.c.campaign_id == campaign_id, _A.c.stage_id == stage_id, _A.c.next_event_at <= as_of)
            .order_by(_A.c.next_event_at, _A.c.id)
        )  # fmt: skip
        if is_postgres(conn):
            query = query.with_for_update(skip_locked=True)
        updates, transitions, intents = [], [], []
        for row in conn.execute(query):
            result.examined += 1
            escalations = row.escalations or []
            schedule = schedule_of(row)
            progress = Progress(State(row.state), row.reminders_done, row.escalations_done)
            changes, progress = advance(schedule, progress, as_of)
            if not changes:
                continue
            updates.append(
                dict(b_id=row.id, b_state=progress.state.value, b_rd=progress.reminders_done,
                     b_ed=progress.escalations_done, b_next=next_event_at(schedule, progress), b_now=as_of)
            )  # fmt: skip
            for change in changes:
                result.events[change.event.value] += 1
                transitions.append(
                    dict(campaign_id=campaign_id, assignment_id=row.id, event=change.event.value, step=change.step,
                         from_state=change.from_state.value, to_state=change.to_state.value, event_at=change.at,
                         recorded_at=as_of, actor=actor)
                )  # fmt: skip
            intents.extend(_intents(campaign_id, row.id, row.unit_code, changes, escalations, as_of))
        if updates:
            conn.execute(
                update(_A)
                .where(_A.c.id == bindparam("b_id"))
                .values(state=bindparam("b_state"), reminders_done=bindparam("b_rd"),
                        escalations_done=bindparam("b_ed"), next_event_at=bindparam("b_next"),
                        updated_at=bindparam("b_now")),
                updates,
            )  # fmt: skip
            conn.execute(insert(TransitionRow), transitions)
        if intents:
            conn.execute(insert(Intent), intents)
        result.intents = len(intents)
    return result


def schedule_of(row) -> Schedule:
    """An assignment row's fixed instants as a state-machine Schedule."""
    return Schedule(
        open_at=row.open_at,
        due_at=row.due_at,
        reminders=tuple(datetime.fromisoformat(t) for t in row.reminders or []),
        escalations=tuple(datetime.fromisoformat(step[0]) for step in row.escalations or []),
    )


def _intents(
    campaign_id: str,
    assignment_id: int,
    unit_code: str,
    changes: list[Transition],
    escalations: list[list],
    as_of: datetime,
) -> list[dict]:
    """One intent to the unit for its latest unit-facing change; one per target for the latest escalation.

    After a gap, a unit hears once about where its item stands now, not once per missed event.
    """
    found = []
    facing = [c for c in changes if c.event in _UNIT_FACING]
    if facing:
        last = facing[-1]
        found.append(
            dict(campaign_id=campaign_id, assignment_id=assignment_id, recipient=unit_code, kind=last.event.value,
                 step=last.step, event_at=last.at, created_at=as_of)
        )  # fmt: skip
    escalated = [c for c in changes if c.event is EventKind.escalation]
    if escalated:
        last = escalated[-1]
        for target in escalations[last.step][1]:
            found.append(
                dict(campaign_id=campaign_id, assignment_id=assignment_id, recipient=target, kind="escalation",
                     step=last.step, event_at=last.at, created_at=as_of)
            )  # fmt: skip
    return found


def next_instant(engine: Engine, campaign_id: str, stages: list[str], after: datetime | None = None) -> datetime | None:
    """The earliest pending event instant of the campaign (strictly after `after`, when given).

    Asked per stage so each question is answered from the (campaign, stage, next_event_at) index.
    """
    found = []
    with engine.connect() as conn:
        for stage_id in stages:
            query = select(func.min(_A.c.next_event_at)).where(_A.c.campaign_id == campaign_id, _A.c.stage_id == stage_id)
            if after is not None:
                query = query.where(_A.c.next_event_at > utc(after))
            value = conn.execute(query).scalar()
            if value is not None:
                found.append(value)
    return min(found) if found else None
