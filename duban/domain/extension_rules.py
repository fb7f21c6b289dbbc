"""延期申请 (extension request) rules. Pure: the instants are passed in, nothing reads the clock or a database.

    pending ──approve [until ≤ asked]──▶ approved   (the unit's due, reminders and escalations move: state.reschedule)
       └─────deny──────────────────────▶ denied     (the due stands)

A unit may ask while it still owes the item and its due has not passed, for a due later than the present one and
no later than the limit (`extensions: {max: …}`, counted from the due as planned); one request waits at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from duban.domain.state import State
from duban.errors import RequestError
from duban.instants import fmt
from duban.spec.models import Campaign, Extensions, Item


class ExtensionStatus(str, Enum):
    pending = "pending"
    approved = "approved"
    denied = "denied"
    # the due moved to or past the date asked (a 退回, a lead's extension) or the item is finished (审核通过, an on-time
    # hand-in, a 免报): nothing to approve
    settled = "settled"

    @property
    def cn(self) -> str:
        return {"pending": "待审批", "approved": "已批准", "denied": "未批准", "settled": "不再需要"}[self.value]


def policy(campaign: Campaign, item: Item) -> Extensions | None:
    """The item's extension policy: its own, else the campaign's; None when the notice allows none."""
    chosen = item.extensions if item.extensions is not None else campaign.extensions
    return chosen if chosen is not None and chosen.allowed else None


@dataclass(frozen=True)
class Ask:
    """What is known when a unit asks."""

    state: State
    due_at: datetime  # the due in force
    at: datetime  # when it asks
    until: datetime  # the due it asks for
    limit: datetime | None  # the latest due the notice allows (None: no limit)
    waiting: bool  # a request of this assignment already waits for a decision


def check_request(ask: Ask, policy_: Extensions | None, tz: str) -> None:
    """Refuse (RequestError, with the reason in English and Chinese) a request the notice does not allow."""
    if policy_ is None:
        raise RequestError(
            "the notice allows no extension of this item (the spec has no `extensions:`)",
            cn="本通知未规定可申请延期，如确有困难请与通知的联系人联系",
        )
    if ask.state.finished:
        raise RequestError(
            f"nothing to extend: the item is {ask.state.value}", cn=f"本事项{ask.state.cn}，无需申请延期"
        )
    if ask.at > ask.due_at:
        due = fmt(ask.due_at, tz)
        raise RequestError(
            f"the due {due} has passed: an extension is asked before the due",
            cn=f"截止时间（{due}）已过，延期申请须在截止前提出",
        )
    if ask.waiting:
        raise RequestError(
            "a request for this item already waits for a decision", cn="本事项已有一份延期申请正在审批，请等待答复"
        )
    if ask.until <= ask.due_at:
        raise RequestError(
            f"{fmt(ask.until, tz)} is not later than the due {fmt(ask.due_at, tz)}",
            cn=f"申请的日期须晚于现在的截止时间（{fmt(ask.due_at, tz)}）",
        )
    if ask.limit is not None and ask.until > ask.limit:
        raise RequestError(
            f"{fmt(ask.until, tz)} is beyond the campaign's limit on extensions (extensions.max: {policy_.max} "
            f"after the planned due, {fmt(ask.limit, tz)})",
            cn=f"超过本次工作允许的最长延期（{policy_.max}，最晚{fmt(ask.limit, tz)}）",
        )


def check_decision(
    status: ExtensionStatus,
    *,
    due_at: datetime,
    asked: datetime,
    granted: datetime | None,
    tz: str,
    requested_at: datetime | None = None,
    at: datetime | None = None,
) -> None:
    """Refuse a decision on a request already decided, one dated before the request was made, or an approval
    later than asked or not past the due."""
    if status is not ExtensionStatus.pending:
        raise RequestError(f"the request was {status.value} already", cn=f"该申请{status.cn}，不能再次审批")
    if requested_at is not None and at is not None and at < requested_at:
        raise RequestError(
            f"the decision ({fmt(at, tz)}) is dated before the request was made ({fmt(requested_at, tz)})",
            cn=f"审批时间不能早于申请时间（{fmt(requested_at, tz)}）",
        )
    if granted is None:
        return
    if granted > asked:
        raise RequestError(
            f"{fmt(granted, tz)} is later than the unit asked ({fmt(asked, tz)})",
            cn=f"批准的日期不能晚于申请的日期（{fmt(asked, tz)}）",
        )
    if granted <= due_at:
        raise RequestError(
            f"{fmt(granted, tz)} is not later than the due {fmt(due_at, tz)}: deny it instead",
            cn=f"批准的日期须晚于原截止时间（{fmt(due_at, tz)}）",
        )
