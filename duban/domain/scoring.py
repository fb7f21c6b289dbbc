"""Score sheets' (评分表) pure rules: a sample's short name, a unit's points as entered and every problem with them,
the inspection date (检查日期) read the same way from a form and a sheet, the sheet that scores a sample.

The import (duban.services.score_xlsx, score_import), the service that keeps scores (duban.services.scores) and the
operators' form (duban.views.scores) check with these, so a value is refused the same way wherever it is entered.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from duban.domain.unseen import first_unseen
from duban.domain.values import FULL_WIDTH, typed_points
from duban.errors import SubmissionError
from duban.spec.models import Campaign, ScoreSheet

_NOT_IN_TITLES = re.compile(r"[\[\]:*?/\\]")


def sample_label(sample_name: str) -> str:
    """A sample's short name, its name up to the first bracket (市级抽查): a worksheet title, a 整改 instance."""
    return _NOT_IN_TITLES.sub("", re.split(r"[（(]", sample_name, maxsplit=1)[0]).strip()[:31] or "样本"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with entered scores: where (file, sheet and cell, or the unit), what, in English and Chinese."""

    where: str
    text: str
    short_cn: str  # the Chinese without the place, for a form field
    unit_code: str | None = None
    item_id: str | None = None  # a check item id, or None for the unit as a whole

    @property
    def cn(self) -> str:
        return f"{self.where}：{self.short_cn}" if self.where else self.short_cn

    def __str__(self) -> str:
        return f"{self.where}: {self.text}" if self.where else self.text


@dataclass
class UnitScores:
    """One inspected unit's points as entered, with where each value came from (for error messages)."""

    unit_code: str
    points: dict[str, Any]  # check item id → the value entered (None when empty)
    inspector: str | None = None
    inspected_on: str | None = None
    note: str | None = None
    cells: dict[str, str] = field(default_factory=dict)  # check item id or "unit" → "评分表.xlsx 市级抽查!D7"


WORDS_LIMITS = {"检查人": 40, "备注": 500}
"""How long a 检查人 and a 备注 may be, at the form and in an imported sheet alike: the report's 检查评分 sheet keeps
them whole, so a longer one is refused where it is typed, never cut."""


def inspection_words(value: Any, field: str) -> tuple[str | None, str | None]:
    """A 检查人 or 备注 (`field`) as the form or a score sheet holds it, checked the same way for both: its
    whitespace folded to one space, at most WORDS_LIMITS[field] characters, and no character nobody sees (a
    terminal's escape typed or pasted, or _x001B_ in a cell, which openpyxl reads as ESC; a text-direction
    override) — the rule spec text and every --reason follow. Returns (the text or None, what is wrong in
    Chinese or None)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value if value is not None else "").split()) or None
    if text is None:
        return None, None
    limit = WORDS_LIMITS[field]
    if len(text) > limit:
        return text, f"{field}不超过{limit}字（填写了{len(text)}字）"
    code = first_unseen(text)
    if code is not None:
        return text, f"{field}含有看不见的字符（{code}），请删除后重新填写"
    return text, None


EARLIEST_INSPECTION = date(2000, 1, 1)  # no inspection of a campaign duban runs took place before this
EXCEL_SERIALS = (1, 2958465)  # 1900-01-01 … 9999-12-31, the days Excel itself can show


def inspection_day(value: Any, today: date) -> tuple[date | None, str | None]:
    """The inspection date (检查日期) as the form or a score sheet holds it, checked the same way for both: a real
    calendar date (年-月-日, 2024/6/20, 2024年6月20日, a date cell, or an Excel serial 1–2958465), from 2000-01-01 to
    today. Returns (the date, None) or (None, what is wrong in Chinese); (None, None) when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        when = value
    elif isinstance(value, bool):
        return None, f"检查日期「{value}」不是日期（年-月-日）"
    elif isinstance(value, (int, float)):
        if not (math.isfinite(value) and EXCEL_SERIALS[0] <= value <= EXCEL_SERIALS[1] and float(value).is_integer()):
            return None, f"检查日期「{_shown(value)}」不是日期（年-月-日）"
        when = date(1899, 12, 30) + timedelta(days=int(value))
    else:
        text = str(value).strip()
        found = _DAY.fullmatch(text.translate(FULL_WIDTH))
        try:
            parsed = date(int(found[1]), int(found[2]), int(found[3])) if found else None
        except ValueError:
            parsed = None
        if parsed is None:
            return None, f"检查日期「{text[:20]}」不是日期（年-月-日）"
        when = parsed
    if when > today:
        return None, f"检查日期不能晚于今天（{today.isoformat()}）"
    if when < EARLIEST_INSPECTION:
        return None, f"检查日期不能早于 {EARLIEST_INSPECTION.isoformat()}"
    return when, None


