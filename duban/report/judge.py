"""How one assignment stands as of an instant, as the report counts it: 按时, 逾期报送, 未报送, 未到期, 免报.

Judged with the same pure state machine the ticks use, against the dues now in force (after amendments), so
a report drafted for a past instant says what the record said then.
"""

from __future__ import annotations

from datetime import datetime

from duban.domain.standing import schedule_of, state_at
from duban.domain.state import Progress, State


def kind_at(row, as_of: datetime) -> str:
    """on_time | late | in_review | missing | not_due | excused, for an assignment row as of `as_of`. A version
    waiting for its reviewer (待审核) counts as neither on time nor late until it is accepted (README, 审核与退回)."""
    state = State(row.state)
    if state is State.excused:
        return "excused"
    if state in (State.submitted, State.late) and row.submitted_at is not None and row.submitted_at <= as_of:
        return "on_time" if state is State.submitted else "late"
    if state is State.in_review and row.submitted_at is not None and row.submitted_at <= as_of:  # handed in, 待审核
        return "in_review"
    # handed in after `as_of` (or excused since): judged from the start, as the record stood then
    progress = Progress() if state.finished else Progress(state, row.reminders_done, row.escalations_done)
    return "missing" if state_at(schedule_of(row), progress, as_of) is State.overdue else "not_due"
