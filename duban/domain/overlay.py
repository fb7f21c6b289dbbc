"""Registry overlays: the bureau's own units (科室, 中心, 开发区, 经普办) and contacts and channels for all.

    units:                      # units that are not places
      - code: 140700-sgk
        name: 设管科
        title: 晋中市统计局设管科
        level: prefecture
        kind: office
        parent: 140700
        tags: [市局科室]
    patch:                      # more about units already in the registry, by code
      "140724": {contact: 张三, phone: 0354-0000000, channels: [env:DUBAN_XIYANG_WECOM]}
      "130181": {parent: 河北省}  # a 省直管 city the divisions file under its prefecture (duban.domain.overlay_parents)
    exclude: ["140702001"]      # units the bureau does not task (a 街道 without a statistics post …)
    lines:                      # a department's bodies per level (duban.domain.lines packages stats, housing …)
      civil: {name: 民政, bodies: {county: "{name}民政局", township: "{name}人民政府"}}

Units below or beside the townships are overlay units too: 村/社区 (level: village), 普查小区 (level: block),
园区/口岸/风景区管委会 (kind: zone, at the level of the division that hosts them).

Channels are references (env:NAME, secret:NAME, sink), never URLs with keys in them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from duban.domain.channel_refs import reference_problem
from duban.domain.lines import (
    LINE_SEPARATOR,
    LINES,
    Line,
    apply_lines,
    check_template,
    division_parent,
    known_line,
    line_named_by,
)
from duban.domain.overlay_parents import reparent_divisions, said_together
from duban.domain.units import Level, Registry, Unit
from duban.errors import RegistryError, SpecError
from duban.spec.load import unseen_characters, validation_errors
from duban.spec.models import Id, SpecLevel
from duban.spec.source import read_source

_SECRET_MARKERS = ("://", "key=", "access_token=", "secret=", "password=")


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelRefs(_Strict):
    channels: list[str] = Field(default_factory=list)

    @field_validator("channels")
    @classmethod
    def _references_only(cls, value: list[str]) -> list[str]:
        for ref in value:
            if any(marker in ref for marker in _SECRET_MARKERS):
                raise ValueError(
                    "a channel is a reference such as env:DUBAN_XIYANG_WECOM or secret:xiyang-wecom, never a URL: "
                    "put the URL (with its key) in that environment variable or Prefect Secret"
                )
            if wrong := reference_problem(ref):
                raise ValueError(f"{ref!r} is not a channel reference: {wrong}")
        return value


class OverlayLine(_Strict):
    name: str
    bodies: dict[SpecLevel | Literal["municipality", "municipal_county", "provincial_county"], str] = Field(
        description="level → body name, e.g. {name}民政局"
    )

    @field_validator("bodies")
    @classmethod
    def _templates(cls, value: dict) -> dict:
        for level, template in value.items():
            check_template(template)
            key = getattr(level, "value", level)
            if not template.strip():
                raise ValueError(f"the body name of level {key} is empty: write e.g. {{name}}民政局")
            if key != "nation" and "{name}" not in template:
                raise ValueError(
                    f"the body name of level {key} ({template[:40]!r}) has no {{name}}: every {key} would be called "
                    "alike (write e.g. {name}民政局)"
                )
        return value


class OverlayUnit(ChannelRefs):
    code: str = Field(max_length=64)
    name: str
    title: str | None = None
    level: SpecLevel
    kind: str = "office"
    parent: str | None = None
    tags: list[str] = Field(default_factory=list)
    contact: str | None = None
    phone: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    line: str | None = Field(default=None, description="the line whose body it is (default: the campaign's line)")

    @field_validator("code", "parent", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        return _text(value)


class UnitPatch(ChannelRefs):
    title: str | None = None
    parent: str | None = Field(
        default=None, description="a division's parent unit (code or name), where it is not the divisions' own"
    )
    tags: list[str] = Field(default_factory=list)
    contact: str | None = None
    phone: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    @field_validator("parent", mode="before")
    @classmethod
    def _code_as_text(cls, value: Any) -> Any:
        return _text(value)


class Overlay(_Strict):
    units: list[OverlayUnit] = Field(default_factory=list)
    patch: dict[str, UnitPatch] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    lines: dict[Id, OverlayLine] = Field(default_factory=dict)

    def known_lines(self) -> dict[str, Line]:
        """The packaged lines and this overlay's own."""
        own = {
            line_id: Line(line_id, line.name, {getattr(k, "value", k): v for k, v in line.bodies.items()})
            for line_id, line in self.lines.items()
        }
        return {**LINES, **own}

    @field_validator("lines")
    @classmethod
    def _own_lines(cls, value: dict) -> dict:
        packaged = sorted(set(value) & set(LINES))
        if packaged:
            raise ValueError(
                f"line {packaged[0]} is packaged with duban (duban units lines shows its bodies): an overlay adds its "
                "own lines under other names; a body named otherwise is a patch of its unit's title"
            )
        return value

    @field_validator("patch", mode="before")
    @classmethod
    def _codes_as_keys(cls, value: Any) -> Any:
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("exclude", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value


def load_overlay(path: Path) -> tuple[Overlay, Any]:
    """Parse an overlay file; errors name file, line and path, all of them in one run."""
    overlay, source, problems, _left_out = read_overlay(path)
    said_together(problems)
    return overlay, source


def read_overlay(path: Path) -> tuple[Overlay, Any, list[SpecError], set[str]]:
    """(the overlay without its refused entries, its source, its problems, the codes of the units left out).

    Its text is held to the spec's rule: a unit named `乐平镇\u202e站计统` reads as another unit in every message,
    page and 通报. A `units:` or `patch:` entry the models refuse is left out and the rest is read, so the file's
    other problems (a bad parent, a patch of no unit) are said in the same run."""
    source = read_source(path, what="overlay", collect=True)
    if source.data is not None and not isinstance(source.data, dict):
        raise source.error((), "an overlay is a mapping of `units:`, `patch:` and `exclude:`")
    data = source.data or {}
    problems = [*source.problems, *(source.error(at, said) for at, said in unseen_characters(data))]
    try:
        return Overlay.model_validate(data), source, problems, set()
    except ValidationError as exc:
        problems += validation_errors(source, exc, Overlay).errors
        refused = {tuple(e["loc"][:2]) for e in exc.errors() if e["loc"][:1] in (("units",), ("patch",))}
    units = data.get("units") if isinstance(data.get("units"), list) else None
    patch = data.get("patch") if isinstance(data.get("patch"), dict) else None
    left_out = (
        {str(units[i].get("code")) for key, i in refused if key == "units" and isinstance(units[i], dict)}
        if units
        else set()
    )
    rest = dict(data)
    if units is not None:
        rest["units"] = [u for i, u in enumerate(units) if ("units", i) not in refused]
    if patch is not None:
        rest["patch"] = {k: v for k, v in patch.items() if ("patch", str(k)) not in refused}
    try:
        return Overlay.model_validate(rest), source, problems, left_out
    except ValidationError:  # a problem outside the entries (lines, exclude): said, nothing more is read
        said_together(problems)
        raise


def _parents_first(
    units: list[OverlayUnit],
    source,  # noqa: ANN001 (a Source)
    problems: list[SpecError],
) -> tuple[list[tuple[int, OverlayUnit]], set[str]]:
    """The overlay's units, each after its parent when the parent is one of them too (the file may list them in
    any order), and the codes left out: a code given twice (its second entry) and units that are their own
    ancestors, each said in `problems` (a loop once, at its first unit's line)."""
    index_of: dict[str, int] = {}
    twice: set[int] = set()
    for i, unit in enumerate(units):
        if unit.code in index_of:
            problems.append(
                source.error(
                    ("units", i, "code"),
                    f"unit code {unit.code} is given twice (first as units[{index_of[unit.code]}])",
                )
            )
            twice.add(i)
            continue
        index_of[unit.code] = i
    placed: set[str] = set()
    refused: set[str] = set()
    ordered: list[tuple[int, OverlayUnit]] = []
    for start, unit in enumerate(units):
        if start in twice:
            continue
        chain: list[int] = []
        at: int | None = start
        while at is not None and units[at].code not in placed:
            if at in chain:
                loop = [units[i].code for i in chain[chain.index(at) :]]
                problems.append(
                    source.error(
                        ("units", at, "parent"),
                        f"units {' → '.join([*loop, loop[0]])} are each other's parent (a loop): one of them has "
                        "another parent",
                    )
                )
                refused.update(loop)
                break
            chain.append(at)
            parent = units[at].parent
            at = index_of.get(parent) if parent else None
        for i in reversed(chain):
            placed.add(units[i].code)
            ordered.append((i, units[i]))
    return ordered, refused


def apply_overlay(
    registry: Registry,
    path: Path,
    *,
    line: str = "stats",
    loaded=None,
    reparented: bool = False,
    problems: list[SpecError] | tuple[SpecError, ...] = (),
    left_out: set[str] | frozenset[str] = frozenset(),
) -> Registry:
    """Add the overlay's units, patch existing ones (re-parent divisions, unless `reparented` already: then
    `problems` holds what that found) and drop excluded ones. Every bad parent is said in one run, each at its line;
    a unit under a refused one is left out without a word of its own."""
    overlay, source = loaded or load_overlay(path)
    problems = list(problems) if reparented else reparent_divisions(registry, overlay, source)
    ranks = {level: rank for rank, level in enumerate(Level)}
    ordered, refused = _parents_first(overlay.units, source, problems)
    refused |= set(left_out)  # units whose own entry is refused: those under them and their patches say nothing
    for index, spec in ordered:
        if spec.code in refused:
            continue
        if spec.parent in refused:
            refused.add(spec.code)
            continue
        if spec.parent and spec.parent not in registry:
            problems.append(
                source.error(("units", index, "parent"), f"parent unit {spec.parent} is not in the registry")
            )
            refused.add(spec.code)
            continue
        above = registry.units[spec.parent].level if spec.parent else None
        if above is not None and ranks[spec.level] < ranks[above]:
            problems.append(
                source.error(
                    ("units", index, "level"),
                    f"unit {spec.code} ({spec.level.cn}) is under {spec.parent} ({above.cn}), a lower level: a unit "
                    "sits at its parent's level or below",
                )
            )
            refused.add(spec.code)
            continue
        if spec.code in registry:
            problems.append(source.error(("units", index, "code"), f"unit code {spec.code} is already in the registry"))
            continue
        registry.add(
            Unit(
                code=spec.code,
                name=spec.name,
                level=spec.level,
                parent=spec.parent,
                kind=spec.kind,
                title=spec.title,
                tags=set(spec.tags),
                channels=list(spec.channels),
                contact=spec.contact,
                phone=spec.phone,
                attributes=dict(spec.attributes),
                line=spec.line or line,
            )
        )
    known = overlay.known_lines()
    for code, patch in overlay.patch.items():
        if code not in registry:
            if code not in refused:  # a unit left out above is said there
                problems.append(source.error(("patch", code), f"no unit {code} in the registry to patch"))
            continue
        unit = registry.get(code)
        other = line_named_by(patch.title, unit, division_parent(registry, unit), known) if patch.title else None
        if other is not None and other != unit.line:
            # a patch of another line's body (晋中市统计局 in a 住建 campaign): it is that body's — its title, its
            # channels — when the campaign has it beside its own line, and nobody's here otherwise
            unit = registry.units.get(f"{code}{LINE_SEPARATOR}{other}")  # type: ignore[assignment]
            if unit is None:
                continue
        unit.title = patch.title or unit.title
        unit.tags |= set(patch.tags)
        unit.channels = list(patch.channels) or unit.channels
        unit.contact = patch.contact or unit.contact
        unit.phone = patch.phone or unit.phone
        unit.attributes.update(patch.attributes)
    for index, code in enumerate(overlay.exclude):
        if code not in registry:
            if code not in refused:
                problems.append(source.error(("exclude", index), f"no unit {code} in the registry to exclude"))
            continue
        registry.remove(code)
    said_together(problems)  # every entry the registry cannot take, in one run
    return registry


def build_registry(
    divisions: list[str],
    overlay: Path | None,
    *,
    line: str = "stats",
    beside: list[str] | tuple[str, ...] = (),
    division_set: Path | None = None,
    levels: list | None = None,
) -> Registry:
    """The registry a spec asks for: division subtrees, their line's bodies (and side lines'), then its overlay."""
    from duban.domain.units import import_divisions

    source = str(division_set) if division_set is not None else None
    registry = import_divisions(divisions, division_set=source, levels=levels or None) if divisions else Registry()
    loaded = None
    problems: list[SpecError] = []
    left_out: set[str] = set()
    if overlay is not None:
        if not overlay.exists():
            raise RegistryError(f"overlay file {overlay} not found (registry.overlay is relative to the spec file)")
        *loaded, problems, left_out = read_overlay(overlay)
    lines = loaded[0].known_lines() if loaded else dict(LINES)
    if loaded:  # before the lines name the bodies: 辛集市生态环境局 under 河北省, each side line alike
        problems += reparent_divisions(registry, *loaded)
    apply_lines(registry, known_line(line, lines), [known_line(b, lines) for b in beside])
    if overlay is not None and loaded:  # the file's own problems, said with the units' bad parents, all at once
        apply_overlay(
            registry, overlay, line=line, loaded=tuple(loaded), reparented=True, problems=problems, left_out=left_out
        )
    return registry
