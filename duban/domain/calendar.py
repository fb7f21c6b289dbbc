"""Working days (工作日) in mainland China, with 调休, from a maintained library plus an overrides file.

The State Council publishes next year's holiday schedule each November and the calendar library follows
later; an administrator adds the new year to the overrides file (campaign_specs/calendar/overrides.yaml)
without a release:

    years:
      2027:
        source: 国务院办公厅关于2027年部分节假日安排的通知
        holidays:
          - {from: 2027-01-01, to: 2027-01-03, name: 元旦}
        workdays: [2027-02-06]        # 调休上班

A year listed there is complete: its non-working days are weekends (except the listed workdays) and the
listed holidays. Any other year comes from `chinese_calendar`. A year in neither is a CalendarGapError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from pathlib import Path

import chinese_calendar

from duban.errors import CalendarGapError, SpecError

# chinese_calendar names its holidays in English.
HOLIDAY_NAMES_CN = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


class Postpone(str, Enum):
    """顺延: whether a due that falls on a day off moves to the next working day."""

    none = "none"
    holidays = "holidays"  # statutory holidays only (法定节假日)
    holidays_and_weekends = "holidays_and_weekends"


@dataclass
class YearOverride:
    source: str | None = None
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: set[date] = field(default_factory=set)


@dataclass
class WorkCalendar:
    """Working-day arithmetic that refuses to guess."""

    overrides: dict[int, YearOverride] = field(default_factory=dict)
    overrides_file: str | None = None
    notes: list[tuple[int | None, str, str]] = field(default_factory=list)  # (line, YAML path, what to warn of)
    _working: dict[int, bool] = field(default_factory=dict, repr=False, compare=False)  # day ordinal → working day

    def covers(self, year: int) -> bool:
        if year in self.overrides:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def uncovered_years(self, first: int, last: int) -> list[int]:
        return [y for y in range(first, last + 1) if not self.covers(y)]

    def is_working_day(self, day: date) -> bool:
        """Remembered per day: a plan of many periods asks about the same few thousand days millions of times."""
        key = day.toordinal()
        known = self._working.get(key)
        if known is None:
            known = self._working[key] = self._is_working_day(day)
        return known

    def _is_working_day(self, day: date) -> bool:
        override = self.overrides.get(day.year)
        if override is not None:
            if day in override.workdays:
                return True
            return day.weekday() < 5 and day not in override.holidays
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            raise CalendarGapError(day.year, overrides_file=self.overrides_file) from None

    def holiday_name(self, day: date) -> str | None:
        """The statutory holiday (法定节假日) on `day`, in Chinese, or None (weekends are not holidays)."""
        override = self.overrides.get(day.year)
        if override is not None:
            return override.holidays.get(day)
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            raise CalendarGapError(day.year, overrides_file=self.overrides_file) from None
        if not on_holiday or name is None:
            return None
        return HOLIDAY_NAMES_CN.get(str(name), str(name))

    def add_working_days(self, day: date, count: int) -> date:
        """The date `count` working days after `day` (before it when negative); 0 gives `day` itself."""
        step = 1 if count >= 0 else -1
        remaining = abs(count)
        current = day
        while remaining:
            current += timedelta(days=step)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        current = day
        while not self.is_working_day(current):
            current += timedelta(days=1)
        return current

    def off_under(self, day: date, policy: Postpone) -> bool:
        """Whether a 顺延 policy takes `day` off: any non-working day (调休 days work), a statutory holiday, or none."""
        if policy is Postpone.none:
            return False
        if policy is Postpone.holidays_and_weekends:
            return not self.is_working_day(day)
        return self.holiday_name(day) is not None

    def postpone(self, day: date, policy: Postpone) -> date:
        """Apply a 顺延 policy to a due date: the first day from `day` on that the policy does not take off."""
        current = day
        while self.off_under(current, policy):
            current += timedelta(days=1)
        return current

    def bring_forward(self, day: date, policy: Postpone) -> date:
        """A reminder's day under a 顺延 policy (提前): the last day up to `day` that the policy does not take off."""
        current = day
        while self.off_under(current, policy):
            current -= timedelta(days=1)
        return current


