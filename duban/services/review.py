"""审核与退回 (review and return): a reviewed item's submission stands 待审核 until the reviewer accepts or returns it.

The reviewer is the issuer's operators (the CLI, /ops) or, with `review: {by: parent}`, the unit's parent unit
through its own link — a county reviews its own townships and no other county's. Accepting makes the reviewed
version count when it was handed in (on time or late by the due in force). Returning needs a reason and makes the
item owed again by a new due (`within` after the return but never before the due it had, or an instant given):
that unit's due, reminders and
escalations move (extension.move_due), the unit is told the reason and the new due in the same transaction, and
the next ticks follow the new due. Every version and every review is kept; the assignment row is locked while it
changes (PostgreSQL), so a review and a tick at the same moment record both, once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duban.domain.messages import SETTLED_KEY
from duban.domain.quiet import QuietHours
from duban.domain.state import Progress, Schedule, State, accept, return_for_rework
from duban.errors import RequestError
from duban.instants import fmt, fmt_cn, in_zone, utc
from duban.services.extension import item_of, move_due, settled_words, timeline_of
from duban.services.overdue_corrections import correct_overdue_notices
from duban.services.written import bounded
from duban.settings import quiet_policy
from duban.spec.terms import Offset
from duban.store import extension_requests, review_rows as store
from duban.store.assignments import owed_rows, record_settled
from duban.store.codec import Codec
from duban.store.db import unit_of_work
from duban.store.unit_notices import write_notice
from duban.views.campaigns import load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from duban.spec.models import Item
    from duban.views.campaigns import PlannedCampaign


@dataclass(frozen=True)
class ReviewResult:
    """What a review did: the decision, the version reviewed, the unit's due and state before and after."""

    review_id: int
    decision: str  # accepted | returned
    unit_code: str
    item_id: str
    instance: str
    version: int
    reason: str | None
    old_due: datetime
    new_due: datetime
    old_state: State
    new_state: State
    # a return's `within` (the notice's 3个工作日内补报) gave this earlier instant, and the due in force was kept
    kept_over: datetime | None = None
    # accepted as on time, though told 逾期 before: those who get a correction (duban.services.overdue_corrections)
    corrected: tuple[str, ...] = ()


def may_review(campaign: PlannedCampaign, item: Item, unit_code: str, reviewer_unit: str | None) -> bool:
    """Operators (reviewer_unit None) review every reviewed item; a unit only its own children's, when the spec
    says `by: parent`."""
    if item.review is None:
        return False
    if reviewer_unit is None:
        return True
    unit = campaign.units.get(unit_code)
    return item.review.by == "parent" and unit is not None and unit.parent == reviewer_unit


