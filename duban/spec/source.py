"""YAML with line numbers: every value's YAML path (`stages[2].window.end`) maps to its line.

Dates stay strings here, so that `2024-06-31` reaches the spec models as text and is reported as
"not a date" at its line instead of crashing the YAML parser.

A spec is hostile input until it is read: only a regular file of bounded size is opened (`duban.spec.files`), nesting
stops at `MAX_DEPTH` levels, an alias may not contain itself, aliases may add at most `MAX_ALIAS_NODES` values
in all (a "billion laughs" of nested aliases is refused, not expanded), and text that no database or terminal
takes (half of a UTF-16 pair such as \\ud800, NUL and other control characters) is an error at its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from duban.errors import SpecError, SpecErrors
from duban.spec.files import decode, read_bytes

PathKey = tuple[str | int, ...]

MAX_DEPTH = 64
"""Levels of nesting (a spec needs about eight): deeper documents are refused before Python's stack is."""
MAX_ALIAS_NODES = 10_000
"""Values that aliases (*name) may add to a document by repeating what their anchor (&name) holds."""
MAX_TEXT = 100_000
"""Characters of one value: a notice's longest paragraph is a few thousand."""
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _DepthBound:
    """A composer that refuses documents nested deeper than MAX_DEPTH (PyYAML's composer recurses)."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                raise SpecError(
                    f"nested more than {MAX_DEPTH} levels deep: a spec needs a handful",
                    line=mark.line + 1,
                    hint="check for runaway brackets [[[ or {{{",
                )
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1


class BoundedSafeLoader(_DepthBound, yaml.SafeLoader):
    """yaml.SafeLoader (dates and all) with the nesting bound: for the calendar overrides file."""


class _Bounded(_DepthBound, yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type, with the nesting bound: for specs and overlays."""


_Bounded.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Source:
    """A parsed YAML document with its file name and the line of every path.

    `problems` are errors found while reading that do not stop the reading (a key given twice): the spec
    loader reports them together with what the models find.
    """

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    problems: list[SpecError] = field(default_factory=list)
    written: dict[PathKey, str] = field(default_factory=dict)  # a yes, 2024 or 2024-06-30 as typed, not as read

    def line_of(self, path: PathKey) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)

    def error(self, path: PathKey, message: str, hint: str | None = None) -> SpecError:
        error = SpecError(message, file=self.file, line=self.line_of(path), path=dotted(path), hint=hint)
        error.key = tuple(path)
        return error


def dotted(path: PathKey) -> str:
    """('stages', 2, 'window', 'end') → 'stages[2].window.end'."""
    text = ""
    for key in path:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else str(key)
    return text


