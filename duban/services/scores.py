"""Score sheets (评分表): points per check item for each inspected unit, totals, pass or fail, and 整改.

`record_scores` is the one way in (the xlsx import calls it; a portal calls it the same way). It checks
every value against the sheet (a known unit of the sample, a number, between 0 and the item's maximum,
every item scored) and stores nothing unless all are right. A unit below the pass mark gets the sheet's
follow-up item (整改) as a new assignment with its own due; the next tick opens it and messages the unit.
Every import is kept as a version; the latest counts, and a unit that passes on a later scoring is excused
from a follow-up it no longer owes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duban.domain.state import State
from duban.errors import SubmissionError
from duban.instants import fmt, fmt_cn, utc
from duban.services.followup import follow_up_assignments, insert_assignments
from duban.spec.models import Campaign, ScoreSheet
from duban.store.assignments import record_excused
from duban.store.db import unit_of_work
from duban.store.samples import drawn_members
from duban.store.scores import campaign_records, keep_scoring, next_score_version, owed_follow_ups
from duban.store.tables import ScoreRecord
from duban.views.campaigns import load_campaign
from duban.views.samples import still_hidden

if TYPE_CHECKING:
    from sqlalchemy import Engine

PROBLEMS_SHOWN = 25
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


class ScoreError(SubmissionError):
    """Scores refused: every problem with where it is (file, sheet, cell) and what is wrong."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        self.details = [p if isinstance(p, Problem) else Problem("", p, p) for p in problems]
        self.problems = [str(p) for p in self.details]
        shown = self.problems[:PROBLEMS_SHOWN]
        more = f"\n… and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
        cn_more = f"\n……另有 {len(problems) - PROBLEMS_SHOWN} 处" if len(problems) > PROBLEMS_SHOWN else ""
        super().__init__(
            f"{len(problems)} problem(s), nothing was recorded:\n" + "\n".join(shown) + more,
            cn=f"有 {len(problems)} 处问题，评分均未保存：\n"
            + "\n".join(p.cn for p in self.details[:PROBLEMS_SHOWN])
            + cn_more,
        )


@dataclass
class UnitScores:
    """One inspected unit's points as entered, with where each value came from (for error messages)."""

    unit_code: str
    points: dict[str, Any]  # check item id → the value entered (None when empty)
    inspector: str | None = None
    inspected_on: str | None = None
    note: str | None = None
    cells: dict[str, str] = field(default_factory=dict)  # check item id or "unit" → "评分表.xlsx 市级抽查!D7"


@dataclass(frozen=True)
class ScoreOutcome:
    unit_code: str
    total: float
    passed: bool
    version: int
    follow_up_due: datetime | None = None  # a new 整改 assignment's due
    follow_up_excused: bool = False  # an earlier 整改 no longer owed


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
        found = _DAY.fullmatch(text)
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


_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?")


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
    points = _number(value)
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


def _number(value: Any) -> float | None:
    """Points as a finite number ("nan" and "inf" are not points), or None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def record_scores(
    engine: Engine,
    campaign_id: str,
    sample_id: str,
    entries: list[UnitScores],
    *,
    at: datetime,
    sheet_id: str | None = None,
    actor: str = "cli",
    source: str | None = None,
    calendar_file: Path | None = None,
) -> list[ScoreOutcome]:
    """Check and keep scores for units of a sample; failing units get the follow-up (整改) assignment."""
    campaign = load_campaign(engine, campaign_id)
    sheet = find_sheet(campaign.spec, sheet_id, sample_id)
    members = sample_members(engine, campaign_id, sample_id)
    names = {code: campaign.display(code) for code in campaign.units}
    problems = hidden_problems(engine, campaign, sample_id, at) + check_scores(sheet, entries, members, names)
    if problems:
        raise ScoreError(problems)
    at = utc(at)
    totals = {e.unit_code: sum(_number(e.points[i.id]) or 0.0 for i in sheet.items) for e in entries}
    failing = [code for code, total in totals.items() if total < sheet.pass_mark]
    instance = sample_label(next(s.name for s in campaign.spec.samples if s.id == sample_id))
    planned = {}
    if sheet.follow_up is not None and failing:
        planned = {
            a.unit_code: a
            for a in follow_up_assignments(
                engine, campaign_id, sheet, instance, failing, at, calendar_file=calendar_file
            )
        }
    outcomes = []
    with unit_of_work(engine) as conn:
        owed = owed_follow_ups(conn, campaign_id, sheet.follow_up.id, instance) if sheet.follow_up is not None else {}
        new = []
        for entry in entries:
            code, total = entry.unit_code, totals[entry.unit_code]
            passed = total >= sheet.pass_mark
            version = next_score_version(conn, campaign_id, sheet.id, sample_id, code)
            keep_scoring(
                conn,
                dict(
                    campaign_id=campaign_id,
                    sheet_id=sheet.id,
                    sample_id=sample_id,
                    unit_code=code,
                    version=version,
                    points={i.id: _number(entry.points[i.id]) for i in sheet.items},
                    total=total,
                    passed=passed,
                    inspector=entry.inspector,
                    inspected_on=entry.inspected_on,
                    note=entry.note,
                    source=source,
                    recorded_at=at,
                    actor=actor,
                ),
            )
            due, excused = None, False
            if not passed and code in planned and code not in owed:
                new.append(planned[code])
                due = planned[code].due_at
            elif passed and code in owed and not State(owed[code].state).finished:
                record_excused(
                    conn, campaign_id, owed[code].id, owed[code].state, at, actor=actor, reason="复查达标"
                )  # a unit that passes a later scoring no longer owes its 整改
                excused = True
            outcomes.append(ScoreOutcome(code, total, passed, version, due, excused))
        insert_assignments(conn, campaign_id, new, at)
    return outcomes


def hidden_problems(engine: Engine, campaign, sample_id: str, at: datetime) -> list[Problem]:
    """A problem when the sample is hidden (不提前告知) and its check has not opened at `at`."""
    reveal = still_hidden(engine, campaign.spec, campaign.id, sample_id, at)
    if reveal is None:
        return []
    name = next(s.name for s in campaign.spec.samples if s.id == sample_id)
    return [
        Problem(
            name,
            f"the hidden sample is not revealed before {fmt(reveal, campaign.tz)}: scores cannot be "
            "recorded before its check opens (a 整改 would tell the unit it was sampled)",
            f"该样本不提前告知，检查开始（{fmt_cn(reveal, campaign.tz)}）前不能录入评分",
        )
    ]


def sample_members(engine: Engine, campaign_id: str, sample_id: str) -> list[str]:
    """The members of a sample as recorded when the campaign was planned."""
    members = drawn_members(engine, campaign_id, sample_id)
    if members is None:
        raise SubmissionError(f"campaign {campaign_id!r} has no recorded sample {sample_id!r}")
    return list(members)


def latest_scores(engine: Engine, campaign_id: str, sheet_id: str | None = None) -> list[ScoreRecord]:
    """The latest version of every unit's scores, by sheet, sample and unit."""
    rows = campaign_records(engine, campaign_id, sheet_id)
    latest = {(r.sheet_id, r.sample_id, r.unit_code): r for r in rows}
    return sorted(latest.values(), key=lambda r: (r.sheet_id, r.sample_id, r.unit_code))
