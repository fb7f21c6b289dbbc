"""Score sheets (评分表): points per check item for each inspected unit, totals, pass or fail, and 整改.

`record_scores` is the one way in (the xlsx import calls it; a portal calls it the same way). It checks
every value against the sheet (a known unit of the sample, a number, between 0 and the item's maximum,
every item scored) and stores nothing unless all are right. A unit below the pass mark gets the sheet's
follow-up item (整改) as a new assignment with its own due; the next tick opens it and messages the unit.
Every import is kept as a version; the latest counts, and a unit that passes on a later scoring is excused
from a follow-up it no longer owes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.scoring import Problem, UnitScores, as_points, check_scores, find_sheet, sample_label
from duban.domain.state import State
from duban.errors import SubmissionError
from duban.instants import fmt, fmt_cn, utc
from duban.services.followup import follow_up_assignments, insert_assignments
from duban.store.assignments import record_excused
from duban.store.db import unit_of_work
from duban.store.scores import campaign_records, keep_scoring, next_score_version, owed_follow_ups
from duban.store.tables import ScoreRecord
from duban.views.campaigns import load_campaign
from duban.views.samples import sample_members, still_hidden

if TYPE_CHECKING:
    from sqlalchemy import Engine

PROBLEMS_SHOWN = 25


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


@dataclass(frozen=True)
class ScoreOutcome:
    unit_code: str
    total: float
    passed: bool
    version: int
    follow_up_due: datetime | None = None  # a new 整改 assignment's due
    follow_up_excused: bool = False  # an earlier 整改 no longer owed


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
    totals = {e.unit_code: sum(as_points(e.points[i.id]) or 0.0 for i in sheet.items) for e in entries}
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
                    points={i.id: as_points(entry.points[i.id]) for i in sheet.items},
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


def latest_scores(engine: Engine, campaign_id: str, sheet_id: str | None = None) -> list[ScoreRecord]:
    """The latest version of every unit's scores, by sheet, sample and unit."""
    rows = campaign_records(engine, campaign_id, sheet_id)
    latest = {(r.sheet_id, r.sample_id, r.unit_code): r for r in rows}
    return sorted(latest.values(), key=lambda r: (r.sheet_id, r.sample_id, r.unit_code))
