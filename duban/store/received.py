"""What a unit handed in, read for its receipt (回执): the files and figures of given versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, exists, select

from duban.store.core import core_table
from duban.store.tables import Assignment, ReviewRow, Submission

_A = core_table(Assignment)
_S = core_table(Submission)
_V = core_table(ReviewRow)

Key = tuple[str, str, str, int]  # (unit, item, instance or '', version)


def handed_in(conn: Connection, campaign_id: str, keys: set[Key]) -> dict[Key, tuple[list[Any], dict[str, Any]]]:
    """(files, metrics) of each version asked for, by (unit, item, instance, version); 900 units at a time."""
    found: dict[Key, tuple[list[Any], dict[str, Any]]] = {}
    units = sorted({key[0] for key in keys})
    items = sorted({key[1] for key in keys})
    for start in range(0, len(units), 900):
        rows = conn.execute(
            select(_S.c.unit_code, _S.c.item_id, _A.c.instance, _S.c.version, _S.c.files, _S.c.metrics)
            .join(_A, _A.c.id == _S.c.assignment_id)
            .where(
                _S.c.campaign_id == campaign_id,
                _S.c.unit_code.in_(units[start : start + 900]),
                _S.c.item_id.in_(items),
            )
        )
        for unit, item, instance, version, files, metrics in rows:
            key = (unit, item, instance or "", version)
            if key in keys:
                found[key] = (list(files or []), dict(metrics or {}))
    return found


def newest_handed_in(conn: Connection, assignment_id: int) -> Any | None:
    """The assignment's newest version (id, version, submitted_at, late, files, metrics) and whether a review
    returned it (退回); None before its first hand-in."""
    returned = exists().where(_V.c.submission_id == _S.c.id, _V.c.decision == "returned")
    query = (
        select(
            _S.c.id,
            _S.c.version,
            _S.c.submitted_at,
            _S.c.late,
            _S.c.files,
            _S.c.metrics,
            returned.label("returned"),
        )
        .where(_S.c.assignment_id == assignment_id)
        .order_by(_S.c.version.desc())
        .limit(1)
    )
    return conn.execute(query).first()
