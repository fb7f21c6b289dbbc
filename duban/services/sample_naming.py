"""由上级指定 from the portal: a parent unit names its own units for an open sample on its page, before the draw.

"各县指定1个乡镇作为示范点，其余随机抽取" (`named_by_parent: 1`): each parent whose units the sample draws from names
that many of its own units — never another parent's — until the sample is drawn. What it named is kept
(duban.store.sample_names) and the draw takes it: `duban sample draw` (duban.services.sample_draws), where an
operator's `--named` unit stands in for what its parent named. The rest is drawn at random, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.plan import resolve_selector
from duban.errors import RequestError
from duban.instants import fmt, fmt_cn
from duban.services.followup import replan
from duban.store.sample_names import named_units, replace_naming
from duban.views.campaigns import load_campaign
from duban.views.sample_audit import recorded_samples

if TYPE_CHECKING:
    from sqlalchemy import Engine

FIELD = "指定单位"  # the form field's name as the page shows it
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


def _bases(
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
    bases = _bases(engine, campaign_id, calendar_file)
    found = []
    for sample in samples:
        how_many, parents = bases.get(sample.id, (0, {}))
        if parent_code in parents:
            named = named_units(engine, campaign_id, sample.id).get(parent_code, [])
            found.append(Naming(sample.id, sample.name, how_many, parents[parent_code], named))
    return found


def name_units(
    engine: Engine,
    campaign_id: str,
    sample_id: str,
    parent_code: str,
    codes: list[str],
    *,
    at: datetime,
    actor: str,
    calendar_file: Path | None = None,
) -> Naming:
    """Keep the units `parent_code` names for the sample (in place of what it named before); RequestError, in
    English and Chinese naming the field, when the sample is not the parent's to name for, is drawn, or a unit is
    not one of its own or the number is wrong."""
    spec = load_campaign(engine, campaign_id, units=False).spec
    sample = next((s for s in spec.samples if s.id == sample_id), None)
    if sample is None or not any(rule.named_by_parent for rule in sample.draws):
        raise RequestError(
            f"campaign {campaign_id!r} has no sample {sample_id!r} whose units parents name",
            cn="这项工作没有由上级单位指定的抽查样本。",
        )
    drawn = recorded_samples(engine, campaign_id).get(sample_id)
    if drawn is not None:
        raise _drawn(sample, drawn.drawn_at, spec.timezone)
    namings = namings_for(engine, campaign_id, parent_code, calendar_file=calendar_file)
    naming = next((n for n in namings if n.sample_id == sample_id), None)
    if naming is None:
        raise RequestError(
            f"{parent_code} has no units {sample_id!r} draws from: it names none",
            cn=f"{FIELD}：「{sample.name}」不从本单位的下级单位中抽取，本单位无需指定。",
        )
    codes = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    names = dict(naming.choices)
    stranger = next((c for c in codes if c not in names), None)
    if stranger is not None:
        raise RequestError(
            f"{stranger[:64]!r} is not one of {parent_code}'s units that {sample_id!r} draws from",
            cn=f"{FIELD}：「{stranger[:64]}」不是本单位可指定的下级单位，只能从本单位的下级单位中指定。",
        )
    if len(codes) != naming.how_many:
        raise RequestError(
            f"{sample_id!r}: each parent names {naming.how_many} of its units, {len(codes)} given",
            cn=f"{FIELD}：请指定{naming.how_many}个单位（现选了{len(codes)}个）。",
        )
    when = replace_naming(engine, campaign_id, sample_id, parent_code, codes, at, actor)
    if when is not None:  # drawn between the check above and the write
        raise _drawn(sample, when, spec.timezone)
    return Naming(naming.sample_id, naming.sample_name, naming.how_many, naming.choices, codes)


def _drawn(sample, drawn_at: datetime, tz: str) -> RequestError:  # noqa: ANN001
    return RequestError(
        f"sample {sample.id!r} was drawn {fmt(drawn_at, tz)}: its units can no longer be named",
        cn=f"{FIELD}：「{sample.name}」已于{fmt_cn(drawn_at, tz)}抽取，不能再指定。",
    )


def with_parents_named(
    engine: Engine,
    campaign_id: str,
    sample_id: str,
    named: tuple[str, ...],
    stored: dict[str, list[str]],
    calendar_file: Path | None = None,
) -> tuple[str, ...]:
    """The units a draw is given: those the operator names, and what each other parent named on its page
    (`stored`, parent → units)."""
    _how_many, parents = _bases(engine, campaign_id, calendar_file).get(sample_id, (0, {}))
    parent_of = {code: parent for parent, units in parents.items() for code, _display in units}
    by_operator = {parent_of.get(code) for code in named}
    return (*named, *(u for parent, units in stored.items() if parent not in by_operator for u in units))


def parents_named(engine: Engine, campaign_id: str, sample_id: str) -> dict[str, list[str]]:
    """parent code → the units it named on its page for the sample, not yet drawn (for `duban sample show`)."""
    return named_units(engine, campaign_id, sample_id)
