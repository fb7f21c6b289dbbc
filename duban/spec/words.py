"""Dates and recurrences in a notice's own words, as a bureau writes them.

    date     7月份 · 7月 · 5月中旬 (11–20日) · 5月上旬 · 5月下旬 · 6月底前 · 6月末 · 7月15日前 · 7月15日 17:00
             2024年7月 · 次年1月 · 次年1月15日前 (明年/翌年 too) · 七月份 · 十月十五日
    window   3月至10月 · 5月中旬至6月底 · 10月至次年3月 · 5月10日至20日 · 7月份 (the whole month)
    every    每月 · 每季度 · 每半年 · 每年 · 季后10日 · 月后5个工作日 · 每月10日、20日前 · 每月10日前

A date in words names a span of days: 7月份 is 7/1–7/31, 5月中旬 5/11–5/20, 6月底 6/30, 7月15日 that day. An
opening (a window's start, `opens:`, an event) takes its first day, a due (a window's end, `due:`) its last,
at the usual times (open_time, due_time). Without a year the span lies in the spec's year (`year:`, else the
year of `issued_on`); 次年 is the year after it. 前/之前/以前 add nothing: "6月底前" is due at the end of 6/30,
as "7月1日前" is due at the end of 7/1 — `duban plan` prints the instant so the reading is seen before go-live.
"""

from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from duban.instants import parse_clock

_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
NUM = r"(?:\d{1,2}|[一二两三四五六七八九十]{1,3})"
_BEFORE = r"(?:前|之前|以前|止)?"
_NEXT = {"次年": 1, "明年": 1, "翌年": 1, "下一年": 1, "下年": 1, "当年": 0, "今年": 0, "本年": 0}
_PARTS = {
    "上旬": (1, 10),
    "中旬": (11, 20),
    "下旬": (21, None),
    "底": (None, None),
    "末": (None, None),
    "份": (1, None),
}
_DATE_RE = re.compile(
    rf"^(?:(?P<year>\d{{4}})年|(?P<rel>次年|明年|翌年|下一?年|当年|今年|本年))?\s*(?P<month>{NUM})\s*月"
    rf"(?:\s*(?P<day>{NUM})\s*[日号]|(?P<part>份|上旬|中旬|下旬|底|末))?"
    rf"(?:\s*(?P<clock>\d{{1,2}}[:：]\d{{2}}))?\s*{_BEFORE}$"
)
_RANGE_RE = re.compile(r"^(.+?)\s*(?:至|到|—|–|~|～|－|-)\s*(.+)$")
_BARE_DAY_RE = re.compile(rf"^{NUM}\s*[日号]")
_BARE_MONTH_RE = re.compile(rf"^(?:\d{{4}}年)?{NUM}$")
WORDS_HINT = "or in the notice's words: 7月份, 5月中旬, 6月底前, 7月15日, 次年1月15日前"


def number(text: str) -> int:
    """'7' · '七' · '十' · '十五' · '二十' · '三十一' → int."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)
    return _DIGITS[text]


@dataclass(frozen=True)
class WordDate:
    """A date as the notice writes it: a span of days in a month, resolved in the spec's year."""

    text: str
    month: int
    first: int  # first day of the span
    last: int | None  # last day of the span (None: the month's last day)
    year: int | None = None  # written (2024年7月)
    years_after: int = 0  # 次年: one year after the spec's year
    clock: time | None = None

    def __str__(self) -> str:
        return self.text

    def span(self, spec_year: int | None) -> tuple[date, date]:
        """(first day, last day) of the span; ValueError when no year is known or the day does not exist."""
        year = self.year if self.year is not None else (None if spec_year is None else spec_year + self.years_after)
        if year is None:
            raise ValueError(
                f"{self.text!r} is a date in the notice's words and needs the notice's year: "
                "give `year: 2024` (the year the notice speaks of) or `issued_on:`"
            )
        month_end = _calendar.monthrange(year, self.month)[1]
        last = month_end if self.last is None else self.last
        if last > month_end:
            raise ValueError(f"{self.text!r}: {year} has no {self.month}月{last}日")
        first = month_end if self.first is None else self.first  # type: ignore[comparison-overlap]
        return date(year, self.month, first), date(year, self.month, last)

    @classmethod
    def parse(cls, value: str) -> WordDate | None:
        """The date `value` says, or None when it is not a date in words; ValueError when it says an impossible one."""
        text = value.strip()
        match = _DATE_RE.match(text)
        if not match:
            return None
        month = number(match.group("month"))
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r}: there is no month {month}")
        written_year = int(match.group("year")) if match.group("year") else None
        if written_year is not None and not 1900 <= written_year <= 2199:
            raise ValueError(f"{text!r}: a notice's dates lie between 1900 and 2199")
        longest = _calendar.monthrange(2024, month)[1]  # a leap year: 2月29日 is checked against the year later
        first: int | None
        last: int | None
        if match.group("day"):
            day = number(match.group("day"))
            if not 1 <= day <= longest:
                raise ValueError(f"{text!r}: {month}月 has no day {day}")
            first = last = day
        else:
            part = match.group("part") or "份"
            first, last = _PARTS[part]
            if part in ("底", "末"):
                first = None  # the month's last day, at both edges
        clock = parse_clock(match.group("clock").replace("：", ":")) if match.group("clock") else None
        rel = match.group("rel")
        return cls(
            text=text,
            month=month,
            first=first,  # type: ignore[arg-type]
            last=last,
            year=written_year,
            years_after=_NEXT.get(rel, 0) if rel else 0,
            clock=clock,
        )


