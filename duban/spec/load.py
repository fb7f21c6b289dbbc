"""Load a campaign spec: YAML → Campaign, with every problem named by file, line and YAML path.

campaign_specs/jinzhong-2024-lookback.yaml:31 stages[2].window.end: 2024-06-31 is not a date
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from duban.domain.unseen import first_unseen
from duban.errors import SpecError, SpecErrors
from duban.spec.files import decode, read_bytes
from duban.spec.ids import repeated_ids
from duban.spec.models import Campaign
from duban.spec.source import PathKey, Source, read_source


@dataclass
class LoadedSpec:
    """A validated campaign with where it came from."""

    campaign: Campaign
    source: Source
    path: Path
    sha256: str
    # A campaign re-planned from its record reads each stored list (registry.lists by name) as it stood when the
    # campaign was planned: {list name: that instant}. Empty for a spec read from its file (today's lists).
    lists_as_of: dict[str, datetime] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent


@dataclass
class Draft:
    """A spec file as read, with every problem found so far; `campaign` is None when the models refuse it."""

    path: Path
    source: Source
    sha256: str
    campaign: Campaign | None
    errors: list[SpecError]
    refused: list[SpecError]  # those of `errors` the models raised


def read_spec(path: Path | str) -> Draft:
    """Read a spec file and check it against the models; problems of the file itself (not found, not UTF-8,
    not YAML, not a mapping) are raised, the others are collected: a key given twice, what the models refuse,
    ids used twice."""
    path = Path(path)
    raw = read_bytes(path, what="spec")
    text = decode(raw, str(path))
    source = read_source(path, text=text, collect=True)
    if not source.lines:
        raise SpecError("is empty: a spec is a mapping of keys (id, title, issuer, stages …)", file=str(path))
    if not isinstance(source.data, dict):
        raise source.error((), "a spec is a mapping of keys (id, title, issuer, stages …)")
    if source.data and not set(map(str, source.data)) & set(Campaign.model_fields):
        # another file (a typo in the path, /etc/…): said once, its lines not echoed back as unknown keys
        raise SpecError(
            f"is not a duban spec: none of its {len(source.data)} top-level keys is one a spec has "
            "(id, title, issuer, stages …)",
            file=str(path),
        )
    errors = [
        *source.problems,
        *(source.error(where, message) for where, message in repeated_ids(source.data)),
        *(source.error(where, message) for where, message in unseen_characters(source.data)),
    ]
    campaign, refused = None, []
    try:
        campaign = Campaign.model_validate(source.data)
    except ValidationError as exc:
        refused = validation_errors(source, exc, Campaign).errors
    return Draft(
        path=path,
        source=source,
        sha256=hashlib.sha256(raw).hexdigest(),
        campaign=campaign,
        errors=[*errors, *refused],
        refused=refused,
    )


LAID_OUT = "\t\n\r"
"""The controls a spec's text may hold: a tab and the line ends a block (`|`) keeps."""


