"""A planned campaign as the database keeps it: its row, its spec (parsed from the stored text) and units."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, Engine, select

from duban.spec.load import read_stored
from duban.spec.models import Campaign
from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.plans import campaign_row
from duban.store.tables import CampaignRow


@dataclass(frozen=True)
class Recipient:
    code: str
    display: str
    kind: str
    parent: str | None
    channels: tuple[str, ...]
    level: str | None


@dataclass
class PlannedCampaign:
    row: CampaignRow
    spec: Campaign
    units: dict[str, Recipient]

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def tz(self) -> str:
        return self.row.timezone

    def stage_ids(self) -> list[str]:
        return [stage.id for stage in self.spec.stages]

    def is_below(self, code: str, ancestor: str) -> bool:
        """Whether unit `code` sits somewhere under `ancestor` in the campaign's hierarchy."""
        unit = self.units.get(code)
        while unit is not None and unit.parent:
            if unit.parent == ancestor:
                return True
            unit = self.units.get(unit.parent)
        return False

    def display(self, code: str | None) -> str:
        if code is None:
            return ""
        unit = self.units.get(code)
        return unit.display if unit else code


@lru_cache(maxsize=32)
def _parse(spec_text: str, spec_path: str) -> Campaign:
    return read_stored(spec_text, spec_path)[1]


def load_campaign(
    engine: Engine | Connection, campaign_id: str, *, units: bool | Collection[str] = True
) -> PlannedCampaign:
    """The campaign as planned (the spec text stored at planning time, not today's file).

    `units=False` skips reading the unit table, for callers that need only the spec (an idle tick); a
    collection of codes reads only those units (a national campaign has 41,568).
    """
    if isinstance(engine, Connection):
        return _load(engine, campaign_id, units)
    with reading(engine) as conn:
        return _load(conn, campaign_id, units)


def _load(conn: Connection, campaign_id: str, with_units: bool | Collection[str]) -> PlannedCampaign:
    row = campaign_row(conn, campaign_id)
    spec = _parse(row.spec_text, row.spec_path)
    units = {}
    if with_units is not False:
        # Read through the driver, each distinct channel list decoded once: a national campaign has 41,568 units
        # and most share theirs (ORM rows took 10 µs a unit, most of it decoding the same JSON again).
        codec = Codec(conn)
        sql, params = _UNITS, [campaign_id]
        if with_units is not True:
            codes = sorted(set(with_units))
            sql += f" AND code IN ({', '.join('?' * len(codes))})" if codes else " AND 0 = 1"
            params += codes
        units = {
            code: Recipient(code, display, kind, parent, tuple(codec.read_json(channels) or ()), level)
            for code, display, kind, parent, channels, level in codec.select(sql, params)
        }
    return PlannedCampaign(row=row, spec=spec, units=units)


_UNITS = (
    "SELECT code, display, kind, parent_code, CAST(channels AS TEXT), level FROM campaign_unit WHERE campaign_id = ?"
)


def campaign_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        ids = core_table(CampaignRow).c.id
        return list(conn.execute(select(ids).order_by(ids)).scalars())