def looks_like_words(text: str) -> bool:
    """Does `text` try to be a date in words (it has 月 or 日 in it)?"""
    return "月" in text or "日" in text or "旬" in text


def split_range(text: str) -> tuple[str, str] | None:
    """'3月至10月' → ('3月', '10月'); '5月10日至20日' → ('5月10日', '5月20日'); '3至10月' → ('3月', '10月');
    else None."""
    match = _RANGE_RE.match(text.strip())
    if not match or not looks_like_words(text):
        return None
    start, end = match.group(1).strip(), match.group(2).strip()
    if _BARE_MONTH_RE.match(start) and "月" in end:
        start += "月"
    head = re.match(rf"^((?:\d{{4}}年|次年|明年|翌年|下一?年|当年|今年|本年)?\s*{NUM}\s*月)", start)
    if _BARE_DAY_RE.match(end) and head:
        end = head.group(1) + end
    year = re.match(r"^(\d{4})年", start)
    if year and not re.match(r"^(?:\d{4}年|次年|明年|翌年|下一?年|当年|今年|本年)", end):
        end = year.group(0) + end
    return start, end


def range_problem(start: WordDate, end: WordDate) -> str | None:
    """Why a window in words cannot be (it ends before it starts without saying 次年), or None."""
    if (start.year is None) != (end.year is None):
        return None
    first = (start.year or start.years_after, start.month, start.first or 31)
    last = (end.year or end.years_after, end.month, end.last or 31)
    if last < first:
        return (
            f"{start.text}至{end.text} ends before it starts: when it runs into the next year write "
            f"{start.text}至次年{end.text}"
        )
    return None


# recurrences ------------------------------------------------------------------------------------------------

_EVERY_WORDS = {
    "month": ("每月", "每个月", "月度", "按月", "逐月"),
    "quarter": ("每季", "每季度", "每个季度", "季度", "按季", "按季度"),
    "half_year": ("每半年", "半年", "按半年"),
    "year": ("每年", "每年度", "年度", "按年"),
}
_AFTER_RE = re.compile(
    r"^(?:每)?(?P<period>月|季|季度|半年|年|年度)(?:结束|终了|末)?后\s*(?P<amount>\d{1,3}|[一二两三四五六七八九十]{1,3})\s*"
    r"(?P<unit>日|天|个?工作日|个?自然日)" + r"(?:内|前|之前|以前)?$"
)
_DAYS_RE = re.compile(rf"^每月\s*(?P<days>{NUM}\s*[日号](?:\s*[、,，和及与]\s*{NUM}\s*[日号])*)\s*{_BEFORE}$")
_PERIOD_OF = {"月": "month", "季": "quarter", "季度": "quarter", "半年": "half_year", "年": "year", "年度": "year"}
EVERY_HINT = "write month, quarter, half_year or year, or the notice's words: 每月, 每季度, 季后10日, 每月10日、20日前"


def recurrence_words(value: str) -> dict[str, Any] | None:
    """A recurrence written in words as the mapping it stands for, or None when `value` is not one."""
    text = value.strip()
    if text in _EVERY_WORDS:
        return {"every": text}
    for every, words in _EVERY_WORDS.items():
        if text in words:
            return {"every": every}
    match = _AFTER_RE.match(text)
    if match:
        unit = "working days" if "工作日" in match.group("unit") else "days"
        return {
            "every": _PERIOD_OF[match.group("period")],
            "due_after_period": f"{number(match.group('amount'))} {unit}",
        }
    match = _DAYS_RE.match(text)
    if match:
        days = [number(d) for d in re.findall(NUM, match.group("days"))]
        return {"every": "month", "days": days}
    return None
