"""What operators see of a campaign after a tick (进度看板): progress per stage, 红黄绿 per unit, the overdue
units and the escalations. The data; duban.views.artifacts writes it as the texts the flows post as Prefect artifacts.

Read from the states the database holds, so it is exact right after a tick at `as_of` and costs a few
grouped queries even for a national campaign.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from duban.domain.state import Color, State, color, worst
from duban.instants import in_zone, utc
from duban.store.colors import Scope, late_in_review, late_units
from duban.store.db import reading
from duban.store.progress import (
    current_marks,
    item_state_counts,
    overdue_units,
    recent_escalations,
    record_marks,
    stage_state_counts,
    unit_ranks,
    unit_stage_states,
)
from duban.views.campaigns import PlannedCampaign, load_campaign
from duban.views.colors import covered_by_leads
from duban.views.duties import load_duties

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
ROWS_SHOWN = 300  # units in the table artifact, the reddest first; the counts cover them all
LISTED = 30  # escalations listed in the summary
UNITS_LISTED = 15  # overdue units listed in the summary, each with all its overdue items counted
_HANDED_IN = (State.submitted, State.late, State.in_review)  # 已报, as status and the portal count it
_DONE = (*_HANDED_IN, State.excused)
_RANKED = (Color.red, Color.yellow, Color.green, Color.grey)  # worst first: store.progress.unit_ranks's ranks


@dataclass
class StageProgress:
    stage_id: str
    name: str
    states: Counter
    late_in_review: int = 0  # of states[in_review], the versions handed in after the due: 黄, as a late hand-in

    @property
    def total(self) -> int:
        return sum(self.states.values())

    @property
    def done(self) -> int:
        """Finished: handed in (已报: on time, late or waiting for review) or excused (免报)."""
        return sum(self.states[s] for s in _DONE)

    @property
    def handed_in(self) -> int:
        """已报: handed in, on time, late or waiting for review (the one meaning of 已报 in every view)."""
        return sum(self.states[s] for s in _HANDED_IN)

    @property
    def percent(self) -> float:
        """完成率: finished of all, in percent."""
        return round(100 * self.done / self.total, 1) if self.total else 0.0

    @property
    def colour(self) -> Color:
        """The stage's worst colour: 红 once anything in it is overdue (the stage is behind)."""
        if not self.total:
            return Color.grey
        return worst(
            [color(state) for state, n in self.states.items() if n] + [Color.yellow] * bool(self.late_in_review)
        )


@dataclass
class UnitRow:
    code: str
    display: str
    level: str | None
    group: str = ""  # the county (县区) it belongs to, or itself at county level and above: its code
    stages: dict[str, Color] = field(default_factory=dict)
    states: Counter = field(default_factory=Counter)

    @property
    def overall(self) -> Color:
        return worst(list(self.stages.values()))


@dataclass
class CampaignView:
    campaign: PlannedCampaign  # its units: only those the view names
    as_of: datetime
    stages: list[StageProgress]
    units: list[UnitRow]  # the reddest ROWS_SHOWN units
    colours: Counter  # every unit by its worst colour
    overdue_total: int  # overdue assignments (items of units)
    overdue_units: int  # units with at least one
    overdue: list[OverdueUnit]  # the UNITS_LISTED units overdue longest, each with every overdue item
    escalations: list[tuple[str, str, str, int, datetime]]  # (unit, item, recipient, step, event_at), last day
    loop: dict = field(default_factory=dict)  # 签收率 per stage, 延期申请 and reviews (views.status.loop_counts)

    @property
    def unit_total(self) -> int:
        return sum(self.colours.values())

    @property
    def key(self) -> str:
        return artifact_key(self.campaign.id)


@dataclass
class OverdueUnit:
    """One unit's overdue items (逾期未报), as the summary lists them."""

    code: str
    count: int
    oldest_due: datetime
    items: list[tuple[str, str, datetime]] = field(default_factory=list)  # (stage id, item id, due), oldest first


