"""The SQL of reminding reviewers (审核提醒): the versions waiting for review, the reminders already written, and
the new ones written as outbox rows with their intents (one transaction, under the caller's unit of work).

A reminder's intent is (assignment, kind `review_reminder`, step = the version, recipient, event_at = the instant
the period ended): the intent table's uniqueness holds it to once per version, recipient and period, whoever
ticks, however often.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, insert, select

from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.engine import is_postgres
from duban.store.review_rows import newest_version
from duban.store.tables import Assignment, CampaignUnit, Intent, Submission
from duban.store.unit_notices import queue_message

_A, _S, _I, _U = (core_table(m) for m in (Assignment, Submission, Intent, CampaignUnit))
KIND = "review_reminder"


def take_turn(conn: Connection, campaign_id: str) -> None:
    """Concurrent ticks of one campaign remind in turn on PostgreSQL (the second finds the reminders written)."""
    if is_postgres(conn):
        Codec(conn).execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"duban.review_remind.{campaign_id}",))


def waiting_versions(conn: Connection, campaign_id: str, items: list[str], handed_in_by: datetime) -> list:
    """The versions of `items` waiting for review (the newest of each assignment in review), handed in by
    `handed_in_by`, with the unit's parent: read from the partial index of assignments in review."""
    query = (
        select(
            _A.c.id,
            _A.c.unit_code,
            _A.c.item_id,
            _A.c.instance,
            _A.c.due_at,
            _S.c.version,
            _S.c.submitted_at,
            _U.c.parent_code,
        )
        .select_from(_A)
        .join(_S, (_S.c.assignment_id == _A.c.id) & (_S.c.version == newest_version(_A.c.id)))
        .outerjoin(_U, (_U.c.campaign_id == _A.c.campaign_id) & (_U.c.code == _A.c.unit_code))
        .where(
            _A.c.campaign_id == campaign_id,
            _A.c.state == "in_review",
            _A.c.item_id.in_(items),
            _S.c.submitted_at <= handed_in_by,
        )
        .order_by(_S.c.submitted_at, _A.c.id)
    )
    return list(conn.execute(query).all())


def reminded(conn: Connection, assignment_ids: list[int]) -> set[tuple[int, int, str, datetime]]:
    """(assignment, version, recipient, period end) of the reviewer reminders already written."""
    found: set[tuple[int, int, str, datetime]] = set()
    for start in range(0, len(assignment_ids), 500):
        part = assignment_ids[start : start + 500]
        rows = conn.execute(
            select(_I.c.assignment_id, _I.c.step, _I.c.recipient, _I.c.event_at).where(
                _I.c.assignment_id.in_(part), _I.c.kind == KIND
            )
        )
        found.update((a, s, r, e) for a, s, r, e in rows)
    return found


def write_reminders(
    conn: Connection,
    campaign_id: str,
    as_of: datetime,
    not_before: datetime,
    groups: dict[str, list[dict]],
) -> int:
    """One outbox message per reviewer listing its waiting versions, and an intent per version (the message's
    key is derived from what it carries, so writing the same reminders twice is refused by the outbox)."""
    codec = Codec(conn)
    written = 0
    for recipient, entries in groups.items():
        ids = ",".join(f"{e['assignment_id']}v{e['step']}@{e['event_at']}" for e in entries)
        key = hashlib.sha256(f"{campaign_id}|{recipient}|{KIND}|{ids}".encode()).hexdigest()[:32]
        items = [{k: v for k, v in e.items() if k not in ("assignment_id", "period_end")} for e in entries]
        payload = {"recipient": recipient, "kind": KIND, "as_of": codec.iso(as_of), "items": items}
        message_id = queue_message(
            conn, campaign_id, recipient, KIND, key=key, payload=payload, at=as_of, not_before=not_before
        )
        conn.execute(
            insert(_I),
            [
                dict(
                    campaign_id=campaign_id,
                    assignment_id=e["assignment_id"],
                    recipient=recipient,
                    kind=KIND,
                    step=e["step"],
                    event_at=e["period_end"],
                    created_at=as_of,
                    message_id=message_id,
                )
                for e in entries
            ],
        )
        written += 1
    return written
