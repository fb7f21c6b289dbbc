"""The outbox's queries for operators and summaries: counts per status and kind, the latest messages, one message
with its posts, and putting messages back in line (`duban outbox retry`).

The dispatcher's claims and records are written by duban.services.dispatch; these are the reads and the retry.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection, func, select

from duban.store.core import core_table
from duban.store.tables import OutboxMessage

_O = core_table(OutboxMessage)


def sent_by_kind(conn: Connection, campaign_id: str) -> Counter[str]:
    """How many of the campaign's messages were sent, per kind (reminder, overdue, …)."""
    return Counter(
        dict(
            conn.execute(
                select(_O.c.kind, func.count())
                .where(_O.c.campaign_id == campaign_id, _O.c.status == "sent")
                .group_by(_O.c.kind)
            )
            .tuples()
            .all()
        )
    )
