"""Compose messages: one outbox row per recipient per tick, listing all its items (no spam).

Intents not yet in a message are grouped by recipient; each group becomes one message whose kind is the
most urgent of its intents and whose idempotency key is derived from the intents it carries, so composing
twice (or after a crash) can never produce a second message for the same intents.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from duban.campaigns import PlannedCampaign, load_campaign
from duban.instants import in_zone, parse_clock, utc
from duban.store import is_postgres, unit_of_work
from duban.tables import Assignment, Intent, OutboxMessage

URGENCY = ("escalation", "overdue", "reminder", "opened", "receipt")
_I = Intent.__table__
_A = Assignment.__table__


def quiet_until(as_of: datetime, tz: str, quiet_hours: str) -> datetime:
    """When a non-urgent message composed at `as_of` may go out: the end of quiet hours if inside them."""
    start_text, _, end_text = quiet_hours.partition("-")
    start, end = parse_clock(start_text), parse_clock(end_text)
    local = in_zone(as_of, tz)
    now = local.time()
    inside = (start <= now or now < end) if start > end else (start <= now < end)
    if not inside:
        return utc(as_of)
    day = local.date() if now < end else local.date() + timedelta(days=1)
    release = local.set(year=day.year, month=day.month, day=day.day, hour=end.hour, minute=end.minute,
                        second=0, microsecond=0)  # fmt: skip
    return utc(release)


def compose_messages(
    engine: Engine,
    campaign_id: str,
    as_of: datetime,
    *,
    quiet_hours: str = "22:00-07:30",
    urgent: frozenset[str] = frozenset(),
    recipients: list[str] | None = None,
) -> int:
    """Turn pending intents into messages; returns how many messages were written."""
    as_of = utc(as_of)
    with unit_of_work(engine) as conn:
        query = (
            select(_I.c.id, _I.c.recipient, _I.c.kind, _I.c.step, _I.c.event_at,
                   _A.c.stage_id, _A.c.item_id, _A.c.instance, _A.c.unit_code, _A.c.due_at, _A.c.open_at,
                   _A.c.state)
            .join(_A, _A.c.id == _I.c.assignment_id)
            .where(_I.c.campaign_id == campaign_id, _I.c.message_id.is_(None))
            .order_by(_I.c.recipient, _A.c.stage_order, _I.c.id)
        )  # fmt: skip
        if recipients is not None:
            query = query.where(_I.c.recipient.in_(recipients))
        if is_postgres(conn):
            query = query.with_for_update(of=_I, skip_locked=True)
        groups: dict[str, list] = defaultdict(list)
        for row in conn.execute(query):
            groups[row.recipient].append(row)
        if not groups:
            return 0
        campaign = load_campaign(conn, campaign_id)
        return _write(conn, campaign, groups, as_of, quiet_hours, urgent)


def _write(conn: Connection, campaign: PlannedCampaign, groups, as_of, quiet_hours, urgent) -> int:
    items = {item.id: (stage, item) for stage, item in campaign.spec.items()}
    deferred = quiet_until(as_of, campaign.tz, quiet_hours)
    messages, links = [], []
    for recipient, rows in groups.items():
        kind = min((r.kind for r in rows), key=URGENCY.index)
        ids = sorted(r.id for r in rows)
        key = hashlib.sha256(f"{campaign.id}|{recipient}|{','.join(map(str, ids))}".encode()).hexdigest()[:32]
        payload = {
            "campaign_id": campaign.id,
            "recipient": recipient,
            "recipient_display": campaign.display(recipient),
            "kind": kind,
            "as_of": as_of.isoformat(),
            "items": [_item(campaign, items, r) for r in rows],
        }
        messages.append(
            dict(campaign_id=campaign.id, recipient=recipient, kind=kind, idempotency_key=key, payload=payload,
                 created_at=as_of, not_before=as_of if kind in urgent else deferred, status="pending", attempts=0)
        )  # fmt: skip
        links.append((key, ids))
    conn.execute(insert(OutboxMessage), messages)
    id_by_key = dict(
        conn.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.id).where(
                OutboxMessage.idempotency_key.in_([key for key, _ in links])
            )
        ).all()
    )
    conn.execute(
        update(_I).where(_I.c.id == bindparam("b_id")).values(message_id=bindparam("b_msg")),
        [dict(b_id=intent_id, b_msg=id_by_key[key]) for key, ids in links for intent_id in ids],
    )
    return len(messages)


def _item(campaign: PlannedCampaign, items: dict, row) -> dict:
    stage, item = items.get(row.item_id, (None, None))
    return {
        "kind": row.kind,
        "step": row.step,
        "stage": stage.name if stage else row.stage_id,
        "item_id": row.item_id,
        "item": item.name if item else row.item_id,
        "instance": row.instance,
        "unit": row.unit_code,
        "unit_display": campaign.display(row.unit_code),
        "event_at": utc(row.event_at).isoformat(),
        "open_at": utc(row.open_at).isoformat(),
        "due_at": utc(row.due_at).isoformat(),
        "state": row.state,
        "formats": list(item.formats) if item else [],
        "stamped": bool(item.stamped) if item else False,
        "via": item.via if item else "upload",
        "submit_to": campaign.display(_code(campaign, item.submit_to)) if item and item.submit_to else None,
        "note": item.note if item else None,
    }


def _code(campaign: PlannedCampaign, ref: str) -> str:
    """A spec's unit reference (group, code or name) as a code when it names one unit."""
    if ref in campaign.units:
        return ref
    group = campaign.spec.groups.get(ref)
    if group is not None and group.ref and group.ref in campaign.units:
        return group.ref
    for code, unit in campaign.units.items():
        if ref in (unit.display,):
            return code
    return ref

