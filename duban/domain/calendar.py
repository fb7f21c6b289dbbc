"""Working days (工作日) in mainland China, with 调休, from a maintained library plus an overrides file.

The State Council publishes next year's holiday schedule each November and the calendar library follows
later; an administrator adds the new year to the overrides file (campaign_specs/calendar/overrides.yaml) without a release:

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
import yaml

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

    def postpone(self, day: date, policy: Postpone) -> date:
        """Apply a 顺延 policy to a due date."""
        if policy is Postpone.none:
            return day
        if policy is Postpone.holidays_and_weekends:
            return self.next_working_day(day)
        current = day
        while self.holiday_name(current) is not None:
            current += timedelta(days=1)
        return current


def load_calendar(path: Path | None) -> WorkCalendar:
    """The calendar with the overrides in `path` (absent file: library only)."""
    from duban.spec.files import decode, read_bytes
    from duban.spec.source import BoundedSafeLoader

    if path is None or not path.exists():
        return WorkCalendar(overrides_file=str(path) if path else None)
    text = decode(read_bytes(path, what="calendar overrides"), str(path))
    try:
        data = yaml.load(text, Loader=BoundedSafeLoader) or {}
    except SpecError as exc:
        exc.file = str(path)
        raise
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        problem = getattr(exc, "problem", None) or "cannot be read"
        raise SpecError(f"not valid YAML: {problem}", file=str(path), line=(line + 1) if line is not None else None) from None
    except (ValueError, OverflowError) as exc:  # a timestamp such as 2027-13-45
        raise SpecError(f"a date that does not exist ({exc})", file=str(path)) from None
    if not isinstance(data, dict):
        raise SpecError("the overrides file is a mapping with `years:`", file=str(path))
    years = data.get("years") or {}
    if not isinstance(years, dict):
        raise SpecError("`years` must map a year to its schedule", file=str(path), path="years")
    overrides: dict[int, YearOverride] = {}
    for year, body in years.items():
        where = f"years.{year}"
        if not isinstance(year, int) or not isinstance(body, dict):
            raise SpecError("each year is a number with a mapping under it", file=str(path), path=where)
        override = YearOverride(source=body.get("source"))
        for index, entry in enumerate(body.get("holidays") or []):
            start, end, name = _holiday_range(entry, path, f"{where}.holidays[{index}]")
            day = start
            while day <= end:
                override.holidays[day] = name
                day += timedelta(days=1)
        for index, entry in enumerate(body.get("workdays") or []):
            if not isinstance(entry, date):
                raise SpecError(f"{entry!r} is not a date", file=str(path), path=f"{where}.workdays[{index}]")
            override.workdays.add(entry)
        overrides[year] = override
    return WorkCalendar(overrides=overrides, overrides_file=str(path))


def _holiday_range(entry: object, path: Path, where: str) -> tuple[date, date, str]:
    if isinstance(entry, date):
        return entry, entry, "节假日"
    if isinstance(entry, dict) and isinstance(entry.get("from"), date):
        end = entry.get("to", entry["from"])
        if not isinstance(end, date) or end < entry["from"]:
            raise SpecError("`to` must be a date on or after `from`", file=str(path), path=where)
        return entry["from"], end, str(entry.get("name") or "节假日")
    raise SpecError(
        "a holiday is a date or {from: 2027-01-01, to: 2027-01-03, name: 元旦}", file=str(path), path=where
    )
