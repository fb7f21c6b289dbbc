"""The units parents named for open samples (由上级指定), kept until the sample is drawn.

A parent names its units again by replacing what it named; nothing is replaced once the sample is drawn: the check
and the write share one transaction holding the campaign's row (the draw takes it too), so a naming and a draw at
the same moment, or two taps of one parent, follow one another.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select

from duban.instants import utc
from duban.store.db import reading, unit_of_work
from duban.store.engine import is_postgres
from duban.store.tables import CampaignRow, SampleDraw, SampleNaming

_N = SampleNaming.metadata.tables[SampleNaming.__tablename__]
_D = SampleDraw.metadata.tables[SampleDraw.__tablename__]
_C = CampaignRow.metadata.tables[CampaignRow.__tablename__]


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
        lock_campaign(conn, campaign_id)  # a double tap, or a draw, waits for this naming (PostgreSQL)
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


def lock_campaign(conn: Connection, campaign_id: str) -> None:
    """Hold the campaign's row until the transaction ends, so that namings and the draw of its samples follow one
    another (PostgreSQL; SQLite's writers already do)."""
    if is_postgres(conn):
        conn.execute(select(_C.c.id).where(_C.c.id == campaign_id).with_for_update()).first()
