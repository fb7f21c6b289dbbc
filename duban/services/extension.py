"""延期申请 (extension requests): a unit asks for a later due, the issuer's operators approve or deny it.

A request is kept with its reason and the due it was asked against; the rules (before the due, within the
campaign's limit `extensions.max`, one waiting at a time) are duban.extension_rules. An approval moves that unit's
due, reminders and escalations (only that unit's assignment), re-derives its state on the new schedule
(state.reschedule: an item overdue under the old due is open again; a late submission within the new due counts
as on time), records an
`extended` transition, and tells the unit in the same transaction; a denial tells the unit the due stands.
Every row is locked while it changes (PostgreSQL), so a decision and a tick at the same moment record both, once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duban.domain.extension_rules import Ask, ExtensionStatus, check_decision, check_request, policy
from duban.domain.messages import ROLE_KEY, SETTLED_KEY, WITH_LEAD_KEY
from duban.domain.quiet import QuietHours
from duban.domain.state import Progress, Schedule, State, next_event_at, reschedule
from duban.domain.timeline import Timeline
from duban.errors import CalendarGapError, RequestError
from duban.instants import fmt_cn, in_zone, utc
from duban.services.overdue_corrections import correct_overdue_notices, tell_extended
from duban.services.submit import owed_assignment
from duban.services.written import bounded
from duban.settings import quiet_policy
from duban.spec.models import Campaign, Item
from duban.store import extension_requests as store
from duban.store.assignments import record_rescheduled
from duban.store.codec import Codec
from duban.store.db import unit_of_work
from duban.store.unit_notices import write_notice
from duban.views.campaigns import load_campaign
from duban.views.extensions import Request, get_request

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection, Engine

    from duban.domain.state import Transition


@dataclass(frozen=True)
class Decision:
    """What a decision did: the request as decided, the unit's due before and after, its state before and after."""

    request: Request
    old_due: datetime
    new_due: datetime
    old_state: State
    new_state: State
    message_id: int
    # a late hand-in now on time, told 逾期 before: those who get a correction (duban.services.overdue_corrections)
    corrected: tuple[str, ...] = ()


def item_of(campaign: Campaign, item_id: str) -> Item:
    items = {item.id: item for _stage, item in campaign.items()}
    if item_id not in items:
        raise RequestError(
            f"campaign {campaign.id!r} has no item {item_id!r}; items: {', '.join(items)}",
            cn="本专项工作没有这一报送事项",
        )
    return items[item_id]


def timeline_of(engine: Engine, campaign_id: str, calendar_file: Path | None) -> Timeline:
    """The campaign's timeline with its working-day calendar (no plan: a national campaign has 41,568 units)."""
    from duban.domain.plan import load_calendar_for
    from duban.views.replanned import stored_spec

    spec = stored_spec(engine, campaign_id)
    return Timeline(spec.campaign, load_calendar_for(spec, calendar_file))


def _planned_due(conn: Connection, row: Any) -> datetime:
    """The due as planned: the one the first approved extension moved, else the one in force."""
    first = store.first_approved_due(conn, row.id)
    return first if first is not None else row.due_at


def request_extension(
    engine: Engine,
    campaign_id: str,
    unit_code: str,
    item_id: str,
    until: datetime,
    at: datetime,
    *,
    reason: str,
    instance: str | None = None,
    actor: str = "cli",
    calendar_file: Path | None = None,
) -> Request:
    """Record a unit's request for a later due, or refuse it (RequestError) with the reason."""
    reason = bounded(reason, option="--reason", field="理由") or ""
    if not reason:
        raise RequestError("give the reason for the extension (--reason)", cn="请填写申请延期的理由")
    at, until = utc(at), utc(until)
    campaign = load_campaign(engine, campaign_id, units=False)
    item = item_of(campaign.spec, item_id)
    allowed = policy(campaign.spec, item)
    timeline = timeline_of(engine, campaign_id, calendar_file) if allowed is not None and allowed.max else None
    with unit_of_work(engine) as conn:
        row = owed_assignment(conn, campaign_id, unit_code, item_id, instance)
        waiting = store.one_waiting(conn, row.id)
        limit, gap = None, None
        if timeline is not None and allowed is not None and allowed.max is not None:
            base = in_zone(_planned_due(conn, row), campaign.tz)
            try:
                limit = utc(timeline.shift(base, allowed.max, time(base.hour, base.minute)))
            except CalendarGapError as exc:  # the limit falls in a year without 节假日 data: later than any date
                gap = exc  # asked before that year, so only a date asked in (or after) it cannot be judged
        check_request(Ask(State(row.state), row.due_at, at, until, limit, waiting), allowed, campaign.tz)
        if gap is not None and in_zone(until, campaign.tz).year >= gap.year:
            raise RequestError(str(gap), cn=gap.cn)
        return Request.of(
            store.add_request(
                conn,
                campaign_id=campaign_id,
                assignment_id=row.id,
                unit_code=row.unit_code,
                item_id=row.item_id,
                instance=row.instance,
                requested_at=at,
                due_at=row.due_at,
                until=until,
                reason=reason,
                requested_by=actor[:80],
                status=ExtensionStatus.pending.value,
            )
        )


