"""Where an assignment stands at an instant: the one rule every reader uses (duties, status, the unit page, the
matrix, scores, the report).

The database holds each assignment's state as of its last tick. For any later instant the state machine's
`advance` says where it stands without writing anything; a finished state (submitted, late, excused) stays.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from duban.domain.state import Progress, Schedule, State, advance


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
    """An assignment row's state at `as_of` (from its state as of the last tick)."""
    return state_at(schedule_of(row), Progress(State(row.state), row.reminders_done, row.escalations_done), as_of)
