"""A 配合 unit's item covered by its 牵头 unit's hand-in: what status, the digest and the 通报 say of it.

A county's 住建局 leads the 排查台账 and its 统计局 (the same division, 140105 and 140105@stats) cooperates. Each
holds its own assignment, and the stored state of the cooperating one stays as the state machine leaves it (the
unit owes its part to its lead, and the lead's extension moves it: duban.services.extension). Once the lead has
handed the item in, though, the item is in: a reader that called the cooperating unit 逾期未报 beside it named a
unit in a 通报 for a 台账 filed weeks before (an outside tester's finding). Readers show it as the lead's hand-in
(已报送（牵头单位）), counted with the handed-in ones, on time or late as the lead's was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from duban.domain.standing import row_state_at
from duban.domain.state import State

LEAD, COOPERATING = "lead", "cooperating"
HANDED_IN = (State.submitted, State.late, State.in_review)
BY_LEAD = "已报送（牵头单位）"


def duty_key(unit: str, item: str, instance: str | None) -> tuple[str, str, str]:
    """One division's duty on one item and instance (the lead's and its cooperating bodies' alike)."""
    return unit.partition("@")[0], item, instance or ""


def covered_state(own: State, lead: State | None) -> State | None:
    """The state a cooperating assignment in `own` reads as when its lead's stands at `lead`: the lead's, when the
    lead has handed the item in and the unit has not finished it itself; None when the lead's hand-in does not cover
    it (nothing handed in yet, or the unit handed in or was excused on its own)."""
    if lead in HANDED_IN and not own.finished:
        return lead
    return None


def lead_rows(rows: Iterable[Any]) -> dict[tuple[str, str, str], list[Any]]:
    """duty_key → the lead assignments among `rows` (each with unit_code, item_id, instance and role)."""
    found: dict[tuple[str, str, str], list[Any]] = {}
    for row in rows:
        if row.role == LEAD:
            found.setdefault(duty_key(row.unit_code, row.item_id, row.instance), []).append(row)
    return found


def handed_in_late(row: Any) -> bool:
    """The version in hand came after the due (a late one waiting for review is yellow, as a late hand-in is)."""
    return row.submitted_at is not None and row.submitted_at > row.due_at


def covering(
    row: Any,
    own: State,
    leads: dict[tuple[str, str, str], list[Any]],
    as_of: datetime,
    state_of: Callable[[Any, datetime], State] = row_state_at,
) -> tuple[State, bool] | None:
    """The lead's state at `as_of` and whether its hand-in came late, when it covers the cooperating `row` that
    stands at `own` (`leads` as lead_rows gives them, read by `state_of`: row_state_then for an instant the record
    has passed); None when it does not."""
    if row.role != COOPERATING:
        return None
    for lead in leads.get(duty_key(row.unit_code, row.item_id, row.instance), ()):
        if (covered := covered_state(own, state_of(lead, as_of))) is not None:
            return covered, handed_in_late(lead)
    return None
