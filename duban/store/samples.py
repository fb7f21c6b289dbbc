"""The samples as the database recorded them: each drawn sample with its seed, rules and members.

Read by the sample audit (`duban sample show`), the follow-up planning of open samples, the scores of a sample
and the demo's summary.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select

from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import SampleDraw

_D = core_table(SampleDraw)


def recorded_draws(engine: Engine | Connection, campaign_id: str) -> list[SampleDraw]:
    """The samples recorded for a campaign (none when it is not planned), in no particular order."""
    if isinstance(engine, Engine):
        with reading(engine) as conn:
            return recorded_draws(conn, campaign_id)
    rows = engine.execute(select(SampleDraw).where(_D.c.campaign_id == campaign_id)).all()
    return [SampleDraw.model_validate(row._mapping) for row in rows]
