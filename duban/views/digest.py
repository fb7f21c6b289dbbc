"""The operators' daily digest (每日督办简报): one message per campaign each morning.

Where each stage stands (submitted, late, overdue, open), the units overdue longest, the outcomes the notice's
rules decided (约谈, 通报批评 …, units per rule), the escalations and submissions of the last day, the 延期申请
waiting for a decision, and messages the channels refused (dead letters). It is an outbox message like
any other (recipient `operators`, kind `digest`), keyed by campaign and local date: composing twice on one
day writes one message.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from duban.domain.state import State
from duban.instants import in_zone, utc
from duban.services.extension import requests_of
from duban.store.core import core_table
from duban.store.db import reading, unit_of_work
from duban.store.tables import Assignment, OutboxMessage, Submission
from duban.views.status import status_report

OVERDUE_LISTED = 15  # units: a phone screen's worth; the rest are counted
DEAD_REASONS_LISTED = 5  # kinds of refusal (an invalid key, a wrong signature …), each with the units it cut off


def campaigns_with_open_work(engine: Engine) -> list[str]:
    """The campaigns with an item still open, due soon or overdue: those a daily digest is written for."""
    a = core_table(Assignment)
    with reading(engine) as conn:
        return list(
            conn.execute(
                select(a.c.campaign_id).where(a.c.state.in_(("open", "due_soon", "overdue"))).distinct()
            ).scalars()
        )


def compose_digest(engine: Engine, campaign_id: str, as_of: datetime) -> bool:
    """Write today's digest for the campaign's operators; False when it already exists."""
    as_of = utc(as_of)
    report = status_report(engine, campaign_id, as_of)
    campaign = report.campaign
    day = in_zone(as_of, campaign.tz).date()
    key = hashlib.sha256(f"{campaign_id}|digest|{day.isoformat()}".encode()).hexdigest()[:32]
    since = as_of - timedelta(days=1)
    o = core_table(OutboxMessage)
    with unit_of_work(engine) as conn:
        if conn.execute(select(o.c.id).where(o.c.idempotency_key == key)).first():
            return False
        status_counts: dict[str, int] = dict(
            conn.execute(
                select(o.c.status, func.count()).where(o.c.campaign_id == campaign_id).group_by(o.c.status)
            ).all()
        )
        escalations = conn.execute(
            select(func.count()).where(
                o.c.campaign_id == campaign_id,
                o.c.kind == "escalation",
                o.c.created_at > since,
                o.c.created_at <= as_of,
            )
        ).scalar_one()
        s = core_table(Submission)
        submissions = conn.execute(
            select(func.count()).where(
                s.c.campaign_id == campaign_id, s.c.submitted_at > since, s.c.submitted_at <= as_of
            )
        ).scalar_one()
        names = {stage.id: stage.name for stage in campaign.spec.stages}
        stages = [
            {
                "stage": names.get(stage_id, stage_id),
                "total": sum(c.values()),
                "done": c[State.submitted] + c[State.late] + c[State.excused],
                "late": c[State.late],
                "overdue": c[State.overdue],
                "open": c[State.open] + c[State.due_soon],
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
        a = core_table(Assignment)
        reviewing = conn.execute(
            select(func.count(), func.min(a.c.submitted_at)).where(
                a.c.campaign_id == campaign_id, a.c.state == "in_review"
            )
        ).one()
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
        conn.execute(
            insert(o).values(
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
        )
    return True


def _dead_letters(conn, campaign_id: str, display) -> list[dict]:  # noqa: ANN001
    """The campaign's dead letters grouped by what the channel said (its own words), the biggest group first:
    an invalid bot key shows once, with the units it cut off."""
    o = core_table(OutboxMessage)
    rows = conn.execute(
        select(o.c.last_error, o.c.recipient)
        .where(o.c.campaign_id == campaign_id, o.c.status == "dead")
        .order_by(o.c.id)
    ).all()
    groups: dict[str, list[str]] = {}
    for reason, recipient in rows:
        units = groups.setdefault((reason or "未知原因")[:160], [])
        if recipient not in units:
            units.append(recipient)
    ordered = sorted(groups.items(), key=lambda g: -len(g[1]))[:DEAD_REASONS_LISTED]
    return [
        {"reason": reason, "units": len(units), "names": [display(u) for u in units[:3]]} for reason, units in ordered
    ]
