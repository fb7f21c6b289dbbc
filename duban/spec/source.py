"""YAML with line numbers: every value's YAML path (`stages[2].window.end`) maps to its line.

Dates stay strings here, so that `2024-06-31` reaches the spec models as text and is reported as
"not a date" at its line instead of crashing the YAML parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from duban.errors import SpecError

PathKey = tuple[str | int, ...]


class _NoDatesLoader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type."""


_NoDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Source:
    """A parsed YAML document with its file name and the line of every path."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)

    def error(self, path: PathKey, message: str, hint: str | None = None) -> SpecError:
        return SpecError(message, file=self.file, line=self.line_of(path), path=dotted(path), hint=hint)


def dotted(path: PathKey) -> str:
    """('stages', 2, 'window', 'end') → 'stages[2].window.end'."""
    text = ""
    for key in path:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else str(key)
    return text


def read_source(path: Path | str, *, text: str | None = None) -> Source:
    """Parse a YAML file into plain Python values and a path → line map."""
    name = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError("file not found", file=name) from None
        except UnicodeDecodeError as exc:
            raise SpecError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=name) from None
    try:
        node = yaml.compose(text, Loader=_NoDatesLoader)
        source = Source(file=name, data=None)
        source.data = _build(node, (), source.lines) if node is not None else {}
    except SpecError as exc:
        exc.file = name
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            f"not valid YAML: {problem}",
            file=name,
            line=(mark.line + 1) if mark else None,
            hint="check the indentation and that every `key: value` has a space after the colon",
        ) from None
    return source


def _build(node: yaml.Node, path: PathKey, lines: dict[PathKey, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in result:
                raise SpecError(
                    f"key {key!r} appears twice",
                    line=key_node.start_mark.line + 1,
                    path=dotted((*path, str(key))),
                )
            result[key] = _build(value_node, (*path, str(key)), lines)
            lines[(*path, str(key))] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, index), lines) for index, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise SpecError("a key must be plain text", line=node.start_mark.line + 1)
    if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in node.value:
        return node.value  # YAML 1.1 reads 17:30 as a base-60 number; here it is a time of day
    return _CONSTRUCTOR.construct_object(node, deep=True)


_CONSTRUCTOR = _NoDatesLoader("")
