"""Lines (条线): which department's body a division unit stands for, named once per level.

A statistics campaign reaches 昔阳县统计局 and 乐平镇统计站; a 住房和城乡建设 campaign reaches 昔阳县住房和城乡建设局
and, in the townships, 乐平镇人民政府. A line names its body per level with a template ({name}: the division's
name, {parent}: its parent division's name); `municipality` names a 直辖市's body (北京市住房和城乡建设委员会,
not a 厅), `nation` the ministry or national bureau above the provinces; `municipal_county` a 直辖市's 区县 and
`provincial_county` a 省直辖县级市 (济源市, 仙桃市), where a line names those apart from other counties. A 直辖市's
区县 carry the city's name (北京市朝阳区统计局: 朝阳区 alone is also 长春's, 和平区 沈阳's), and `cities` holds what one
直辖市 calls its bodies otherwise (上海市住房和城乡建设管理委员会, 上海市黄浦区建设和管理委员会).

    registry:
      divisions: [140000]
      line: housing          # the division units (140724 …) are the 住建 bodies
      beside: [stats]        # and the same divisions' 统计局 side by side: 140724@stats … with their own channels

duban packages the lines below; an overlay's `lines:` adds a bureau's own (or renames a packaged one).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from duban.domain.units import DIVISION_LEVELS, STATS_BODIES, Level, Registry, Unit, division_above
from duban.errors import RegistryError

PLACEHOLDERS = ("{name}", "{parent}")
LINE_SEPARATOR = "@"
"""A side line's unit code: the division code, @, the line id (140724@stats)."""


@dataclass(frozen=True)
class Line:
    """A department's line: its bodies per level (templates), e.g. county → {name}住房和城乡建设局."""

    id: str
    name: str
    bodies: dict[str, str]
    cities: dict[str, dict[str, str]] = field(default_factory=dict)
    """A 直辖市's name → its own templates for `municipality` and `municipal_county` (and for one 区 by its name),
    where that city names its bodies unlike the other three (上海市: its 住建 body is a 住房和城乡建设管理委员会)."""

    def body(self, level: Level, name: str, parent: Unit | None = None) -> str:
        """The body's name at a division, e.g. 昔阳县住房和城乡建设局 (`parent`: the division above, for {parent});
        a level the line does not name keeps the place name."""
        key, city = level.value, None
        if level is Level.province and name.endswith("市"):
            key, city = "municipality", name
        if level is Level.county and parent is not None and parent.level is Level.province:
            # a 直辖市's 区县 (北京市朝阳区) or a 省直辖县级市 (济源市, 仙桃市): no prefecture in between
            key = "municipal_county" if parent.name.endswith("市") else "provincial_county"
            city = parent.name if key == "municipal_county" else None
        own = self.cities.get(city, {}) if city and self.cities else {}
        template = (own.get(name) if level is Level.county else None) or own.get(key) or self.bodies.get(key)
        if template is None and key != level.value:
            template = self.bodies.get(level.value)
            if key == "municipal_county" and template is not None and template.startswith("{name}"):
                # as every 直辖市 writes its 区县's bodies: 北京市朝阳区统计局 (朝阳区 is also 长春's)
                template = "{parent}" + template
        if template is None:
            return name
        body = template.replace("{name}", name).replace("{parent}", parent.name if parent else "")
        if level is Level.township and body.endswith("街道人民政府"):  # a 街道 has an 办事处, not a 人民政府
            body = body.removesuffix("人民政府") + "办事处"
        elif level is Level.township and body.endswith("区公所人民政府"):  # a 区公所 is itself the body
            body = body.removesuffix("人民政府")
        return body