@dataclass(frozen=True)
class ViewMarks:
    """The newest transition, submission and score when the views are read (a cheap "has anything happened")."""

    transition_id: int
    submission_id: int
    score_id: int
    acknowledged: int = 0  # the campaign's 签收 given (an acknowledgement changes a row and adds none)


def views_stale(engine: Engine, campaign_id: str, as_of: datetime) -> ViewMarks | None:
    """The marks to record with a fresh publication at `as_of`, or None when the published views are current.

    They are current when nothing was recorded since (in any campaign: three primary-key maxima, no scan), no
    unit of the campaign acknowledged since (its 签收 given, counted from ix_acknowledgement_given) and it is still
    the same day in the campaign's zone (the views count overdue days).
    """
    as_of = utc(as_of)
    (transition, submission, score, acknowledged), row, tz = current_marks(engine, campaign_id)
    marks = ViewMarks(transition, submission, score, acknowledged)
    if row is None or tz is None:
        return marks
    seen = ViewMarks(row.transition_id, row.submission_id, row.score_id, row.acknowledged)
    same_day = in_zone(as_of, tz).date() == in_zone(row.published_at, tz).date()
    return None if seen == marks and same_day else marks


def views_published(engine: Engine, campaign_id: str, as_of: datetime, marks: ViewMarks) -> None:
    """Record a publication; marks only move forward (two ticks may finish in either order)."""
    record_marks(engine, campaign_id, dict(published_at=utc(as_of), **vars(marks)))


