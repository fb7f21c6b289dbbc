"""Every problem of a spec file in one run, each at its line: what `duban validate` and `duban plan` report.

The models find what a value is (a bad format, a date that does not exist, an unknown key); planning finds what
the values mean together (a group naming no unit, a sample larger than its pool, a relative due counting from
an item that does not exist). An administrator should not fix a spec in rounds, one class of error per run, so
when the models refuse some values the planning still runs, on a copy of the spec with those values taken out:

- a refused value is taken out (its default applies); when the models then miss it, what holds it is taken
  out, one level up each time (a stage's window, then the stage);
- what planning says inside a list entry (a stage, an item, a sample …) that lost a value, or about an id that
  only a dropped entry had, is not reported: it could be a consequence of the repair, not of the spec. It
  waits for the next run, after the refused values are fixed.

If the copy still cannot be read, only the first errors are reported; they are real either way.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from duban.errors import DubanError, SpecError, SpecErrors
from duban.spec.load import LoadedSpec, by_line, clean_errors, read_spec, validation_errors
from duban.spec.models import Campaign
from duban.spec.source import PathKey, Source

_ROUNDS = 10
_STAND_INS = {"id": "spec", "title": "?", "issuer": "?"}


def validate_file(path: Path | str, calendar_file: Path | None = None):
    """(spec, plan, warnings) for a spec that plans; else SpecErrors with every error found in the file."""
    from duban.domain.plan import load_calendar_for
    from duban.spec.checks import validate

    draft = read_spec(path)
    if draft.campaign is not None and not draft.errors:
        spec = LoadedSpec(campaign=draft.campaign, source=draft.source, path=draft.path, sha256=draft.sha256)
        with clean_errors(path):
            plan, warnings = validate(spec, load_calendar_for(spec, calendar_file))
        return spec, plan, warnings
    errors = list(draft.errors)
    repair = _Repair(draft.source)
    campaign = draft.campaign or repair.run([e.key for e in draft.refused if e.key is not None])
    if campaign is not None:
        spec = LoadedSpec(campaign=campaign, source=repair.source, path=draft.path, sha256=draft.sha256)
        try:
            with clean_errors(path):
                validate(spec, load_calendar_for(spec, calendar_file))
        except SpecError as exc:
            errors.extend(repair.settle(getattr(exc, "errors", None) or [exc]))
        except DubanError:
            pass  # planning the repaired copy failed as a whole: the errors found so far stand
    raise SpecErrors(by_line(errors))


def _order(key: PathKey) -> tuple:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in key)


class _Repair:
    """A copy of the spec's data with refused values taken out, and the way back to the spec's own lines."""

    def __init__(self, source: Source) -> None:
        self.original = source
        self.data = copy.deepcopy(source.data)
        self.source = Source(file=source.file, data=self.data, lines=source.lines)
        self.removed: dict[PathKey, set[int]] = {}  # list (spec's indexes) → entries taken out (spec's indexes)
        self.touched: list[PathKey] = []  # the parts changed, in the spec's indexes
        self.dropped_ids: set[str] = set()

    def run(self, keys: list[PathKey]) -> Campaign | None:
        pending = keys
        for _round in range(_ROUNDS):
            marked = [(self.to_spec(key), key) for key in sorted(set(pending), key=_order, reverse=True)]
            for spec_key, key in marked:
                if not key or not self._drop(key, spec_key):
                    return None
            try:
                return Campaign.model_validate(self.data)
            except ValidationError as exc:
                pending = []
                for error in validation_errors(self.source, exc, Campaign).errors:
                    key = error.key or ()
                    if len(key) == 1 and key[0] in _STAND_INS and error.message.endswith("is required here"):
                        self.data[key[0]] = _STAND_INS[key[0]]  # a required word taken out: a stand-in
                        self.touched.append(key)
                        continue
                    if len(key) < 2:
                        return None
                    # a value the models now miss: take out what holds it (an entry the models refuse as a whole,
                    # such as a sample left with no number, goes alone, not with its list)
                    pending.append(key if isinstance(key[-1], int) else key[:-1])
            except Exception:  # noqa: BLE001 - a copy the models trip over is given up, not reported
                return None
        return None

    def to_spec(self, key: PathKey) -> PathKey:
        """A path in the repaired copy as the path in the spec (list entries taken out shift the indexes)."""
        result: list[str | int] = []
        for part in key:
            if isinstance(part, int):
                gone = self.removed.get(tuple(result), set())
                index, seen = -1, -1
                while seen < part:
                    index += 1
                    if index not in gone:
                        seen += 1
                part = index
            result.append(part)
        return tuple(result)

    def _drop(self, key: PathKey, spec_key: PathKey) -> bool:
        parent = self.data
        for part in key[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                return True  # gone already with an enclosing part
        try:
            removed = parent[key[-1]]
            del parent[key[-1]]
        except (KeyError, IndexError, TypeError):
            return True
        if isinstance(key[-1], int):
            self.removed.setdefault(spec_key[:-1], set()).add(int(spec_key[-1]))
        entries = removed if isinstance(removed, list) else [removed]  # a whole list taken out: each entry's id
        self.dropped_ids.update(e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str))
        if key[-1] == "id" and isinstance(removed, str):
            self.dropped_ids.add(removed)
        self.touched.append(_entry(spec_key, self.original.data) or spec_key[:1])
        return True

    def settle(self, errors: list[SpecError]) -> list[SpecError]:
        """The planning errors of the repaired copy that are the spec's own, at its lines. A sample whose own
        error is a consequence of the repair is itself one: what says it "could not be drawn" is left out too."""
        for error in errors:
            key = self.to_spec(error.key or ())
            if key[:1] == ("samples",) and len(key) > 1 and self.in_spec(error) is None:
                samples = self.original.data.get("samples") if isinstance(self.original.data, dict) else None
                entry = samples[key[1]] if isinstance(samples, list) and isinstance(key[1], int) else None
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    self.dropped_ids.add(entry["id"])
        return [found for found in map(self.in_spec, errors) if found is not None]

    def in_spec(self, error: SpecError) -> SpecError | None:
        """A planning error of the repaired copy at the spec's own line, or None when the repair caused it."""
        key = self.to_spec(error.key or ())
        if any(key[: len(part)] == part for part in self.touched):
            return None
        if any(f"'{ident}'" in error.message for ident in self.dropped_ids):
            return None
        return self.original.error(key, error.message, error.hint) if error.key is not None else error


def _entry(key: PathKey, data: Any) -> PathKey | None:
    """The path of the list entry (a mapping) holding `key`: stages[1].items[0] for stages[1].items[0].formats[0]."""
    found = None
    node = data
    for index, part in enumerate(key):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int) and isinstance(node, dict):
            found = key[: index + 1]
    return found
