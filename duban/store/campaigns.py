"""The stored campaigns as their read model (duban.views.campaigns) reads them: the campaigns' ids, a connection on
an engine or the caller's own, and a campaign's units (all of them, or the named codes).

The units are read through the driver, each distinct channel list decoded once: a national campaign has 41,568
units and most share theirs (ORM rows took 10 µs a unit, most of it decoding the same JSON again).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine, select

from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import CampaignRow

T = TypeVar("T")

_UNITS = (
    "SELECT code, display, kind, parent_code, CAST(channels AS TEXT), level FROM campaign_unit WHERE campaign_id = ?"
)


@contextmanager
def connection_of(source: Engine | Connection) -> Iterator[Connection]:
    """`source` itself when it is a connection (the caller's transaction), else a reading connection on it."""
    if isinstance(source, Connection):
        yield source
        return
    with reading(source) as conn:
        yield conn


def units_by_code(
    conn: Connection,
    campaign_id: str,
    make: Callable[[str, str, str, str | None, tuple[str, ...], str | None], T],
    codes: Collection[str] | None = None,
) -> dict[str, T]:
    """The campaign's units (only those of `codes`, when given) by code, each made by `make` from (code, display,
    kind, parent, channels, level) as it is read (no row kept in between: 41,568 of them for a nation)."""
    codec = Codec(conn)
    sql, params = _UNITS, [campaign_id]
    if codes is not None:
        wanted = sorted(set(codes))
        sql += f" AND code IN ({', '.join('?' * len(wanted))})" if wanted else " AND 0 = 1"
        params += wanted
    return {
        code: make(code, display, kind, parent, tuple(codec.read_json(channels) or ()), level)
        for code, display, kind, parent, channels, level in codec.select(sql, params)
    }


def campaign_ids(engine: Engine) -> list[str]:
    """Every stored campaign's id, in order."""
    with reading(engine) as conn:
        ids = core_table(CampaignRow).c.id
        return list(conn.execute(select(ids).order_by(ids)).scalars())


def campaign_timezone(conn: Connection, campaign_id: str) -> str:
    """The campaign's time zone (its stored row's), on the caller's connection."""
    campaigns = core_table(CampaignRow)
    return conn.execute(select(campaigns.c.timezone).where(campaigns.c.id == campaign_id)).scalar_one()
