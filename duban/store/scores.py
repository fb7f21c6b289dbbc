"""The queries of score sheets (table `score`): the latest scoring of each unit, and the 整改 assignments they owe.

Read by the close-out report's inspections (检查情况), the portal's and the CLI's scores, and the scoring service.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from duban.store.core import core_table
from duban.store.db import reading
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


def sheet_records(
    engine: Engine, campaign_id: str, sheet_id: str, sample_id: str, units: Iterable[str] | None = None
) -> list[ScoreRecord]:
    """Every scoring on the sheet for the sample (of these units, when given), by unit and then version."""
    query = select(ScoreRecord).where(
        _S.c.campaign_id == campaign_id, _S.c.sheet_id == sheet_id, _S.c.sample_id == sample_id
    )
    if units is not None:
        query = query.where(_S.c.unit_code.in_(sorted(units)))
    with reading(engine) as conn:
        return [
            ScoreRecord.model_validate(row._mapping)
            for row in conn.execute(query.order_by(_S.c.unit_code, _S.c.version))
        ]


def unit_records(engine: Engine, campaign_id: str, codes: list[str]) -> list[ScoreRecord]:
    """Every scoring of these units in the campaign, on any sheet and sample, by version."""
    with reading(engine) as conn:
        query = select(ScoreRecord).where(_S.c.campaign_id == campaign_id, _S.c.unit_code.in_(codes))
        return [ScoreRecord.model_validate(row._mapping) for row in conn.execute(query.order_by(_S.c.version))]


def follow_ups_of(engine: Engine, campaign_id: str, item_id: str, instance: str, codes: list[str]) -> list[Any]:
    """The assignment rows of one 整改 item's instance for these units."""
    query = select(_A).where(
        _A.c.campaign_id == campaign_id,
        _A.c.item_id == item_id,
        _A.c.instance == instance,
        _A.c.unit_code.in_(codes),
    )
    with reading(engine) as conn:
        return list(conn.execute(query))


def owed_follow_ups(conn: Connection, campaign_id: str, item_id: str, instance: str) -> dict[str, Any]:
    """unit → (id, unit_code, state) of its assignment of a 整改 item's instance."""
    rows = conn.execute(
        select(_A.c.id, _A.c.unit_code, _A.c.state).where(
            _A.c.campaign_id == campaign_id, _A.c.item_id == item_id, _A.c.instance == instance
        )
    ).all()
    return {row.unit_code: row for row in rows}


def next_score_version(conn: Connection, campaign_id: str, sheet_id: str, sample_id: str, unit_code: str) -> int:
    """The version the unit's next scoring on the sheet for the sample takes: one more than those kept."""
    count = conn.execute(
        select(func.count())
        .select_from(_S)
        .where(
            _S.c.campaign_id == campaign_id,
            _S.c.sheet_id == sheet_id,
            _S.c.sample_id == sample_id,
            _S.c.unit_code == unit_code,
        )
    ).scalar()
    return (count or 0) + 1


def keep_scoring(conn: Connection, row: dict[str, Any]) -> None:
    """Keep one scoring (a row of table `score`)."""
    conn.execute(insert(ScoreRecord), [row])


def campaign_records(engine: Engine, campaign_id: str, sheet_id: str | None = None) -> list[ScoreRecord]:
    """Every scoring of the campaign (on one sheet, when given), by version."""
    with reading(engine) as conn:
        query = select(ScoreRecord).where(_S.c.campaign_id == campaign_id)
        if sheet_id:
            query = query.where(_S.c.sheet_id == sheet_id)
        return [ScoreRecord.model_validate(r._mapping) for r in conn.execute(query.order_by(_S.c.version))]
