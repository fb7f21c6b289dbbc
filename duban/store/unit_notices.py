"""The message a decision on one unit's item sends the unit (a 延期申请 approved or denied, a version accepted or
returned in review): one outbox row and the intent that points at it, inside the caller's unit of work; and the
outbox row alone (`queue_message`) for a message whose intents the caller writes (审核提醒 lists several)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from duban.store.core import core_table
from duban.store.tables import Intent, OutboxMessage

_O = core_table(OutboxMessage)
_I = core_table(Intent)


def queue_message(
    conn: Connection,
    campaign_id: str,
    recipient: str,
    kind: str,
    *,
    key: str,
    payload: dict[str, Any],
    at: datetime,
    not_before: datetime,
) -> int:
    """Queue one outbox message (`kind`, idempotency `key`, written at `at`, sent from `not_before`); its id. The
    caller links the intents it carries."""
    message_id: int = conn.execute(
        insert(_O).returning(_O.c.id),
        [
            dict(
                campaign_id=campaign_id,
                recipient=recipient,
                kind=kind,
                idempotency_key=key,
                payload=payload,
                created_at=at,
                not_before=not_before,
                status="pending",
                attempts=0,
            )
        ],
    ).scalar_one()
    return message_id


def write_notice(
    conn: Connection,
    campaign_id: str,
    assignment_id: int,
    recipient: str,
    kind: str,
    *,
    step: int,
    key: str,
    payload: dict[str, Any],
    at: datetime,
    not_before: datetime,
) -> int:
    """Queue the message (`kind`, idempotency `key`, sent from `not_before`) and its intent (assignment, kind,
    `step`, recipient, event_at = `at`); the message's id."""
    message_id = queue_message(
        conn, campaign_id, recipient, kind, key=key, payload=payload, at=at, not_before=not_before
    )
    conn.execute(
        insert(_I),
        [
            dict(
                campaign_id=campaign_id,
                assignment_id=assignment_id,
                recipient=recipient,
                kind=kind,
                step=step,
                event_at=at,
                created_at=at,
                message_id=message_id,
            )
        ],
    )
    return message_id
