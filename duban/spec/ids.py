"""Ids used twice: a spec names each stage, item, sample, event, leader, score sheet and roll-up once.

Checked on the YAML as written (before the models), so one run lists these beside every other problem: a
second `self_score_sheet` would otherwise pass `duban validate` and `duban plan` and fail only when the campaign
is stored. Ids differing only in case count as the same. Items share one namespace across all stages (a relative
due says `item:<id>`); a metric's name is unique within its item.
"""

from __future__ import annotations

from typing import Any, Iterator

from duban.spec.source import PathKey

_KINDS = (
    ("stages", "stage"),
    ("samples", "sample"),
    ("events", "event"),
    ("leaders", "leader"),
    ("score_sheets", "score sheet"),
    ("rollups", "roll-up"),
)


def repeated_ids(data: Any) -> list[tuple[PathKey, str]]:
    """(YAML path, message) for every id given a second time."""
    if not isinstance(data, dict):
        return []
    problems: list[tuple[PathKey, str]] = []
    for key, what in _KINDS:
        problems.extend(_repeats(_entries(data.get(key), (key,), "id"), f"{what} id"))
    items = [
        entry
        for s_path, stage in _entries(data.get("stages"), ("stages",))
        for entry in _entries(stage.get("items"), (*s_path, "items"), "id")
    ]
    problems.extend(_repeats(iter(items), "item id"))
    problems.extend(stage_order_problems(data))
    for s_path, stage in _entries(data.get("stages"), ("stages",)):
        for i_path, item in _entries(stage.get("items"), (*s_path, "items")):
            metrics = _entries(item.get("metrics"), (*i_path, "metrics"), "name")
            problems.extend(_repeats(metrics, f"item {item.get('id')}'s metric name"))
    return problems


def _entries(value: Any, path: PathKey, key: str | None = None) -> Iterator[tuple[PathKey, Any]]:
    """(path, entry) for the mappings of a list; with `key`, (path to that key, its value) where it is text."""
    if not isinstance(value, list):
        return
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            continue
        if key is None:
            yield (*path, index), entry
        elif isinstance(entry.get(key), (str, int)) and not isinstance(entry.get(key), bool):
            yield (*path, index, key), str(entry[key])


def _repeats(entries: Iterator[tuple[PathKey, str]], what: str) -> list[tuple[PathKey, str]]:
    """Ids given twice, and ids differing only in case (`s1`/`S1`: no operator typing one tells them apart)."""
    first: dict[str, tuple[PathKey, str]] = {}
    found: list[tuple[PathKey, str]] = []
    for path, value in entries:
        if (seen := first.get(value.casefold())) is None:
            first[value.casefold()] = (path, value)
        elif seen[1] == value:
            found.append((path, f"{what} {value!r} is used twice (also at {_show(seen[0])}): give each its own"))
        else:
            found.append(
                (
                    path,
                    f"{what} {value!r} differs from {seen[1]!r} (at {_show(seen[0])}) only in case: "
                    "give each an id of its own",
                )
            )
    return found


def _show(path: PathKey) -> str:
    from duban.spec.source import dotted

    return dotted(path[:-1]) if path and path[-1] in ("id", "name") else dotted(path)


def stage_order_problems(data: dict) -> list[tuple[PathKey, str]]:
    """(YAML path, message) for a `follows:` naming no earlier stage: checked here as well as by the models, so it
    is reported beside the spec's other errors rather than only once they are fixed."""
    stages = [entry for _path, entry in _entries(data.get("stages"), ("stages",))]
    ids = [str(stage.get("id")) for stage in stages]
    problems: list[tuple[PathKey, str]] = []
    earlier: list[str] = []
    for path, stage in _entries(data.get("stages"), ("stages",)):
        follows = stage.get("follows")
        named = follows.get("stage") if isinstance(follows, dict) else follows
        if isinstance(named, (str, int)) and not isinstance(named, bool):
            problem = stage_order_problem(str(stage.get("id")), str(named), earlier, ids)
            if problem:
                problems.append(((*path, "follows"), problem))
        earlier.append(str(stage.get("id")))
    return problems


def stage_order_problem(stage: str, follows: str, earlier: list[str], every: list[str]) -> str | None:
    """Why `stage` cannot follow `follows` (None when it is an earlier stage)."""
    if follows in earlier:
        return None
    why = (
        "it is this stage itself"
        if follows == stage
        else ("it comes after this one" if follows in every else f"no stage is {follows!r} ({', '.join(every)})")
    )
    return (
        f"stage {stage!r} follows {follows!r}, which is not an earlier stage: {why}; a stage follows one listed "
        f"before it (earlier: {', '.join(earlier) or 'none'})"
    )
