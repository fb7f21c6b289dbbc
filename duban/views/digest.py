"""The operators' daily digest (每日督办简报): one message per campaign each morning.

Where each stage stands (submitted, late, overdue, open), the units overdue longest, the outcomes the notice's
rules decided (约谈, 通报批评 …, units per rule), the escalations and submissions of the last day, the 延期申请
waiting for a decision, and messages the channels refused (dead letters). It is an outbox message like
any other (recipient `operators`, kind `digest`), keyed by campaign and local date: composing twice on one
day writes one message.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from duban.domain.state import State
from duban.instants import in_zone, utc
from duban.store.campaigns import campaign_timezone
from duban.store.db import reading, unit_of_work
from duban.store.digest import (
    add_message,
    campaigns_in_states,
    dead_letters,
    in_review,
    last_dues,
    message_exists,
    message_with_key,
    messages_created,
    outbox_by_status,
    submissions_between,
)
from duban.views.extensions import requests_of
from duban.views.status import status_report

if TYPE_CHECKING:
    from sqlalchemy import Engine

OVERDUE_LISTED = 15  # units: a phone screen's worth; the rest are counted
DEAD_REASONS_LISTED = 5  # kinds of refusal (an invalid key, a wrong signature …), each with the units it cut off


CLOSED_AFTER = timedelta(days=30)  # after its last due a campaign's digest stops: 已逾期926天 each morning helps nobody


def campaigns_with_open_work(engine: Engine) -> list[str]:
    """The campaigns with an item still open, due soon or overdue (those past CLOSED_AFTER apart: closed_campaigns)."""
    return campaigns_in_states(engine, ("open", "due_soon", "overdue"))


def closed_campaigns(engine: Engine, campaign_ids: list[str], as_of: datetime) -> list[str]:
    """Those of `campaign_ids` whose last due is more than CLOSED_AFTER before `as_of` (the demo's 2024 campaign
    came in every morning's digest of 2026 with 已逾期926天: an outside tester's finding)."""
    dues = last_dues(engine, campaign_ids)
    return [campaign for campaign in campaign_ids if campaign in dues and dues[campaign] < utc(as_of) - CLOSED_AFTER]


def compose_digest(engine: Engine, campaign_id: str, as_of: datetime) -> bool:
    """Write today's digest for the campaign's operators; False when it already exists."""
    as_of = utc(as_of)
    report = status_report(engine, campaign_id, as_of)
    campaign = report.campaign
    day = in_zone(as_of, campaign.tz).date()
    key = _digest_key(campaign_id, day)
    since = as_of - timedelta(days=1)
    with unit_of_work(engine) as conn:
        if message_exists(conn, key):
            return False
        status_counts = outbox_by_status(conn, campaign_id)
        escalations = messages_created(conn, campaign_id, "escalation", since, as_of)
        submissions = submissions_between(conn, campaign_id, since, as_of)
        names = {stage.id: stage.name for stage in campaign.spec.stages}
        stages = [
            {  # each assignment in one of handed, excused, open, overdue, pending: the line adds up to its total
                "stage": names.get(stage_id, stage_id),
                "total": sum(c.values()),
                "done": c[State.submitted] + c[State.late] + c[State.excused],  # finished (kept for older readers)
                "handed": c[State.submitted] + c[State.late] + c[State.in_review],  # 已报, as status counts it
                "late": c[State.late],
                "in_review": c[State.in_review],
                "excused": c[State.excused],
                "overdue": c[State.overdue],
                "open": c[State.open] + c[State.due_soon],
                "pending": c[State.pending],
            }
            for stage_id, c in report.by_stage.items()
            if sum(c.values()) - c[State.pending]
        ]
        overdue_units: dict[str, list[dict]] = {}  # unit → its overdue items, the longest overdue first
        for code, stage, item, due in sorted(report.overdue, key=lambda row: (row[3], row[0])):
            overdue_units.setdefault(code, []).append(
                {"stage": names.get(stage, stage), "item": item, "due_at": utc(due).isoformat()}
            )
        dead = _dead_letters(conn, campaign_id, campaign.display)
        waiting = requests_of(conn, campaign_id, status="pending")
        reviewing = in_review(conn, campaign_id)
        payload = {
            "recipient": "operators",
            "kind": "digest",
            "as_of": as_of.isoformat(),
            "date": day.isoformat(),
            "stages": stages,
            "overdue_total": len(report.overdue),
            "overdue_units": len(overdue_units),
            "escalations": escalations,
            "submissions": submissions,
            "dead": status_counts.get("dead", 0),
            "failed": status_counts.get("failed", 0),
            "unconfirmed": status_counts.get("unconfirmed", 0),
            "dead_reasons": dead,
            "overdue": [{"unit": code, "items": items} for code, items in list(overdue_units.items())[:OVERDUE_LISTED]],
            "outcomes": list(report.loop.get("outcomes") or ()),  # 约谈, 通报批评 … per item and rule
            "in_review": reviewing[0],
            "in_review_since": utc(reviewing[1]).isoformat() if reviewing[1] else None,
            "extensions_total": len(waiting),
            "extensions": [
                {
                    "id": r.id,
                    "unit": r.unit_code,
                    "item": r.item_id,
                    "instance": r.instance,
                    "due_at": utc(r.due_at).isoformat(),
                    "until": utc(r.until).isoformat(),
                    "reason": r.reason[:80],
                }
                for r in waiting[:OVERDUE_LISTED]
            ],
        }
        add_message(
            conn,
            campaign_id=campaign_id,
            recipient="operators",
            kind="digest",
            idempotency_key=key,
            payload=payload,
            created_at=as_of,
            not_before=as_of,
            status="pending",
            attempts=0,
        )
    return True


def _digest_key(campaign_id: str, day: date) -> str:
    """The outbox key of a campaign's digest of one local day: composing twice on that day writes one message."""
    return hashlib.sha256(f"{campaign_id}|digest|{day.isoformat()}".encode()).hexdigest()[:32]


def todays_digest(engine: Engine, campaign_id: str, as_of: datetime) -> int | None:
    """The outbox id of the campaign's digest of `as_of`'s day in its zone, None when none was composed."""
    with reading(engine) as conn:
        tz = campaign_timezone(conn, campaign_id)
        return message_with_key(conn, _digest_key(campaign_id, in_zone(utc(as_of), tz).date()))


def _dead_letters(conn, campaign_id: str, display) -> list[dict]:  # noqa: ANN001
    """The campaign's dead letters grouped by what the channel said (its own words), the biggest group first:
    an invalid bot key shows once, with the units it cut off."""
    rows = dead_letters(conn, campaign_id)
    groups: dict[str, list[str]] = {}
    for reason, recipient in rows:
        units = groups.setdefault((reason or "未知原因")[:160], [])
        if recipient not in units:
            units.append(recipient)
    ordered = sorted(groups.items(), key=lambda g: -len(g[1]))[:DEAD_REASONS_LISTED]
    return [
        {"reason": reason, "units": len(units), "names": [display(u) for u in units[:3]]} for reason, units in ordered
    ]