def load_calendar(path: Path | None, *, named: bool = False) -> WorkCalendar:
    """The calendar with the overrides in `path` (absent file: library only).

    With `named` (the file comes from DUBAN_CALENDAR_FILE) an absent file is an error: a schedule the
    administrator meant to add would otherwise be silently missing. Every problem of the file names its line:
    a date that does not exist, a year with no holidays (it would be counted Monday to Friday), a date filed
    under another year."""
    from duban.spec.source import read_source

    if path is None or not path.exists():
        if named and path is not None:
            raise SpecError(
                "DUBAN_CALENDAR_FILE names this file, which does not exist: create it (years: …) or unset "
                "DUBAN_CALENDAR_FILE to use calendar/overrides.yaml beside the spec",
                file=str(path),
            )
        return WorkCalendar(overrides_file=str(path) if path else None)
    source = read_source(path, what="calendar overrides")
    data = source.data
    if data in ({}, None):
        return WorkCalendar(overrides_file=str(path))
    if not isinstance(data, dict):
        raise source.error((), "the overrides file is a mapping with `years:`")
    unknown = [k for k in data if k != "years"]
    if unknown:
        raise source.error((str(unknown[0]),), f"unknown key `{unknown[0]}`: the overrides file has only `years:`")
    years = data.get("years") or {}
    if not isinstance(years, dict):
        raise source.error(("years",), "`years` must map a year to its schedule")
    overrides: dict[int, YearOverride] = {}
    strays: list[tuple[date, str]] = []  # days of a holiday that runs into the year before or after
    for year, body in years.items():
        where: tuple = ("years", str(year))
        if isinstance(year, bool) or not isinstance(year, int):
            raise source.error(where, f"{year!r} is not a year: write it as a number (2027:)")
        if not isinstance(body, dict) or not body.get("holidays"):
            raise source.error(
                where,
                (
                    f"{year} lists no holidays: a year written here replaces the calendar library's, so {year} "
                    "would be counted Monday to Friday. Copy its holidays and 调休 workdays from the 国务院办公厅 "
                    "notice, or remove the year"
                ),
            )
        extra = [k for k in body if k not in ("source", "holidays", "workdays")]
        if extra:
            raise source.error(
                (*where, str(extra[0])), f"unknown key `{extra[0]}`: a year has source, holidays and workdays"
            )
        override = YearOverride(source=body.get("source"))
        holidays = body["holidays"] if isinstance(body["holidays"], list) else [body["holidays"]]
        for index, entry in enumerate(holidays):
            at = (*where, "holidays", index)
            start, end, name = _holiday_range(entry, source, at)
            if start.year != year and end.year != year:
                raise source.error(at, f"{start.isoformat()} is filed under {year}: move it under `{start.year}:`")
            day = start
            while day <= end:
                if day.year == year:
                    override.holidays[day] = name
                else:
                    strays.append((day, name))
                day += timedelta(days=1)
        workdays = body.get("workdays") or []
        for index, entry in enumerate(workdays if isinstance(workdays, list) else [workdays]):
            day = _day(entry, source, (*where, "workdays", index))
            if day.year != year:
                raise source.error(
                    (*where, "workdays", index), f"{day.isoformat()} is filed under {year}: move it under `{day.year}:`"
                )
            override.workdays.add(day)
        overrides[year] = override
    for day, name in strays:  # a 元旦 written 12-31 to 01-02 under the new year: the old year's day is its too
        if day.year in overrides:
            overrides[day.year].holidays.setdefault(day, name or "节假日")
    notes = []
    for year, override in overrides.items():
        lost = replaced_year(year, override)
        if lost:
            where = ("years", str(year))
            notes.append((source.line_of(where), f"years.{year}", lost))
    return WorkCalendar(overrides=overrides, overrides_file=str(path), notes=notes)


def replaced_year(year: int, override: YearOverride) -> str | None:
    """A year the calendar library already knows, written in the overrides file: the file's replaces it whole.
    What the library's has that the file's lacks, in words (None when the library does not know the year or the
    file leaves nothing of it out)."""
    library = WorkCalendar()
    if not library.covers(year):
        return None
    holidays: dict[str, list[date]] = {}
    workdays: list[date] = []
    day = date(year, 1, 1)
    while day.year == year:
        name = library.holiday_name(day)
        if name is not None and day not in override.holidays:
            holidays.setdefault(name, []).append(day)
        if day.weekday() >= 5 and library.is_working_day(day) and day not in override.workdays:
            workdays.append(day)
        day += timedelta(days=1)
    if not holidays and not workdays:
        return None
    parts = [f"{name} ({_days(days)})" for name, days in holidays.items()]
    if workdays:
        parts.append(f"调休 workdays {_days(workdays)}")
    return (
        f"{year} is in the calendar library already, and a year written here replaces it whole: these of the "
        f"library's are lost — {'; '.join(parts)}. Write the whole year as the 国务院办公厅 notice gives it, or "
        "remove it to use the library's"
    )


def _days(days: list[date]) -> str:
    return "、".join(f"{d:%m-%d}" for d in days)


def _day(value: object, source, at: tuple) -> date:
    from duban.spec.terms import parse_date

    try:
        return parse_date(value)
    except ValueError as exc:
        raise source.error(at, str(exc)) from None


def _holiday_range(entry: object, source, at: tuple) -> tuple[date, date, str]:
    if isinstance(entry, dict) and "from" in entry:
        start = _day(entry["from"], source, (*at, "from"))
        end = _day(entry.get("to", entry["from"]), source, (*at, "to"))
        if end < start:
            raise source.error(at, "`to` must be a date on or after `from`")
        return start, end, str(entry.get("name") or "节假日")
    if isinstance(entry, (str, date)):
        return _day(entry, source, at), _day(entry, source, at), "节假日"
    raise source.error(at, "a holiday is a date or {from: 2027-01-01, to: 2027-01-03, name: 元旦}")