_DAY = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?(?:[ T]00:00(?::00)?)?")
"""A date in ASCII digits (full-width ones read as them first): \\d would take any script's (٢٠٢٤-٠٦-١٩)."""


def _shown(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 20 else text[:20] + "…"


def find_sheet(campaign: Campaign, sheet_id: str | None, sample_id: str) -> ScoreSheet:
    """The score sheet that scores `sample_id` (or the one named)."""
    sheets = [s for s in campaign.score_sheets if sheet_id in (None, s.id) and sample_id in s.samples]
    if not sheets:
        known = ", ".join(f"{s.id} ({'、'.join(s.samples)})" for s in campaign.score_sheets) or "none"
        raise SubmissionError(
            f"no score sheet scores sample {sample_id!r}"
            + (f" as {sheet_id!r}" if sheet_id else "")
            + f"; score sheets: {known}"
        )
    return sheets[0]


def check_scores(
    sheet: ScoreSheet, entries: list[UnitScores], members: list[str], names: dict[str, str]
) -> list[Problem]:
    """Every problem of the entered scores, each naming where it is; empty when all are right."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    allowed = set(members)
    for entry in entries:
        unit = entry.unit_code
        label = names.get(unit, unit)
        where_unit = entry.cells.get("unit", label)
        if unit not in allowed:
            problems.append(
                Problem(
                    where_unit,
                    f"{label} ({unit}) is not in the sample; score only its units",
                    f"{label}（{unit}）不在该样本中，只能为样本中的单位评分",
                    unit,
                )
            )
            continue
        if unit in seen:
            problems.append(
                Problem(
                    where_unit,
                    f"{label} is scored twice (also {seen[unit]})",
                    f"{label}重复评分（另见 {seen[unit]}）",
                    unit,
                )
            )
            continue
        seen[unit] = where_unit
        for item in sheet.items:
            where = entry.cells.get(item.id, f"{label} {item.name}")
            value = entry.points.get(item.id)
            problem = _item_problem(item, value, label)
            if problem is not None:
                problems.append(Problem(where, problem[0], problem[1], unit, item.id))
    return problems


def _item_problem(item, value: Any, label: str) -> tuple[str, str] | None:
    """(English, Chinese) of what is wrong with one check item's value, or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"empty; score every check item of {label} or leave its whole row empty", f"{item.name}未填写"
    points = as_points(value)
    if points is None:
        return f"{value!r} is not a number of points", f"{item.name}填写的「{value}」不是分数"
    if points < 0:
        return f"{points:g} is below 0", f"{item.name} {points:g} 分低于 0 分"
    if points > item.max:
        return (
            f"{points:g} exceeds the maximum {item.max:g} of {item.name}",
            f"{item.name} {points:g} 分超过满分 {item.max:g} 分",
        )
    return None


def as_points(value: Any) -> float | None:
    """Points as a finite number, or None: a number cell as it is, text in ASCII or full-width digits (１２ from a
    Chinese IME), digits with an optional point; "nan", "inf", "1e1", `1_0` and other scripts' digits (Arabic-Indic
    ١٢) are not points."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    return typed_points(str(value))
