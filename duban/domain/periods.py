"""Calendar periods for recurring items (每月/每季度/每半年/每年)."""

from __future__ import annotations

import re
from datetime import date, timedelta

_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


def periods_between(first: date, last: date, every: str) -> list[tuple[str, date, date]]:
    """(label, first day, last day) of each period that overlaps [first, last], e.g. ('2020Q3', 7/1, 9/30)."""
    span = _MONTHS[every]
    month0 = ((first.month - 1) // span) * span  # 0-based first month of the period holding `first`
    year = first.year
    found: list[tuple[str, date, date]] = []
    while True:
        start = date(year, month0 + 1, 1)
        if start > last:
            return found
        next_month0 = month0 + span
        end = date(year + next_month0 // 12, next_month0 % 12 + 1, 1) - timedelta(days=1)
        found.append((_label(every, year, month0), start, end))
        year, month0 = year + next_month0 // 12, next_month0 % 12


def _label(every: str, year: int, month0: int) -> str:
    if every == "month":
        return f"{year}-{month0 + 1:02d}"
    if every == "quarter":
        return f"{year}Q{month0 // 3 + 1}"
    if every == "half_year":
        return f"{year}H{month0 // 6 + 1}"
    return str(year)


_FULL = {
    "month": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
    "quarter": re.compile(r"^\d{4}Q[1-4]$"),
    "half_year": re.compile(r"^\d{4}H[12]$"),
    "year": re.compile(r"^\d{4}$"),
}
_EVERY_YEAR = {
    "month": re.compile(r"^M(0?[1-9]|1[0-2])$"),
    "quarter": re.compile(r"^Q[1-4]$"),
    "half_year": re.compile(r"^H[12]$"),
}
_EXAMPLES = {"month": "2020-07 or M7", "quarter": "2020Q4 or Q4", "half_year": "2020H2 or H2", "year": "2020"}


_DAY = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


def check_period_key(key: str, every: str, *, days: bool = False) -> None:
    """Refuse a period name that cannot name a period of this kind (ValueError with an example).

    With `days` (每月10日、20日), one instance is named by its due day: 2024-07-10."""
    if (
        _FULL[every].match(key)
        or (every in _EVERY_YEAR and _EVERY_YEAR[every].match(key))
        or (days and _DAY.match(key))
    ):
        return
    example = _EXAMPLES[every] + (", or one due day such as 2020-07-10" if days else "")
    raise ValueError(f"{key!r} is not a {every.replace('_', '-')} period; write {example}")


def period_matches(label: str, key: str, every: str) -> bool:
    """Does `key` (a full label like 2020Q4, or Q4 for every year) name the period `label`?

    A day-of-month instance (2020-07-10) belongs to its month: 2020-07 and M7 name it too."""
    if key == label:
        return True
    if every == "month" and len(label) == 10 and key == label[:7]:
        return True
    if every == "month" and key.startswith("M") and key[1:].isdigit():
        return int(label[5:7]) == int(key[1:])
    return every in ("quarter", "half_year") and label[4:] == key
