"""Which files a command given paths should read as specs: a folder stands for the specs directly in it.

`duban validate campaign_specs/` checks every `*.yaml` / `*.yml` in that folder, in name order; the overlays
under units/, the calendar under calendar/ and amendments/ are read through the specs that name them, not as
specs of their own. A folder with no spec in it is passed on as it is, so the error says it is a folder.
"""

from __future__ import annotations

from pathlib import Path


def spec_files(paths: list[Path]) -> list[Path]:
    """`paths` with each folder replaced by the spec files directly in it."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            found.extend(inside or [path])
        else:
            found.append(path)
    return found