def decide_extension(
    engine: Engine,
    request_id: int,
    at: datetime,
    *,
    approve: bool,
    until: datetime | None = None,
    note: str | None = None,
    actor: str = "cli",
    quiet: QuietHours | None = None,
    calendar_file: Path | None = None,
) -> Decision:
    """Approve (with the date asked, or an earlier one) or deny a waiting request; the unit is told either way."""
    note = bounded(note, option="--note", field="审批意见")
    at = utc(at)
    first = get_request(engine, request_id)
    campaign = load_campaign(engine, first.campaign_id, units=False)
    item = item_of(campaign.spec, first.item_id)
    timeline = timeline_of(engine, first.campaign_id, calendar_file) if approve else None
    try:
        return _decide(engine, request_id, at, campaign, item, timeline, approve, until, note, actor, quiet)
    except CalendarGapError as gap:  # the reminders/escalations of the new due fall in a year without 节假日 data
        raise RequestError(
            str(gap),
            cn=f"{gap.year}年的节假日和调休安排尚未录入督办系统，无法推算新截止时间前后的提醒和催办，本次审批未办理。"
            f"请批准{gap.year}年之前的较早日期，或请管理员补录{gap.year}年日历后再审批",
        ) from None


def _decide(
    engine: Engine,
    request_id: int,
    at: datetime,
    campaign: Any,
    item: Item,
    timeline: Timeline | None,
    approve: bool,
    until: datetime | None,
    note: str | None,
    actor: str,
    quiet: QuietHours | None,
) -> Decision:
    with unit_of_work(engine) as conn:
        locked, row = store.locked_request(conn, request_id)
        request = Request.of(locked)
        if request.status is ExtensionStatus.settled:  # say why, not only that it is decided
            why = (request.note or "").removeprefix("不再需要：") or "不再需要"
            raise RequestError(
                f"request #{request_id} needs no decision any more ({why}): nothing was approved or denied",
                cn=f"该申请已不再需要（{why}），本次审批未办理",
            )
        finished = State(row.state)
        if request.status is ExtensionStatus.pending and finished in (State.submitted, State.excused):
            # kept waiting from before duban settled such requests: "同意延期" must not follow "审核通过，无需再报"
            raise RequestError(
                f"unit {row.unit_code}'s {row.item_id!r} is {finished.value} already: no extension is needed",
                cn=f"该单位本事项{finished.cn}，无需延期，本次审批未办理",
            )
        granted = utc(until) if (approve and until is not None) else (request.until if approve else None)
        check_decision(
            request.status,
            due_at=row.due_at,
            asked=request.until,
            granted=granted,
            tz=campaign.tz,
            requested_at=request.requested_at,
            at=at,
        )
        old_state = new_state = State(row.state)
        new_due = row.due_at
        corrected: tuple[str, ...] = ()
        if granted is not None and timeline is not None:
            new_due = granted
            new_state, _settled = move_due(  # `deciding` is kept; one request waits at a time
                conn,
                campaign.id,
                campaign.tz,
                row,
                item,
                timeline,
                granted,
                at,
                actor=f"{actor} 延期#{request_id}",
                step=request_id,
                change=lambda sch, pr: reschedule(sch, pr, at, submitted_at=row.submitted_at),
                deciding=request_id,
            )
            _move_cooperating(conn, campaign, item, timeline, row, request_id, granted, at, actor, quiet)
            if old_state is State.late and new_state is State.submitted:  # its late hand-in is now on time
                corrected = correct_overdue_notices(conn, campaign.id, row, row.submitted_at, at)
            elif not new_state.finished:  # still owed, by the new due: those its 催办 reached hear it rests
                tell_extended(conn, campaign.id, campaign.tz, row, request_id, granted, at, quiet_policy(quiet))
        status = ExtensionStatus.approved if approve else ExtensionStatus.denied
        decided = Request.of(
            store.record_decision(
                conn, request_id, status.value, at, decided_by=actor[:80], granted_until=granted, note=note
            )
        )
        message_id = _tell_unit(
            conn, campaign.id, campaign.tz, decided, row, new_due, new_state, at, quiet_policy(quiet)
        )
    return Decision(decided, row.due_at, new_due, old_state, new_state, message_id, corrected)