def unseen_characters(data: Any, at: tuple = ()) -> list[tuple[tuple, str]]:
    """(YAML path, message) of each key or text holding a character nobody sees, as the portal's forms refuse them
    (domain.unseen: a control other than LAID_OUT, a zero-width or soft hyphen, private use, a line separator or a
    text-direction character): a title with U+202E reads backwards in every message (同意 as 意同), one with U+2028
    breaks a line a phone shows as duban's own (testers' findings: the portal refused them, a spec took them)."""
    found: list[tuple[tuple, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += unseen_characters(key, at) if isinstance(key, str) else []
            found += unseen_characters(value, (*at, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += unseen_characters(value, (*at, index))
    elif isinstance(data, str) and (code := first_unseen(data, keep=LAID_OUT)):
        found.append((at, f"holds {code}, an invisible or text-direction character: delete it"))
    return found


def load_spec(path: Path | str) -> LoadedSpec:
    """Read and validate one spec file; raises SpecErrors listing every problem found, each at its line."""
    draft = read_spec(path)
    if draft.errors or draft.campaign is None:
        raise SpecErrors(by_line(draft.errors))
    return LoadedSpec(campaign=draft.campaign, source=draft.source, path=draft.path, sha256=draft.sha256)


def read_stored(spec_text: str, spec_path: str) -> tuple[Source, Campaign]:
    """A spec as the database keeps it (the text planned, not today's file): the one parser of stored specs.

    Errors name the stored path and line, as a file's would.
    """
    source = read_source(spec_path, text=spec_text)
    try:
        return source, Campaign.model_validate(source.data)
    except ValidationError as exc:
        raise validation_errors(source, exc, Campaign) from None


def by_line(errors: list[SpecError]) -> list[SpecError]:
    """Errors in the order of their lines (those without a line first), each once."""
    unique = {str(error): error for error in errors}
    return sorted(unique.values(), key=lambda e: e.line or 0)


def validation_errors(source: Source, exc: ValidationError, root: type[BaseModel]) -> SpecErrors:
    """pydantic's errors as SpecErrors naming file, line and YAML path."""
    return SpecErrors([_spec_error(source, err, root) for err in exc.errors()])


def _spec_error(source: Source, err: Mapping[str, Any], root: type[BaseModel]) -> SpecError:
    if err["type"] == "spec_at":  # a model's error about one of its parts (duban.spec.models.at_path)
        place, _dangling = _yaml_path(source.data, (*err["loc"], *err["ctx"]["at"]))
        return source.error(place, str(err["ctx"]["message"]))
    path, dangling = _yaml_path(source.data, err["loc"])
    kind = err["type"]
    message = _message(err, dangling)
    hint = None
    if kind == "extra_forbidden" and path:
        hint = _did_you_mean(str(path[-1]), _fields_at(root, path[:-1]))
    elif kind == "missing" and dangling:
        path = (*path, dangling)
    elif kind == "string_type" and (written := source.written.get(path)):
        key = f"{path[-1]}: " if path and isinstance(path[-1], str) else ""
        read = _READ_AS.get(type(err.get("input")).__name__, "no text")
        hint = f"YAML reads an unquoted {written} as {read}: write it in quotes, {key}'{written}'"
    return source.error(path, message, hint)


_READ_AS = {"bool": "true or false", "int": "a number", "float": "a number", "date": "a date", "datetime": "a time"}


def _yaml_path(data: Any, loc: tuple[Any, ...]) -> tuple[PathKey, str | None]:
    """Keep the parts of pydantic's `loc` that exist in the YAML; return the first missing key too."""
    path: list[str | int] = []
    node = data
    dangling = None
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(part, str) and _is_field_name(part) and dangling is None and isinstance(node, dict):
            dangling = part
    return tuple(path), dangling


def _is_field_name(part: str) -> bool:
    return part.replace("_", "").isalnum() and not part.startswith(("function-", "tagged-"))


def _message(err: Mapping[str, Any], dangling: str | None) -> str:
    message = _said(err, dangling)
    return message if len(message) <= 500 else message[:500] + "…"


class _Short:
    """A value as the error shows it: its repr, cut to a readable length (a 100,000-character title is not)."""

    def __init__(self, value: Any) -> None:
        self.text = repr(value)

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 80 else self.text[:80] + "…"


def _said(err: Mapping[str, Any], dangling: str | None) -> str:
    kind, text, value = err["type"], err["msg"], _Short(err.get("input"))
    if kind == "missing":
        return f"`{dangling or err['loc'][-1]}` is required here"
    if kind == "extra_forbidden":
        return f"unknown key `{err['loc'][-1]}`"
    if kind in ("value_error", "assertion_error"):
        return text.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{value!r} is not a whole number"
    if kind in ("bool_parsing", "bool_type"):
        return f"{value!r} is not true or false"
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        return f"{value!r} is not one of {expected}"
    if kind in ("string_type",):
        return f"expected text, got {type(err.get('input')).__name__} {value!r}"
    if kind in ("list_type",):
        return f"expected a list (- one per line), got {value!r}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping (key: value lines), got {value!r}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{value!r} is too small: {text.lower()}"
    if kind in ("less_than_equal", "less_than"):
        return f"{value!r} is too large: {text.lower()}"
    if kind == "too_short":
        return f"needs at least one entry: {text}"
    return text


def _fields_at(root: type[BaseModel], parent: PathKey) -> list[str]:
    """Field names the model at `parent` accepts (for did-you-mean)."""
    model: type[BaseModel] | None = root
    skip_key = False  # the next part is a key of a dict field (a group name), not a field
    for part in parent:
        if model is None or isinstance(part, int) or skip_key:
            skip_key = False
            continue
        field = model.model_fields.get(str(part))
        model = _model_of(field.annotation) if field else None
        skip_key = field is not None and getattr(field.annotation, "__origin__", None) is dict
    return sorted(f.alias or name for name, f in model.model_fields.items()) if model else []


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found:
            return found
    return None


def _did_you_mean(key: str, fields: list[str]) -> str | None:
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if fields:
        return "allowed here: " + ", ".join(fields)
    return None


@contextmanager
def clean_errors(path: Path | str):
    """Errors the models raise after loading (a roll-up a spec implies, built while planning) and Python's own
    limits, as a SpecError naming the file: never a traceback, and `duban validate FOLDER` goes on to the next spec."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"msg": str(exc)}
        message = str(first.get("msg", "")).removeprefix("Value error, ")
        raise SpecError(f"{exc.title}: {message}"[:500], file=str(path)) from None
    except RecursionError:
        raise SpecError("nested too deeply to be planned", file=str(path)) from None
    except (OverflowError, MemoryError) as exc:
        raise SpecError(
            f"a date, offset or count is beyond what a notice can mean ({type(exc).__name__})", file=str(path)
        ) from None
