"""When a campaign's tick should run besides every ten minutes (巡检时刻): the exact instants its plan names.

A tick every ten minutes already catches every event within ten minutes; ticks at the exact instants make
a stage open, a reminder go out and an item turn overdue on the minute the notice says. The instants are
the distinct openings, reminders, dues and escalations of the plan, rounded up to the whole second (a due
at 23:59:59.999999 is ticked at 00:00:00), at most MAX_INSTANTS of them, and written as an iCalendar RDATE
list in the campaign's own zone, which Prefect's RRule schedules read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from duban.domain.plan import Plan
from duban.instants import in_zone, utc

MAX_INSTANTS = 120  # an RDATE list of 120 instants is ~2 kB, well inside Prefect's 6.5 kB RRule limit
TICK_CRON = "*/10 * * * *"


@dataclass(frozen=True)
class TickInstants:
    """The campaign's exact tick instants after a moment, and how many the bound left out."""

    campaign_id: str
    timezone: str
    instants: tuple[datetime, ...]  # UTC, ascending, distinct
    left_out: int = 0

    @property
    def rrule(self) -> str | None:
        """`RDATE:20240510T000000,…` in local wall time of the campaign's zone (None when there is none)."""
        if not self.instants:
            return None
        return "RDATE:" + ",".join(in_zone(t, self.timezone).strftime("%Y%m%dT%H%M%S") for t in self.instants)


def tick_instants(plan: Plan, *, after: datetime | None = None, limit: int = MAX_INSTANTS) -> TickInstants:
    """The plan's distinct event instants strictly after `after` (all of them when None), the first `limit`."""
    seen: set[datetime] = set()
    for a in plan.assignments:
        seen.add(a.open_at)
        seen.add(a.due_at)
        seen.update(a.reminders)
        seen.update(at for at, _targets in a.escalations)
    rounded = {_ceil_second(utc(t)) for t in seen}
    if after is not None:
        rounded = {t for t in rounded if t > utc(after)}
    ordered = sorted(rounded)
    return TickInstants(plan.campaign.id, plan.campaign.timezone, tuple(ordered[:limit]), max(0, len(ordered) - limit))


def _ceil_second(moment: datetime) -> datetime:
    if moment.microsecond:
        return moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment
