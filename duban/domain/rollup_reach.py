"""A roll-up adds up exactly the units below its unit: one whose unit has none below is an error at validate.

A 直辖市's body holding the provinces' `into` item has no 市级 unit below it; before this check its roll-up
counted every feeding unit of the campaign ("已报 298/333", the national total). Now `duban validate` names the
roll-up's line and the units that would add up nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from duban.domain.units import Registry
from duban.spec.models import Campaign, Rollup
from duban.spec.source import PathKey

SHOWN = 5


def rollups_with_paths(campaign: Campaign) -> list[tuple[PathKey, Rollup]]:
    """The spec's roll-ups and those its forward implies, with their YAML paths."""
    found: list[tuple[PathKey, Rollup]] = [(("rollups", i), r) for i, r in enumerate(campaign.rollups)]
    if campaign.forward is not None:
        found += [(("forward", "items", i), r) for i, r in enumerate(campaign.forward.rollups())]
    return found


def reach_problems(
    campaign: Campaign,
    registry: Registry,
    holders_of: Callable[[str], set[str]],
    tally_units: Callable[[Rollup], list[str]],
) -> list[tuple[PathKey, str]]:
    """Roll-ups whose unit has no feeding unit below it; `holders_of(item)` gives the units owing an item."""
    problems: list[tuple[PathKey, str]] = []
    for path, rollup in rollups_with_paths(campaign):
        feeders = holders_of(rollup.from_)
        if not feeders:
            continue  # the item's own problem (no units), reported where it is
        above = _ancestors(registry, feeders)
        holders = sorted(holders_of(rollup.into)) if rollup.into else tally_units(rollup)
        empty = [code for code in holders if code not in above]
        if not empty:
            continue
        shown = "、".join(f"{registry.units[c].display}（{c}）" if c in registry else c for c in empty[:SHOWN])
        more = f" and {len(empty) - SHOWN} more" if len(empty) > SHOWN else ""
        held = f"`into: {rollup.into}`" if rollup.into else "the tally"
        problems.append(
            (
                path,
                (
                    f"roll-up {rollup.id!r}: {shown}{more} hold{'s' if len(empty) == 1 else ''} {held} but no "
                    f"unit owing `from: {rollup.from_}` is below {'it' if len(empty) == 1 else 'them'}; a roll-up "
                    "adds up exactly the units below its unit (a 直辖市 has no 市级 unit below it): give the units "
                    "below the item, or leave these units out"
                ),
            )
        )
    return problems


def _ancestors(registry: Registry, codes: Iterable[str]) -> set[str]:
    """Every unit some code sits below."""
    above: set[str] = set()
    units = registry.units
    for code in codes:
        unit = units.get(code)
        parent = unit.parent if unit else None
        while parent and parent not in above:
            above.add(parent)
            parent = units[parent].parent if parent in units else None
    return above
