"""The reads of stages ordered by each other (按阶段顺序): which stages still wait, and how far an earlier one is.

`waiting_stages` lists the stages with assignments still held (pending with no next event: their opening waits
for the record); `stage_progress` gives an earlier stage's rows as (unit, state, finished at) for the share
that opens the stage after it.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select

from duban.domain.state import State
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
