"""Roll-ups (汇总) and forwards (转发) as the close-out report tells them, as of an instant.

A roll-up: who rolls up what, how many of the units below have handed in and who has not, the counts added
up, and whether the roll-up itself is in (handed in by its unit, or by duban when it is automatic). A forward
seen from the upper campaign: which units re-issued it in this database, how far their own units are, and
whether their roll-up reached this campaign's item; seen from the lower one: whether ours reached the upper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from duban.domain.values import in_bounds
from duban.report.judge import kind_at
from duban.services.rollups import RollupStatus, rollup_status, upper_campaign
from duban.store.db import reading
from duban.store.rollups import earliest_due, holder_rows, item_holders
from duban.views.campaigns import PlannedCampaign, campaign_ids, load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine

DONE = ("on_time", "late")


@dataclass(frozen=True)
class RollupFact:
    """One unit's roll-up as of the report."""

    name: str  # what is rolled up (the `into` item's name, or the tally's)
    holder: str  # the unit rolling up
    feeders: int
    finished: int
    missing: list[str]  # the units below that have not handed in
    sums: list[tuple[str, float, str]]  # (label, total, measure)
    kind: str | None = None  # the roll-up's own assignment (on_time, late, missing, not_due, excused); None: a tally
    handed_in: datetime | None = None
    by_duban: bool = False  # submitted automatically when the last unit below had handed in


@dataclass(frozen=True)
class ForwardFact:
    """A forward's roll-up on the upper campaign's item."""

    issuer: str  # the re-issuing unit's office (昔阳县统计局)
    doc_no: str | None
    upper_issuer: str
    upper_item: str
    kind: str  # the upper item's assignment for the re-issuing unit, as of the report
    handed_in: datetime | None
    rollup: RollupFact | None  # the re-issuing unit's roll-up of its own units


@dataclass
class RollupFacts:
    rollups: list[RollupFact] = field(default_factory=list)  # this campaign's own, a forward's included
    forwarded_in: list[ForwardFact] = field(default_factory=list)  # lower campaigns re-issuing this one
    forwarded_up: list[ForwardFact] = field(default_factory=list)  # this campaign's forward, on the upper
    upper_missing: str | None = None  # why this campaign's forward could not be followed to the upper


def read_rollup_facts(engine: Engine, campaign: PlannedCampaign, as_of: datetime) -> RollupFacts:
    """Roll-ups of the campaign, forwards into it and its own forward upward, as of `as_of`."""
    facts = RollupFacts(rollups=_rollups(engine, campaign, as_of))
    for other in campaign_ids(engine):
        if other == campaign.id:
            continue
        lower = load_campaign(engine, other, units=False)  # most campaigns forward nothing: read their units only if so
        if lower.spec.forward is not None and upper_campaign(engine, lower)[0] == campaign.id:
            facts.forwarded_in += _forward(engine, load_campaign(engine, other), campaign, as_of)
    if campaign.spec.forward is not None:
        upper_id, why = upper_campaign(engine, campaign)
        if upper_id is None:
            facts.upper_missing = why
        else:
            facts.forwarded_up = _forward(engine, campaign, load_campaign(engine, upper_id), as_of)
    return facts


def _rollups(engine: Engine, campaign: PlannedCampaign, as_of: datetime) -> list[RollupFact]:
    statuses = rollup_status(engine, campaign.id)
    ids = [s.assignment_id for s in statuses if s.assignment_id is not None]
    rows, actors = holder_rows(engine, ids)
    facts = []
    for status in statuses:
        held = status.assignment_id  # None: a tally, no assignment of its own
        row, actor = (rows.get(held), actors.get(held)) if held is not None else (None, None)
        facts.append(_fact(campaign, status, row, actor, as_of))
    return facts


def _fact(campaign: PlannedCampaign, status: RollupStatus, row, actor: str | None, as_of: datetime) -> RollupFact:
    items = {i.id: i for _s, i in campaign.spec.items()}
    rollup = status.rollup
    done = [f for f in status.feeders if f.state.finished and (f.submitted_at is None or f.submitted_at <= as_of)]
    source = items.get(rollup.from_)
    labels = {m.name: (m.label, m.unit or "") for m in (source.metrics if source else [])}
    sums = []
    for name in rollup.sum:
        values = [f.metrics[name] for f in done if in_bounds(f.metrics.get(name))]  # stored out of bounds: left out
        label, measure = labels.get(name, (name, ""))
        if values:  # a count nobody below reported is not a zero
            sums.append((label, float(sum(values)), measure))
    kind = kind_at(row, as_of) if row is not None else None
    name = (
        items[rollup.into].name if rollup.into in items else (rollup.name or (source.name if source else rollup.from_))
    )
    done_codes = {f.unit_code for f in done}
    return RollupFact(
        name=name,
        holder=campaign.display(status.unit_code),
        feeders=len(status.feeders),
        finished=len(done),
        missing=[campaign.display(f.unit_code) for f in status.feeders if f.unit_code not in done_codes],
        sums=sums,
        kind=kind,
        handed_in=row.submitted_at if kind in DONE else None,
        by_duban=bool(actor and actor.startswith("rollup:") and kind in DONE),
    )


def _forward(engine: Engine, lower: PlannedCampaign, upper: PlannedCampaign, as_of: datetime) -> list[ForwardFact]:
    """Each forwarded item of `lower`: its roll-up, and the upper item it answers for the re-issuing unit."""
    forward = lower.spec.forward
    assert forward is not None
    own = {(f.name, f.holder): f for f in _rollups(engine, lower, as_of)}
    upper_items = {i.id: i for _s, i in upper.spec.items()}
    lower_items = {i.id: i for _s, i in lower.spec.items()}
    found = []
    with reading(engine) as conn:
        for entry in forward.items:
            holders = item_holders(conn, lower.id, entry.into)
            for code in dict.fromkeys(holders):
                row = earliest_due(conn, upper.id, entry.upper, code)
                if row is None:
                    continue
                kind = kind_at(row, as_of)
                into = lower_items[entry.into].name if entry.into in lower_items else entry.into
                found.append(
                    ForwardFact(
                        issuer=lower.spec.issuer,
                        doc_no=lower.spec.doc_no,
                        upper_issuer=upper.spec.issuer,
                        upper_item=upper_items[entry.upper].name if entry.upper in upper_items else entry.upper,
                        kind=kind,
                        handed_in=row.submitted_at if kind in DONE else None,
                        rollup=own.get((into, lower.display(code))),
                    )
                )
    return found
