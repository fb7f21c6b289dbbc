"""Recurring items (每月/每季度/每半年/每年): one instance per period of the item's window.

Each period's due is `due_after_period` after the period's last day, at the item's time of day (`at`, else
defaults.due_time). A period may have its own rule (`periods: {Q4: {due_after_period: 20 days}}`, or a
written `due:`), a period may be exempt (`exempt: [Q4]` when 四季度 goes with the annual report), and the item's
顺延 policy moves a due that lands on a day off (国庆 10/1–10/8 …) to the next allowed day.

    2020Q3  opens 2020-07-08 08:30 (the item's opening, inside the quarter)   due 2020-10-10 24:00
    2020Q4  opens 2020-10-01 08:30                                              due 2021-01-10 24:00

A notice that gives no due day (每季度报送) takes `defaults.due_after_period`, else the period's last day;
`duban validate` names each item that does. `days:` (每月10日、20日前) makes each of those days of each month a
due of its own, named by the day (2024-07-10), opening the day after the one before it is due.
"""

from __future__ import annotations

from datetime import date, timedelta

from pendulum import DateTime

from duban.domain.periods import period_matches, periods_between
from duban.domain.timeline import Timeline
from duban.errors import PlanError
from duban.spec.models import Item, PeriodRule, Recurrence, Stage
from duban.spec.terms import Offset, OffsetUnit

MAX_MONTHS = 120
"""A recurring item's window spans at most ten years (120 monthly reports per unit): a longer one is a typo in a
date, and would plan tens of thousands of assignments."""


def period_rule(rule: Recurrence, label: str) -> PeriodRule | None:
    """The rule for one period: its full label (2020Q4) wins over the every-year name (Q4)."""
    if label in rule.periods:
        return rule.periods[label]
    for key, found in rule.periods.items():
        if period_matches(label, key, rule.every):
            return found
    return None


def is_exempt(rule: Recurrence, label: str) -> bool:
    """Is nothing owed for this period (exempt: [Q4], [2020Q3] …)?"""
    return any(period_matches(label, key, rule.every) for key in rule.exempt)


def recurring_instances(timeline: Timeline, stage: Stage, item: Item) -> list[tuple[str, DateTime, DateTime]]:
    """(period label, opens, due) of each period of a recurring item that overlaps its window and is owed."""
    rule = item.every
    assert rule is not None
    first = timeline.item_opens(stage, item)
    last = timeline.stage_end(stage)
    policy = item.postpone or timeline.defaults.postpone
    found = []
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        raise PlanError(
            f"item {item.id!r} repeats each {rule.every} over {first.date()} – {last.date()}: a recurring "
            f"item's window spans at most {MAX_MONTHS // 12} years"
        )
    periods = periods_between(first.date(), last.date(), rule.every)
    if rule.days:
        return _day_instances(timeline, item, periods, first, last)
    for label, start, end in periods:
        if is_exempt(rule, label):
            continue
        opens = max(first, timeline.instant_on(start, timeline.defaults.open_time))
        own = period_rule(rule, label)
        clock = (own.at if own and own.at else None) or rule.at or timeline.defaults.due_time
        if own is not None and own.due is not None:
            due = timeline.postponed(timeline.instant(own.due, default_clock=clock, edge="end"), policy)
        else:
            after = own.due_after_period if own and own.due_after_period is not None else period_offset(timeline, rule)
            due = timeline.postponed(timeline.shift(timeline.instant_on(end, clock), after, clock), policy)
        found.append((label, opens, due))
    if not periods:
        raise PlanError(f"item {item.id!r} repeats each {rule.every} but its window holds no period")
    if not found:
        raise PlanError(f"item {item.id!r}: every {rule.every} of its window is exempt ({', '.join(rule.exempt)})")
    return found


def period_offset(timeline: Timeline, rule: Recurrence) -> Offset:
    """How long after each period its due falls: the item's rule, the spec-wide default, or none (its last day)."""
    if rule.due_after_period is not None:
        return rule.due_after_period
    return timeline.defaults.due_after_period or Offset(0, OffsetUnit.days)


def _day_instances(timeline: Timeline, item: Item, months, first: DateTime, last: DateTime):
    """每月10日、20日前: one instance per listed day of each month in the window, each opening the day after the
    one before it is due (the first at the item's opening)."""
    rule = item.every
    assert rule is not None
    policy = item.postpone or timeline.defaults.postpone
    days: list[tuple[str, date]] = []
    for label, start, end in months:
        for day_of_month in rule.days:
            moment = start.replace(day=min(day_of_month, end.day))
            if first.date() <= moment <= last.date() and (not days or days[-1][1] != moment):
                days.append((moment.isoformat(), moment))
    found = []
    previous: date | None = None
    for label, day in days:
        if is_exempt(rule, label):
            previous = day
            continue
        own = period_rule(rule, label)
        clock = (own.at if own and own.at else None) or rule.at or timeline.defaults.due_time
        opens = (
            first
            if previous is None
            else max(first, timeline.instant_on(previous + timedelta(days=1), timeline.defaults.open_time))
        )
        if own is not None and own.due is not None:
            due = timeline.postponed(timeline.instant(own.due, default_clock=clock, edge="end"), policy)
        else:
            due = timeline.postponed(timeline.instant_on(day, clock), policy)
        found.append((label, opens, due))
        previous = day
    if not found:
        raise PlanError(
            f"item {item.id!r} is due on day(s) {', '.join(map(str, rule.days))} of each month, "
            "but its window holds none of them (or all are exempt)"
        )
    return found
