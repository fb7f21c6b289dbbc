"""由上级指定 from the portal: a parent unit names its own units for an open sample on its page, before the draw.

"各县指定1个乡镇作为示范点，其余随机抽取" (`named_by_parent: 1`): each parent whose units the sample draws from names
that many of its own units — never another parent's — until the sample is drawn. What it named is kept
(duban.store.sample_names) and the draw takes it: `duban sample draw` (duban.services.sample_draws), where an
operator's `--named` unit stands in for what its parent named. The rest is drawn at random, as before. What a
parent's page offers it to name is a read model, duban.views.namings.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from duban.errors import RequestError
from duban.instants import fmt, fmt_cn
from duban.store.sample_names import named_units, replace_naming
from duban.views.campaigns import load_campaign
from duban.views.namings import Naming, naming_bases, namings_for
from duban.views.sample_audit import recorded_samples

if TYPE_CHECKING:
    from sqlalchemy import Engine

FIELD = "指定单位"  # the form field's name as the page shows it


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
    _how_many, parents = naming_bases(engine, campaign_id, calendar_file).get(sample_id, (0, {}))
    parent_of = {code: parent for parent, units in parents.items() for code, _display in units}
    by_operator = {parent_of.get(code) for code in named}
    return (*named, *(u for parent, units in stored.items() if parent not in by_operator for u in units))


def parents_named(engine: Engine, campaign_id: str, sample_id: str) -> dict[str, list[str]]:
    """parent code → the units it named on its page for the sample, not yet drawn (for `duban sample show`)."""
    return named_units(engine, campaign_id, sample_id)
