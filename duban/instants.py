"""Instants: tz-aware everywhere, shown in the campaign's zone with the weekday (周一 … 周日).

Only flows and the CLI read the clock; everything here takes the instant it works on.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import pendulum
from pendulum import DateTime

WEEKDAYS = "一二三四五六日"
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_MIDNIGHT_RE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})[ T]24:00(:00)?$")
_DAY_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[ T])")
END_OF_DAY = time(23, 59)  # a due at 23:59 is the end of its day, written 24:00 wherever duban shows it


@lru_cache(maxsize=64)
def zone(name: str) -> pendulum.Timezone:
    """A pendulum zone by IANA name (loaded once); ValueError names the bad zone."""
    try:
        return pendulum.timezone(name)
    except Exception as exc:  # pendulum raises InvalidTimezone with a terse text
        raise ValueError(f"unknown time zone {name!r} (write an IANA name such as Asia/Shanghai)") from exc


def in_zone(moment: datetime, tz: str) -> DateTime:
    """`moment` (aware) as a pendulum DateTime in zone `tz`; naive input is refused."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no zone; duban needs tz-aware instants")
    return pendulum.instance(moment).in_timezone(zone(tz))


def utc(moment: datetime) -> datetime:
    """The same instant as a stdlib datetime in UTC (how the database keeps it)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no zone; duban needs tz-aware instants")
    return datetime.fromtimestamp(moment.timestamp(), tz=timezone.utc).replace(microsecond=moment.microsecond)


CLOCK_SKEW = timedelta(minutes=1)  # an --as-of typed to the minute, or a clock a little ahead, is not the future


def ahead_of(moment: datetime, now: datetime) -> bool:
    """Whether an instant a caller asked for is later than `now` by more than a clock's skew: what `dispatch`,
    `tick`, `bulletin` and `report` refuse to act or report at."""
    return utc(moment) > utc(now) + CLOCK_SKEW


def said_ahead(moment: datetime, now: datetime, tz: str, option: str) -> str | None:
    """`option` (as typed, e.g. "--as-of '2026-12-27 09:00'") and both instants, when `moment` is ahead of `now`
    (`ahead_of`): the start of a command's refusal, which says after it what acting ahead would do; None otherwise."""
    if not ahead_of(moment, now):
        return None
    return f"{option}: {fmt(moment, tz)} is later than now ({fmt(now, tz)})"


def parse_clock(text: str) -> time:
    """'08:30' → time(8, 30); '24:00' (as notices write the end of a day) is 23:59, which means that end."""
    match = _TIME_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day (write it as 17:30)")
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0):
        return END_OF_DAY
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day (hours 0–23, minutes 0–59, or 24:00 for the end of the day)")
    return time(hour, minute)


def at_clock(day: date, clock: time, tz: str) -> DateTime:
    """The instant of `clock` on `day` in zone `tz`; 23:59 means the end of that day (23:59:59.999999)."""
    if clock == time(23, 59):
        return pendulum.datetime(day.year, day.month, day.day, tz=zone(tz)).end_of("day")
    return pendulum.datetime(day.year, day.month, day.day, clock.hour, clock.minute, tz=zone(tz))


FIRST_YEAR, LAST_YEAR = 1900, 2199
"""The years a notice's dates may name (as in specs): an instant typed outside them is refused."""


class OutOfYears(ValueError):
    """A date that is a date, but in no year a notice names (0001-01-01, 9999-12-31)."""

    cn = f"不在{FIRST_YEAR}—{LAST_YEAR}年之间"


def parse_instant(text: str, tz: str, *, end_of_day: bool = False) -> DateTime:
    """Parse '2024-05-10', '2024-05-10 09:00', or ISO 8601 with an offset, in zone `tz`.

    A bare date means the start of that day, or its end with `end_of_day=True`; '2024-07-02 24:00' is the end
    of 2 July, the instant duban shows as 24:00.
    """
    raw = text.strip()
    if midnight := _MIDNIGHT_RE.match(raw):
        return parse_instant(midnight.group(1), tz, end_of_day=True)
    try:
        parsed = pendulum.parse(raw.replace(" ", "T", 1), tz=zone(tz), strict=False)
        if isinstance(parsed, DateTime):
            parsed.utcoffset()  # an offset of a day or more (+25:00) fails here, not later in Python's words
    except Exception as exc:
        _refuse_a_day_that_does_not_exist(raw)
        raise ValueError(
            f"{text!r} is not a date or time (write 2024-06-30, 2024-06-30 17:00 or 2024-06-30T17:00+08:00)"
        ) from exc
    if isinstance(parsed, pendulum.Date) and not isinstance(parsed, DateTime):
        parsed = pendulum.datetime(parsed.year, parsed.month, parsed.day, tz=zone(tz))
    if not isinstance(parsed, DateTime):
        raise ValueError(f"{text!r} is not a date or time")
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:  # 0001-01-01 in Shanghai is year 0 in UTC; 9999 a typo, not a plan
        raise OutOfYears(f"{text[:40]!r}: duban's instants lie between {FIRST_YEAR} and {LAST_YEAR}")
    if len(raw) == 10 and end_of_day:
        return parsed.in_timezone(zone(tz)).end_of("day")
    return parsed.in_timezone(zone(tz))


