"""Duties as of an instant: each assignment with its state at `as_of` and, when asked, its submitted versions.

The database holds each assignment's state as of its last tick; for a later `as_of` the pure `advance`
shows where it stands (the same reading as `duban status`), without writing anything. The portal page,
the operators' matrix and the 汇总表 all read duties through here.

`history=True` reads the record as it stood at an earlier `as_of` (the portal's preview, `duban serve --as-of`):
each assignment starts from the last transition recorded for an instant up to `as_of` (pending when there is
none), is advanced to `as_of`, and shows only the versions handed in by then. A submission of 15 June is not on
a page shown as of 27 May, and an item that opens on 10 June is grey, not red.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy import Engine, func, select

from duban.domain.standing import row_state_at
from duban.domain.state import Color, State, color
from duban.instants import utc
from duban.store.core import core_table
from duban.store.tables import Assignment, Submission, TransitionRow
from duban.views.campaigns import PlannedCampaign

_A = core_table(Assignment)
_S = core_table(Submission)
_T = core_table(TransitionRow)


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

    @property
    def color(self) -> Color:
        return color(self.state)

    @property
    def latest(self) -> Version | None:
        return self.versions[-1] if self.versions else None


def held(row: Any) -> bool:
    """Is the row of a stage that waits for another (按阶段顺序) and has not been opened by the record yet?"""
    return row.state == State.pending.value and getattr(row, "next_event_at", False) is None


def state_then(row: Any, recorded: str | None, as_of: datetime) -> State:
    """An assignment's state at an earlier `as_of`: from the last state recorded by then, advanced to `as_of`."""
    then = SimpleNamespace(
        **{k: getattr(row, k) for k in ("open_at", "due_at", "reminders", "escalations")},
        state=recorded or State.pending.value,
        reminders_done=0,
        escalations_done=0,
    )
    return row_state_at(then, as_of)


def load_duties(
    engine: Engine,
    campaign: PlannedCampaign,
    as_of: datetime,
    *,
    units: list[str] | None = None,
    versions: Literal["none", "latest", "all"] = "none",
    history: bool = False,
) -> list[Duty]:
    """The campaign's duties (of `units`, or all) in the notice's order: stage, item, instance, unit; with
    `history`, as the record stood at `as_of` (see the module's docstring)."""
    as_of = utc(as_of)
    query = select(
        _A.c.id,
        _A.c.unit_code,
        _A.c.stage_id,
        _A.c.stage_order,
        _A.c.item_id,
        _A.c.instance,
        _A.c.role,
        _A.c.open_at,
        _A.c.due_at,
        _A.c.reminders,
        _A.c.escalations,
        _A.c.state,
        _A.c.reminders_done,
        _A.c.escalations_done,
        _A.c.next_event_at,
    ).where(_A.c.campaign_id == campaign.id)
    if units is not None:
        query = query.where(_A.c.unit_code.in_(units))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        ids = [r.id for r in rows] if units is not None else None
        found = _versions(conn, campaign.id, ids, versions, before=as_of if history else None)
        recorded = _recorded(conn, campaign.id, ids, as_of) if history else {}
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
            state_then(r, recorded.get(r.id), as_of) if history else row_state_at(r, as_of),
            found.get(r.id, []),
        )
        for r in rows
    ]
    duties.sort(key=lambda d: (order.get(d.item_id, len(order)), d.due_at, d.instance, unit_order.get(d.unit_code, 0)))
    return duties


def _recorded(conn, campaign_id: str, assignment_ids: list[int] | None, as_of: datetime) -> dict[int, str]:
    """Each assignment's last state recorded for an instant up to `as_of` (transitions in the order applied)."""
    if assignment_ids is not None and len(assignment_ids) > 900:
        found: dict[int, str] = {}
        for start in range(0, len(assignment_ids), 900):
            found |= _recorded(conn, campaign_id, assignment_ids[start : start + 900], as_of)
        return found
    mine = _T.c.assignment_id.in_(assignment_ids) if assignment_ids is not None else _T.c.campaign_id == campaign_id
    query = (
        select(_T.c.assignment_id, _T.c.to_state).where(mine, _T.c.event_at <= as_of).order_by(_T.c.event_at, _T.c.id)
    )
    return {assignment_id: state for assignment_id, state in conn.execute(query)}


def _versions(
    conn, campaign_id: str, assignment_ids: list[int] | None, which: str, before: datetime | None = None
) -> dict[int, list[Version]]:
    """Versions of the given assignments (through the submission's assignment index), or of the whole campaign;
    only those handed in by `before`, when given."""
    if which == "none" or assignment_ids == []:
        return {}
    if assignment_ids is not None and len(assignment_ids) > 900:
        found: dict[int, list[Version]] = {}
        for start in range(0, len(assignment_ids), 900):
            found |= _versions(conn, campaign_id, assignment_ids[start : start + 900], which, before)
        return found
    mine = _S.c.assignment_id.in_(assignment_ids) if assignment_ids is not None else _S.c.campaign_id == campaign_id
    if before is not None:
        mine = mine & (_S.c.submitted_at <= utc(before))
    query = select(_S).where(mine)
    if which == "latest":
        newest = (
            select(_S.c.assignment_id, func.max(_S.c.version).label("v"))
            .where(mine)
            .group_by(_S.c.assignment_id)
            .subquery()
        )
        query = query.join(newest, (newest.c.assignment_id == _S.c.assignment_id) & (newest.c.v == _S.c.version))
    found = {}
    for r in conn.execute(query.order_by(_S.c.assignment_id, _S.c.version)):
        found.setdefault(r.assignment_id, []).append(
            Version(r.id, r.version, r.submitted_at, r.late, list(r.files or []), dict(r.metrics or {}), r.actor)
        )
    return found


def submission(engine: Engine, submission_id: int) -> tuple[str, str, str, Version] | None:
    """(campaign, unit, item, version) of a submission, or None."""
    with engine.connect() as conn:
        r = conn.execute(select(_S).where(_S.c.id == submission_id)).first()
    if r is None:
        return None
    return (
        r.campaign_id,
        r.unit_code,
        r.item_id,
        Version(r.id, r.version, r.submitted_at, r.late, list(r.files or []), dict(r.metrics or {}), r.actor),
    )
