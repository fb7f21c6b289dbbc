"""What a unit's page shows: its duties with dues and 红黄绿, its versions, and how its own units stand.

A unit sees only its own duties. An item drawn from a hidden sample (市级抽查 is announced on the day) stays
off the page until it opens. A parent unit (a county bureau) also sees its subordinate units' colours, so
an escalation's link leads to who is late. A page reads the unit, its parent and children and their duties,
never the whole campaign: its cost follows the unit, whether the campaign has 130 units or 41,000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from duban.domain.hidden_samples import concealed_items
from duban.domain.state import Color, State, worst
from duban.errors import StoreError
from duban.spec.models import Campaign, Item, Stage
from duban.views.campaigns import PlannedCampaign, Recipient, load_campaign
from duban.views.duties import Duty, Version, load_duties
from duban.views.registry import children_of, units_by_code

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class Entry:
    """One duty as the page lists it."""

    duty: Duty
    stage: Stage
    item: Item

    @property
    def can_submit(self) -> bool:
        return self.duty.state is not State.pending

    def corrects(self, version: Version) -> datetime | None:
        """The on-time first hand-in that `version`, handed in after the due, corrects (the item, not reviewed,
        stays on time), or None. The receipt and both pages' version lists read it, so a version the receipt calls
        截止后更正…仍计为按时报送 is not listed 逾期报送 (an outside tester's finding)."""
        first = self.duty.versions[0] if self.duty.versions else None
        if not version.late or self.item.review or self.duty.state is not State.submitted or first is None:
            return None
        on_time = first.version < version.version and first.submitted_at <= self.duty.due_at
        return first.submitted_at if on_time else None

    def can_ask_extension(self, spec: Campaign, now: datetime) -> bool:
        """延期申请 from the page: allowed by the notice, the item still owed and its due not passed."""
        from duban.domain.extension_rules import policy

        return (
            policy(spec, self.item) is not None
            and not self.duty.state.finished
            and self.duty.state is not State.pending
            and now <= self.duty.due_at
        )


@dataclass
class Child:
    code: str
    display: str
    color: Color
    overdue: int


@dataclass
class UnitPage:
    campaign: PlannedCampaign  # without its units: a page reads only the ones it names
    unit: Recipient
    as_of: datetime
    entries: list[Entry]
    children: list[Child] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # code → display of the units the page names
    receivers: dict[str, str] = field(default_factory=dict)  # item → the unit it is handed to (报送至), by name
    acks: list = field(default_factory=list)  # 签收 asked of the unit and not yet given (acknowledgement rows)
    signed: list = field(default_factory=list)  # (what was signed: a stage's name or 通知, when) of the 签收 given
    requests: dict = field(default_factory=dict)  # (item, instance) → its latest 延期申请 (extension.Request)
    all_requests: dict = field(default_factory=dict)  # (item, instance) → its 延期申请, oldest first (operators)
    returns: dict = field(default_factory=dict)  # (item, instance) → its latest review (a return shows its reason)
    version_reviews: dict = field(default_factory=dict)  # submission id → its review (退回 and why, or 通过)
    to_review: list = field(default_factory=list)  # the children's versions waiting for this unit's review (审核)
    namings: list = field(default_factory=list)  # open samples this unit names its own units for (由上级指定)

    def entry(self, item_id: str, instance: str = "") -> Entry | None:
        for e in self.entries:
            if e.item.id == item_id and e.duty.instance == instance:
                return e
        return None

    def display(self, code: str | None) -> str:
        return self.names.get(code or "", code or "")


def unit_page(engine: Engine, campaign_id: str, unit_code: str, as_of: datetime, *, history: bool = False) -> UnitPage:
    """The page of `unit_code` in the campaign at `as_of` (as the record stood then, with `history`); StoreError
    when the unit is not in it."""
    campaign = load_campaign(engine, campaign_id, units=False)
    targets = _receiver_codes(campaign.spec)
    with engine.connect() as conn:
        unit = units_by_code(conn, campaign_id, [unit_code]).get(unit_code)
        if unit is None or unit.kind == "leader":
            raise StoreError(f"unit {unit_code} is not in campaign {campaign_id!r}")
        children = children_of(conn, campaign_id, unit_code)
        named = units_by_code(conn, campaign_id, [unit.parent or "", *(code for _ref, code in targets.values())])
    places = {item.id: (stage, item) for stage, item in campaign.spec.items()}
    hidden = concealed_items(campaign.spec)
    entries = []
    for duty in load_duties(engine, campaign, as_of, units=[unit_code], versions="all", history=history):
        if duty.item_id not in places or (duty.item_id in hidden and duty.state is State.pending):
            continue
        stage, item = places[duty.item_id]
        entries.append(Entry(duty, stage, item))
    names = {code: u.display for code, u in named.items()} | {unit.code: unit.display}
    receivers = {item_id: names.get(code, ref) for item_id, (ref, code) in targets.items()}
    kids = _children(engine, campaign, children, as_of, hidden, history)
    page = UnitPage(campaign, unit, as_of, entries, kids, names, receivers)
    _loop(engine, campaign, page, {c.code: c.display for c in children}, history)
    return page


def _loop(engine: Engine, campaign: PlannedCampaign, page: UnitPage, children: dict[str, str], history: bool) -> None:
    """签收 to give, 延期申请 and returns of the unit's items, its children's versions waiting for its review, and
    the open samples it names its units for (由上级指定)."""
    from duban.views.acknowledgements import given_acknowledgements, pending_acknowledgements
    from duban.views.extensions import requests_of
    from duban.views.reviews import review_queue, reviews_of

    code = page.unit.code
    if not history:  # a preview shows the record; it gives no 签收
        page.acks = pending_acknowledgements(engine, campaign.id, code, page.as_of)
    stages = {stage.id: stage.name for stage in campaign.spec.stages}
    page.signed = [  # lasting, from the record: a second clerk sees the county has signed (a tester's finding)
        (stages.get(row.stage_id, "通知") if row.stage_id else "通知", row.acknowledged_at)
        for row in given_acknowledgements(engine, campaign.id, code, page.as_of)
    ]
    for r in requests_of(engine, campaign.id, unit_code=code):
        if r.requested_at <= page.as_of:
            page.requests[(r.item_id, r.instance)] = r
            page.all_requests.setdefault((r.item_id, r.instance), []).append(r)
    for v in reviews_of(engine, campaign.id, unit_code=code):
        if v.at <= page.as_of:
            page.returns[(v.item_id, v.instance)] = v
            page.version_reviews[v.submission_id] = v
    if children and not history and any(s.open for s in campaign.spec.samples):
        from duban.views.namings import namings_for

        page.namings = namings_for(engine, campaign.id, code)
    if children and any(item.review is not None and item.review.by == "parent" for _s, item in campaign.spec.items()):
        by_parent = {
            item.id for _s, item in campaign.spec.items() if item.review is not None and item.review.by == "parent"
        }
        page.to_review = [
            row
            for row in review_queue(engine, campaign.id, parent=code)
            if row.item_id in by_parent and row.submitted_at <= page.as_of
        ]
        page.names.update({row.unit_code: children.get(row.unit_code, row.unit_code) for row in page.to_review})


def _children(
    engine: Engine,
    campaign: PlannedCampaign,
    units: list[Recipient],
    as_of: datetime,
    hidden: set[str],
    history: bool = False,
) -> list[Child]:
    if not units:
        return []
    codes = [u.code for u in units]
    colors: dict[str, list[Color]] = {c: [] for c in codes}
    overdue = dict.fromkeys(codes, 0)
    for duty in load_duties(engine, campaign, as_of, units=codes, history=history):
        if duty.item_id in hidden and duty.state is State.pending:
            continue
        colors[duty.unit_code].append(duty.color)
        overdue[duty.unit_code] += duty.shown is State.overdue
    return [Child(u.code, u.display, worst(colors[u.code]), overdue[u.code]) for u in units if colors[u.code]]


def _receiver_codes(spec: Campaign) -> dict[str, tuple[str, str]]:
    """Item → (what its `submit_to` says, the unit code it names; a group of one unit is read through)."""
    found = {}
    for _stage, item in spec.items():
        ref = item.submit_to
        if ref:
            group = spec.groups.get(ref)
            found[item.id] = (ref, group.ref if group is not None and group.ref else ref)
    return found
