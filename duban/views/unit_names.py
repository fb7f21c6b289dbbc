"""Names a list can tell apart: a unit whose name another unit in the same list shares (城区住房和城乡建设局 is
阳泉's and 晋城's) is prefixed by its parents' place names until the two differ (阳泉市城区住房和城乡建设局); the
place a unit sits in at a level (its city, its county), by name, for grouping a list under it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from duban.domain.units import Level
from duban.store.db import reading
from duban.store.status import division_names

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from duban.views.campaigns import PlannedCampaign

LEVELS = [level.value for level in Level]


def ancestors(campaign: PlannedCampaign, code: str) -> list[str]:
    """The units above `code` in the campaign, nearest first."""
    found, unit = [], campaign.units.get(code)
    while unit is not None and unit.parent and unit.parent not in found:
        found.append(unit.parent)
        unit = campaign.units.get(unit.parent)
    return found


def place_names(engine: Engine, campaign: PlannedCampaign, codes: Iterable[str]) -> dict[str, str]:
    """code → place name (阳泉市) of `codes` and every unit above them."""
    wanted = set(codes)
    for code in list(wanted):
        wanted.update(ancestors(campaign, code))
    with reading(engine) as conn:
        return division_names(conn, campaign.id, sorted(wanted))


def told_apart(campaign: PlannedCampaign, codes: Iterable[str], places: dict[str, str]) -> dict[str, str]:
    """code → how a list of `codes` names it: its display, or, where another unit of the list has the same display,
    its parents' place names before it (the nearest last) until it differs (阳泉市城区住房和城乡建设局)."""
    codes = list(dict.fromkeys(codes))
    shown = {code: campaign.display(code) for code in codes}
    above = {code: ancestors(campaign, code) for code in codes}
    while True:
        counts = Counter(shown.values())
        clashing = [code for code in codes if counts[shown[code]] > 1 and above[code]]
        if not clashing:
            return shown
        for code in clashing:
            place = places.get(above[code].pop(0), "")
            if place and not shown[code].startswith(place):
                shown[code] = place + shown[code]


def top_level(campaign: PlannedCampaign) -> str | None:
    """The highest level among the campaign's units (a province's campaign: province)."""
    levels = {unit.level for unit in campaign.units.values() if unit.kind != "leader" and unit.level in LEVELS}
    return min(levels, key=LEVELS.index) if levels else None


def group_level(campaign: PlannedCampaign) -> str:
    """The level a list of the campaign's units is grouped by: the one below its top (a province's: its cities;
    a city's: its counties)."""
    top = top_level(campaign)
    index = LEVELS.index(top) + 1 if top else LEVELS.index("county")
    return LEVELS[min(index, len(LEVELS) - 1)]


def place_at(campaign: PlannedCampaign, code: str, level: str) -> str:
    """The unit at `level` that `code` sits in (itself when it is at that level); '' when none is."""
    for candidate in (code, *ancestors(campaign, code)):
        unit = campaign.units.get(candidate)
        if unit is not None and unit.level == level:
            return candidate
    return ""
