"""Status (进度): 红/黄/绿 per unit and stage, as of a given instant.

The database holds each assignment's state as of its last tick; for a later `as_of` the same pure
`advance` shows where it would stand, without writing anything.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select

from duban.domain.hidden_samples import concealed_items
from duban.domain.standing import row_state_at
from duban.domain.state import Color, State, color, worst
from duban.instants import utc
from duban.store.core import core_table
from duban.store.outcomes import outcome_tally
from duban.store.tables import Assignment, ExtensionRequest, ReviewRow
from duban.views.campaigns import PlannedCampaign, load_campaign

_A = core_table(Assignment)


@dataclass
class UnitStatus:
    code: str
    display: str
    level: str | None
    parent: str | None
    stages: dict[str, Color] = field(default_factory=dict)
    states: Counter = field(default_factory=Counter)

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


def loop_counts(conn, campaign_id: str, as_of: datetime) -> dict:  # noqa: ANN001
    """How many 延期申请 were approved, denied or wait, how many reviews returned or accepted, 签收率 per stage
    (acknowledged, asked), and the units each outcome rule reached (约谈, 通报批评 …), by `as_of`."""
    r, v = core_table(ExtensionRequest), core_table(ReviewRow)
    extensions = {"approved": 0, "denied": 0, "pending": 0}
    for status, n in conn.execute(
        select(r.c.status, func.count())
        .where(r.c.campaign_id == campaign_id, r.c.requested_at <= as_of)
        .group_by(r.c.status)
    ):
        extensions[status] = n
    reviews = {"returned": 0, "accepted": 0}
    for decision, n in conn.execute(
        select(v.c.decision, func.count()).where(v.c.campaign_id == campaign_id, v.c.at <= as_of).group_by(v.c.decision)
    ):
        reviews[decision] = n
    from duban.services.acknowledgements import ack_rates

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
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                _A.c.unit_code,
                _A.c.stage_id,
                _A.c.item_id,
                _A.c.state,
                _A.c.open_at,
                _A.c.due_at,
                _A.c.reminders,
                _A.c.escalations,
                _A.c.reminders_done,
                _A.c.escalations_done,
                _A.c.next_event_at,
            )
            .where(_A.c.campaign_id == campaign_id)
            .order_by(_A.c.stage_order, _A.c.id)
        ).all()
        loop = loop_counts(conn, campaign_id, as_of)
    per_unit: dict[str, dict[str, list[Color]]] = defaultdict(lambda: defaultdict(list))
    unit_states: dict[str, Counter] = defaultdict(Counter)
    states: Counter = Counter()
    by_stage: dict[str, Counter] = defaultdict(Counter)
    overdue = []
    concealed = concealed_items(campaign.spec)  # a hidden sample shows nothing before its check opens
    for row in rows:
        if row.item_id in concealed and row.open_at > as_of:
            continue
        state = row_state_at(row, as_of)
        per_unit[row.unit_code][row.stage_id].append(color(state))
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
            )
        )
    order = {code: index for index, code in enumerate(campaign.units)}
    units.sort(key=lambda u: order.get(u.code, len(order)))
    return StatusReport(campaign, as_of, units, states, dict(by_stage), overdue, loop)