def move_due(
    conn: Connection,
    campaign_id: str,
    tz: str,
    row: Any,
    item: Item,
    timeline: Timeline,
    granted: datetime,
    at: datetime,
    *,
    actor: str,
    step: int,
    change: Callable[[Schedule, Progress], tuple[Transition, Progress]],
    deciding: int | None = None,
) -> tuple[State, list[int]]:
    """Move one assignment's due, reminders and escalations (targets as planned) and re-derive its state with
    `change(schedule, progress)` (state.reschedule for an extension, state.return_for_rework for a return): the
    state, and the ids of the waiting requests the new due settles (for the message telling the unit)."""
    due = in_zone(granted, tz)
    reminders = timeline.reminders(item, in_zone(row.open_at, tz), due)
    targets = [step[1] for step in (row.escalations or [])]
    steps = [(when, to) for (when, _kinds), to in zip(timeline.escalations(item, due), targets)]
    schedule = Schedule(row.open_at, granted, tuple(utc(t) for t in reminders), tuple(utc(w) for w, _to in steps))
    progress = Progress(State(row.state), row.reminders_done, row.escalations_done)
    change_, moved = change(schedule, progress)
    record_rescheduled(
        conn,
        campaign_id,
        row.id,
        change_,
        moved,
        at,
        due_at=granted,
        reminders=reminders,
        escalations=steps,
        next_event_at=next_event_at(schedule, moved),
        step=step,
        actor=actor[:80],
    )
    # a request waiting for a date the due now reaches can no longer be approved: settled here, not left stuck
    settled = store.settle_waiting(
        conn,
        row.id,
        granted,
        at,
        decided_by=actor[:80],
        note=f"不再需要：截止时间已延至{fmt_cn(granted, tz)}",
        keep=deciding,
    )
    return moved.state, settled


def settled_words(conn: Connection, ids: list[int]) -> list[dict]:
    """The 延期申请 a change just settled as 不再需要 (`ids`), as the unit's message about that change tells them
    (duban.domain.messages.SETTLED_KEY): the date asked and why no answer will come."""
    codec = Codec(conn)
    return [
        {"id": r.id, "until": codec.iso(r.until), "why": (r.note or "").removeprefix("不再需要：")}
        for r in store.settled_rows(conn, ids)
    ]


def _move_cooperating(
    conn: Connection,
    campaign: Any,
    item: Item,
    timeline: Timeline,
    lead: Any,
    request_id: int,
    granted: datetime,
    at: datetime,
    actor: str,
    quiet: QuietHours | None,
) -> None:
    """A 牵头 unit's extension moves the due of the 配合 bodies of its division with it, each told by a 截止时间调整
    (the 统计局 was told 逾期 while the 住建局 it works for still had three days: an outside tester's finding)."""
    for partner in store.cooperating_beside(conn, lead):
        if State(partner.state).finished:
            continue

        def change(schedule: Schedule, progress: Progress, p: Any = partner) -> tuple[Transition, Progress]:
            return reschedule(schedule, progress, at, submitted_at=p.submitted_at)

        moved, settled = move_due(
            conn,
            campaign.id,
            campaign.tz,
            partner,
            item,
            timeline,
            granted,
            at,
            actor=f"{actor} 延期#{request_id}（牵头单位{lead.unit_code}）",
            step=request_id,
            change=change,
        )
        codec = Codec(conn)
        entry = {
            "kind": "amended",
            "step": request_id,
            "item_id": partner.item_id,
            "instance": partner.instance,
            "unit": partner.unit_code,
            "due_at": codec.iso(granted),
            "old_due_at": codec.iso(partner.due_at),
            "state": moved.value,
            "event_at": codec.iso(at),
            ROLE_KEY: "cooperating",  # its message names the lead (duban.services.role_notes)
            WITH_LEAD_KEY: True,
            **({SETTLED_KEY: settled_words(conn, settled)} if settled else {}),
        }
        payload = {"recipient": partner.unit_code, "kind": "amended", "as_of": codec.iso(at), "items": [entry]}
        key = hashlib.sha256(f"{campaign.id}|{partner.unit_code}|with-lead#{request_id}".encode()).hexdigest()[:32]
        write_notice(
            conn,
            campaign.id,
            partner.id,
            partner.unit_code,
            "amended",
            step=request_id,
            key=key,
            payload=payload,
            at=at,
            not_before=quiet_policy(quiet).release("amended", at, campaign.tz),
        )


def _tell_unit(
    conn: Connection,
    campaign_id: str,
    tz: str,
    request: Request,
    row: Any,
    due: datetime,
    state: State,
    at: datetime,
    quiet: QuietHours,
) -> int:
    """One message (kind `extension`) to the unit with the decision, the due in force and the note."""
    codec = Codec(conn)
    entry = {
        "kind": "extension",
        "step": request.id,
        "item_id": row.item_id,
        "instance": row.instance,
        "unit": row.unit_code,
        "due_at": codec.iso(due),
        "old_due_at": codec.iso(row.due_at),
        "asked_until": codec.iso(request.until),
        "decision": request.status.value,
        "decision_note": request.note,
        "state": state.value,
        "event_at": codec.iso(at),
    }
    payload = {"recipient": row.unit_code, "kind": "extension", "as_of": codec.iso(at), "items": [entry]}
    key = hashlib.sha256(f"{campaign_id}|{row.unit_code}|extension#{request.id}".encode()).hexdigest()[:32]
    return write_notice(
        conn,
        campaign_id,
        row.id,
        row.unit_code,
        "extension",
        step=request.id,
        key=key,
        payload=payload,
        at=at,
        not_before=quiet.release("extension", at, tz),
    )
