"""The files a campaign leaves under DUBAN_HOME, deleted with its record by `duban reset`.

They are the uploads only its submissions named (files/ab/abcdef…: stored once per content, so a file another
campaign's unit handed in too stays), its 通报 and its 总结报告 (with the report's 时间线 chart and 汇总表) where duban
writes them by default (reports/), and the folders this leaves empty. Nothing outside DUBAN_HOME is deleted: a
通报 or report written with --out elsewhere stays, and so does a reports folder that is a link to another place.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from duban.store.bulletins import bulletin_files
from duban.store.plans import file_digests

if TYPE_CHECKING:
    from sqlalchemy import Engine

REPORT_NAMES = ("{id}-总结报告.docx", "{id}-总结报告-时间线.png", "{id}-总结报告-汇总表.xlsx")  # `duban report`'s


def reports_of(engine: Engine, campaign_id: str, reports_dir: Path) -> list[Path]:
    """The campaign's drafts in `reports_dir` (read before its record goes): each 通报 its record names there, and
    the 总结报告 `duban report` writes there by default. Nothing when the folder is a link (it may lead out of
    DUBAN_HOME)."""
    if not reports_dir.is_dir() or reports_dir.is_symlink():
        return []
    here = reports_dir.resolve()
    kept = {Path(file) for file in bulletin_files(engine, campaign_id)}
    names = {path.name for path in kept if path.parent == here} | {n.format(id=campaign_id) for n in REPORT_NAMES}
    return sorted(here / name for name in names if (here / name).is_file())


def delete_reports(engine: Engine, reports: list[Path], reports_dir: Path) -> int:
    """Delete the campaign's drafts (`reports_of`), but a 通报 another campaign's record names too (the same file
    name: campaign a's stage b and campaign a-b); the reports folder goes when that leaves it empty."""
    named = bulletin_files(engine, among={str(path) for path in reports}) if reports else set()
    deleted = 0
    for path in reports:
        if str(path) not in named:
            path.unlink(missing_ok=True)
            deleted += 1
    _remove_if_empty(reports_dir)
    return deleted


def delete_uploads(engine: Engine, uploaded: set[str], files_dir: Path) -> int:
    """Delete the uploaded files of these digests that no submission names any longer, and the folders (files/ab,
    then files/) left empty: how many files were deleted."""
    moved: dict[str, tuple[Path, Path]] = {}
    for digest in sorted(uploaded - file_digests(engine, among=uploaded)):
        if not re.fullmatch(r"[0-9a-f]{64}", digest):  # a stored record is data: never a path
            continue
        path = files_dir / digest[:2] / digest
        try:  # out of the way first, then asked again: an upload of the same content to another campaign in
            os.replace(path, path.with_name(f"{digest}.reset"))  # this instant keeps its file
        except FileNotFoundError:
            continue
        moved[digest] = (path, path.with_name(f"{digest}.reset"))
    named_again = file_digests(engine, among=set(moved)) if moved else set()
    deleted = 0
    for digest, (path, gone) in moved.items():
        if digest in named_again:
            os.replace(gone, path)
        else:
            gone.unlink(missing_ok=True)
            deleted += 1
    for folder in sorted({path.parent for path, _gone in moved.values()}):
        _remove_if_empty(folder)
    if moved:
        _remove_if_empty(files_dir)
    return deleted


def _remove_if_empty(folder: Path) -> None:
    """rmdir: a folder something was put in meanwhile (an upload at this instant) stays, as do its contents."""
    if folder.is_symlink():
        return
    try:
        folder.rmdir()
    except OSError:  # not empty, or gone already
        pass
