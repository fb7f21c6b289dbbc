"""What a unit's page shows: its duties with dues and 红黄绿, its versions, and how its own units stand.

A unit sees only its own duties. An item drawn from a hidden sample (市级抽查 is announced on the day) stays
off the page until it opens. A parent unit (a county bureau) also sees its subordinate units' colours, so
an escalation's link leads to who is late.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from duban.campaigns import PlannedCampaign, Recipient, load_campaign
from duban.duties import Duty, load_duties
from duban.errors import StoreError
from duban.spec.models import Campaign, Item, Selector, Stage
from duban.state import Color, State, worst


@dataclass
class Entry:
    """One duty as the page lists it."""

    duty: Duty
    stage: Stage
    item: Item

    @property
    def can_submit(self) -> bool:
        return self.duty.state is not State.pending


@dataclass
class Child:
    code: str
    display: str
    color: Color
    overdue: int


@dataclass
class UnitPage:
    campaign: PlannedCampaign
    unit: Recipient
    as_of: datetime
    entries: list[Entry]
    children: list[Child] = field(default_factory=list)

    def entry(self, item_id: str, instance: str = "") -> Entry | None:
        for e in self.entries:
            if e.item.id == item_id and e.duty.instance == instance:
                return e
        return None


def unit_page(engine: Engine, campaign_id: str, unit_code: str, as_of: datetime) -> UnitPage:
    """The page of `unit_code` in the campaign at `as_of`; StoreError when the unit is not in it."""
    campaign = load_campaign(engine, campaign_id)
    unit = campaign.units.get(unit_code)
    if unit is None or unit.kind == "leader":
        raise StoreError(f"unit {unit_code} is not in campaign {campaign_id!r}")
    places = {item.id: (stage, item) for stage, item in campaign.spec.items()}
    hidden = _hidden_items(campaign.spec)
    entries = []
    for duty in load_duties(engine, campaign, as_of, units=[unit_code], versions="all"):
        if duty.item_id not in places or (duty.item_id in hidden and duty.state is State.pending):
            continue
        stage, item = places[duty.item_id]
        entries.append(Entry(duty, stage, item))
    return UnitPage(campaign, unit, as_of, entries, _children(engine, campaign, unit_code, as_of, hidden))


def _children(engine: Engine, campaign: PlannedCampaign, code: str, as_of: datetime, hidden: set[str]) -> list[Child]:
    codes = [c for c, u in campaign.units.items() if u.parent == code and u.kind != "leader"]
    if not codes:
        return []
    colors: dict[str, list[Color]] = {c: [] for c in codes}
    overdue = dict.fromkeys(codes, 0)
    for duty in load_duties(engine, campaign, as_of, units=codes):
        if duty.item_id in hidden and duty.state is State.pending:
            continue
        colors[duty.unit_code].append(duty.color)
        overdue[duty.unit_code] += duty.state is State.overdue
    return [Child(c, campaign.display(c), worst(colors[c]), overdue[c]) for c in codes if colors[c]]


def _hidden_items(spec: Campaign) -> set[str]:
    """Items owed by the members of a hidden sample."""
    hidden = {s.id for s in spec.samples if s.hidden}
    if not hidden:
        return set()
    return {item.id for _stage, item in spec.items() if any(_uses(spec, s, hidden) for s in (item.units, item.lead))}


def _uses(spec: Campaign, selector: Selector | None, samples: set[str], depth: int = 0) -> bool:
    if selector is None or depth > 8:
        return False
    if selector.sample in samples:
        return True
    if selector.ref in spec.groups and _uses(spec, spec.groups[selector.ref], samples, depth + 1):
        return True
    return any(_uses(spec, s, samples, depth + 1) for s in selector.any_of)


def receivers(campaign: PlannedCampaign) -> dict[str, str]:
    """Item → the unit it is handed to (报送至), by name, for the items whose spec says."""
    found = {}
    for _stage, item in campaign.spec.items():
        ref = item.submit_to
        if not ref:
            continue
        group = campaign.spec.groups.get(ref)
        code = group.ref if group is not None and group.ref else ref
        found[item.id] = campaign.display(code) if code in campaign.units else ref
    return found
