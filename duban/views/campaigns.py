"""A planned campaign as the database keeps it: its row, its spec (parsed from the stored text) and units."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from duban.spec.load import read_stored
from duban.spec.models import Campaign
from duban.store import campaigns as stored
from duban.store.plans import campaign_row
from duban.store.tables import CampaignRow

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


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

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for code, unit in self.units.items():
            if unit.parent:
                children.setdefault(unit.parent, []).append(code)
        return children

    @cached_property
    def _divisions(self) -> dict[str, list[str]]:
        bodies: dict[str, list[str]] = {}
        for code in self.units:
            bodies.setdefault(code.partition("@")[0], []).append(code)
        return bodies

    def side_by_side(self, code: str) -> list[str]:
        """The bodies of one division in the campaign, `code`'s own and the other lines' (140724, 140724@stats)."""
        return self._divisions.get(code.partition("@")[0], [code])

    def below(self, code: str) -> list[str]:
        """Every unit under `code` in the campaign's hierarchy (children, theirs, …), in no set order."""
        found, todo, seen = [], [code], {code}
        while todo:
            for child in self._children.get(todo.pop(), ()):
                if child not in seen:  # a hierarchy has no cycle; a walk must end even if one slipped in
                    seen.add(child)
                    found.append(child)
                    todo.append(child)
        return found

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
    with stored.connection_of(engine) as conn:
        row = campaign_row(conn, campaign_id)
        spec = _parse(row.spec_text, row.spec_path)
        found = (
            {}
            if units is False
            else stored.units_by_code(conn, campaign_id, Recipient, None if units is True else units)
        )
    return PlannedCampaign(row=row, spec=spec, units=found)


def campaign_ids(engine: Engine) -> list[str]:
    """Every stored campaign's id, in order."""
    return stored.campaign_ids(engine)


def own_units(campaign: PlannedCampaign, duty_holders: set[str]) -> set[str]:
    """The issuer's unit and its offices (科室, 处室) among `duty_holders`, when other duty holders sit below the
    issuer — a campaign it runs over its counties. A campaign of the issuer's own work only (鞍山's 情况汇报, 山东省
    统计局's 处室) sets nothing apart: its units are the ones the 通报 and the report speak of."""
    issuer = next(
        (code for code, u in campaign.units.items() if campaign.spec.issuer in (code, u.display)),
        None,
    )
    if issuer is None:
        return set()
    own = {
        code
        for code in duty_holders
        if code == issuer or ((u := campaign.units.get(code)) is not None and u.kind == "office" and u.parent == issuer)
    }
    below = any(code not in own and campaign.is_below(code, issuer) for code in duty_holders)
    return own if below else set()
