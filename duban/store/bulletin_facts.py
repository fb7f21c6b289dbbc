"""The queries behind a 通报 (duban.report.bulletin): the returns and approved extensions it names beside each late
unit, and its short text queued once per unit in the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from duban.store.core import core_table
from duban.store.db import unit_of_work
from duban.store.tables import ExtensionRequest, OutboxMessage, ReviewRow

_V = core_table(ReviewRow)
_R = core_table(ExtensionRequest)
_O = core_table(OutboxMessage)


def returned_reviews(conn: Connection, campaign_id: str, as_of: datetime) -> list[tuple[str, str]]:
    """(unit, item) of each review that returned materials by `as_of`."""
    return list(
        conn.execute(
            select(_V.c.unit_code, _V.c.item_id).where(
                _V.c.campaign_id == campaign_id, _V.c.decision == "returned", _V.c.at <= as_of
            )
        ).all()
    )


def approved_extensions(conn: Connection, campaign_id: str) -> list[tuple[str, str, datetime | None]]:
    """(unit, item, granted until) of each approved 延期申请, whenever decided, in the order requested."""
    return list(
        conn.execute(
            select(_R.c.unit_code, _R.c.item_id, _R.c.granted_until)
            .where(_R.c.campaign_id == campaign_id, _R.c.status == "approved")
            .order_by(_R.c.id)
        ).all()
    )


def queue_new_messages(engine: Engine, rows: list[dict[str, Any]]) -> int:
    """Write the outbox rows whose idempotency key is not in the outbox yet, in one transaction; how many."""
    with unit_of_work(engine) as conn:
        keys = {r["idempotency_key"] for r in rows}
        have = set()
        for start in range(0, len(rows), 900):
            part = [r["idempotency_key"] for r in rows[start : start + 900]]
            have |= set(conn.execute(select(_O.c.idempotency_key).where(_O.c.idempotency_key.in_(part))).scalars())
        fresh = [r for r in rows if r["idempotency_key"] not in have and r["idempotency_key"] in keys]
        if fresh:
            conn.execute(insert(_O), fresh)
    return len(fresh)