def _refuse_a_day_that_does_not_exist(raw: str) -> None:
    """'2024-02-30 …' is refused as a spec's date is (`duban validate`): the day does not exist, not a bad format."""
    if match := _DAY_RE.match(raw):
        try:
            date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise ValueError(f"{raw[:40]!r} is not a date (that day does not exist)") from None


def _clock(local: DateTime, seconds: bool = False) -> str:
    """'17:00'; the end of a day (23:59:59.999…) is that day's '24:00', as notices write it; '00:00:01' with
    `seconds` (a hand-in whose seconds decide it is late, `seconds_decide`).

    One notation everywhere (plans, status, artifacts, messages, the portal, the report), so a due reads the same
    wherever a clerk meets it and `--as-of "2024-07-02 24:00"` names exactly the instant a summary shows."""
    if seconds:
        return f"{local:%H:%M:%S}"
    if (local.hour, local.minute, local.second) == (23, 59, 59):
        return "24:00"
    return f"{local:%H:%M}"


def seconds_decide(moment: datetime, due: datetime | None) -> bool:
    """Whether `moment` (a hand-in) is after `due` yet written in the same minute as it, or before: a due at 24:00 is
    the next day's 00:00 on paper, so a hand-in at 00:00:01 read `00:00（逾期报送）` beside one at 24:00 按时. Its
    seconds then say why it is late; elsewhere the minute does."""
    if due is None or moment <= due:
        return False
    written = due if due.second == 0 and due.microsecond == 0 else due + timedelta(seconds=60 - due.second)
    return moment.replace(second=0, microsecond=0) <= written.replace(second=0, microsecond=0)


def fmt(moment: datetime, tz: str, *, due: datetime | None = None) -> str:
    """'2024-07-01 周一 24:00' — how plans, status and logs show an instant; a hand-in with its `due` shows the
    seconds that made it late ('2024-07-02 周二 00:00:01', `seconds_decide`)."""
    local = in_zone(moment, tz)
    return f"{local:%Y-%m-%d} 周{WEEKDAYS[local.weekday()]} {_clock(local, seconds_decide(moment, due))}"


def fmt_arg(moment: datetime, tz: str) -> str:
    """'2024-07-02 24:00' — an instant as `--as-of` takes it back (no weekday), the same minute `fmt` shows."""
    local = in_zone(moment, tz)
    return f"{local:%Y-%m-%d} {_clock(local)}"


def fmt_cn(moment: datetime, tz: str, *, due: datetime | None = None) -> str:
    """'7月1日 周一 17:00' — how messages to staff show an instant (a hand-in with its `due`: as `fmt`)."""
    local = in_zone(moment, tz)
    return f"{local.month}月{local.day}日 周{WEEKDAYS[local.weekday()]} {_clock(local, seconds_decide(moment, due))}"


def fmt_cn_from(moment: datetime, tz: str, reference: datetime | None, *, due: datetime | None = None) -> str:
    """fmt_cn, with the year when it is not `reference`'s year (a message's composing, a page's now): a 2024
    notice's 5月25日 read on a page in 2026, or a report of 2020 due on 1月31日 (2021), is not taken for this
    year's."""
    text = fmt_cn(moment, tz, due=due)
    if reference is None:
        return text
    year = in_zone(moment, tz).year
    return text if year == in_zone(reference, tz).year else f"{year}年{text}"


def fmt_due_cn(moment: datetime, tz: str) -> str:
    """'6月10日 周一 24:00' — a due as messages show it (the end of a day is that day's 24:00)."""
    return fmt_cn(moment, tz)


def fmt_date(day: date) -> str:
    """'2024-06-10 周一'."""
    return f"{day:%Y-%m-%d} 周{WEEKDAYS[day.weekday()]}"


def span_words(delta_seconds: float) -> str:
    """Time left or overdue in words: '3天5小时', '40分钟'. Whole seconds first: a due at 24:00 is kept as
    23:59:59.999999, and 1天14小时59分59.999999秒 cut down read an hour short of 1天15小时."""
    seconds = round(abs(delta_seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分钟" if minutes else f"{hours}小时"
    return f"{minutes}分钟" if minutes else "不足1分钟"  # a hand-in at the next day's 00:00 read 逾期1分钟
