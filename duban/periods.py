"""Calendar periods for recurring items (每月/每季度/每半年/每年)."""

from __future__ import annotations

from datetime import date, timedelta

_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


def periods_between(first: date, last: date, every: str) -> list[tuple[str, date, date]]:
    """(label, first day, last day) of each period that overlaps [first, last], e.g. ('2020Q3', 7/1, 9/30)."""
    span = _MONTHS[every]
    month0 = ((first.month - 1) // span) * span  # 0-based first month of the period holding `first`
    year = first.year
    found = []
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
