"""An overlay's re-parenting of division units: `patch: {"130181": {parent: 河北省}}`.

The Ministry of Civil Affairs files some county-level cities under a prefecture whose code they carry while they
answer to the province (省直管: 河北's 辛集市 under 石家庄's 1301, 定州市 under 保定's 1306). Their 催办
`to: [parent]`, roll-ups and the 上级单位 on their pages go to their parent, so the overlay says which one it is.
It is applied before the lines name the bodies, so a body named after its parent follows (辛集市生态环境局, not
石家庄市生态环境局辛集市分局) and each side line's hierarchy too.
"""

from __future__ import annotations

from typing import Any

from duban.domain.lines import LINE_SEPARATOR
from duban.domain.units import Level, Registry
from duban.errors import RegistryError, SpecError, SpecErrors

_RANK = {level: rank for rank, level in enumerate(Level)}


def reparent_divisions(registry: Registry, overlay: Any, source: Any) -> list[SpecError]:
    """Move each division the overlay's `patch:` gives a `parent:` under that unit (a code or a name), checked:
    the parent is in the registry, at a higher level, and not below the unit. Returns the problems, every bad
    entry's at its file, line and field (each left where it was), for the caller to say with the overlay's others."""
    problems: list[SpecError] = []
    for code, patch in overlay.patch.items():
        if patch.parent is None:
            continue
        problem = _reparent(registry, code, patch.parent, source)
        if problem is not None:
            problems.append(problem)
    return problems


def _reparent(registry: Registry, code: str, parent: str, source: Any) -> SpecError | None:
    """Move division `code` under `parent`, or the problem that keeps it where it is."""
    where = ("patch", code, "parent")
    if LINE_SEPARATOR in code:
        division = code.split(LINE_SEPARATOR)[0]
        return source.error(
            where, f"{code} is a side line's body: re-parent the division {division} itself and its bodies follow"
        )
    if code not in registry:
        return source.error(("patch", code), f"no unit {code} in the registry to patch")
    unit = registry.units[code]
    if unit.kind != "division":
        return source.error(where, f"unit {code} is not a division: an overlay unit's parent is its `units:` entry's")
    try:
        above = registry.find(parent)
    except RegistryError as exc:
        return source.error(
            where,
            f"the parent of {code} {unit.name}: {exc}; a re-parented division goes under another division of "
            "the campaign's registry.divisions",
        )
    if above.code == code:
        return source.error(where, f"{code} {unit.name} cannot be its own parent")
    if code in {u.code for u in registry.ancestors(above.code)}:
        return source.error(
            where,
            f"{above.code} {above.name} is below {code} {unit.name}: a unit cannot be under one of its own "
            "(a loop of parents)",
        )
    if _RANK[above.level] >= _RANK[unit.level]:
        return source.error(
            where,
            f"{code} {unit.name} ({unit.level.cn}) cannot be under {above.code} {above.name} ({above.level.cn}): a "
            "division's parent is at a higher level (a 省直管 county-level city: parent: its province)",
        )
    if unit.parent != above.code:
        registry.reparent(code, above.code)
    return None


def said_together(problems: list[SpecError]) -> None:
    """Raise the overlay's problems, every one once in one run (by line), when there are any."""
    if problems:
        once = {str(e): e for e in problems}.values()  # a patch of an unknown code is said by both passes
        ordered = sorted(once, key=lambda e: e.line or 0)
        raise ordered[0] if len(ordered) == 1 else SpecErrors(ordered)