def read_source(path: Path | str, *, text: str | None = None, collect: bool = False, what: str = "spec") -> Source:
    """Parse a YAML file into plain Python values and a path → line map.

    With `collect`, problems that do not stop the reading stay in `Source.problems`; otherwise the first
    of them is raised.
    """
    name = str(path)
    if text is None:
        text = decode(read_bytes(path, what=what), name)
    try:
        loader = _Bounded(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        source = Source(file=name, data=None)
        if node is not None:
            source.data = _Builder(source).build(node, ())
        else:
            source.data = {}
    except SpecError as exc:
        exc.file = name
        raise
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow in a file (NUL, most controls)
        raise SpecError(
            f"contains the character U+{_code(exc.character):04X}, which YAML does not allow in a file: remove it",
            file=name,
            line=text.count("\n", 0, exc.position) + 1,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "cannot be read"
        line = (mark.line + 1) if mark else None
        tag = re.search(r"constructor for the tag '([^']*)'", problem)
        if tag and tag.group(1) == "tag:yaml.org,2002:merge":  # `<<: *defaults`: not indentation, a YAML feature
            raise SpecError(
                "a merge key (`<<: *name`) is not read in specs",
                file=name,
                line=line,
                hint="write the keys out under each entry (an anchor and an alias, &name and *name, may still "
                "repeat a whole value, such as a list of formats)",
            ) from None
        if tag:  # !!python/object, !include …: a spec holds plain values only
            raise SpecError(
                f"the tag {tag.group(1)[:60]!r} is not read in specs: they hold plain values (text, numbers, "
                "dates, lists, maps) only",
                file=name,
                line=line,
                hint="remove the tag (the part beginning with ! before the value)",
            ) from None
        raise SpecError(
            f"not valid YAML: {problem}",
            file=name,
            line=line,
            hint="check the indentation and that every `key: value` has a space after the colon",
        ) from None
    except RecursionError:  # a last line of defence: MAX_DEPTH stops well before Python's stack
        raise SpecError(f"nested too deep (over {MAX_DEPTH} levels)", file=name) from None
    for problem in source.problems:
        problem.file = name
    if source.problems and not collect:
        raise source.problems[0] if len(source.problems) == 1 else SpecErrors(source.problems)
    return source


def _code(character: Any) -> int:
    return character if isinstance(character, int) else ord(str(character)[:1] or "\0")


class _Builder:
    """Turns the composed nodes into plain values, counting what aliases add and refusing cycles."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.lines = source.lines
        self.seen: set[int] = set()  # nodes built once; building one again is an alias's expansion
        self.expanded = 0
        self.open: set[int] = set()  # nodes being built (an alias to one of them is a cycle)

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        key = id(node)
        if key in self.open:
            raise SpecError(
                "an alias (*name) refers to a value that contains it: it would never end",
                line=node.start_mark.line + 1,
                path=dotted(path),
            )
        if key in self.seen:
            self.expanded += 1
            if self.expanded > MAX_ALIAS_NODES:
                raise SpecError(
                    f"aliases (*name) repeat their anchors into more than {MAX_ALIAS_NODES:,} values: "
                    "a spec needs no such expansion",
                    line=node.start_mark.line + 1,
                    path=dotted(path),
                )
        self.seen.add(key)
        self.lines[path] = node.start_mark.line + 1
        plain = {yaml.MappingNode: "tag:yaml.org,2002:map", yaml.SequenceNode: "tag:yaml.org,2002:seq"}.get(type(node))
        if plain is not None and node.tag != plain:  # !!python/object/apply:os.system [...] on a list or a map
            raise SpecError(
                f"the tag {str(node.tag)[:60]!r} is not read in specs: they hold plain values (text, numbers, "
                "dates, lists, maps) only",
                line=node.start_mark.line + 1,
                path=dotted(path),
                hint="remove the tag (the part beginning with ! before the value)",
            )
        if isinstance(node, yaml.MappingNode):
            self.open.add(key)
            try:
                return self._mapping(node, path)
            finally:
                self.open.discard(key)
        if isinstance(node, yaml.SequenceNode):
            self.open.add(key)
            try:
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            finally:
                self.open.discard(key)
        if node.tag in _NOT_TEXT and not node.style:  # unquoted: `title: yes` is read as True
            self.source.written[path] = node.value[:40]
        try:
            return _scalar(node, path)
        except _BadText as exc:  # said with the file's other problems; the rest is read as if it were deleted
            self.source.problems.append(exc)
            return exc.cleaned

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, path, key=True)
            if key in result:
                self.source.problems.append(
                    SpecError(
                        f"key {key!r} appears twice (first on line {self.lines[(*path, str(key))]}): keep one",
                        line=key_node.start_mark.line + 1,
                        path=dotted((*path, str(key))),
                    )
                )
                continue
            result[key] = self.build(value_node, (*path, str(key)))
            self.lines[(*path, str(key))] = key_node.start_mark.line + 1
        return result


MAX_NUMBER_CHARS = 30
"""The longest number a spec may write (a seed of 2^63 is 19 digits): a 5,000-digit count is refused by its length."""


_NOT_TEXT = frozenset(f"tag:yaml.org,2002:{kind}" for kind in ("bool", "int", "float", "timestamp", "null"))


def _scalar(node: yaml.Node, path: PathKey, *, key: bool = False) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise SpecError("a key must be plain text", line=node.start_mark.line + 1, path=dotted(path))
    line = node.start_mark.line + 1
    if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in node.value:
        return node.value  # YAML 1.1 reads 17:30 as a base-60 number; here it is a time of day
    if node.tag == _TIMESTAMP:
        value: Any = node.value  # `!!timestamp 2024-13-45`: a date as text, which the models check
    elif node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and len(node.value) > MAX_NUMBER_CHARS:
        digits = sum(ch.isdigit() for ch in node.value)
        raise SpecError(
            f"a number of {digits:,} digits: a number in a spec has at most {MAX_NUMBER_CHARS} characters "
            "(no count, offset or seed needs more)",
            line=line,
            path=dotted(path),
        )
    else:
        try:
            value = _CONSTRUCTOR.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except (ValueError, OverflowError, TypeError, ArithmeticError) as exc:
            shown = node.value if len(node.value) <= 40 else node.value[:40] + "…"
            raise SpecError(
                f"{shown!r} cannot be read as {node.tag.rsplit(':', 1)[-1]} ({exc})"[:300], line=line, path=dotted(path)
            ) from None
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise _BadText(problem, line=line, path=dotted(path), cleaned=_BAD_TEXT.sub("", value)[:MAX_TEXT])
    if key and not isinstance(value, (str, int, bool, float)) and value is not None:
        raise SpecError("a key must be plain text", line=line, path=dotted(path))
    return value


class _BadText(SpecError):
    """A value that cannot be spec text (a NUL, a control character …), with what is left without those."""

    def __init__(self, message: str, *, line: int, path: str, cleaned: str) -> None:
        super().__init__(message, line=line, path=path)
        self.cleaned = cleaned


def text_problem(value: str) -> str | None:
    """Why `value` cannot be spec text: too long, half a UTF-16 pair, NUL or another control character."""
    if len(value) > MAX_TEXT:
        return f"a value of {len(value):,} characters: at most {MAX_TEXT:,}"
    bad = _BAD_TEXT.search(value)
    if bad is None:
        return None
    code = ord(bad.group())
    if 0xD800 <= code <= 0xDFFF:
        return (
            f"contains \\u{code:04x} at character {bad.start() + 1}, half of a UTF-16 pair and no character "
            "by itself: retype the text around it"
        )
    return f"contains the control character \\x{code:02x} at character {bad.start() + 1}: remove it"


_BAD_TEXT = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONSTRUCTOR = _Bounded("")
