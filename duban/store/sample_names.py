"""The units parents named for open samples (由上级指定), kept until the sample is drawn.

A parent names its units again by replacing what it named; nothing is replaced once the sample is drawn: the check
and the write share one transaction (the draw's row is read in it), so a naming and a draw at the same moment
never both count.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select

from duban.instants import utc
from duban.store.db import reading, unit_of_work
from duban.store.tables import SampleDraw, SampleNaming

_N = SampleNaming.metadata.tables[SampleNaming.__tablename__]
_D = SampleDraw.metadata.tables[SampleDraw.__tablename__]


def named_units(engine: Engine | Connection, campaign_id: str, sample_id: str) -> dict[str, list[str]]:
    """parent code → the units it named for the sample, in the order it named them."""
    if isinstance(engine, Engine):
        with reading(engine) as conn:
            return named_units(conn, campaign_id, sample_id)
    found: dict[str, list[str]] = {}
    for parent, unit in engine.execute(
        select(_N.c.parent_code, _N.c.unit_code)
        .where(_N.c.campaign_id == campaign_id, _N.c.sample_id == sample_id)
        .order_by(_N.c.id)
    ):
        found.setdefault(parent, []).append(unit)
    return found


def replace_naming(
    engine: Engine, campaign_id: str, sample_id: str, parent: str, units: list[str], at: datetime, actor: str
) -> datetime | None:
    """Keep `units` as what `parent` names for the sample, in place of what it named before; returns when the
    sample was drawn instead (nothing written) if it already was."""
    with unit_of_work(engine) as conn:
        drawn = conn.execute(
            select(_D.c.drawn_at).where(_D.c.campaign_id == campaign_id, _D.c.sample_id == sample_id)
        ).scalar()
        if drawn is not None:
            return utc(drawn)
        conn.execute(
            delete(_N).where(_N.c.campaign_id == campaign_id, _N.c.sample_id == sample_id, _N.c.parent_code == parent)
        )
        conn.execute(
            insert(_N),
            [
                dict(
                    campaign_id=campaign_id,
                    sample_id=sample_id,
                    parent_code=parent,
                    unit_code=unit,
                    named_at=utc(at),
                    actor=actor[:80],
                )
                for unit in units
            ],
        )
    return None
