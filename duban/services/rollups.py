"""Roll-ups (汇总): the units below feed their unit's item; a forward's roll-up feeds the upper campaign.

`rollup_status` says, for every roll-up and unit, how many of the feeding units have finished, who is
missing, and the counts added up. `feed_rollups` (run by each tick) submits an `auto` roll-up once every
feeding unit has finished, and, in a forwarded campaign, records the re-issuing unit's finished roll-up on
the upper campaign's item for that unit (昔阳县's 汇总 becomes its 材料上报 to 晋中市统计局), with the files and
counts it carried and the time it was handed in, so lateness is judged against the upper due.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.domain.state import State
from duban.domain.values import in_bounds
from duban.errors import DubanError, SpecError
from duban.instants import utc
from duban.services.submit import record_on_behalf
from duban.spec.files import referenced_file
from duban.spec.models import Rollup
from duban.spec.source import read_source
from duban.store.plans import planned_id
from duban.store.rollups import item_assignments, planned_attributes
from duban.views.campaigns import PlannedCampaign, load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class Feeder:
    unit_code: str
    state: State
    submitted_at: datetime | None
    metrics: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RollupStatus:
    """One unit's roll-up: who feeds it, who has finished, the counts so far."""

    rollup: Rollup
    unit_code: str
    assignment_id: int | None  # the `into` assignment (None for a tally)
    state: State | None
    feeders: list[Feeder]

    @property
    def finished(self) -> list[Feeder]:
        return [f for f in self.feeders if f.state.finished]

    @property
    def missing(self) -> list[str]:
        return [f.unit_code for f in self.feeders if not f.state.finished]

    @property
    def complete(self) -> bool:
        return bool(self.feeders) and not self.missing

    attributes: dict[str, str] = field(default_factory=dict)  # feeder → its value of `rollup.by`

    @property
    def sums_by(self) -> dict[str, dict[str, float]]:
        """With `by:`, the `sum` metrics added up per attribute value of the finished feeders (— for none)."""
        found: dict[str, dict[str, float]] = {}
        for feeder in self.finished:
            value = self.attributes.get(feeder.unit_code, "—")
            totals = found.setdefault(value, dict.fromkeys(self.rollup.sum, 0))
            for name in self.rollup.sum:
                if isinstance(feeder.metrics.get(name), (int, float)):
                    totals[name] += feeder.metrics[name]
        return dict(sorted(found.items()))

    @property
    def sums(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for name in self.rollup.sum:
            values = [
                f.metrics[name] for f in self.finished if in_bounds(f.metrics.get(name))
            ]  # out of bounds: left out
            totals[name] = sum(values)
        return totals


def rollups_of(campaign: PlannedCampaign) -> list[Rollup]:
    """The spec's roll-ups and those its forward implies."""
    spec = campaign.spec
    return [*spec.rollups, *(spec.forward.rollups() if spec.forward else [])]


def rollup_status(engine: Engine, campaign_id: str) -> list[RollupStatus]:
    """Every roll-up of the campaign, per unit, from the assignments and latest submissions."""
    campaign = load_campaign(engine, campaign_id)
    rollups = rollups_of(campaign)
    if not rollups:
        return []
    items = {r.from_ for r in rollups} | {r.into for r in rollups if r.into}
    rows = _assignments(engine, campaign_id, items)
    found = []
    for rollup in rollups:
        feeding = [r for r in rows if r["item_id"] == rollup.from_]
        holders = [r for r in rows if r["item_id"] == rollup.into] if rollup.into else [_tally(campaign, rollup)]
        for holder in holders:
            # exactly the units below (a unit with none below is an error at validate, see duban.domain.rollup_reach)
            below = [f for f in feeding if campaign.is_below(f["unit_code"], holder["unit_code"])]
            feeders = [
                Feeder(f["unit_code"], State(f["state"]), f["submitted_at"], f["metrics"], f["files"]) for f in below
            ]
            state = State(holder["state"]) if holder.get("state") else None
            values = _attribute(engine, campaign_id, rollup.by, [f.unit_code for f in feeders]) if rollup.by else {}
            found.append(RollupStatus(rollup, holder["unit_code"], holder.get("id"), state, feeders, values))
    return found


def _attribute(engine: Engine, campaign_id: str, name: str, codes: list[str]) -> dict[str, str]:
    """Each unit's value of one attribute, as planned."""
    found: dict[str, str] = {}
    for code, attributes in planned_attributes(engine, campaign_id, codes):
        if attributes and name in attributes:
            found[code] = str(attributes[name])
    return found


def _assignments(engine: Engine, campaign_id: str, items: set[str]) -> list[dict[str, Any]]:
    rows, latest = item_assignments(engine, campaign_id, items)
    found = []
    for row in rows:
        sub = latest.get(row.id)
        found.append(
            dict(
                id=row.id,
                item_id=row.item_id,
                unit_code=row.unit_code,
                state=row.state,
                submitted_at=sub.submitted_at if sub else row.submitted_at,
                metrics=dict(sub.metrics or {}) if sub else {},
                files=list(sub.files or []) if sub else [],
            )
        )
    return found


def _tally(campaign: PlannedCampaign, rollup: Rollup) -> dict[str, Any]:
    ref = rollup.unit or ""
    group = campaign.spec.groups.get(ref)
    code = group.ref if group is not None and group.ref else ref
    code = next((c for c, u in campaign.units.items() if code in (c, u.display)), code)
    return {"unit_code": code}


@dataclass
class Fed:
    """What a tick's feeding did."""

    submitted: list[tuple[str, str]] = field(default_factory=list)  # (unit, item) roll-ups submitted here
    fed_up: list[tuple[str, str, str]] = field(default_factory=list)  # (upper campaign, unit, upper item)
    waiting: list[str] = field(default_factory=list)  # why a finished roll-up could not be fed up yet


def feed_rollups(engine: Engine, campaign_id: str, as_of: datetime) -> Fed:
    """Submit complete `auto` roll-ups, then feed a forward's finished roll-ups to the upper campaign."""
    as_of = utc(as_of)
    fed = Fed()
    statuses = rollup_status(engine, campaign_id)
    for status in statuses:
        if (
            not (status.rollup.auto and status.rollup.into and status.complete)
            or status.state is None
            or status.state.finished
        ):
            continue
        done = [(f, utc(f.submitted_at)) for f in status.finished if f.submitted_at is not None]
        at = min(max((when for _f, when in done), default=as_of), as_of)
        files = [file for f, _when in done for file in f.files]
        record_on_behalf(
            engine,
            campaign_id,
            status.unit_code,
            status.rollup.into,
            at,
            files=files,
            metrics=status.sums,
            actor=f"rollup:{status.rollup.id}"[:80],
        )
        fed.submitted.append((status.unit_code, status.rollup.into))
    _feed_upper(engine, campaign_id, fed)
    return fed


def _feed_upper(engine: Engine, campaign_id: str, fed: Fed) -> None:
    campaign = load_campaign(engine, campaign_id)
    forward = campaign.spec.forward
    if forward is None:
        return
    upper_id, why = upper_campaign(engine, campaign)
    rows = {
        (r["item_id"], r["unit_code"]): r for r in _assignments(engine, campaign_id, {i.into for i in forward.items})
    }
    for entry in forward.items:
        for (item_id, unit_code), row in rows.items():
            if item_id != entry.into or not State(row["state"]).finished or row["submitted_at"] is None:
                continue
            if upper_id is None:
                fed.waiting.append(f"{unit_code} {entry.into}: {why}")
                continue
            upper = {(r["item_id"], r["unit_code"]): r for r in _assignments(engine, upper_id, {entry.upper})}
            target = upper.get((entry.upper, unit_code))
            if target is None or State(target["state"]).finished:
                continue
            record_on_behalf(
                engine,
                upper_id,
                unit_code,
                entry.upper,
                row["submitted_at"],
                files=row["files"],
                metrics=row["metrics"],
                actor=f"forward:{campaign_id}"[:80],
            )
            fed.fed_up.append((upper_id, unit_code, entry.upper))


def upper_campaign(engine: Engine, campaign: PlannedCampaign) -> tuple[str | None, str]:
    """The id of the campaign a forward re-issues, when it is planned in this database (else None and why)."""
    from pathlib import Path

    try:
        path = referenced_file(Path(campaign.row.spec_path), campaign.spec.forward.of, what="upper spec")  # type: ignore[union-attr]
        upper_id = read_source(path).data.get("id")
    except ValueError as exc:
        return None, str(exc)
    except (SpecError, DubanError, AttributeError):
        return None, f"the upper spec {path} cannot be read"
    found = planned_id(engine, upper_id)
    if found is None:
        return None, f"the upper campaign {upper_id} is not planned in this database"
    return found, ""
