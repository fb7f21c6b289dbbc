"""The writes of drawing an open sample while the campaign runs (duban.services.sample_draws): the draw kept with
its seed, the campaign's assignment ids (to tell the new ones), and the new rows of a held stage held with it. All
inside the caller's unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from duban.store.core import core_table
from duban.store.tables import Assignment, SampleDraw

_A = core_table(Assignment)
_D = core_table(SampleDraw)


def record_draw(conn: Connection, **values: Any) -> None:
    """Keep one draw (its columns as `values`)."""
    conn.execute(insert(_D), [values])


def assignment_ids(conn: Connection, campaign_id: str) -> set[int]:
    """The ids of the campaign's assignments."""
    return set(conn.execute(select(_A.c.id).where(_A.c.campaign_id == campaign_id)).scalars())


def hold(conn: Connection, ids: list[int], stages: list[str]) -> None:
    """Hold (no next event) those of the assignments `ids` in `stages`: they wait with their stage."""
    conn.execute(update(_A).where(_A.c.id.in_(ids), _A.c.stage_id.in_(stages)).values(next_event_at=None))
