"""The SQL of stages ordered by each other (按阶段顺序): which stages still wait, and how far an earlier one is.

`waiting_stages` lists the stages with assignments still held (pending with no next event: their opening waits
for the record); `stage_progress` gives an earlier stage's rows as (unit, state, finished at) for the share
that opens the stage after it; `held_rows` and `release_held` read the held assignments and release them once
the record decides their stage's opening (duban.services.stage_release).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from duban.domain.state import State
from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.tables import Assignment

_A = core_table(Assignment)


def waiting_stages(engine: Engine, campaign_id: str) -> set[str]:
    """The stages some of whose assignments still wait for the record to open them."""
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(_A.c.stage_id)
                .where(_A.c.campaign_id == campaign_id, _A.c.state == State.pending.value, _A.c.next_event_at.is_(None))
                .distinct()
            ).scalars()
        )


def stage_progress(conn: Connection, campaign_id: str, stage_id: str) -> list[tuple[str, str, object]]:
    """(unit, state, when finished or last changed) of each of the stage's assignments."""
    query = select(_A.c.unit_code, _A.c.state, _A.c.submitted_at, _A.c.updated_at).where(
        _A.c.campaign_id == campaign_id, _A.c.stage_id == stage_id
    )
    return [(r.unit_code, r.state, r.submitted_at or r.updated_at) for r in conn.execute(query)]


def held_rows(conn: Connection, campaign_id: str) -> list[Any]:
    """(id, stage_id, item_id, instance, escalations) of the assignments held for the record (pending, no next
    event)."""
    return list(
        conn.execute(
            select(_A.c.id, _A.c.stage_id, _A.c.item_id, _A.c.instance, _A.c.escalations).where(
                _A.c.campaign_id == campaign_id, _A.c.state == State.pending.value, _A.c.next_event_at.is_(None)
            )
        ).all()
    )


def release_held(
    conn: Connection,
    rows: list[
        tuple[int, datetime, datetime, Sequence[datetime], Sequence[tuple[datetime, Sequence[str]]], datetime | None]
    ],
    at: datetime,
) -> None:
    """Release held assignments at `at`, each (id, open_at, due_at, reminders, escalations as (when, to whom),
    next event) re-planned from the stage's opening the record decided."""
    codec = Codec(conn)
    codec.update(
        "assignment",
        ("open_at", "due_at", "reminders", "escalations", "next_event_at", "updated_at"),
        [
            (
                codec.instant(opens),
                codec.instant(due),
                codec.json([codec.iso(t) for t in reminders]),
                codec.json([[codec.iso(t), list(to)] for t, to in steps]),
                codec.instant(next_event),
                codec.instant(at),
                row_id,
            )
            for row_id, opens, due, reminders, steps, next_event in rows
        ],
    )
