"""The assignment state machine: pending → open → due soon → overdue (→ escalated); submitted, late, excused."""

from datetime import datetime, timedelta, timezone

from duban.domain.state import (
    Color,
    EventKind,
    Progress,
    Schedule,
    State,
    advance,
    color,
    excuse,
    next_event_at,
    submit,
)

T0 = datetime(2024, 5, 10, 0, 30, tzinfo=timezone.utc)  # 5/10 08:30 in Shanghai
SCHEDULE = Schedule(
    open_at=T0,
    due_at=T0 + timedelta(days=15, hours=15, minutes=29),
    reminders=(T0 + timedelta(days=12, minutes=30), T0 + timedelta(days=14, minutes=30)),
    escalations=(T0 + timedelta(days=18, minutes=30),),
)


def test_a_full_life_in_order():
    progress = Progress()
    seen = []
    for moment in (T0, *SCHEDULE.reminders, SCHEDULE.due_at, *SCHEDULE.escalations):
        changes, progress = advance(SCHEDULE, progress, moment)
        seen.extend((c.event, c.to_state) for c in changes)
    assert seen == [
        (EventKind.opened, State.open),
        (EventKind.reminder, State.due_soon),
        (EventKind.reminder, State.due_soon),
        (EventKind.overdue, State.overdue),
        (EventKind.escalation, State.overdue),
    ]
    assert next_event_at(SCHEDULE, progress) is None


def test_same_instant_twice_changes_nothing():
    changes, progress = advance(SCHEDULE, Progress(), T0)
    again, same = advance(SCHEDULE, progress, T0)
    assert len(changes) == 1 and again == [] and same == progress


def test_a_gap_yields_exactly_the_missed_transitions():
    end = SCHEDULE.due_at + timedelta(hours=1)
    step, progress = [], Progress()
    moment = T0
    while moment <= end:
        changes, progress = advance(SCHEDULE, progress, moment)
        step.extend(changes)
        moment += timedelta(hours=6)
    changes, stepped_progress = advance(SCHEDULE, progress, end)
    step.extend(changes)
    at_once, jumped = advance(SCHEDULE, Progress(), end)
    assert [(c.event, c.at, c.step) for c in at_once] == [(c.event, c.at, c.step) for c in step]
    assert jumped == stepped_progress


def test_submission_on_time_and_late():
    _, opened = advance(SCHEDULE, Progress(), T0)
    change, done = submit(SCHEDULE, opened, T0 + timedelta(days=2))
    assert change.to_state is State.submitted and next_event_at(SCHEDULE, done) is None
    _, overdue = advance(SCHEDULE, Progress(), SCHEDULE.due_at)
    change, late = submit(SCHEDULE, overdue, SCHEDULE.due_at + timedelta(minutes=1))
    assert change.to_state is State.late and next_event_at(SCHEDULE, late) is None
    resubmitted, kept = submit(SCHEDULE, late, SCHEDULE.due_at + timedelta(days=1))
    assert kept.state is State.late and resubmitted.from_state is State.late


def test_a_submission_exactly_at_the_due_is_on_time():
    _, opened = advance(SCHEDULE, Progress(), T0)
    change, _ = submit(SCHEDULE, opened, SCHEDULE.due_at)
    assert change.to_state is State.submitted


def test_excused_units_hear_nothing_more():
    _, opened = advance(SCHEDULE, Progress(), T0)
    change, excused = excuse(opened, T0 + timedelta(days=1))
    assert change.to_state is State.excused
    assert advance(SCHEDULE, excused, SCHEDULE.due_at + timedelta(days=30)) == ([], excused)


def test_colours():
    assert color(State.overdue) is Color.red
    assert color(State.due_soon) is Color.yellow and color(State.late) is Color.yellow
    assert color(State.submitted) is Color.green and color(State.open) is Color.green
    assert color(State.pending) is Color.grey
