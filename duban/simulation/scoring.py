"""Synthetic inspections for `duban simulate`: where a notice's outcomes fall on units an inspection fails (`when:
failed`), its score sheets are filled in on the simulated clock, so those units meet their outcomes in the preview.

Each sample a score sheet scores is inspected once its check is over: at 09:00 on the working day after the last
due of the items drawing on it (after the campaign's last due when no item does). Every member is scored by a
seeded draw: about a fifth fall below the pass mark — at least one per sample, so the preview shows the path —
and the rest pass, their points spread over the check items in proportion to the items' maxima. The scoring is
recorded as an operator's entry would be (duban.services.scores), the next tick decides the outcomes.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.scoring import UnitScores
from duban.errors import DubanError
from duban.instants import fmt, utc
from duban.services.scores import record_scores
from duban.spec.models import Campaign, ScoreSheet
from duban.spec.terms import Offset, OffsetUnit
from duban.views.replanned import replan
from duban.views.samples import sample_members

if TYPE_CHECKING:
    from sqlalchemy import Engine

FAILING = 0.2  # the share of inspected units scored below the pass mark
INSPECTED_AT = time(9, 0)


def scores_failing_units(spec: Campaign) -> bool:
    """Whether the notice names an outcome for failing units (and has a score sheet to fail them)."""
    rules = [*spec.defaults.outcomes, *(o for _s, item in spec.items() for o in item.outcomes or ())]
    return bool(spec.score_sheets) and any(o.when == "failed" for o in rules)


class SyntheticScoring:
    """The inspections of a simulated campaign: when each sample is scored, and the scoring itself."""

    def __init__(self, engine: Engine, campaign_id: str, seed: int, *, calendar_file: Path | None = None) -> None:
        self.engine, self.campaign_id, self.seed = engine, campaign_id, seed
        spec, plan, timeline = replan(engine, campaign_id, calendar_file)
        self.campaign, self.tz = spec.campaign, spec.campaign.timezone
        self.done: list[str] = []
        last = max((a.due_at for a in plan.assignments), default=None)
        self.moments: list[tuple[datetime, ScoreSheet, str]] = []
        for sheet in self.campaign.score_sheets:
            for sample_id in sheet.samples:
                drawing = {
                    item.id
                    for _s, item in self.campaign.items()
                    if item.units is not None and item.units.sample == sample_id
                }
                dues = [a.due_at for a in plan.assignments if a.item_id in drawing]
                over = max(dues, default=last)
                if over is None:
                    continue
                at = timeline.shift(over, Offset(1, OffsetUnit.working_days), INSPECTED_AT)
                self.moments.append((utc(at), sheet, sample_id))
        self.moments.sort(key=lambda m: (m[0], m[1].id, m[2]))

    def next_instant(self, after: datetime) -> datetime | None:
        """The next inspection after `after` (for the simulated clock)."""
        return min((at for at, _sheet, _sample in self.moments if at > utc(after)), default=None)

    def play(self, at: datetime) -> None:
        """Score the samples whose inspection is due by `at` (each once)."""
        while self.moments and self.moments[0][0] <= utc(at):
            _when, sheet, sample_id = self.moments.pop(0)
            self._score(sheet, sample_id, at)

    def _score(self, sheet: ScoreSheet, sample_id: str, at: datetime) -> None:
        rng = random.Random(f"duban-scores-{self.seed}-{sheet.id}-{sample_id}")
        sample = next(s.name for s in self.campaign.samples if s.id == sample_id)
        try:
            members = sorted(sample_members(self.engine, self.campaign_id, sample_id))
            if not members:
                return
            failing = {m for m in members if rng.random() < FAILING} or {rng.choice(members)}
            if sheet.pass_mark <= 0:  # a mark of 0 passes every unit
                failing = set()
            entries = [
                UnitScores(code, _points(sheet, rng, fail=code in failing), inspector="模拟检查组", note="模拟评分")
                for code in members
            ]
            record_scores(
                self.engine, self.campaign_id, sample_id, entries, at=at, sheet_id=sheet.id, actor="simulated"
            )
        except DubanError as exc:  # a sample not drawn, a member no longer there: said, not raised
            self.done.append(f"{fmt(at, self.tz)} {sheet.name}（{sample}）未评分：{exc}")
            return
        self.done.append(
            f"{fmt(at, self.tz)} {sheet.name}（{sample}）评分 {len(members)} 个单位，未达标 {len(failing)} 个"
        )


def _points(sheet: ScoreSheet, rng: random.Random, *, fail: bool) -> dict[str, float]:
    """Points per check item: in half points, the total at or above the pass mark for a pass and below it for a
    fail (rounded down for a fail and up for a pass, so the rounding never crosses the mark)."""
    mark = sheet.pass_mark / sheet.total if sheet.total else 0.0
    if fail:
        share = mark * rng.uniform(0.6, 0.95)
        return {i.id: math.floor(i.max * share * 2) / 2 for i in sheet.items}
    share = rng.uniform(mark, 1.0)
    return {i.id: min(i.max, math.ceil(i.max * share * 2) / 2) for i in sheet.items}
