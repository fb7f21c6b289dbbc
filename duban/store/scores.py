"""The queries of score sheets (table `score`): the latest scoring of each unit, and the 整改 assignments they owe.

Read by the close-out report's inspections (检查情况), the portal's and the CLI's scores, and the scoring service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from duban.store.core import core_table
from duban.store.tables import Assignment, ScoreRecord

_S = core_table(ScoreRecord)
_A = core_table(Assignment)


def latest_scorings(conn: Connection, campaign_id: str, as_of: datetime) -> dict[tuple[str, str, str], Any]:
    """(sheet, sample, unit) → the row of its latest scoring (highest version) recorded by `as_of`."""
    latest = {}
    for row in conn.execute(
        select(_S).where(_S.c.campaign_id == campaign_id, _S.c.recorded_at <= as_of).order_by(_S.c.version)
    ):
        latest[(row.sheet_id, row.sample_id, row.unit_code)] = row
    return latest


def follow_up_rows(conn: Connection, campaign_id: str, item_ids: list[str]) -> dict[tuple[str, str, str], Any]:
    """(item, instance, unit) → the assignment row, for the assignments of these (整改) items; none for no items."""
    if not item_ids:
        return {}
    return {
        (r.item_id, r.instance, r.unit_code): r
        for r in conn.execute(select(_A).where(_A.c.campaign_id == campaign_id, _A.c.item_id.in_(item_ids)))
    }
