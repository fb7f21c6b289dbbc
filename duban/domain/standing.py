"""Where an assignment stands at an instant: the one rule every reader uses (duties, status, the unit page, the
matrix, scores, the report), and what a tick at an instant does to it (TickOutcome).

The database holds each assignment's state as of its last tick. For any later instant the state machine's
`advance` says where it stands without writing anything; a finished state (submitted, late, excused) stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from duban.domain.state import EventKind, Progress, Schedule, State, Transition, advance, next_event_at


@lru_cache(maxsize=4096)
def instants(texts: tuple[str, ...]) -> tuple[datetime, ...]:
    """ISO texts as instants (a stage's rows share a handful of schedules: each is parsed once)."""
    return tuple(datetime.fromisoformat(t) for t in texts)


def schedule_of(row: Any) -> Schedule:
    """An assignment row's fixed instants as a state-machine Schedule."""
    return Schedule(
        open_at=row.open_at,
        due_at=row.due_at,
        reminders=instants(tuple(row.reminders or ())),
        escalations=instants(tuple(step[0] for step in row.escalations or ())),
    )


def state_at(schedule: Schedule, progress: Progress, as_of: datetime) -> State:
    """The state at `as_of` of an assignment with `progress`: a finished state stays, any other is advanced."""
    if progress.state.finished:
        return progress.state
    _changes, moved = advance(schedule, progress, as_of)
    return moved.state


def row_state_at(row: Any, as_of: datetime) -> State:
    """An assignment row's state at `as_of` (from its state as of the last tick). A stage that waits for another
    (按阶段顺序) stays pending until the record opens it (its next_event_at is empty until then)."""
    if row.state == State.pending.value and getattr(row, "next_event_at", False) is None:
        return State.pending
    return state_at(schedule_of(row), Progress(State(row.state), row.reminders_done, row.escalations_done), as_of)


def row_state_then(row: Any, as_of: datetime) -> State:
    """An assignment row's state at `as_of`, an instant the record may have passed since (a status or 通报 of 6/10
    18:00 asked on 6/12): a hand-in counts from its instant, anything else is judged from the start against the
    schedule now in force, so an item due at 24:00 that day is not yet 逾期 then though it is now. A 免报, a version's
    review and a due moved since stand as recorded now (their instants are not on the row); for an instant the
    record has reached, the same state as row_state_at. The status, the 通报 and the 总结报告 all read the past so."""
    state = State(row.state)
    if state is State.excused:
        return state
    if state in (State.submitted, State.late, State.in_review) and row.submitted_at is not None:
        if row.submitted_at <= as_of:
            return state
    elif state is State.pending and getattr(row, "next_event_at", False) is None:  # a stage the record has not opened
        return state
    return state_at(schedule_of(row), Progress(), as_of)


_UNIT_FACING = (EventKind.opened, EventKind.reminder, EventKind.overdue)


@dataclass(frozen=True)
class TickOutcome:
    """What a tick at `as_of` does to an assignment (or a case of them sharing schedule and progress), in domain
    terms; the store encodes it once for the driver (duban.store.tick_sql.encode)."""

    progress: Progress  # where it stands after the tick
    next_event_at: datetime | None
    changes: tuple[Transition, ...]  # every transition, in time order
    unit_intent: Transition | None  # the one the unit hears of: after a gap, where its item stands now
    escalation: Transition | None  # the latest escalation, announced to that step's targets

    @property
    def overdue(self) -> bool:
        """The assignment slipped past its due in this tick."""
        return any(c.event is EventKind.overdue for c in self.changes)


def tick_outcome(schedule: Schedule, progress: Progress, as_of: datetime) -> TickOutcome:
    """Advance to `as_of`; after a gap a unit hears once about where its item stands, not once per missed event."""
    changes, moved = advance(schedule, progress, as_of)
    facing = [c for c in changes if c.event in _UNIT_FACING]
    escalated = [c for c in changes if c.event is EventKind.escalation]
    return TickOutcome(
        moved,
        next_event_at(schedule, moved),
        tuple(changes),
        facing[-1] if facing else None,
        escalated[-1] if escalated else None,
    )
