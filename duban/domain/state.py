"""Assignment states and transitions. Pure: the instant is passed in, nothing reads the clock.

    pending ──open_at──▶ open ──first reminder──▶ due_soon ──due_at──▶ overdue ──grace──▶ (escalated, still overdue)
       │                  │                          │                    │
       └──────────────────┴──── submit before due ───┴──▶ submitted       └── submit ──▶ late
    any unfinished state ── excuse ──▶ excused

`advance` applies, in time order, every scheduled event whose instant is at or before `as_of`, so a tick
after a gap yields exactly the transitions the missed ticks would have, and a second tick at the same
instant yields none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum


class State(str, Enum):
    pending = "pending"
    open = "open"
    due_soon = "due_soon"
    overdue = "overdue"
    submitted = "submitted"
    late = "late"
    excused = "excused"

    @property
    def finished(self) -> bool:
        return self in (State.submitted, State.late, State.excused)

    @property
    def cn(self) -> str:
        return STATE_CN[self]


STATE_CN = {
    State.pending: "未开始",
    State.open: "进行中",
    State.due_soon: "临近截止",
    State.overdue: "逾期未报",
    State.submitted: "已报送",
    State.late: "逾期报送",
    State.excused: "免报",
}


class EventKind(str, Enum):
    """What happened to an assignment; the unit-facing kinds are also message kinds."""

    opened = "opened"
    reminder = "reminder"
    overdue = "overdue"
    escalation = "escalation"
    submitted = "submitted"
    excused = "excused"


@dataclass(frozen=True)
class Schedule:
    """An assignment's fixed instants (from the plan)."""

    open_at: datetime
    due_at: datetime
    reminders: tuple[datetime, ...] = ()
    escalations: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Progress:
    """An assignment's moving parts (kept in the database)."""

    state: State = State.pending
    reminders_done: int = 0
    escalations_done: int = 0


@dataclass(frozen=True)
class Transition:
    event: EventKind
    from_state: State
    to_state: State
    at: datetime  # the scheduled instant of the event (or the submission time)
    step: int = 0  # which reminder / escalation


def next_event_at(schedule: Schedule, progress: Progress) -> datetime | None:
    """The next scheduled instant at which this assignment changes, or None when it never will."""
    state = progress.state
    if state.finished:
        return None
    if state is State.pending:
        return schedule.open_at
    if state in (State.open, State.due_soon):
        if progress.reminders_done < len(schedule.reminders):
            return min(schedule.reminders[progress.reminders_done], schedule.due_at)
        return schedule.due_at
    if progress.escalations_done < len(schedule.escalations):
        return schedule.escalations[progress.escalations_done]
    return None


def advance(schedule: Schedule, progress: Progress, as_of: datetime) -> tuple[list[Transition], Progress]:
    """Apply every scheduled event at or before `as_of`; return the transitions and the new progress."""
    transitions: list[Transition] = []
    while True:
        when = next_event_at(schedule, progress)
        if when is None or when > as_of:
            return transitions, progress
        transition, progress = _step(schedule, progress, when)
        transitions.append(transition)


def _step(schedule: Schedule, progress: Progress, when: datetime) -> tuple[Transition, Progress]:
    state = progress.state
    if state is State.pending:
        return Transition(EventKind.opened, state, State.open, when), replace(progress, state=State.open)
    if state in (State.open, State.due_soon):
        reminders_left = progress.reminders_done < len(schedule.reminders)
        if reminders_left and schedule.reminders[progress.reminders_done] < schedule.due_at:
            step = progress.reminders_done
            return (
                Transition(EventKind.reminder, state, State.due_soon, when, step),
                replace(progress, state=State.due_soon, reminders_done=step + 1),
            )
        done = len(schedule.reminders)
        return (
            Transition(EventKind.overdue, state, State.overdue, when),
            replace(progress, state=State.overdue, reminders_done=done),
        )
    step = progress.escalations_done
    return (
        Transition(EventKind.escalation, state, State.overdue, when, step),
        replace(progress, escalations_done=step + 1),
    )


def submit(schedule: Schedule, progress: Progress, at: datetime) -> tuple[Transition, Progress]:
    """A submission at `at`: on time (submitted) or after the due (late). Resubmission keeps the first state."""
    state = progress.state
    if state in (State.submitted, State.late):
        return Transition(EventKind.submitted, state, state, at), progress
    to_state = State.late if at > schedule.due_at else State.submitted
    return Transition(EventKind.submitted, state, to_state, at), replace(progress, state=to_state)


def excuse(progress: Progress, at: datetime) -> tuple[Transition, Progress]:
    """免报: the unit no longer owes the item."""
    return Transition(EventKind.excused, progress.state, State.excused, at), replace(progress, state=State.excused)


class Color(str, Enum):
    """红黄绿 as operators read it."""

    green = "绿"
    yellow = "黄"
    red = "红"
    grey = "灰"


def color(state: State) -> Color:
    """红: overdue; 黄: due soon or submitted late; 绿: on track, submitted or excused; 灰: not open yet."""
    if state is State.overdue:
        return Color.red
    if state in (State.due_soon, State.late):
        return Color.yellow
    if state is State.pending:
        return Color.grey
    return Color.green


def worst(colors: list[Color]) -> Color:
    order = [Color.red, Color.yellow, Color.green, Color.grey]
    for candidate in order:
        if candidate in colors:
            return candidate
    return Color.grey
