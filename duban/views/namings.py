"""由上级指定 as the unit's page reads it: the open samples a parent unit names its own units for, before the draw,
with the units it may name and what it named so far.

Keeping what a parent names, and the draw that takes it, are duban.services.sample_naming and sample_draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.plan import resolve_selector
from duban.store.sample_names import named_units
from duban.views.campaigns import load_campaign
from duban.views.replanned import replan
from duban.views.sample_audit import recorded_samples

if TYPE_CHECKING:
    from sqlalchemy import Engine

_BASES: dict[tuple[str, str], dict[str, tuple[int, dict[str, list[tuple[str, str]]]]]] = {}


@dataclass(frozen=True)
class Naming:
    """What one parent names for one open sample: how many, from which of its units, and what it named so far."""

    sample_id: str
    sample_name: str
    how_many: int
    choices: list[tuple[str, str]]  # (code, display): the parent's own units the sample draws from
    named: list[str]

    @property
    def named_displays(self) -> list[str]:
        names = dict(self.choices)
        return [names.get(code, code) for code in self.named]


def _undrawn(engine: Engine, campaign_id: str) -> list:
    """The campaign's samples whose units parents name (named_by_parent), not yet drawn."""
    spec = load_campaign(engine, campaign_id, units=False).spec
    open_ = [s for s in spec.samples if any(rule.named_by_parent for rule in s.draws)]
    if not open_:
        return []
    drawn = recorded_samples(engine, campaign_id)
    return [s for s in open_ if s.id not in drawn]


def naming_bases(
    engine: Engine, campaign_id: str, calendar_file: Path | None
) -> dict[str, tuple[int, dict[str, list[tuple[str, str]]]]]:
    """sample id → (how many each parent names, parent → its units the sample draws from, with their names);
    kept per campaign and spec text (the plan it comes from is built once, not on every page)."""
    key = (campaign_id, load_campaign(engine, campaign_id, units=False).row.spec_sha256)
    if key not in _BASES:
        spec, plan, _timeline = replan(engine, campaign_id, calendar_file)
        found: dict[str, tuple[int, dict[str, list[tuple[str, str]]]]] = {}
        for sample in spec.campaign.samples:
            rule = next((r for r in sample.draws if r.named_by_parent), None)
            if rule is None or rule.named_by_parent is None:
                continue
            parents: dict[str, list[tuple[str, str]]] = {}
            for code in sorted(resolve_selector(plan, rule.from_)):
                unit = plan.registry.get(code)
                parents.setdefault(unit.parent or "", []).append((code, unit.display))
            found[sample.id] = (rule.named_by_parent, parents)
        if len(_BASES) > 32:  # a portal serves a few campaigns at a time
            _BASES.clear()
        _BASES[key] = found
    return _BASES[key]


def namings_for(
    engine: Engine, campaign_id: str, parent_code: str, *, calendar_file: Path | None = None
) -> list[Naming]:
    """The open samples this unit names units for (its page's 指定 forms): none once each is drawn."""
    samples = _undrawn(engine, campaign_id)
    if not samples:
        return []
    bases = naming_bases(engine, campaign_id, calendar_file)
    found = []
    for sample in samples:
        how_many, parents = bases.get(sample.id, (0, {}))
        if parent_code in parents:
            named = named_units(engine, campaign_id, sample.id).get(parent_code, [])
            found.append(Naming(sample.id, sample.name, how_many, parents[parent_code], named))
    return found
