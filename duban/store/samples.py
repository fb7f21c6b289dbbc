"""The samples as the database recorded them: each drawn sample with its seed, rules and members, and when the
items drawing on a hidden sample first open.

Read by the sample audit (`duban sample show`), the follow-up planning of open samples, the scores of a sample,
a hidden sample's reveal and the demo's summary.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, func, select

from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import Assignment, SampleDraw

_D = core_table(SampleDraw)
_A = core_table(Assignment)


def recorded_draws(engine: Engine | Connection, campaign_id: str) -> list[SampleDraw]:
    """The samples recorded for a campaign (none when it is not planned), in no particular order."""
    if isinstance(engine, Engine):
        with reading(engine) as conn:
            return recorded_draws(conn, campaign_id)
    rows = engine.execute(select(SampleDraw).where(_D.c.campaign_id == campaign_id)).all()
    return [SampleDraw.model_validate(row._mapping) for row in rows]


def first_opening(engine: Engine, campaign_id: str, item_ids: list[str]) -> datetime | None:
    """The earliest `open_at` among the assignments of these items (None when they have none)."""
    with reading(engine) as conn:
        return conn.execute(
            select(func.min(_A.c.open_at)).where(_A.c.campaign_id == campaign_id, _A.c.item_id.in_(item_ids))
        ).scalar()


def drawn_members(engine: Engine, campaign_id: str, sample_id: str) -> list[str] | None:
    """The members recorded for one sample; None when it has no record (or none kept)."""
    with reading(engine) as conn:
        return conn.execute(
            select(_D.c.members).where(_D.c.campaign_id == campaign_id, _D.c.sample_id == sample_id)
        ).scalar()
