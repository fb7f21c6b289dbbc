"""Auditing a sample (`duban sample show`): redraw it from the spec and compare with what was recorded.

The database keeps each drawn sample with its seed and rules when the campaign is planned. An auditor
redraws it from the same spec and registry: the members must be the same, or the difference is named
(a unit added to or removed from the registry since, a changed seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from duban.domain.plan import Plan
from duban.domain.sampling.draw import SampleResult, draw_sample
from duban.domain.select import Resolver
from duban.store.samples import recorded_draws
from duban.store.tables import SampleDraw

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class Recorded:
    """A sample as the database recorded it, compared with a redraw."""

    drawn_at: datetime
    seed: int
    members: list[str]
    added: list[str] = field(default_factory=list)  # in the redraw, not in the record
    removed: list[str] = field(default_factory=list)  # in the record, not in the redraw

    @property
    def same(self) -> bool:
        return not self.added and not self.removed


def recorded_samples(engine: Engine, campaign_id: str) -> dict[str, SampleDraw]:
    """The samples recorded for a planned campaign, by id (empty when the campaign is not planned)."""
    return {draw.sample_id: draw for draw in recorded_draws(engine, campaign_id)}


def compare(result: SampleResult, record: SampleDraw) -> Recorded:
    """How a redraw differs from the recorded draw."""
    drawn, kept = set(result.members), set(record.members or [])
    return Recorded(
        drawn_at=record.drawn_at,
        seed=record.seed,
        members=list(record.members or []),
        added=sorted(drawn - kept),
        removed=sorted(kept - drawn),
    )


def redraw(plan: Plan, sample_id: str, seed: int) -> SampleResult:
    """The sample drawn again with another seed (a preview: nothing is recorded)."""
    sample = next(s for s in plan.campaign.samples if s.id == sample_id)
    resolver = Resolver(plan.registry, plan.campaign.groups, lambda sid: plan.samples[sid].members)
    return draw_sample(sample.model_copy(update={"seed": seed}), resolver, plan.registry)
