"""How one assignment stands as of an instant, as the report counts it: 按时, 逾期报送, 未报送, 未到期, 免报.

Judged with the same pure state machine the ticks use, against the dues now in force (after amendments), so
a report drafted for a past instant says what the record said then — read as `duban status` reads that instant
(duban.domain.standing.row_state_then).
"""

from __future__ import annotations

from datetime import datetime

from duban.domain.standing import row_state_then
from duban.domain.state import State

_KINDS = {
    State.excused: "excused",
    State.submitted: "on_time",
    State.late: "late",
    State.in_review: "in_review",
    State.overdue: "missing",
}


def kind_at(row, as_of: datetime) -> str:
    """on_time | late | in_review | missing | not_due | excused, for an assignment row as of `as_of`. A version
    waiting for its reviewer (待审核) counts as neither on time nor late until it is accepted (README, 审核与退回)."""
    return _KINDS.get(row_state_then(row, as_of), "not_due")
