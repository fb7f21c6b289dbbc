"""Duties as of an instant: each assignment with its state at `as_of` and, when asked, its submitted versions.

The database holds each assignment's state as of its last tick; for a later `as_of` the pure `advance`
shows where it stands (the same reading as `duban status`), without writing anything. The portal page,
the operators' matrix and the 汇总表 all read duties through here.

`history=True` reads the record as it stood at an earlier `as_of` (the portal's preview, `duban serve --as-of`) by
the rule `duban status`, the 通报 and the 总结报告 read a past instant by (row_state_then): a hand-in counts from its
instant, the rest is judged from the start against the dues in force, and a 免报 stands as recorded now; only the
versions handed in by then are shown. A submission of 15 June is not on a page shown as of 27 May, an item that
opens on 10 June is grey, not red, and every unit has the colour and counts status gives it at that instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from duban.domain.lead_cover import BY_LEAD, COOPERATING, covered_state, duty_key, lead_rows
from duban.domain.standing import row_state_at, row_state_then
from duban.domain.state import Color, State, color
from duban.instants import utc
from duban.store.db import reading
from duban.store.duties import duty_rows, lead_codes, submission_row
from duban.store.loop_rows import DutyKey, duty_of
from duban.views.campaigns import PlannedCampaign

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass(frozen=True)
class Version:
    """One submitted version (报送版本) with its files and counts."""

    id: int
    version: int
    submitted_at: datetime
    late: bool
    files: list[dict[str, Any]]
    metrics: dict[str, Any]
    actor: str


@dataclass
class Duty:
    """One assignment as of an instant."""

    assignment_id: int
    unit_code: str
    stage_id: str
    item_id: str
    instance: str
    role: str
    open_at: datetime
    due_at: datetime
    state: State
    versions: list[Version] = field(default_factory=list)  # oldest first
    handed_in_late: bool = False  # the version in hand came after the due (a late one in review is yellow)
    by_lead: State | None = None  # a 配合 item its 牵头 unit has handed in: the lead's state (already its own)
    lead_late: bool = False  # and the lead's hand-in came after the due

    @property
    def shown(self) -> State:
        """The state every view reads: the lead's when its hand-in covers this 配合 item (duban.domain.lead_cover),
        else its own."""
        return self.by_lead or self.state

    @property
    def shown_cn(self) -> str:
        return BY_LEAD if self.by_lead else self.state.cn

    @property
    def color(self) -> Color:
        if self.by_lead is not None:
            return color(self.by_lead, late=self.lead_late)
        return color(self.state, late=self.handed_in_late)

    @property
    def own_color(self) -> Color:
        """Its colour by its own state alone (as the colours index counts it)."""
        return color(self.state, late=self.handed_in_late)

    @property
    def latest(self) -> Version | None:
        return self.versions[-1] if self.versions else None


def held(row: Any) -> bool:
    """Is the row of a stage that waits for another (按阶段顺序) and has not been opened by the record yet?"""
    return row.state == State.pending.value and getattr(row, "next_event_at", False) is None


def load_duties(
    engine: Engine,
    campaign: PlannedCampaign,
    as_of: datetime,
    *,
    units: list[str] | None = None,
    versions: Literal["none", "latest", "all"] = "none",
    history: bool = False,
    covers: bool = True,
) -> list[Duty]:
    """The campaign's duties (of `units`, or all) in the notice's order: stage, item, instance, unit; with
    `history`, as the record stood at `as_of` (see the module's docstring). A 配合 item its 牵头 unit has handed
    in reads as that hand-in (`by_lead`), as status reads it, unless `covers` is False."""
    as_of = utc(as_of)
    rows, submitted = duty_rows(engine, campaign.id, units=units, versions=versions, before=as_of if history else None)
    found = {aid: [_version(r) for r in subs] for aid, subs in submitted.items()}
    order = {item.id: index for index, (_stage, item) in enumerate(campaign.spec.items())}
    unit_order = {code: index for index, code in enumerate(campaign.units or units or ())}
    duties = [
        Duty(
            r.id,
            r.unit_code,
            r.stage_id,
            r.item_id,
            r.instance,
            r.role,
            r.open_at,
            r.due_at,
            row_state_then(r, as_of) if history else row_state_at(r, as_of),
            found.get(r.id, []),
            r.submitted_at is not None and r.submitted_at > r.due_at,
        )
        for r in rows
    ]
    duties.sort(key=lambda d: (order.get(d.item_id, len(order)), d.due_at, d.instance, unit_order.get(d.unit_code, 0)))
    if covers:
        _cover(engine, campaign, as_of, duties, units, history)
    return duties


def _cover(
    engine: Engine,
    campaign: PlannedCampaign,
    as_of: datetime,
    duties: list[Duty],
    units: list[str] | None,
    history: bool,
) -> None:
    """Mark the 配合 duties whose 牵头 unit has handed the item in by `as_of` (its lead's duty read as the others)."""
    cooperating = [d for d in duties if d.role == COOPERATING and not d.state.finished]
    if not cooperating:
        return
    if units is None:  # the whole campaign: its leads are among the duties
        leads = lead_rows(duties)
    else:
        divisions = {d.unit_code.partition("@")[0] for d in cooperating}
        codes = lead_codes(engine, campaign.id, {d.item_id for d in cooperating}, divisions)
        leads = lead_rows(load_duties(engine, campaign, as_of, units=codes, history=history, covers=False))
    for duty in cooperating:
        for lead in leads.get(duty_key(duty.unit_code, duty.item_id, duty.instance), ()):
            if (covered := covered_state(duty.state, lead.state)) is not None:
                duty.by_lead, duty.lead_late = covered, lead.handed_in_late
                break


def _version(r: Any) -> Version:
    return Version(r.id, r.version, r.submitted_at, r.late, list(r.files or []), dict(r.metrics or {}), r.actor)


def submission(engine: Engine, submission_id: int) -> tuple[str, str, str, Version] | None:
    """(campaign, unit, item, version) of a submission, or None."""
    r = submission_row(engine, submission_id)
    if r is None:
        return None
    return (r.campaign_id, r.unit_code, r.item_id, _version(r))


def assignment_duty(engine: Engine, campaign_id: str, assignment_id: int) -> DutyKey | None:
    """(unit, item, instance) of one of the campaign's assignments (the one a review names), or None."""
    with reading(engine) as conn:
        return duty_of(conn, campaign_id, assignment_id)
