"""Status (进度): 红/黄/绿 per unit and stage, as of a given instant.

The database holds each assignment's state as of its last tick; for a later `as_of` the same pure
`advance` shows where it would stand, without writing anything. An `as_of` the record has passed (where did we
stand on 6/10 at 18:00, asked on 6/12) is read as the 通报 and the 总结报告 read it (row_state_then): a hand-in
counts from its instant, the rest is judged from the start against the dues in force; what the row keeps no
instant for (a 免报, a review, a due moved since) stands as it is now, and the report says how many.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from duban.domain.hidden_samples import concealed_items
from duban.domain.lead_cover import covering, handed_in_late, lead_rows
from duban.domain.standing import row_state_at, row_state_then
from duban.domain.state import Color, State, color, worst
from duban.instants import utc
from duban.store.amendments import last_act
from duban.store.db import reading
from duban.store.outcomes import outcome_tally
from duban.store.status import extensions_by_status, reviews_by_decision, settled_since, status_rows
from duban.views.campaigns import PlannedCampaign, load_campaign, own_units
from duban.views.unit_names import place_names, told_apart

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


@dataclass
class UnitStatus:
    code: str
    display: str
    level: str | None
    parent: str | None
    stages: dict[str, Color] = field(default_factory=dict)
    states: Counter = field(default_factory=Counter)
    by_lead: int = 0  # 配合 items its 牵头 unit has handed in, counted in `states` as the lead's (已报送（牵头单位）)

    @property
    def overall(self) -> Color:
        return worst(list(self.stages.values()))


@dataclass
class StatusReport:
    campaign: PlannedCampaign
    as_of: datetime
    units: list[UnitStatus]
    states: Counter
    by_stage: dict[str, Counter]  # stage → Counter of states
    overdue: list[tuple[str, str, str, datetime]]  # (unit code, stage, item, due)
    loop: dict = field(default_factory=dict)  # 延期申请 by status, reviews by decision, up to as_of
    recorded_to: datetime | None = None  # the record's last act, when `as_of` is earlier (a look back)
    settled_since: dict[str, int] = field(default_factory=dict)  # event → assignments it changed after `as_of`
    own: set[str] = field(default_factory=set)  # the issuer's own offices: counted apart, as the 通报 and report do

    @property
    def looking_back(self) -> bool:
        return self.recorded_to is not None


def loop_counts(conn: Connection, campaign_id: str, as_of: datetime) -> dict:
    """How many 延期申请 were approved, denied or wait, how many reviews returned or accepted, 签收率 per stage
    (acknowledged, asked), and the units each outcome rule reached (约谈, 通报批评 …), by `as_of`."""
    extensions = {"approved": 0, "denied": 0, "pending": 0, "settled": 0}
    for status, n in extensions_by_status(conn, campaign_id, as_of):
        extensions[status] = n
    reviews = {"returned": 0, "accepted": 0}
    for decision, n in reviews_by_decision(conn, campaign_id, as_of):
        reviews[decision] = n
    from duban.views.acknowledgements import ack_rates

    outcomes = [
        {"item": t.item_id, "words": t.words, "units": t.units} for t in outcome_tally(conn, campaign_id, as_of)
    ]
    return {
        "extensions": extensions,
        "reviews": reviews,
        "acks": ack_rates(conn, campaign_id, as_of),
        "outcomes": outcomes,
    }


def status_report(engine: Engine, campaign_id: str, as_of: datetime) -> StatusReport:
    """Every unit's colour per stage at `as_of` (red: overdue; yellow: due soon or late; green; grey)."""
    as_of = utc(as_of)
    campaign = load_campaign(engine, campaign_id)
    with reading(engine) as conn:
        rows = status_rows(conn, campaign_id)
        loop = loop_counts(conn, campaign_id, as_of)
        last = last_act(conn, campaign_id)
        recorded = utc(last) if last is not None and as_of < utc(last) else None  # set: a look back
        back = recorded is not None
        since = dict(settled_since(conn, campaign_id, as_of)) if back else {}
    state_of = row_state_then if back else row_state_at  # a past instant: as the 通报 and the report read it
    per_unit: dict[str, dict[str, list[Color]]] = defaultdict(lambda: defaultdict(list))
    unit_states: dict[str, Counter] = defaultdict(Counter)
    states: Counter = Counter()
    by_stage: dict[str, Counter] = defaultdict(Counter)
    overdue = []
    concealed = concealed_items(campaign.spec)  # a hidden sample shows nothing before its check opens
    leads = lead_rows(rows)
    by_lead: Counter = Counter()
    for row in rows:
        if row.item_id in concealed and row.open_at > as_of:
            continue
        state, late = state_of(row, as_of), handed_in_late(row)
        if (covered := covering(row, state, leads, as_of, state_of)) is not None:
            state, late = covered
            by_lead[row.unit_code] += 1
        per_unit[row.unit_code][row.stage_id].append(color(state, late=late))
        unit_states[row.unit_code][state] += 1
        states[state] += 1
        by_stage[row.stage_id][state] += 1
        if state is State.overdue:
            overdue.append((row.unit_code, row.stage_id, row.item_id, row.due_at))
    units = []
    for code, stages in per_unit.items():
        recipient = campaign.units.get(code)
        units.append(
            UnitStatus(
                code=code,
                display=campaign.display(code),
                level=recipient.level if recipient else None,
                parent=recipient.parent if recipient else None,
                stages={stage: worst(colors) for stage, colors in stages.items()},
                states=unit_states[code],
                by_lead=by_lead[code],
            )
        )
    displays = Counter(unit.display for unit in units)
    if clashing := [unit.code for unit in units if displays[unit.display] > 1]:  # 阳泉's 城区 and 晋城's
        told = told_apart(campaign, clashing, place_names(engine, campaign, clashing))
        for unit in units:
            unit.display = told.get(unit.code, unit.display)
    order = {code: index for index, code in enumerate(campaign.units)}
    units.sort(key=lambda u: order.get(u.code, len(order)))
    own = own_units(campaign, {row.unit_code for row in rows})
    return StatusReport(campaign, as_of, units, states, dict(by_stage), overdue, loop, recorded, since, own)
