"""Compose messages: one outbox row per recipient per tick, listing all its items (no spam).

Intents not yet in a message are grouped by recipient; each group becomes one message whose kind is the
most urgent of its intents and whose idempotency key is derived from the intents it carries, so composing
twice (or after a crash) can never produce a second message for the same intents.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from duban.campaigns import PlannedCampaign
from duban.fastsql import Codec
from duban.instants import in_zone, parse_clock, utc
from duban.store import is_postgres, unit_of_work
from duban.tables import CampaignRow

URGENCY = ("escalation", "overdue", "amended", "reminder", "opened", "receipt")


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


_SELECT_PENDING = (
    "SELECT i.id, i.recipient, i.kind, i.step, i.event_at, a.item_id, a.instance, a.unit_code, a.due_at "
    "FROM intent i JOIN assignment a ON a.id = i.assignment_id "
    "WHERE i.campaign_id = ? AND i.message_id IS NULL"
)
_OUTBOX_COLUMNS = ("campaign_id", "recipient", "kind", "idempotency_key", "payload", "created_at", "not_before",
                   "status", "attempts")  # fmt: skip


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
        codec = Codec(conn)
        sql, params = _SELECT_PENDING, [campaign_id]
        if recipients is not None:
            sql += f" AND i.recipient IN ({', '.join('?' * len(recipients))})"
            params += recipients
        sql += " ORDER BY i.recipient, a.stage_order, i.id"
        if is_postgres(conn):
            # Composers of one campaign take turns: two at once would each take part of a unit's intents
            # and send it two messages for one tick. The second finds them composed already.
            codec.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"duban.compose.{campaign_id}",))
            sql += " FOR UPDATE OF i SKIP LOCKED"
        groups: dict[str, list] = defaultdict(list)
        for row in codec.select(sql, params):
            groups[row[1]].append(row)
        if not groups:
            return 0
        tz = conn.execute(select(CampaignRow.timezone).where(CampaignRow.id == campaign_id)).scalar_one()
        return _write(codec, campaign_id, tz, groups, as_of, quiet_hours, urgent)


def _write(codec: Codec, campaign_id: str, tz: str, groups, as_of, quiet_hours, urgent) -> int:
    deferred = codec.instant(quiet_until(as_of, tz, quiet_hours))
    now = codec.instant(as_of)
    as_of_iso = codec.iso(as_of)
    iso = codec.iso_of_stored
    messages, links = [], []
    for recipient, rows in groups.items():
        # row: id, recipient, kind, step, event_at, item_id, instance, unit_code, due_at (see _SELECT_PENDING)
        kind = rows[0][2] if len(rows) == 1 else min((r[2] for r in rows), key=URGENCY.index)
        ids = [r[0] for r in rows]
        key = hashlib.sha256(f"{campaign_id}|{recipient}|{','.join(map(str, sorted(ids)))}".encode()).hexdigest()[:32]
        items = [{"kind": r[2], "step": r[3], "item_id": r[5], "instance": r[6], "unit": r[7], "due_at": iso(r[8]),
                  "event_at": iso(r[4])} for r in rows]  # fmt: skip
        payload = {"recipient": recipient, "kind": kind, "as_of": as_of_iso, "items": items}
        messages.append((campaign_id, recipient, kind, key, codec.json(payload), now,
                         now if kind in urgent else deferred, "pending", 0))  # fmt: skip
        links.append(ids)
    message_ids = codec.reserve_ids("outbox", len(messages))
    codec.insert("outbox", ("id", *_OUTBOX_COLUMNS), ((mid, *row) for mid, row in zip(message_ids, messages)))
    codec.update("intent", ("message_id",), (
        (mid, intent_id) for mid, intent_ids in zip(message_ids, links) for intent_id in intent_ids
    ))  # fmt: skip
    return len(messages)


def describe(campaign: PlannedCampaign, payload: dict) -> dict:
    """The payload with what templates show: stage and item names, formats, units' names, where to send."""
    items = {item.id: (stage, item) for stage, item in campaign.spec.items()}
    described = []
    for entry in payload.get("items", []):
        stage, item = items.get(entry["item_id"], (None, None))
        described.append({
            **entry,
            "stage": stage.name if stage else "",
            "item": item.name if item else entry["item_id"],
            "unit_display": campaign.display(entry["unit"]),
            "formats": list(item.formats) if item else [],
            "stamped": bool(item and item.stamped),
            "submit_to": campaign.display(_code(campaign, item.submit_to)) if item and item.submit_to else None,
            "note": item.note if item else None,
        })  # fmt: skip
    return {**payload, "recipient_display": campaign.display(payload["recipient"]), "items": described}


def _code(campaign: PlannedCampaign, ref: str) -> str:
    """A spec's unit reference (group, code or name) as a code when it names one unit."""
    if ref in campaign.units:
        return ref
    group = campaign.spec.groups.get(ref)
    if group is not None and group.ref and group.ref in campaign.units:
        return group.ref
    for code, unit in campaign.units.items():
        if ref == unit.display:
            return code
    return ref
