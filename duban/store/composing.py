"""The statements of composing: the pending intents read, and messages written with their intents linked.

duban.services.compose decides what goes in a message (one per recipient per tick, the most urgent kind, quiet
hours); these statements read and write it. Most recipients of a tick have one pending intent (a stage opening:
one item per unit); their messages are built by the database itself (INSERT … SELECT with its JSON functions), with
the payload and key `write_messages` would give them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from duban.domain.message_keys import SINGLE, campaign_tag
from duban.domain.messages import RESPONSIBLE, ROLE_KEY
from duban.store.codec import Codec

OUTBOX_COLUMNS = (
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
_SELECT_PENDING = (
    "SELECT i.id, i.recipient, i.kind, i.step, i.event_at, a.item_id, a.instance, a.unit_code, a.due_at, a.role "
    "FROM intent i JOIN assignment a ON a.id = i.assignment_id "
    "WHERE i.campaign_id = ? AND i.message_id IS NULL"
)
_ANY_PENDING = "SELECT 1 FROM intent WHERE campaign_id = ? AND message_id IS NULL LIMIT 1"
_SQLITE_KEY = f"'{SINGLE}' || ? || printf('%012x', i.id)"  # duban.domain.message_keys.message_key of one intent
_PG_KEY = f"'{SINGLE}' || ? || lpad(to_hex(i.id::bigint), 12, '0')"  # intent ids are 32-bit here: never cut
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


ACK_BATCH = "ack:"  # a DraftRange of a tick's 签收 messages (duban.store.acknowledgements.draft_messages)
ACK_KINDS = "('ack_reminder', 'ack_escalation')"


def take_turn(codec: Codec, campaign_id: str) -> None:
    """PostgreSQL: composers of one campaign take turns (two at once would each take part of a unit's intents and
    send it two messages for one tick; the second finds them composed already). SQLite's writer is alone."""
    if not codec.sqlite:
        codec.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"duban.compose.{campaign_id}",))


def any_pending(codec: Codec, campaign_id: str) -> bool:
    """Whether an intent of the campaign waits for its message (an idle tick: one probe of ix_intent_pending)."""
    return bool(codec.select(_ANY_PENDING, (campaign_id,)))


def pending_rows(codec: Codec, campaign_id: str, recipients: Sequence[str] | None) -> list[Any]:
    """The pending intents (of `recipients`, when given), each recipient's in stage order, then in the plan's order
    of duties (so a tick spread over several transactions lists them as one does): (id, recipient, kind,
    step, event_at, item_id, instance, unit_code, due_at, role). PostgreSQL locks them (another composer skips them)."""
    sql, params = _SELECT_PENDING, [campaign_id]
    if recipients is not None:
        sql += f" AND i.recipient IN ({', '.join('?' * len(recipients))})"
        params += list(recipients)
    sql += " ORDER BY i.recipient, a.stage_order, i.assignment_id, i.id"
    if not codec.sqlite:
        sql += " FOR UPDATE OF i SKIP LOCKED"
    return codec.select(sql, params)


def pending_at_least(codec: Codec, campaign_id: str, count: int) -> bool:
    """Whether `count` intents of the campaign or more wait for their message (reads at most `count` entries of
    ix_intent_pending)."""
    sql = "SELECT 1 FROM intent WHERE campaign_id = ? AND message_id IS NULL LIMIT 1 OFFSET ?"
    return bool(codec.select(sql, (campaign_id, max(count - 1, 0))))


