"""The queries of outcomes (约谈, 通报批评, 重新开展): the scorings that fail a unit, and the outcomes recorded.

`failing_units` reads the score sheets as they stood at an instant (each unit's latest scoring per sheet and
sample); `outcome_tally`, `outcomes_listed` and `unit_outcomes` read what the ticks recorded, for the digest, the
Prefect artifacts, the close-out report, the 汇总表 and the operators' unit page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from duban.instants import utc
from duban.store.tables import OutcomeRow, ScoreRecord

_O = OutcomeRow.metadata.tables[OutcomeRow.__tablename__]
_R = ScoreRecord.metadata.tables[ScoreRecord.__tablename__]


def failing_units(conn: Connection, campaign_id: str, as_of: datetime) -> dict[str, datetime]:
    """unit code → when it was scored below the pass mark, for the units whose latest scoring by `as_of` (on some
    sheet and sample) fails; the earliest such scoring where several sheets fail it."""
    latest: dict[tuple[str, str, str], tuple[int, bool, datetime]] = {}
    for sheet, sample, unit, version, passed, at in conn.execute(
        select(_R.c.sheet_id, _R.c.sample_id, _R.c.unit_code, _R.c.version, _R.c.passed, _R.c.recorded_at).where(
            _R.c.campaign_id == campaign_id, _R.c.recorded_at <= utc(as_of)
        )
    ):
        key = (sheet, sample, unit)
        if key not in latest or version > latest[key][0]:
            latest[key] = (version, passed, utc(at))
    failing: dict[str, datetime] = {}
    for (_sheet, _sample, unit), (_version, passed, at) in latest.items():
        if not passed and (unit not in failing or at < failing[unit]):
            failing[unit] = at
    return failing


@dataclass(frozen=True)
class OutcomeTally:
    """How many units an outcome rule of an item reached (约谈 12 个单位)."""

    item_id: str
    words: str
    units: int


def outcome_tally(conn: Connection, campaign_id: str, as_of: datetime) -> list[OutcomeTally]:
    """The outcomes decided by `as_of`, counted per item and rule (their words), the earliest decided first."""
    rows = conn.execute(
        select(_O.c.item_id, _O.c.words, func.count(func.distinct(_O.c.unit_code)), func.min(_O.c.decided_at))
        .where(_O.c.campaign_id == campaign_id, _O.c.decided_at <= utc(as_of))
        .group_by(_O.c.item_id, _O.c.words)
    ).all()
    ordered = sorted(rows, key=lambda r: (utc(r[3]), r[0], r[1]))
    return [OutcomeTally(item, words, n) for item, words, n, _first in ordered]


def outcomes_listed(conn: Connection, campaign_id: str, as_of: datetime, limit: int) -> list[OutcomeRow]:
    """The outcomes decided by `as_of`, in the order they were decided (at most `limit`)."""
    rows = conn.execute(
        select(_O)
        .where(_O.c.campaign_id == campaign_id, _O.c.decided_at <= utc(as_of))
        .order_by(_O.c.decided_at, _O.c.id)
        .limit(limit)
    )
    return [OutcomeRow.model_validate(r._mapping) for r in rows]


def unit_outcomes(conn: Connection, campaign_id: str, unit_code: str, as_of: datetime) -> list[OutcomeRow]:
    """One unit's outcomes decided by `as_of`, in the order they were decided (for its /ops page)."""
    rows = conn.execute(
        select(_O)
        .where(_O.c.campaign_id == campaign_id, _O.c.unit_code == unit_code, _O.c.decided_at <= utc(as_of))
        .order_by(_O.c.decided_at, _O.c.id)
    )
    return [OutcomeRow.model_validate(r._mapping) for r in rows]
