"""What the inspections found (检查情况), read from the score sheets (table `score`) as of an instant.

Per sample a score sheet scores: how many units are to be scored and how many are, the average and the lowest
total, who fell below the pass mark and how their 整改 stands (handed in on time or late, overdue, not yet due,
or excused when a re-scoring passed). Per check item: the share of its maximum points the inspected units got,
the weakest first. Only the latest scoring of each unit counts, and only scorings recorded by `as_of`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from duban.domain.scoring import sample_label
from duban.report.judge import kind_at
from duban.spec.models import CheckItem, ScoreSheet
from duban.store.samples import recorded_draws
from duban.store.scores import follow_up_rows, latest_scorings
from duban.store.tables import SampleDraw
from duban.views.campaigns import PlannedCampaign

if TYPE_CHECKING:
    from sqlalchemy import Connection


@dataclass(frozen=True)
class Scored:
    """One inspected unit's latest total, and its 整改 when it fell short."""

    unit: str
    display: str
    total: float
    passed: bool
    follow_up: str | None = None  # on_time | late | missing | not_due | excused (as the report judges it)
    follow_up_due: datetime | None = None
    follow_up_at: datetime | None = None  # when the 整改 was handed in
    points: dict = field(default_factory=dict)  # check item id → points
    inspector: str | None = None
    inspected_on: str | None = None


@dataclass
class SampleScores:
    """A sample scored on a sheet: members to score, the scored, the averages."""

    sheet: ScoreSheet
    sample: SampleDraw
    members: list[str]
    scored: list[Scored]

    @property
    def label(self) -> str:
        return sample_label(self.sample.name)

    @property
    def unscored(self) -> int:
        return len(set(self.members) - {s.unit for s in self.scored})

    @property
    def average(self) -> float | None:
        return sum(s.total for s in self.scored) / len(self.scored) if self.scored else None

    @property
    def lowest(self) -> Scored | None:
        return min(self.scored, key=lambda s: (s.total, s.unit)) if self.scored else None

    @property
    def failing(self) -> list[Scored]:
        return sorted((s for s in self.scored if not s.passed), key=lambda s: (s.total, s.unit))


@dataclass(frozen=True)
class ItemShare:
    """A check item's points over all inspections: got / possible (得分率)."""

    sheet: ScoreSheet
    item: CheckItem
    got: float
    inspections: int

    @property
    def share(self) -> float:
        return self.got / (self.item.max * self.inspections)


@dataclass
class Inspections:
    samples: list[SampleScores] = field(default_factory=list)
    items: list[ItemShare] = field(default_factory=list)  # every check item, the weakest first

    @property
    def scored(self) -> int:
        return sum(len(s.scored) for s in self.samples)

    def weakest(self, limit: int = 3) -> list[ItemShare]:
        """The items scored below their sheet's overall share (得分率), the weakest first; none when all are alike."""
        found = []
        for sheet in {i.sheet.id: i.sheet for i in self.items}.values():
            shares = [i for i in self.items if i.sheet.id == sheet.id]
            overall = sum(i.got for i in shares) / sum(i.item.max * i.inspections for i in shares)
            found += [i for i in shares if i.share < overall - 1e-9]
        return sorted(found, key=lambda i: (i.share, i.item.id))[:limit]

    def of(self, sample_id: str) -> list[SampleScores]:
        return [s for s in self.samples if s.sample.sample_id == sample_id]


def read_inspections(conn: Connection, campaign: PlannedCampaign, as_of: datetime) -> Inspections:
    """The inspections of the campaign's score sheets as of `as_of`, with each failing unit's 整改."""
    spec = campaign.spec
    if not spec.score_sheets:
        return Inspections()
    draws = {d.sample_id: d for d in recorded_draws(conn, campaign.id)}
    latest = latest_scorings(conn, campaign.id, as_of)
    follow_ids = [sheet.follow_up.id for sheet in spec.score_sheets if sheet.follow_up]
    follow_ups = follow_up_rows(conn, campaign.id, follow_ids)
    found = Inspections()
    got: dict[tuple[str, str], list[float]] = {}
    for sheet in spec.score_sheets:
        for sample_id in sheet.samples:
            draw = draws.get(sample_id)
            if draw is None:
                continue
            rows = [r for (sid, smp, _u), r in latest.items() if sid == sheet.id and smp == sample_id]
            scored = []
            for row in rows:
                follow = (
                    follow_ups.get((sheet.follow_up.id, sample_label(draw.name), row.unit_code))
                    if sheet.follow_up
                    else None
                )
                kind = kind_at(follow, as_of) if follow is not None and follow.open_at <= as_of else None
                scored.append(
                    Scored(
                        row.unit_code,
                        campaign.display(row.unit_code),
                        row.total,
                        row.passed,
                        kind,
                        follow.due_at if follow is not None else None,
                        follow.submitted_at if follow is not None and kind in ("on_time", "late") else None,
                        dict(row.points or {}),
                        row.inspector,
                        row.inspected_on,
                    )
                )
                for item in sheet.items:
                    got.setdefault((sheet.id, item.id), []).append(float((row.points or {}).get(item.id) or 0.0))
            found.samples.append(SampleScores(sheet, draw, list(draw.members or []), scored))
    for sheet in spec.score_sheets:
        for item in sheet.items:
            points = got.get((sheet.id, item.id))
            if points:
                found.items.append(ItemShare(sheet, item, sum(points), len(points)))
    found.items.sort(key=lambda i: (i.share, i.item.id))
    return found
