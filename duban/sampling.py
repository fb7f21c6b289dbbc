"""Inspection samples (抽查样本): seeded, recorded, reproducible.

The same seed over the same registry always draws the same units; the draw is stored with its seed so an
auditor can redraw it. Units are drawn from candidates sorted by code, so registry order cannot change it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from duban.errors import PlanError
from duban.select import Resolver
from duban.spec.models import Draw, Sample
from duban.units import Registry


@dataclass
class DrawResult:
    rule: str
    members: list[str]
    short: dict[str, int] = field(default_factory=dict)  # parent code → how many it had (fewer than asked)


@dataclass
class SampleResult:
    """One drawn sample: who, with which seed, and where a rule could not be met in full."""

    sample_id: str
    name: str
    seed: int
    draws: list[DrawResult]

    @property
    def members(self) -> list[str]:
        seen: dict[str, None] = {}
        for draw in self.draws:
            for code in draw.members:
                seen.setdefault(code)
        return list(seen)


def draw_sample(sample: Sample, resolver: Resolver, registry: Registry) -> SampleResult:
    """Draw every rule of `sample` with one generator seeded by `sample.seed`."""
    rng = random.Random(sample.seed)
    results = [_draw(rule, index, sample, rng, resolver, registry) for index, rule in enumerate(sample.draws)]
    return SampleResult(sample_id=sample.id, name=sample.name, seed=sample.seed, draws=results)


def _draw(rule: Draw, index: int, sample: Sample, rng: random.Random, resolver: Resolver, registry: Registry):
    candidates = sorted(resolver.resolve(rule.from_))
    if rule.count is not None:
        if rule.count > len(candidates):
            raise PlanError(
                f"sample {sample.id!r} draw {index + 1} asks for {rule.count} units but only "
                f"{len(candidates)} match its `from:`"
            )
        members = sorted(rng.sample(candidates, rule.count))
        return DrawResult(rule=f"{rule.count} of {len(candidates)}", members=members)
    groups: dict[str, list[str]] = {}
    for code in candidates:
        groups.setdefault(_parent_key(code, rule, registry), []).append(code)
    members: list[str] = []
    short: dict[str, int] = {}
    assert rule.min_per_parent is not None
    for parent in sorted(groups):
        pool = groups[parent]
        take = min(rule.min_per_parent, len(pool))
        if take < rule.min_per_parent:
            short[parent] = len(pool)
        members.extend(sorted(rng.sample(pool, take)))
    return DrawResult(rule=f"at least {rule.min_per_parent} per parent", members=members, short=short)


def _parent_key(code: str, rule: Draw, registry: Registry) -> str:
    if rule.per is None:
        return registry.get(code).parent or ""
    for ancestor in registry.ancestors(code):
        if ancestor.level is rule.per:
            return ancestor.code
    return ""
