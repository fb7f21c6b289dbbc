"""Who a campaign's 催办 and roll-ups reach, as a careful clerk checks it: warnings, not errors.

- a 催办 `to: [parent]` of units feeding a roll-up that lands on a parent holding no duty, below the roll-up's
  holder: enterprises listed at a township's code are escalated to the 乡镇人民政府 while the county 住建局 whose
  汇总 waits for them hears of a quarter of them (an outside tester's finding);
- a unit that hands in a roll-up's `from:` item with no unit holding its `into:` above it: its figures are added up
  nowhere (济源市, a 省直管 city under 河南省, beside the 17 cities' 全市汇总).

Each is (YAML path, message); `duban.spec.checks` places them at their lines (see duban.spec.clerk).
"""

from __future__ import annotations

from duban.domain.plan import Plan
from duban.domain.rollup_reach import rollups_with_paths
from duban.instants import fmt
from duban.spec.source import PathKey

Found = list[tuple[PathKey, str]]
SHOWN = 5


def _named(plan: Plan, codes: list[str]) -> str:
    units = plan.registry.units
    shown = "、".join(f"{units[c].display}（{c}）" if c in units else c for c in codes[:SHOWN])
    return shown + (f" and {len(codes) - SHOWN} more" if len(codes) > SHOWN else "")


def escalations_past_the_rollup(plan: Plan, places: list[tuple[PathKey, list, list[str]]]) -> Found:
    """催办 `to: [parent]` of units feeding a roll-up that reach a parent holding no duty in the campaign, while the
    roll-up's holder above that parent waits for them (`places`: duban.spec.clerk's escalation places: path,
    steps, items). A county 统计局 told of its townships' slips in a city's campaign holds no duty either, and is
    right to hear: only a parent between the units and the unit adding them up is named."""
    owing: dict[str, set[str]] = {}
    for a in plan.assignments:
        owing.setdefault(a.item_id, set()).add(a.unit_code)
    fed = {r.from_: owing.get(r.into, set()) for _path, r in rollups_with_paths(plan.campaign) if r.into}
    units = plan.registry.units
    duty = set().union(*owing.values()) if owing else set()
    found: Found = []
    for path, steps, items in places:
        for index, step in enumerate(steps):
            if "parent" not in step.to:
                continue
            skipped: dict[str, int] = {}  # parent → units escalated to it past their roll-up's holder
            for a in plan.assignments:
                holders = fed.get(a.item_id)
                if not holders or a.item_id not in items or len(a.escalations) <= index:
                    continue
                unit = units.get(a.unit_code)
                parent = unit.parent if unit else None
                if not parent or parent in duty or parent not in a.escalations[index][1]:
                    continue
                above = units[parent].parent if parent in units else None
                while above and above not in holders:
                    above = units[above].parent if above in units else None
                if above:
                    skipped[parent] = skipped.get(parent, 0) + 1
            if skipped:
                parents = sorted(skipped, key=lambda code: (-skipped[code], code))
                found.append(
                    (
                        path,
                        f"催办 after {step.after} goes to the parent, and for {sum(skipped.values())} units that "
                        f"parent holds no duty in this campaign ({_named(plan, parents)}) while the unit adding "
                        "their figures up sits above it and hears nothing: attach the units to the body that "
                        "answers for them (a 名录's division code of 6 digits: the county), or name who hears",
                    )
                )
    return found


def feeders_no_rollup_reaches(plan: Plan) -> Found:
    """Units owing a roll-up's `from:` item (leading or responsible) with no unit owing its `into:` above them."""
    owing: dict[str, set[str]] = {}
    for a in plan.assignments:
        if a.role != "cooperating":  # a 配合 body's copy is not added up: its lead's is
            owing.setdefault(a.item_id, set()).add(a.unit_code)
    units = plan.registry.units
    found: Found = []
    for path, rollup in rollups_with_paths(plan.campaign):
        holders = owing.get(rollup.into or "", set())
        if not rollup.into or not holders:
            continue
        alone = []
        for code in sorted(owing.get(rollup.from_, set())):
            unit, reached = units.get(code), False
            parent = unit.parent if unit else None
            while parent and not reached:
                reached = parent in holders
                parent = units[parent].parent if parent in units else None
            if not reached:
                alone.append(code)
        if alone:
            found.append(
                (
                    path,
                    f"roll-up {rollup.id!r}: {_named(plan, alone)} hand{'s' if len(alone) == 1 else ''} in "
                    f"`{rollup.from_}` with no unit holding `{rollup.into}` above "
                    f"{'it' if len(alone) == 1 else 'them'}: {'its' if len(alone) == 1 else 'their'} figures are "
                    "added up nowhere (a 省直管 city under its province); give the province the item, or an overlay "
                    "`parent:` that puts them under a unit that holds it",
                )
            )
    return found


def rollups_due_before_feeders(plan: Plan, items: set[str] | None = None) -> Found:
    """Units holding a roll-up's `into:` whose due comes before the `from:` due of units below them: the city's
    汇总 due 6/10 while its counties' 台账 are due 6/20 adds up figures not yet handed in (an amendment that
    moved the counties' due said nothing of it: an outside tester's finding). `items`: only roll-ups touching
    these (an amendment's re-planned items)."""
    dues: dict[tuple[str, str], dict[str, tuple]] = {}  # (item, instance) → unit → (due, role)
    for a in plan.assignments:
        dues.setdefault((a.item_id, a.instance), {})[a.unit_code] = (a.due_at, a.role)
    units = plan.registry.units
    tz = plan.campaign.timezone
    found: Found = []
    for path, rollup in rollups_with_paths(plan.campaign):
        if not rollup.into or (items is not None and not {rollup.from_, rollup.into} & items):
            continue
        early: dict[str, tuple] = {}  # holder → (its due, the latest due below, how many units below are later)
        for (item, instance), holders in dues.items():
            if item != rollup.into:
                continue
            feeding = dues.get((rollup.from_, instance)) or dues.get((rollup.from_, ""), {})
            for code, (due, role) in feeding.items():
                if role == "cooperating":  # a 配合 body's copy is not added up: its lead's is
                    continue
                unit = units.get(code)
                above = unit.parent if unit else None
                while above and above not in holders:
                    above = units[above].parent if above in units else None
                if above is None or due <= holders[above][0]:
                    continue
                held, latest, count = early.get(above, (holders[above][0], due, 0))
                early[above] = (held, max(latest, due), count + 1)
        if early:
            first = sorted(early, key=lambda code: (early[code][0] - early[code][1], code))
            held, latest, _count = early[first[0]]
            later = sum(count for _held, _latest, count in early.values())
            found.append(
                (
                    path,
                    f"roll-up {rollup.id!r}: {_named(plan, first)} {'is' if len(first) == 1 else 'are'} due to hand "
                    f"in `{rollup.into}` before {later} unit{'s' if later != 1 else ''} below hand in `{rollup.from_}` "
                    f"(e.g. `{rollup.into}` due {fmt(held, tz)}, `{rollup.from_}` due {fmt(latest, tz)}): the 汇总 "
                    "would add up figures not yet in; move one of the dues",
                )
            )
    return found
