"""Upkeep after a tick that changed many assignments: the database tidied at once rather than by autovacuum later.

A tick that opens a stage for tens of thousands of units or more leaves as many superseded row versions on
PostgreSQL (see duban.store.upkeep); until they are vacuumed, every later tick and every dashboard page reads past
them. The tick flow asks for the vacuum after its messages are composed, so the opening itself is not delayed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duban.settings import get_settings
from duban.store.upkeep import vacuum

if TYPE_CHECKING:
    from sqlalchemy import Engine


def worth_tidying(changed: int) -> bool:
    """Whether a tick that changed `changed` assignments is followed by the vacuum (the settings' DUBAN_TIDY_AFTER):
    the tick flow asks before it starts a task run for it."""
    return changed >= get_settings().tidy_after


def tidy_after_tick(engine: Engine, changed: int, *, at_least: int | None = None) -> float | None:
    """Vacuum the tables a tick rewrote when it changed `at_least` assignments (by default the settings'
    DUBAN_TIDY_AFTER, 20,000: autovacuum handles fewer well) on PostgreSQL: the seconds taken, or None when nothing
    was done (fewer changes, or SQLite, which keeps no old versions)."""
    if changed < (at_least if at_least is not None else get_settings().tidy_after):
        return None
    return vacuum(engine)
