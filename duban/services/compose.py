"""Compose messages: one outbox row per recipient per tick, listing all its items (no spam).

Intents not yet in a message are grouped by recipient; each group becomes one message whose kind is the
most urgent of its intents and whose idempotency key is derived from the intents it carries, so composing
twice (or after a crash) can never produce a second message for the same intents.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime

from sqlalchemy import Engine, select

from duban.domain.quiet import QuietHours
from duban.instants import utc
from duban.settings import quiet_policy
from duban.store.codec import SQLITE_BY_CASE, Codec
from duban.store.db import unit_of_work
from duban.store.engine import is_postgres
from duban.store.tables import CampaignRow
from duban.views.campaigns import PlannedCampaign

URGENCY = (
    "escalation",
    "ack_escalation",
    "overdue",
    "ack_reminder",
    "review_reminder",
    "returned",
    "amended",
    "extension",
    "reminder",
    "opened",
    "accepted",
    "receipt",
)


OPERATORS_DISPLAY = "督办工作人员"  # the operators, as messages to them are addressed

_SELECT_PENDING = (
    "SELECT i.id, i.recipient, i.kind, i.step, i.event_at, a.item_id, a.instance, a.unit_code, a.due_at "
    "FROM intent i JOIN assignment a ON a.id = i.assignment_id "
    "WHERE i.campaign_id = ? AND i.message_id IS NULL"
)
_ANY_PENDING = "SELECT 1 FROM intent WHERE campaign_id = ? AND message_id IS NULL LIMIT 1"
_OUTBOX_COLUMNS = (
    "campaign_id",
    "recipient",
    "kind",
    "idempotency_key",
    "payload",
    "created_at",
    "not_before",
    "status",
    "attempts",
)


def compose_messages(
    engine: Engine,
    campaign_id: str,
    as_of: datetime,
    *,
    quiet: QuietHours | None = None,
    recipients: list[str] | None = None,
) -> int:
    """Turn pending intents into messages; returns how many messages were written.

    A message that is not urgent and is composed in quiet hours waits for their end (`quiet`, by default the
    settings' DUBAN_QUIET_HOURS and DUBAN_URGENT_KINDS); the dispatcher applies the same policy again at the send.

    Most recipients of a tick have one pending intent (a stage opening: one item per unit); their messages are
    built by the database itself (INSERT … SELECT with its JSON functions). Recipients with several intents
    are grouped here, their items in stage order.
    """
    as_of = utc(as_of)
    if recipients is not None and not recipients:
        return 0
    quiet = quiet_policy(quiet)
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        if is_postgres(conn):
            # Composers of one campaign take turns: two at once would each take part of a unit's intents
            # and send it two messages for one tick. The second finds them composed already.
            codec.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"duban.compose.{campaign_id}",))
        if not codec.select(_ANY_PENDING, (campaign_id,)):  # an idle tick: one probe of ix_intent_pending
            return 0
        tz = conn.execute(select(CampaignRow.timezone).where(CampaignRow.id == campaign_id)).scalar_one()
        by_database = recipients is None and (SQLITE_BY_CASE or not codec.sqlite)
        written = _write_singles(codec, campaign_id, tz, as_of, quiet) if by_database else 0
        sql, params = _SELECT_PENDING, [campaign_id]
        if recipients is not None:
            sql += f" AND i.recipient IN ({', '.join('?' * len(recipients))})"
            params += recipients
        sql += " ORDER BY i.recipient, a.stage_order, i.id"
        if is_postgres(conn):
            sql += " FOR UPDATE OF i SKIP LOCKED"
        groups: dict[str, list] = defaultdict(list)
        for row in codec.select(sql, params):
            groups[row[1]].append(row)
        if groups:
            written += _write(codec, campaign_id, tz, groups, as_of, quiet)
        return written


_MIX = 1540483477  # odd and below 2**31: (id mod 2**32) × _MIX stays within a signed 64-bit integer


def message_key(campaign_id: str, recipient: str, intent_ids) -> str:
    """The idempotency key of the message carrying these intents (the same however often it is composed).

    Most messages carry one intent (a stage opening: one per unit); their key is built from that intent alone,
    in a form the database can compute itself (SQLite has no hash function): the id scrambled into eight hex
    digits (the 编号 staff see begins with them, so neighbouring messages do not look alike), a digest of the
    campaign, the id in hex. Several intents: a digest of the campaign, the recipient and the ids.
    """
    ids = sorted(intent_ids)
    if len(ids) == 1:
        return f"{ids[0] % 2**32 * _MIX % 2**32:08x}{_campaign_tag(campaign_id)}{ids[0]:x}"
    text = f"{campaign_id}|{recipient}|{','.join(map(str, ids))}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _campaign_tag(campaign_id: str) -> str:
    return hashlib.sha256(campaign_id.encode()).hexdigest()[:20]


_SQLITE_KEY = f"printf('%08x', i.id % 4294967296 * {_MIX} % 4294967296) || ? || printf('%x', i.id)"
_PG_KEY = f"lpad(to_hex(i.id::bigint % 4294967296 * {_MIX} % 4294967296), 8, '0') || ? || to_hex(i.id)"


_SINGLES = (  # the pending intents whose recipient has no other pending intent (a window count: no self-join)
    "FROM (SELECT id, COUNT(*) OVER (PARTITION BY recipient) AS n FROM intent "
    "WHERE campaign_id = ? AND message_id IS NULL) AS s "
    "JOIN intent AS i ON i.id = s.id JOIN assignment AS a ON a.id = i.assignment_id WHERE s.n = 1"
)
_ALL_PENDING = (  # when no recipient has two pending intents (a stage opening), every pending intent is a single
    "FROM intent AS i JOIN assignment AS a ON a.id = i.assignment_id WHERE i.campaign_id = ? AND i.message_id IS NULL"
)
_ALL_PENDING_IDS = "FROM intent AS i WHERE i.campaign_id = ? AND i.message_id IS NULL"
_ANY_SHARED = (
    "SELECT 1 FROM intent WHERE campaign_id = ? AND message_id IS NULL GROUP BY recipient HAVING COUNT(*) > 1 LIMIT 1"
)
_SQLITE_ISO = "replace({0}, ' ', 'T') || '+00:00'"  # the stored naive-UTC text as Codec.iso writes it
_PG_ISO = (
    "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_part('microseconds', {0}) "
    "::bigint % 1000000 = 0 THEN '' ELSE to_char({0} AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)


def _write_singles(codec: Codec, campaign_id: str, tz: str, as_of: datetime, quiet: QuietHours) -> int:
    """Messages for the recipients with exactly one pending intent, written by the database in two statements
    (one on Postgres); the payload and the key are the ones `_write` would give them."""
    now = codec.instant(as_of)
    deferred = codec.instant(quiet.end_after(as_of, tz))
    kinds = sorted(quiet.urgent) or [""]
    not_before = f"CASE WHEN i.kind IN ({', '.join('?' * len(kinds))}) THEN ? ELSE ? END"
    iso = _SQLITE_ISO if codec.sqlite else _PG_ISO
    obj = "json_object" if codec.sqlite else "json_build_object"
    as_of_text = "?" if codec.sqlite else "?::text"
    payload = (
        f"{obj}('recipient', i.recipient, 'kind', i.kind, 'as_of', {as_of_text}, 'items', "
        f"{'json_array' if codec.sqlite else 'json_build_array'}({obj}('kind', i.kind, 'step', i.step, "
        "'item_id', a.item_id, 'instance', a.instance, 'unit', a.unit_code, "
        f"'due_at', {iso.format('a.due_at')}, 'event_at', {iso.format('i.event_at')})))"
    )
    columns = ", ".join(("id", *_OUTBOX_COLUMNS))
    head = [campaign_id]
    values = [codec.iso(as_of), now, *kinds, now, deferred]
    if codec.sqlite:
        top = codec.reserve_ids("outbox", 1)[0] - 1
        # The write lock is held since BEGIN, so the pending intents cannot change between these statements.
        # When no recipient shares (a stage opening), every pending intent is a single and its message id is
        # its own id shifted past the outbox's last (ids stay in intent order, gaps are harmless): no window.
        if codec.select(_ANY_SHARED, head):
            mid, picked, linked = "? + ROW_NUMBER() OVER (ORDER BY i.id)", _SINGLES, _SINGLES
            shift = top
        else:
            mid, picked, linked = "? + i.id", _ALL_PENDING, None
            shift = top + 1 - codec.select(f"SELECT MIN(i.id) {_ALL_PENDING_IDS}", head)[0][0]
        count = codec.execute(
            f"INSERT INTO outbox ({columns}) SELECT {mid}, i.campaign_id, i.recipient, i.kind, "
            f"{_SQLITE_KEY}, {payload}, ?, {not_before}, 'pending', 0 {picked}",
            [shift, _campaign_tag(campaign_id), *values, *head],
        ).rowcount
        if count and linked is None:  # every pending intent went into a message: no join to find which
            codec.execute(
                "UPDATE intent SET message_id = id + ? WHERE campaign_id = ? AND message_id IS NULL", [shift, *head]
            )
        elif count:
            codec.execute(
                f"UPDATE intent SET message_id = r.mid FROM (SELECT i.id AS id, {mid} AS mid {linked}) AS r "
                "WHERE intent.id = r.id",
                [shift, *head],
            )
        return count
    return codec.select(
        f"WITH picked AS (SELECT i.id, nextval(pg_get_serial_sequence('outbox', 'id')) AS mid {_SINGLES}), "
        f"messages AS (INSERT INTO outbox ({columns}) SELECT p.mid, i.campaign_id, i.recipient, i.kind, {_PG_KEY}, "
        f"{payload}, ?::timestamptz, {not_before}::timestamptz, 'pending', 0 FROM picked AS p "
        "JOIN intent AS i ON i.id = p.id JOIN assignment AS a ON a.id = i.assignment_id RETURNING 1), "
        "linked AS (UPDATE intent SET message_id = p.mid FROM picked AS p WHERE intent.id = p.id RETURNING 1) "
        "SELECT (SELECT count(*) FROM messages)",
        [*head, _campaign_tag(campaign_id), *values],
    )[0][0]


def _urgent_apart(groups, urgent: frozenset[str]) -> list:
    """Each recipient's rows, the urgent ones and the others as two messages where both are there."""
    split = []
    for recipient, rows in groups:
        now = [r for r in rows if r[2] in urgent]
        later = [r for r in rows if r[2] not in urgent]
        split.extend((recipient, part) for part in (now, later) if part)
    return split


def _write(codec: Codec, campaign_id: str, tz: str, groups, as_of, quiet: QuietHours) -> int:
    deferred = codec.instant(quiet.end_after(as_of, tz))
    now = codec.instant(as_of)
    as_of_iso = codec.iso(as_of)
    iso = codec.iso_of_stored
    messages, links = [], []
    pairs = groups.items()
    if deferred != now:  # in quiet hours: a unit's urgent items go now, the rest in their own message after
        pairs = _urgent_apart(pairs, quiet.urgent)
    for recipient, rows in pairs:
        # row: id, recipient, kind, step, event_at, item_id, instance, unit_code, due_at (see _SELECT_PENDING)
        kind = rows[0][2] if len(rows) == 1 else min((r[2] for r in rows), key=URGENCY.index)
        ids = [r[0] for r in rows]
        key = message_key(campaign_id, recipient, ids)
        items = [
            {
                "kind": r[2],
                "step": r[3],
                "item_id": r[5],
                "instance": r[6],
                "unit": r[7],
                "due_at": iso(r[8]),
                "event_at": iso(r[4]),
            }
            for r in rows
        ]
        payload = {"recipient": recipient, "kind": kind, "as_of": as_of_iso, "items": items}
        messages.append(
            (
                campaign_id,
                recipient,
                kind,
                key,
                codec.json(payload),
                now,
                now if kind in quiet.urgent else deferred,
                "pending",
                0,
            )
        )
        links.append(ids)
    message_ids = codec.reserve_ids("outbox", len(messages))
    codec.insert("outbox", ("id", *_OUTBOX_COLUMNS), ((mid, *row) for mid, row in zip(message_ids, messages)))
    codec.update(
        "intent",
        ("message_id",),
        ((mid, intent_id) for mid, intent_ids in zip(message_ids, links) for intent_id in intent_ids),
    )
    return len(messages)


def describe(campaign: PlannedCampaign, payload: dict) -> dict:
    """The payload with what templates show: stage and item names, formats, units' names, where to send."""
    items = {item.id: (stage, item) for stage, item in campaign.spec.items()}
    described = []
    stages = {stage.id: stage.name for stage in campaign.spec.stages}
    for entry in payload.get("items", []):
        if entry["kind"].startswith("ack_"):  # 签收 of a stage's opening ('' : of the notice)
            described.append(
                {
                    **entry,
                    "stage": stages.get(entry.get("stage_id") or "", "通知"),
                    "item": "收到通知后签收",
                    "unit_display": campaign.display(entry["unit"]),
                    "formats": [],
                    "stamped": False,
                    "submit_to": None,
                    "note": None,
                }
            )
            continue
        stage, item = items.get(entry["item_id"], (None, None))
        described.append(
            {
                **entry,
                "stage": stage.name if stage else "",
                "item": item.name if item else entry["item_id"],
                "unit_display": campaign.display(entry["unit"]),
                "formats": list(item.formats) if item else [],
                "stamped": bool(item and item.stamped),
                "submit_to": campaign.display(_code(campaign, item.submit_to)) if item and item.submit_to else None,
                "note": item.note if item else None,
            }
        )
    recipient = payload["recipient"]
    display = OPERATORS_DISPLAY if recipient == "operators" else campaign.display(recipient)
    return {**payload, "recipient_display": display, "items": described}


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