def write_singles(
    codec: Codec,
    campaign_id: str,
    as_of: datetime,
    deferred: datetime,
    urgent: Iterable[str],
    share: tuple[int, int] | None = None,
) -> int:
    """Messages for the recipients with exactly one pending intent, written by the database in two statements
    (one on PostgreSQL); the payload and the key are the ones `write_messages` would give them. A message of an
    `urgent` kind may go at `as_of`, the others at `deferred` (the end of quiet hours, or `as_of`).

    `share` (k, n), PostgreSQL: only the recipients whose name hashes to k of n, so that n transactions at once
    each write a share (every intent of a recipient is in the same share, and so is its count)."""
    now = codec.instant(as_of)
    later = codec.instant(deferred)
    kinds = sorted(urgent) or [""]
    not_before = f"CASE WHEN i.kind IN ({', '.join('?' * len(kinds))}) THEN ? ELSE ? END"
    payload = payload_sql(codec, "a" if codec.sqlite else "i")
    columns = ", ".join(("id", *OUTBOX_COLUMNS))
    head = [campaign_id]
    values = [codec.iso(as_of), now, *kinds, now, later]
    if codec.sqlite:
        top = codec.reserve_ids("outbox", 1)[0] - 1
        # The write lock is held since BEGIN, so the pending intents cannot change between these statements.
        # When no recipient shares (a stage opening), every pending intent is a single and its message id is
        # its own id shifted past the outbox's last (ids stay in intent order, gaps are harmless): no window.
        linked: str | None
        if codec.select(_ANY_SHARED, head):
            mid, picked, linked = "? + ROW_NUMBER() OVER (ORDER BY i.id)", _SINGLES, _SINGLES
            shift = top
        else:
            mid, picked, linked = "? + i.id", _ALL_PENDING, None
            shift = top + 1 - codec.select(f"SELECT MIN(i.id) {_ALL_PENDING_IDS}", head)[0][0]
        count: int = codec.execute(
            f"INSERT INTO outbox ({columns}) SELECT {mid}, i.campaign_id, i.recipient, i.kind, "
            f"{_SQLITE_KEY}, {payload}, ?, {not_before}, 'pending', 0 {picked}",
            [shift, campaign_tag(campaign_id), *values, *head],
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
    # One pass: the pending intents with their recipient's count and their assignment's fields, each single
    # given its message id; the messages and the intents' links are written from it (no second lookup).
    fields = (
        "i.id, i.campaign_id, i.recipient, i.kind, i.step, i.event_at, a.item_id, a.instance, a.unit_code, a.due_at, "
        "a.role"
    )
    written: int = codec.select(
        f"WITH pending AS (SELECT i.*, COUNT(*) OVER (PARTITION BY i.recipient) AS n FROM intent AS i "
        f"WHERE i.campaign_id = ? AND i.message_id IS NULL{_share(share)}), "
        f"picked AS MATERIALIZED (SELECT {fields}, nextval(pg_get_serial_sequence('outbox', 'id')) AS mid "
        "FROM pending AS i JOIN assignment AS a ON a.id = i.assignment_id WHERE i.n = 1), "
        f"messages AS (INSERT INTO outbox ({columns}) SELECT i.mid, i.campaign_id, i.recipient, i.kind, {_PG_KEY}, "
        f"{payload}, ?::timestamptz, {not_before}::timestamptz, 'pending', 0 FROM picked AS i RETURNING 1), "
        "linked AS (UPDATE intent SET message_id = p.mid FROM picked AS p WHERE intent.id = p.id RETURNING 1) "
        "SELECT (SELECT count(*) FROM messages)",
        [*head, campaign_tag(campaign_id), *values],
    )[0][0]
    return written


def _share(share: tuple[int, int] | None) -> str:
    """The condition that keeps a share's recipients (PostgreSQL's hashtext, made non-negative)."""
    if share is None:
        return ""
    k, n = int(share[0]), int(share[1])
    return f" AND (hashtext(i.recipient) & 2147483647) % {n} = {k}"


def payload_sql(codec: Codec, unit: str) -> str:
    """The JSON payload of a one-intent message as the database builds it, the intent as `i` and its assignment's
    fields as `unit` (the same keys and formats as services.compose gives a message it builds itself)."""
    iso = _SQLITE_ISO if codec.sqlite else _PG_ISO
    obj = "json_object" if codec.sqlite else "json_build_object"
    array = "json_array" if codec.sqlite else "json_build_array"
    as_of_text = "?" if codec.sqlite else "?::text"
    due_at, event_at = iso.format(f"{unit}.due_at"), iso.format("i.event_at")
    fields = (
        f"'kind', i.kind, 'step', i.step, 'item_id', {unit}.item_id, 'instance', {unit}.instance, "
        f"'unit', {unit}.unit_code, 'due_at', {due_at}, 'event_at', {event_at}"
    )
    # a 牵头 or 配合 unit's item says so (ROLE_KEY); a responsible unit's, most of them, carries no role at all
    item = (
        f"CASE WHEN {unit}.role = '{RESPONSIBLE}' THEN {obj}({fields}) "
        f"ELSE {obj}({fields}, '{ROLE_KEY}', {unit}.role) END"
    )
    return f"{obj}('recipient', i.recipient, 'kind', i.kind, 'as_of', {as_of_text}, 'items', {array}({item}))"


def drafted_ranges(codec: Codec, campaign_id: str) -> list[Any]:
    """The ranges of messages the campaign's ticks drafted and no compose has let go yet (duban.store.tables.
    DraftRange): (id, first_id, last_id, messages, batch); PostgreSQL locks them."""
    sql = "SELECT id, first_id, last_id, messages, batch FROM draft_range WHERE campaign_id = ?"
    return codec.select(sql + ("" if codec.sqlite else " ORDER BY id FOR UPDATE"), (campaign_id,))


def stale_drafts(codec: Codec, before: datetime, campaign_id: str | None = None) -> list[str]:
    """The campaigns with drafts written at or before `before` that no compose has let go (the worker died between
    its tick and its compose)."""
    sql = "SELECT DISTINCT campaign_id FROM draft_range WHERE drafted_at <= ?"
    params: list[Any] = [codec.instant(before)]
    if campaign_id is not None:
        sql += " AND campaign_id = ?"
        params.append(campaign_id)
    return [row[0] for row in codec.select(sql, params)]


def release_drafts(
    codec: Codec, campaign_id: str, ranges: Sequence[Any]
) -> tuple[int, int, list[tuple[str, list[dict[str, Any]]]]]:
    """Let the drafted messages in `ranges` go to the dispatcher, except those whose recipient is told of more
    in this tick (two drafts, or a draft and a pending intent): their intents are pending again, for the compose
    to put in one message with the rest, and the drafts are deleted. A 签收 message (a range of ACK_BATCH) has no
    intent: its entries are handed back instead. (How many drafts go as they are, how many were taken back, and
    the 签收 messages taken back: recipient and entries of each.)"""
    within = " OR ".join(["o.id BETWEEN ? AND ?"] * len(ranges))
    bounds = [bound for r in ranges for bound in (r[1], r[2])]
    drafts = f"FROM outbox AS o WHERE o.campaign_id = ? AND ({within})"
    shared: list[tuple[str, list]] = []  # (condition on a draft's recipient, its parameters)
    if len({r[4] for r in ranges}) > 1:  # several cases drafted: a unit may have a message in two of them
        grouped = f"o.recipient IN (SELECT o.recipient {drafts} GROUP BY o.recipient HAVING COUNT(*) > 1)"
        shared.append((grouped, [campaign_id, *bounds]))
    if any_pending(codec, campaign_id):  # a unit with a draft may have an escalation, a receipt … waiting too
        waiting = "o.recipient IN (SELECT recipient FROM intent WHERE campaign_id = ? AND message_id IS NULL)"
        shared.append((waiting, [campaign_id]))
    merged: list[int] = []
    if shared:
        condition = " OR ".join(clause for clause, _params in shared)
        params = [campaign_id, *bounds, *(p for _clause, more in shared for p in more)]
        # only drafts no dispatcher has taken (a range held past DRAFT_HOLD lets them go); PostgreSQL locks them,
        # and skips one a dispatcher is claiming at this moment: that one goes as it is
        lock = "" if codec.sqlite else " FOR UPDATE OF o SKIP LOCKED"
        untouched = "o.status = 'pending' AND o.attempts = 0 AND o.claimed_by IS NULL"
        sql = f"SELECT o.id {drafts} AND {untouched} AND ({condition}){lock}"
        merged = [r[0] for r in codec.select(sql, params)]
    signed: list[tuple[str, list[dict[str, Any]]]] = []
    acks = any(str(r[4]).startswith(ACK_BATCH) for r in ranges)  # a stage opening alone reads no payload back
    for chunk in range(0, len(merged), 500):
        part = merged[chunk : chunk + 500]
        marks = ", ".join("?" * len(part))
        if acks:
            sql = f"SELECT recipient, payload FROM outbox WHERE id IN ({marks}) AND kind IN {ACK_KINDS} ORDER BY id"
            for recipient, payload in codec.select(sql, part):
                signed.append((recipient, list(codec.read_json(payload)["items"])))
        codec.execute(f"UPDATE intent SET message_id = NULL WHERE message_id IN ({marks})", part)
        codec.execute(f"DELETE FROM outbox WHERE id IN ({marks})", part)
    ids = [r[0] for r in ranges]
    codec.execute(f"DELETE FROM draft_range WHERE id IN ({', '.join('?' * len(ids))})", ids)
    return sum(r[3] for r in ranges) - len(merged), len(merged), signed


def write_messages(codec: Codec, messages: Sequence[Sequence[Any]], links: Sequence[Sequence[int]]) -> int:
    """Store `messages` (rows of OUTBOX_COLUMNS) and mark each one's intents (`links`, in the same order) as
    carried by it."""
    message_ids = codec.reserve_ids("outbox", len(messages))
    codec.insert("outbox", ("id", *OUTBOX_COLUMNS), ((mid, *row) for mid, row in zip(message_ids, messages)))
    codec.update(
        "intent",
        ("message_id",),
        ((mid, intent_id) for mid, intent_ids in zip(message_ids, links) for intent_id in intent_ids),
    )
    return len(messages)
