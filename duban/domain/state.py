"""Assignment states and transitions. Pure: the instant is passed in, nothing reads the clock.

    pending ──open_at──▶ open ──first reminder──▶ due_soon ──due_at──▶ overdue ──grace──▶ (escalated, still overdue)
       │                  │                          │                    │
       └──────────────────┴──── submit before due ───┴──▶ submitted       └── submit ──▶ late
    any unfinished state ── excuse ──▶ excused
    an item under review (审核): submit ──▶ in_review ──accept──▶ submitted | late (by the due in force)
                                                   └──return──▶ open | due_soon on a new due (owed again)
    any state ── reschedule (延期 approved, 调整通知) ──▶ the state the new schedule gives at that instant

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
    in_review = "in_review"  # 待审核: handed in, waiting for the reviewer to accept or return it

    @property
    def finished(self) -> bool:
        """Nothing more is owed (unless a reviewer returns it): no tick changes it."""
        return self in (State.submitted, State.late, State.excused, State.in_review)

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
    State.in_review: "待审核",
}


class EventKind(str, Enum):
    """What happened to an assignment; the unit-facing kinds are also message kinds."""

    opened = "opened"
    reminder = "reminder"
    overdue = "overdue"
    escalation = "escalation"
    submitted = "submitted"
    excused = "excused"
    extended = "extended"  # 延期申请 approved: this unit's due, reminders and escalations moved
    amended = "amended"  # 调整通知: the campaign's dues moved
    accepted = "accepted"  # 审核通过
    returned = "returned"  # 退回: owed again by a new due


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


def submit(
    schedule: Schedule, progress: Progress, at: datetime, *, review: bool = False
) -> tuple[Transition, Progress]:
    """A submission at `at`: on time (submitted) or after the due (late); 待审核 when the item is reviewed.
    Resubmission keeps the state (a version handed in before the reviewer looked is reviewed instead)."""
    state = progress.state
    if state in (State.submitted, State.late, State.in_review):
        return Transition(EventKind.submitted, state, state, at), progress
    to_state = State.in_review if review else State.late if at > schedule.due_at else State.submitted
    return Transition(EventKind.submitted, state, to_state, at), replace(progress, state=to_state)


def accept(
    schedule: Schedule, progress: Progress, at: datetime, *, submitted_at: datetime
) -> tuple[Transition, Progress]:
    """审核通过: the version reviewed counts as handed in when it was, on time or late by the due in force."""
    to_state = State.late if submitted_at > schedule.due_at else State.submitted
    return Transition(EventKind.accepted, progress.state, to_state, at), replace(progress, state=to_state)


def return_for_rework(schedule: Schedule, progress: Progress, at: datetime) -> tuple[Transition, Progress]:
    """退回: owed again on `schedule` (its new due); reminders before `at` count as sent, escalations start over."""
    _changes, moved = advance(schedule, Progress(), at)
    return Transition(EventKind.returned, progress.state, moved.state, at), moved


def reschedule(
    schedule: Schedule,
    progress: Progress,
    at: datetime,
    *,
    submitted_at: datetime | None,
    event: EventKind = EventKind.extended,
) -> tuple[Transition, Progress]:
    """The assignment on a new schedule from `at` on (延期 approved, 调整通知), without losing what happened.

    open, due_soon, overdue: replayed on the new schedule, so an item overdue under the old due is open or due
    soon again, its reminders before `at` count as sent and its escalations start over after the new due;
    pending stays pending (the tick opens it and says so); late becomes submitted when its first submission is
    on or before the new due (the later due is the rule in force); submitted, excused and in review stay.
    """
    state = progress.state
    if state in (State.submitted, State.excused, State.in_review):
        moved = progress
    elif state is State.late:
        on_time = submitted_at is not None and submitted_at <= schedule.due_at
        moved = replace(progress, state=State.submitted if on_time else State.late)
    elif state is State.pending:
        moved = Progress()
    else:
        _changes, moved = advance(schedule, Progress(), at)
    return Transition(event, state, moved.state, at), moved


def excuse(progress: Progress, at: datetime) -> tuple[Transition, Progress]:
    """免报: the unit no longer owes the item."""
    return Transition(EventKind.excused, progress.state, State.excused, at), replace(progress, state=State.excused)


class Color(str, Enum):
    """红黄绿 as operators read it."""

    green = "绿"
    yellow = "黄"
    red = "红"
    grey = "灰"


def color(state: State, *, late: bool = False) -> Color:
    """红: overdue; 黄: due soon or submitted late; 绿: on track, submitted or excused; 灰: not open yet. `late`: a
    version waiting for review (in_review) was handed in after the due — yellow, as a late hand-in is."""
    if state is State.overdue:
        return Color.red
    if state in (State.due_soon, State.late) or (state is State.in_review and late):
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


# 签收 (acknowledgement): one per unit and stage (or the whole notice) that asks for it.
#
#     waiting ──due──▶ unacknowledged (the unit is reminded) ──escalate_at──▶ escalated (parent, leader told)
#        └──────────────────────┴───────────── acknowledge ─────────────┴──▶ acknowledged


class AckState(str, Enum):
    waiting = "waiting"
    unacknowledged = "unacknowledged"
    escalated = "escalated"
    acknowledged = "acknowledged"

    @property
    def cn(self) -> str:
        return {
            "waiting": "待签收",
            "unacknowledged": "逾期未签收",
            "escalated": "逾期未签收（已催办）",
            "acknowledged": "已签收",
        }[self.value]


@dataclass(frozen=True)
class AckSchedule:
    open_at: datetime  # when the unit was asked (its first opening in the stage)
    due_at: datetime
    escalate_at: datetime


def ack_next_event_at(schedule: AckSchedule, state: AckState) -> datetime | None:
    """The next instant a tick changes this 签收, or None."""
    if state is AckState.waiting:
        return schedule.due_at
    if state is AckState.unacknowledged:
        return schedule.escalate_at
    return None


def ack_advance(schedule: AckSchedule, state: AckState, as_of: datetime) -> tuple[list[AckState], AckState]:
    """Every scheduled step at or before `as_of` (the states entered, in order) and the state reached."""
    entered: list[AckState] = []
    while (when := ack_next_event_at(schedule, state)) is not None and when <= as_of:
        state = AckState.unacknowledged if state is AckState.waiting else AckState.escalated
        entered.append(state)
    return entered, state


def acknowledge(state: AckState) -> AckState:
    """The unit acknowledges (at any time; a second time changes nothing)."""
    return AckState.acknowledged
