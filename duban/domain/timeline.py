"""The campaign's instants: stage windows, item dues, events, reminders and escalations, all absolute.

A date-only due means the end of that day (defaults.due_time, 23:59, shown as 24:00); a date-only opening means
defaults.open_time (08:30) that day. Relative dues count calendar days, working days (工作日, with 调休)
or hours from another instant; references form a graph, and a cycle is an error naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta

import pendulum
from pendulum import DateTime

from duban.domain.calendar import Postpone, WorkCalendar
from duban.errors import CalendarGapError, PlanError
from duban.instants import at_clock, zone
from duban.spec.models import Campaign, Item, Stage
from duban.spec.terms import FIRST_YEAR, LAST_YEAR, AbsoluteDue, Offset, OffsetUnit, Ref, RelativeDue
from duban.spec.words import WordDate


class LenientCalendar(WorkCalendar):
    """For `duban validate`: a year without data counts Monday–Friday and is remembered, not raised."""

    def __init__(self, inner: WorkCalendar) -> None:
        super().__init__(overrides=inner.overrides, overrides_file=inner.overrides_file)
        self.gaps: set[int] = set()

    def is_working_day(self, day: date) -> bool:
        try:
            return super().is_working_day(day)
        except CalendarGapError:
            self.gaps.add(day.year)
            return day.weekday() < 5

    def holiday_name(self, day: date) -> str | None:
        try:
            return super().holiday_name(day)
        except CalendarGapError:
            self.gaps.add(day.year)
            return None


@dataclass
class Timeline:
    """Resolves every reference of a campaign to an instant in its zone."""

    campaign: Campaign
    calendar: WorkCalendar
    actual_starts: dict[str, DateTime] = field(default_factory=dict)  # stages opened by others, as the record says
    _memo: dict[str, DateTime] = field(default_factory=dict)
    _stack: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tz = self.campaign.timezone
        self.defaults = self.campaign.defaults
        self.stages = {s.id: s for s in self.campaign.stages}
        self.items = {i.id: (s, i) for s, i in self.campaign.items()}
        self.events = {e.id: e for e in self.campaign.events}

    # references -------------------------------------------------------------------------------------------
    def ref(self, ref: Ref) -> DateTime:
        key = str(ref) if not (ref.kind == "stage" and ref.edge == "end") else f"stage:{ref.target}.end"
        if key in self._memo:
            return self._memo[key]
        if key in self._stack:
            cycle = " → ".join([*self._stack[self._stack.index(key) :], key])
            raise PlanError(f"relative dues form a cycle: {cycle}")
        self._stack.append(key)
        try:
            value = self._resolve(ref)
        finally:
            self._stack.pop()
        self._memo[key] = value
        return value

    def _resolve(self, ref: Ref) -> DateTime:
        if ref.kind == "campaign":
            return self.campaign_edge(ref.edge)
        if ref.kind == "stage":
            if ref.target not in self.stages:
                raise PlanError(f"no stage {ref.target!r} (stages: {', '.join(self.stages)})")
            stage = self.stages[ref.target]
            return self.stage_start(stage) if ref.edge == "start" else self.stage_end(stage)
        if ref.kind == "item":
            if ref.target not in self.items:
                raise PlanError(f"no item {ref.target!r}")
            stage, item = self.items[ref.target]
            if item.every is not None:
                raise PlanError(f"item {item.id!r} repeats each {item.every.every}; a due cannot count from it")
            return self.item_due(stage, item)
        if ref.target not in self.events:
            raise PlanError(f"no event {ref.target!r} (events: {', '.join(self.events) or 'none'})")
        event = self.events[ref.target]
        if ref.edge == "end" and event.end is not None:
            return self.instant(event.end, default_clock=time(0, 0), edge="end")
        return self.instant(event.at, default_clock=time(0, 0))

    def campaign_edge(self, edge: str) -> DateTime:
        window = self.campaign.window
        if window is not None:
            spec = window.start if edge == "start" else window.end
            clock = self.defaults.open_time if edge == "start" else self.defaults.due_time
            return self.instant(spec, default_clock=clock, edge=edge)
        stages = [s for s in self.campaign.stages if s.window is not None or (edge == "end" and s.follows is not None)]
        if not stages:
            raise PlanError("the campaign has no window and no stage has one: give `window:` somewhere")
        values = [self.stage_start(s) if edge == "start" else self.stage_end(s) for s in stages]
        return min(values) if edge == "start" else max(values)

    def stage_start(self, stage: Stage) -> DateTime:
        """When a stage opens: its window's start; for one that follows another, its actual opening once the
        record decided it, else the earliest it can be (when the other closes, or opens if it waits for units)."""
        if stage.follows is not None:
            if stage.id in self.actual_starts:
                return self.actual_starts[stage.id]
            order = stage.follows
            before = self.stages[order.stage]
            base = self.stage_start(before) if order.finished is not None else self.stage_end(before)
            return self.shift(base, order.offset, self.defaults.open_time) if order.offset.amount else base
        if stage.window is not None:
            return self.instant(stage.window.start, default_clock=self.defaults.open_time)
        return self.campaign_edge("start")

    def stage_end(self, stage: Stage) -> DateTime:
        if stage.follows is not None and stage.lasts is not None:
            return self.shift(self.stage_start(stage), stage.lasts, self.defaults.due_time)
        if stage.window is not None:
            return self.due(stage.window.end, Postpone.none)
        return self.campaign_edge("end")

    def item_opens(self, stage: Stage, item: Item) -> DateTime:
        if item.opens is not None:
            return self.instant(item.opens, default_clock=self.defaults.open_time)
        return self.stage_start(stage)

    def item_due(self, stage: Stage, item: Item, *, as_written: bool = False) -> DateTime:
        """The item's due; `as_written`: before 顺延 (the date the notice wrote, when a day off moved it)."""
        policy = Postpone.none if as_written else (item.postpone or self.defaults.postpone)
        if item.due is not None:
            return self.due(item.due, policy)
        if stage.window is None and stage.follows is None and self.campaign.window is None:
            raise PlanError(f"item {item.id!r} has no due and its stage {stage.id!r} no window: give `due:`")
        return self.postponed(self.stage_end(stage), policy)

    def postponed(self, moment: DateTime, policy: Postpone) -> DateTime:
        """`moment` moved to the same time of the next allowed day when its day is off under `policy`."""
        moved = self.calendar.postpone(moment.date(), policy)
        if moved == moment.date():
            return moment
        clock = moment.time()
        return at_clock(moved, time(clock.hour, clock.minute), self.tz)

    # instants ---------------------------------------------------------------------------------------------
    def due(self, spec: AbsoluteDue | RelativeDue | WordDate, policy: Postpone) -> DateTime:
        """A due instant with the 顺延 policy applied to its day."""
        return self.postponed(self.instant(spec, default_clock=self.defaults.due_time, edge="end"), policy)

    def instant(
        self, spec: AbsoluteDue | RelativeDue | WordDate, *, default_clock: time, edge: str = "start"
    ) -> DateTime:
        """The instant `spec` names; a date in words is a span of days, of which an opening takes the first
        (`edge="start"`) and a due the last (`edge="end"`)."""
        if isinstance(spec, WordDate):
            try:
                first, last = spec.span(self.campaign.notice_year)
            except ValueError as exc:
                raise PlanError(str(exc)) from None
            return at_clock(first if edge == "start" else last, spec.clock or default_clock, self.tz)
        if isinstance(spec, AbsoluteDue):
            clock = spec.clock or default_clock
            if spec.utc_offset:
                text = f"{spec.day.isoformat()}T{clock:%H:%M}:00{spec.utc_offset}"
                return pendulum.parse(text).in_timezone(zone(self.tz))  # type: ignore[union-attr]
            return at_clock(spec.day, clock, self.tz)
        base = self.ref(spec.anchor)
        return self.shift(base, spec.signed_offset, spec.at or default_clock)

    def instant_on(self, day: date, clock: time) -> DateTime:
        return at_clock(day, clock, self.tz)

    def shift(self, base: DateTime, offset: Offset, clock: time) -> DateTime:
        """`base` moved by `offset`; day-based offsets land on `clock` of the resulting day.

        Each offset is bounded (about ten years), but relative dues can count from each other in a chain: a
        result outside the years a notice's dates lie in is a PlanError, never an overflow of the date type.
        """
        moved: DateTime | None
        try:
            if offset.unit is OffsetUnit.hours:
                moved = base.add(hours=offset.amount)
            elif offset.unit is OffsetUnit.minutes:
                moved = base.add(minutes=offset.amount)
            else:
                local_day = base.in_timezone(zone(self.tz)).date()
                if offset.unit is OffsetUnit.working_days:
                    day = self.calendar.add_working_days(local_day, offset.amount)
                else:
                    day = local_day + timedelta(days=offset.amount)
                moved = at_clock(day, clock, self.tz) if FIRST_YEAR <= day.year <= LAST_YEAR else None
        except OverflowError:
            moved = None
        if moved is None or not FIRST_YEAR <= moved.year <= LAST_YEAR:
            raise PlanError(
                f"counting {offset} from {base.date().isoformat()} leaves the years {FIRST_YEAR}–{LAST_YEAR}, "
                "which a notice's dates lie in"
            )
        return moved

    def reminders(self, item: Item, open_at: DateTime, due_at: DateTime) -> tuple[DateTime, ...]:
        """Reminder instants strictly between the opening and the due, earliest first.

        Under a 顺延 policy a reminder that falls on a day the policy takes off goes out at the same time on the
        last day before it that it does not: the due moves later, a reminder earlier (a reminder moved later would
        leave less time before the due, or none); on the first such day after it when that one comes before the
        opening."""
        policy = item.reminders or self.defaults.reminders
        clock = policy.at or self.defaults.remind_time
        postpone = item.postpone or self.defaults.postpone
        found = set()
        for o in policy.before:
            moment = self.shift(due_at, Offset(-abs(o.amount), o.unit), clock)
            if postpone is not Postpone.none:
                moment = self._working_reminder(moment, postpone, open_at)
            found.add(moment)
        return tuple(sorted(t for t in found if open_at < t < due_at))

    def _working_reminder(self, moment: DateTime, policy: Postpone, open_at: DateTime) -> DateTime:
        """`moment` on the nearest day `policy` leaves on, the same time of day: before it, else after it."""
        local = moment.in_timezone(zone(self.tz))
        earlier = local.add(days=(self.calendar.bring_forward(local.date(), policy) - local.date()).days)
        if earlier > open_at:
            return earlier
        return local.add(days=(self.calendar.postpone(local.date(), policy) - local.date()).days)

    def escalations(self, item: Item, due_at: DateTime) -> list[tuple[DateTime, list[str]]]:
        """(instant, targets) per escalation step after the due."""
        steps = (item.escalation or self.defaults.escalation).steps
        clock = self.defaults.remind_time
        return sorted(
            ((self.shift(due_at, Offset(abs(s.after.amount), s.after.unit), clock), list(s.to)) for s in steps),
            key=lambda pair: pair[0],
        )
