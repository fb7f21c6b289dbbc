"""Reads of the 签收 rows that the simulated loop needs (duban.simulation.loop): who has been asked and not given it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from duban.instants import utc
from duban.store.core import core_table
from duban.store.tables import AcknowledgementRow

_K = core_table(AcknowledgementRow)


def asked_and_not_given(conn: Connection, campaign_id: str, at: datetime) -> list[tuple[str, str]]:
    """(stage, unit) of every 签收 opened by `at` and not given, in stage and unit-code order."""
    query = (
        select(_K.c.stage_id, _K.c.unit_code)
        .where(_K.c.campaign_id == campaign_id, _K.c.open_at <= utc(at), _K.c.acknowledged_at.is_(None))
        .order_by(_K.c.stage_id, _K.c.unit_code)
    )
    return [(stage, unit) for stage, unit in conn.execute(query)]
