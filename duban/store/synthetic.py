"""The reads behind synthetic behaviour (duban.simulation.synthetic): the assignments a seeded draw hands in for,
the held ones (stages opened by others) and those a tick has released since, and the schedules of a batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from duban.domain.state import State
from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import Assignment

_A = core_table(Assignment)


def campaign_assignments(engine: Engine, campaign_id: str) -> list[Any]:
    """(id, unit_code, item_id, open_at, due_at, state, next_event_at) of every assignment of the campaign, by id."""
    with reading(engine) as conn:
        return list(
            conn.execute(
                select(_A.c.id, _A.c.unit_code, _A.c.item_id, _A.c.open_at, _A.c.due_at, _A.c.state, _A.c.next_event_at)
                .where(_A.c.campaign_id == campaign_id)
                .order_by(_A.c.id)
            ).all()
        )


def held_ids(engine: Engine, campaign_id: str) -> set[int]:
    """The ids of the campaign's held assignments: pending with no event due (their stage waits for another)."""
    with reading(engine) as conn:
        return {
            r.id
            for r in conn.execute(
                select(_A.c.id).where(
                    _A.c.campaign_id == campaign_id, _A.c.state == State.pending.value, _A.c.next_event_at.is_(None)
                )
            )
        }


def released(engine: Engine, campaign_id: str, ids: list[int]) -> list[Any]:
    """(id, unit_code, item_id, open_at, due_at) of those of `ids` that now have an event due, by id."""
    with reading(engine) as conn:
        return list(
            conn.execute(
                select(_A.c.id, _A.c.unit_code, _A.c.item_id, _A.c.open_at, _A.c.due_at)
                .where(_A.c.campaign_id == campaign_id, _A.c.next_event_at.is_not(None), _A.c.id.in_(ids))
                .order_by(_A.c.id)
            ).all()
        )


def schedules(codec: Codec, ids: list[int]) -> dict[int, tuple]:
    """id → (state, open_at, due_at) of these assignments, read 500 ids at a time in the codec's transaction."""
    states: dict[int, tuple] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in codec.select(
            f"SELECT id, state, open_at, due_at FROM assignment WHERE id IN ({', '.join('?' * len(chunk))})", chunk
        ):
            states[row[0]] = (row[1], codec.read_instant(row[2]), codec.read_instant(row[3]))
    return states