def record_review(
    engine: Engine,
    campaign_id: str,
    unit_code: str,
    item_id: str,
    at: datetime,
    *,
    accept_it: bool,
    reason: str | None = None,
    within: Offset | None = None,
    until: datetime | None = None,
    reviewer: str = "cli",
    reviewer_unit: str | None = None,
    instance: str | None = None,
    version_seen: int | None = None,
    quiet: QuietHours | None = None,
    calendar_file: Path | None = None,
) -> ReviewResult:
    """Accept or return the unit's version waiting for review (see the module docstring); RequestError says why not.

    `version_seen`: the version the reviewer had in front of it (a page's form); a unit that handed in another
    since is refused, not decided on a file nobody opened (an outside tester's finding)."""
    at = utc(at)
    campaign = load_campaign(engine, campaign_id, units={unit_code, *([reviewer_unit] if reviewer_unit else [])})
    item = item_of(campaign.spec, item_id)
    if item.review is None:
        raise RequestError(f"item {item_id!r} is not reviewed (the spec gives it no `review:`)", cn="本事项无需审核")
    if not may_review(campaign, item, unit_code, reviewer_unit):
        raise RequestError(
            f"unit {reviewer_unit} does not review {unit_code}'s {item_id!r}: a unit reviews only its own "
            "children's items, when the spec says `review: {by: parent}`",
            cn="只能审核本单位所属下级单位的材料",
        )
    reason = bounded(reason, option="--reason", field="退回理由")
    if not accept_it and reason is None:
        raise RequestError("give the reason for the return (--reason)", cn="请填写退回的理由")
    if accept_it and reason is not None:  # Enter in the form's date box sends its first button, 审核通过
        raise RequestError(
            "a reason goes with a return (--reason with --return)",
            cn="退回理由只在退回时填写：要退回请点“退回重报”，审核通过请先清空退回理由",
        )
    if within is not None and within.amount <= 0:
        raise RequestError(
            f"--within {within} is not positive: the new due is a positive time after the return",
            cn="退回后的期限须为正数",
        )
    timeline = None if accept_it else timeline_of(engine, campaign_id, calendar_file)
    with unit_of_work(engine) as conn:
        rows = owed_rows(conn, campaign_id, unit_code, item_id, instance)
        row = next((r for r in rows if r.state == State.in_review.value), None)
        if row is None:
            raise RequestError(
                f"unit {unit_code} has nothing waiting for review on {item_id!r}", cn="该单位的这一事项没有待审核的材料"
            )
        version = store.latest_version(conn, row.id)
        if version_seen is not None and not 1 <= version_seen <= version.version:  # a forged or cut-off form
            there = f"第1版至第{version.version}版" if version.version > 1 else "第1版"
            raise RequestError(
                f"version: the form names version {version_seen}, and unit {unit_code} has versions 1 to "
                f"{version.version} of {item_id!r}: refresh the page and review the version it shows",
                cn=f"版本号：表单中的第{version_seen}版不存在（该单位这一事项现有{there}），请刷新页面后再审核",
            )
        if version_seen is not None and version_seen != version.version:
            raise RequestError(
                f"unit {unit_code} has handed in version {version.version} of {item_id!r} since version "
                f"{version_seen} was shown: review the version now waiting",
                cn=f"该单位已重新报送第{version.version}版（您看到的是第{version_seen}版），请刷新页面后再审核",
            )
        progress = Progress(State(row.state), row.reminders_done, row.escalations_done)
        new_due, kept_over = row.due_at, None
        corrected: tuple[str, ...] = ()
        settled: list[int] = []  # waiting 延期申请 the review makes 不再需要: its message says so
        if accept_it:
            change, moved = accept(Schedule(row.open_at, row.due_at), progress, at, submitted_at=version.submitted_at)
            record_settled(
                conn, campaign_id, row.id, change, moved.state, at, step=version.version, actor=reviewer[:80]
            )
            new_state = moved.state
            # nothing is owed now: a waiting 延期申请 is settled, never approved into "同意延期" after "审核通过"
            settled = extension_requests.settle_finished(
                conn,
                row.id,
                at,
                decided_by=f"{reviewer} 审核通过"[:80],
                note="不再需要：事项已审核通过",
                handed_in=version.submitted_at if new_state is State.late else None,
            )
            if new_state is State.submitted:  # on time after all: those told 逾期 (a 补登 hand-in) are corrected
                corrected = correct_overdue_notices(conn, campaign_id, row, version.submitted_at, at)
        else:
            assert timeline is not None  # read above for a return
            assert item.review is not None  # refused above otherwise
            local = in_zone(at, campaign.tz)
            if until is not None:
                new_due = utc(until)
                if new_due < row.due_at:  # handing in early must never shorten a unit's time
                    raise RequestError(
                        f"the new due {fmt(new_due, campaign.tz)} is earlier than the due in force "
                        f"{fmt(row.due_at, campaign.tz)}: a return never shortens a unit's time",
                        cn=f"新的截止时间不能早于原截止时间（{fmt_cn(row.due_at, campaign.tz)}）",
                    )
            else:  # `within` after the return, never earlier than the due the unit had anyway
                by_within = utc(
                    timeline.postponed(
                        timeline.shift(local, within or item.review.within, campaign.spec.defaults.due_time),
                        item.postpone or campaign.spec.defaults.postpone,
                    )
                )
                new_due = max(row.due_at, by_within)
                kept_over = by_within if by_within < row.due_at else None
            if new_due <= at:
                raise RequestError("the new due must lie after the return", cn="退回后的新截止时间须晚于现在")
            new_state, settled = move_due(
                conn,
                campaign_id,
                campaign.tz,
                row,
                item,
                timeline,
                new_due,
                at,
                actor=f"{reviewer} 退回"[:80],
                step=version.version,
                change=lambda sch, pr: return_for_rework(sch, pr, at),
            )
        decision = "accepted" if accept_it else "returned"
        review_id = store.add_review(
            conn,
            campaign_id=campaign_id,
            assignment_id=row.id,
            submission_id=version.id,
            unit_code=unit_code,
            item_id=item_id,
            instance=row.instance,
            decision=decision,
            reason=reason,
            due_before=row.due_at,
            new_due=None if accept_it else new_due,
            reviewer=reviewer[:80],
            at=at,
        )
        result = ReviewResult(
            review_id,
            decision,
            unit_code,
            item_id,
            row.instance,
            version.version,
            reason,
            row.due_at,
            new_due,
            State(row.state),
            new_state,
            kept_over,
            corrected,
        )
        _tell_unit(conn, campaign_id, campaign.tz, row, result, settled_words(conn, settled), at, quiet_policy(quiet))
        return result


def _tell_unit(
    conn: Connection,
    campaign_id: str,
    tz: str,
    row: Any,
    result: ReviewResult,
    settled: list[dict],
    at: datetime,
    quiet: QuietHours,
) -> int:
    """One message to the unit (kind `returned` or `accepted`) with the reason, the new due and the 延期申请 the
    review settled as 不再需要."""
    codec = Codec(conn)
    kind = result.decision
    entry = {
        "kind": kind,
        "step": result.review_id,
        "item_id": row.item_id,
        "instance": row.instance,
        "unit": row.unit_code,
        "due_at": codec.iso(result.new_due),
        "old_due_at": codec.iso(result.old_due),
        "version": result.version,
        "reason": result.reason,
        "state": result.new_state.value,
        "event_at": codec.iso(at),
        **({SETTLED_KEY: settled} if settled else {}),
    }
    payload = {"recipient": row.unit_code, "kind": kind, "as_of": codec.iso(at), "items": [entry]}
    key = hashlib.sha256(f"{campaign_id}|{row.unit_code}|review#{result.review_id}".encode()).hexdigest()[:32]
    return write_notice(
        conn,
        campaign_id,
        row.id,
        row.unit_code,
        kind,
        step=result.review_id,
        key=key,
        payload=payload,
        at=at,
        not_before=quiet.release(kind, at, tz),
    )
