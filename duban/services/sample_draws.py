"""Samples left open by their notice, drawn while the campaign runs (`duban sample draw`).

"抽取部分单位" leaves the number to the operator (`count: 待定`); "各市指定1个县，其余随机抽取" leaves a unit to
each parent (`named_by_parent: 1`). Such a sample is not drawn when the campaign is planned: the items drawing on
it have no units yet. Parents name their units on their portal pages (duban.services.sample_naming) or the
operator names them (`--named`, standing in for what that unit's parent named). When the operator draws it — with
the number and the units the parents named — the draw is recorded with its seed like any other, and the items'
assignments are made as the plan would have made them, for the next tick to open and message.
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.plan import Plan, build_plan, load_calendar_for, resolve_selector, spec_registry
from duban.domain.sampling.draw import Decision, SampleResult
from duban.errors import PlanError
from duban.instants import fmt
from duban.services.followup import insert_assignments
from duban.spec.models import Sample
from duban.store import sample_draws as store
from duban.store.db import unit_of_work
from duban.store.sample_names import lock_campaign, named_units
from duban.views.replanned import recorded_open_draws, stored_spec
from duban.views.sample_audit import recorded_samples

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


def draw_open_sample(
    engine: Engine,
    campaign_id: str,
    sample_id: str,
    *,
    count: int | None = None,
    named: tuple[str, ...] = (),
    at: datetime,
    calendar_file: Path | None = None,
) -> tuple[SampleResult, int]:
    """Draw an open sample with what was decided; record it and make its items' assignments. (result, new rows)"""
    spec = stored_spec(engine, campaign_id)
    sample = next((s for s in spec.campaign.samples if s.id == sample_id), None)
    if sample is None:
        known = ", ".join(s.id for s in spec.campaign.samples) or "none"
        raise PlanError(f"campaign {campaign_id!r} has no sample {sample_id!r} (samples: {known})")
    if not sample.open:
        raise PlanError(
            f"sample {sample_id!r} was drawn when the campaign was planned: nothing is left to decide "
            "(`duban sample show` lists it)"
        )
    recorded = recorded_samples(engine, campaign_id)
    if sample_id in recorded:
        drawn = fmt(recorded[sample_id].drawn_at, spec.campaign.timezone)
        raise PlanError(f"sample {sample_id!r} was drawn {drawn}: a draw is recorded once (`duban sample show`)")
    registry = spec_registry(spec)
    # `--named 皋落镇` as `--named 140724101`, as the spec and `duban units show` take a unit: by code, name or
    # title (an ambiguous name is refused with the candidates); the parents' namings are matched by code below
    named = tuple(dict.fromkeys(registry.find(ref).code for ref in named))
    by_parents = any(rule.named_by_parent for rule in sample.draws)
    stored = named_units(engine, campaign_id, sample_id) if by_parents else {}
    if stored:  # and what the parents named on their pages
        from duban.services.sample_naming import with_parents_named

        named = with_parents_named(engine, campaign_id, sample_id, tuple(named), stored, calendar_file)
    open_draws: dict = recorded_open_draws(engine, spec.campaign)
    open_draws[sample_id] = Decision(count=count, named=tuple(named))
    plan = build_plan(spec, load_calendar_for(spec, calendar_file), registry, open_draws=open_draws)
    result = plan.samples[sample_id]
    with unit_of_work(engine) as conn:
        lock_campaign(conn, campaign_id)  # a parent naming now waits, and sees the sample drawn
        if by_parents and named_units(conn, campaign_id, sample_id) != stored:
            raise PlanError(f"a parent changed the units it names for {sample_id!r} during the draw: draw again")
        store.record_draw(
            conn,
            campaign_id=campaign_id,
            sample_id=sample_id,
            name=result.name,
            seed=result.seed,
            members=result.members,
            detail=[d.as_record() for d in result.draws],
            drawn_at=at,
        )
        made = _make_assignments(conn, campaign_id, plan, at)
    return result, made


def _make_assignments(conn: Connection, campaign_id: str, plan: Plan, at: datetime) -> int:
    """The plan's assignments not yet in the table (those of the items drawing on the sample)."""
    before = store.assignment_ids(conn, campaign_id)
    insert_assignments(conn, campaign_id, plan.assignments, at)
    made = sorted(store.assignment_ids(conn, campaign_id) - before)
    if plan.held and made:  # a stage still waiting for another: its new rows wait with it (services.stage_release)
        store.hold(conn, made, sorted(plan.held))
    return len(made)


def stand_in(plan: Plan, sample: Sample, seed: int) -> Decision:
    """For `duban simulate`: what an operator and the parents might decide (a tenth of the units, at least one;
    the parents' units named by the seed), so the campaign can be played through."""
    rng = random.Random(f"duban-open-sample-{seed}-{sample.id}")
    count, named = None, []
    for rule in sample.draws:
        base = sorted(resolve_selector(plan, rule.from_))
        if rule.at_draw:
            count = max(1, math.ceil(len(base) / 10))
        if rule.named_by_parent:
            parents: dict[str, list[str]] = {}
            for code in base:
                parents.setdefault(plan.registry.get(code).parent or "", []).append(code)
            for pool in parents.values():
                named += rng.sample(pool, min(rule.named_by_parent, len(pool)))
            if count is not None or rule.count is not None:
                count = max(count or rule.count or 0, len(named))
    return Decision(count=count, named=tuple(sorted(named)))