LINES: dict[str, Line] = {
    line.id: line
    for line in (
        Line("stats", "统计", dict(STATS_BODIES)),
        Line(
            "housing",
            "住房和城乡建设",
            {
                "nation": "住房和城乡建设部",
                "province": "{name}住房和城乡建设厅",
                "municipality": "{name}住房和城乡建设委员会",
                "prefecture": "{name}住房和城乡建设局",
                "county": "{name}住房和城乡建设局",
                "municipal_county": "{parent}{name}住房和城乡建设委员会",  # 北京市海淀区…, 重庆市万州区…
                "township": "{name}人民政府",
            },
            {
                "上海市": {
                    "municipality": "{name}住房和城乡建设管理委员会",
                    "municipal_county": "{parent}{name}建设和管理委员会",  # 上海's 区 have a 建管委
                    "浦东新区": "{parent}{name}建设和交通委员会",
                }
            },
        ),
        Line(
            "ecology",
            "生态环境",
            {
                "nation": "生态环境部",
                "province": "{name}生态环境厅",
                "municipality": "{name}生态环境局",
                "prefecture": "{name}生态环境局",
                "county": "{parent}生态环境局{name}分局",
                "municipal_county": "{parent}{name}生态环境局",  # 北京市朝阳区生态环境局
                "provincial_county": "{name}生态环境局",  # 仙桃市生态环境局, not 湖北省生态环境局仙桃市分局
                "township": "{name}人民政府",
            },
        ),
        Line(
            "market",
            "市场监督管理",
            {
                "nation": "国家市场监督管理总局",
                "province": "{name}市场监督管理局",
                "prefecture": "{name}市场监督管理局",
                "county": "{name}市场监督管理局",
                "township": "{name}市场监督管理所",
            },
            {"天津市": {"municipality": "{name}市场监督管理委员会"}},  # its 区 have a 局 as elsewhere
        ),
        Line(
            "emergency",
            "应急管理",
            {
                "nation": "应急管理部",
                "province": "{name}应急管理厅",
                "municipality": "{name}应急管理局",
                "prefecture": "{name}应急管理局",
                "county": "{name}应急管理局",
                "township": "{name}人民政府",
            },
        ),
        Line(
            "government",
            "人民政府",
            {
                "nation": "国务院",
                "province": "{name}人民政府",
                "prefecture": "{name}人民政府",
                "county": "{name}人民政府",
                "township": "{name}人民政府",
            },
        ),
    )
}
"""The packaged lines. A body's real name that differs from its template (a 自治县's 局 with another name, a
区's 分局) is an overlay `patch:` of that unit's title."""


def check_template(template: str) -> str:
    """A body template may use {name} and {parent} only (it is text, not a format string)."""
    rest = template
    for placeholder in PLACEHOLDERS:
        rest = rest.replace(placeholder, "")
    if "{" in rest or "}" in rest:
        raise ValueError(f"{template!r}: a body name may use {{name}} and {{parent}} only")
    return template


class UnknownLine(RegistryError):
    """A spec names a line neither packaged nor in its overlay."""

    def __init__(self, line_id: str, message: str) -> None:
        self.line_id = line_id
        super().__init__(message)


def known_line(line_id: str, lines: dict[str, Line]) -> Line:
    try:
        return lines[line_id]
    except KeyError:
        close = difflib.get_close_matches(str(line_id), list(lines), n=1, cutoff=0.6)
        guess = f"did you mean {close[0]!r}? or " if close else ""
        raise UnknownLine(
            line_id, f"no line {line_id!r} (known: {', '.join(lines)}); {guess}add it under `lines:` in the overlay"
        ) from None


def line_named_by(title: str, unit: Unit, parent: Unit | None, lines: dict[str, Line]) -> str | None:
    """The line whose body `title` is at `unit` (`parent`: the division above it), if one of `lines`
    names it so: a bureau's overlay patches its own bodies (`patch: {"140700": {title: 晋中市统计局}}`)."""
    if unit.kind != "division" or unit.level not in DIVISION_LEVELS:
        return None
    # a 直辖市's 区县 also by the name without its city (朝阳区统计局), as overlays wrote it before
    return next(
        (
            line.id
            for line in lines.values()
            if title in (line.body(unit.level, unit.name, parent), line.body(unit.level, unit.name))
        ),
        None,
    )


def division_parent(registry: Registry, unit: Unit) -> Unit | None:
    """The division above `unit`: in the registry, or (a registry that starts at `unit`) from the divisions."""
    if unit.parent:
        return registry.units.get(unit.parent)
    return division_above(unit.code)


def apply_lines(registry: Registry, primary: Line, beside: list[Line]) -> None:
    """Name the division units for the primary line and add each side line's bodies beside them."""
    divisions = [u for u in registry if u.kind == "division" and u.level in DIVISION_LEVELS]
    # Unit.display names the statistics bodies: only a 区县 of theirs may be named otherwise (北京市朝阳区统计局)
    plain = primary.bodies == STATS_BODIES and not primary.cities
    for unit in divisions:
        unit.line = primary.id
        if unit.title or (plain and unit.level is not Level.county):
            continue
        body = primary.body(unit.level, unit.name, division_parent(registry, unit))
        if not plain or body != unit.display:
            unit.title = body
    codes = {u.code for u in divisions}
    for line in beside:
        if line.id == primary.id:
            raise RegistryError(f"line {line.id!r} is the campaign's own line: `beside:` lists the other lines")
        for unit in divisions:
            parent = division_parent(registry, unit)
            registry.add(
                Unit(
                    code=f"{unit.code}{LINE_SEPARATOR}{line.id}",
                    name=unit.name,
                    level=unit.level,
                    parent=f"{unit.parent}{LINE_SEPARATOR}{line.id}" if unit.parent in codes else None,
                    kind="division",
                    title=line.body(unit.level, unit.name, parent),
                    line=line.id,
                )
            )