def artifact_key(*parts: str) -> str:
    """A stable Prefect artifact key: lowercase letters, digits and dashes."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower())).strip("-")


def campaign_view(engine: Engine, campaign_id: str, as_of: datetime) -> CampaignView:
    """The campaign as the database holds it after a tick at `as_of`.

    Counted in the database (stage by state, each unit's worst colour), so a national campaign costs a few
    grouped queries; only the units shown (the reddest ROWS_SHOWN, the overdue and escalated ones listed) are
    read one by one.
    """
    as_of = utc(as_of)
    with reading(engine) as conn:
        spec_only = load_campaign(conn, campaign_id, units=False)
        by_stage = _stage_states(conn, campaign_id, spec_only)
        # read as status reads them: a 配合 item its lead has handed in as the lead's hand-in, a late version in
        # review 黄; the units holding either are read duty by duty, the rest counted by the database
        covered = covered_by_leads(conn, spec_only.spec, Scope(campaign_id))
        stage_of = {item.id: stage.id for stage, item in spec_only.spec.items()}
        late_in_stage: Counter = Counter()
        for item_id, n in late_in_review(conn, Scope(campaign_id), set()):
            late_in_stage[stage_of.get(item_id, "")] += n
        for row, lead_state, lead_late in covered:
            by_stage[row.stage_id][State(row.state)] -= 1
            by_stage[row.stage_id][lead_state] += 1
            late_in_stage[row.stage_id] += lead_state is State.in_review and lead_late
        apart = sorted({*(row.unit_code for row, _state, _late in covered), *late_units(conn, Scope(campaign_id))})
        colours, ranked = unit_ranks(conn, campaign_id, ROWS_SHOWN, leave_out=apart)
        overdue_total = sum(states[State.overdue] for states in by_stage.values())
        leave_out = [row.id for row, _state, _late in covered if row.state == State.overdue.value]
        overdue_count, overdue = _overdue(conn, campaign_id, leave_out) if overdue_total else (0, [])
        escalations = recent_escalations(conn, campaign_id, as_of - timedelta(days=1), as_of, LISTED)
        from duban.views.status import loop_counts

        loop = loop_counts(conn, campaign_id, as_of)
        read_apart = _read_apart(engine, spec_only, as_of, apart)
        for code, row in read_apart.items():
            colours[row.overall] += 1
            ranked.append((_RANKED.index(row.overall), code))
        shown = [code for _rank, code in sorted(ranked)[:ROWS_SHOWN]]
        detail = unit_stage_states(conn, campaign_id, [code for code in shown if code not in read_apart])
        named = {*shown, *(u.code for u in overdue), *(r[0] for r in escalations), *(r[2] for r in escalations)}
        campaign = load_campaign(conn, campaign_id, units=named)
        parents = {u.parent for u in campaign.units.values() if u.parent and u.parent not in campaign.units}
        if parents:  # the counties the table groups townships under
            campaign.units.update(load_campaign(conn, campaign_id, units=parents).units)
    units = {
        code: UnitRow(
            code, campaign.display(code), getattr(campaign.units.get(code), "level", None), _group(campaign, code)
        )
        for code in shown
    }
    per_unit_stage: dict[tuple[str, str], list[Color]] = defaultdict(list)
    for unit_code, stage_id, state, count in detail:
        units[unit_code].states[State(state)] += count
        per_unit_stage[(unit_code, stage_id)].append(color(State(state)))
    for (unit_code, stage_id), colours_of_stage in per_unit_stage.items():
        units[unit_code].stages[stage_id] = worst(colours_of_stage)
    for code in shown:
        if code in read_apart:
            units[code].stages, units[code].states = read_apart[code].stages, read_apart[code].states
    stages = [
        StageProgress(s.id, s.name, by_stage.get(s.id, Counter()), late_in_stage[s.id]) for s in spec_only.spec.stages
    ]
    return CampaignView(
        campaign,
        as_of,
        stages,
        list(units.values()),
        colours,
        overdue_total,
        overdue_count,
        overdue,
        escalations,
        loop,
    )


_COUNTY_AND_ABOVE = ("nation", "province", "prefecture", "county")


def _group(campaign: PlannedCampaign, code: str) -> str:
    """The county (县区) a unit belongs to: itself at county level and above, else its parent."""
    unit = campaign.units.get(code)
    if unit is None or unit.level in _COUNTY_AND_ABOVE or not unit.parent:
        return code
    return unit.parent


def _read_apart(engine: Engine, campaign: PlannedCampaign, as_of: datetime, codes: list[str]) -> dict[str, UnitRow]:
    """The units `codes` read duty by duty, as status reads them (their stage colours and states)."""
    if not codes:
        return {}
    rows = {code: UnitRow(code, code, None) for code in codes}
    per_stage: dict[tuple[str, str], list[Color]] = defaultdict(list)
    for duty in load_duties(engine, campaign, as_of, units=codes):
        rows[duty.unit_code].states[duty.shown] += 1
        per_stage[(duty.unit_code, duty.stage_id)].append(duty.color)
    for (code, stage_id), colours_of_stage in per_stage.items():
        rows[code].stages[stage_id] = worst(colours_of_stage)
    return {code: row for code, row in rows.items() if row.stages}


def _overdue(conn: Connection, campaign_id: str, leave_out: list[int]) -> tuple[int, list[OverdueUnit]]:
    """How many units have overdue items, and the UNITS_LISTED overdue longest with all their overdue items (but
    the assignments `leave_out`)."""
    units, listed, items = overdue_units(conn, campaign_id, UNITS_LISTED, leave_out)
    by_code = {code: OverdueUnit(code, count, due) for code, count, due in listed}
    for code, stage_id, item_id, due in items:
        by_code[code].items.append((stage_id, item_id, due))
    return units, list(by_code.values())


def _stage_states(conn: Connection, campaign_id: str, campaign: PlannedCampaign) -> dict[str, Counter]:
    """Assignments per stage and state, counted per item from the colours index alone (no table rows read)."""
    stage_of = {item.id: stage.id for stage, item in campaign.spec.items()}
    counts = item_state_counts(conn, campaign_id)
    if any(item_id not in stage_of for item_id, _state, _count in counts):  # an item the stored spec lacks
        counts = stage_state_counts(conn, campaign_id)
        stage_of = {stage_id: stage_id for stage_id, _state, _count in counts}
    by_stage: dict[str, Counter] = defaultdict(Counter)
    for key, state, count in counts:
        by_stage[stage_of[key]][State(state)] += count
    return by_stage
