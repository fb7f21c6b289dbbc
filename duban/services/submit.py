"""Submissions (报送): files and counts for one unit's item, a state change, and a receipt (回执).

Every version is kept. A submission after the due is marked late. Files are stored content-addressed
under the data dir (files/ab/abcdef…); the database keeps their names, sizes and hashes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duban.domain.filecheck import check_file, safe_name
from duban.domain.state import Progress, Schedule, State, submit
from duban.domain.values import DECIMAL, DEFAULT_DECIMALS, FULL_WIDTH, MAX_INPUT_CHARS, in_bounds
from duban.errors import SubmissionError
from duban.instants import fmt as fmt_at, fmt_cn, utc
from duban.services.overdue_corrections import correct_overdue_notices
from duban.services.written import bounded
from duban.spec.models import Item, Metric
from duban.store import extension_requests
from duban.store.assignments import owed_rows, record_excused, record_handed_in
from duban.store.campaigns import campaign_timezone
from duban.store.db import unit_of_work
from duban.store.errors import DatabaseError as DatabaseError  # re-exported: the portal catches it at a receipt
from duban.store.received import newest_handed_in
from duban.views.campaigns import load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


@dataclass(frozen=True)
class Receipt:
    """What the unit is told: which version, when, on time or late."""

    submission_id: int
    assignment_id: int
    version: int
    state: State
    submitted_at: datetime
    late: bool
    corrects: datetime | None = None  # a correction after the due of an on-time hand-in: that first hand-in
    due_at: datetime | None = None  # the due it was judged by (its seconds are shown when they decide lateness)
    # those told the item was overdue who now get a correction (更正, duban.services.overdue_corrections): a hand-in
    # entered later with its real time before the due
    corrected: tuple[str, ...] = ()
    # the same files and figures as the newest version (`version`) posted again: nothing new was kept or queued
    unchanged: bool = False
    files: tuple[StoredFile, ...] = ()  # the files the version keeps


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str
    size: int
    format: str
    # the other names the same content came under in this hand-in (丙.xlsx with 甲.xlsx's bytes): not kept again
    also: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """The file as a version keeps it (`also` only when a duplicate under another name was left out)."""
        kept: dict[str, Any] = {"name": self.name, "sha256": self.sha256, "size": self.size, "format": self.format}
        return kept | ({"also": list(self.also)} if self.also else {})

    def same_words(self) -> str:
        return same_words(self.name, self.also)


def same_words(name: str, also: Sequence[str]) -> str:
    """丙.xlsx 与 甲.xlsx 内容相同，只保存一份 — as the receipt, the page and the audit log say it; '' for none."""
    return f"{'、'.join(also)} 与 {name} 内容相同，只保存一份" if also else ""


def parse_metrics(item: Item, raw: dict[str, str]) -> dict[str, Any]:
    """Check `name=value` pairs against the item's metrics: known names, types, bounds, required ones."""
    known = {m.name: m for m in item.metrics}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        listing = ", ".join(f"{m.name} ({m.label})" for m in item.metrics) or "none"
        raise SubmissionError(
            f"item {item.id!r} has no metric {unknown[0]!r}; its metrics: {listing}",
            cn=f"本事项没有「{unknown[0]}」这一项数字",
        )
    values = {name: _metric_value(known[name], text) for name, text in raw.items()}
    missing = [m for m in item.metrics if m.required and m.name not in values]
    if missing:
        raise SubmissionError(
            "missing " + ", ".join(f"{m.name} ({m.label})" for m in missing) + f" for item {item.id!r}",
            cn="请填写" + "、".join(f"「{m.label}」" for m in missing),
        )
    return values


_TYPE_CN = {"int": "整数", "number": "数字", "bool": "“是”或“否”", "text": "文字"}
_TYPE_EN = {"int": "a whole number", "number": "a number", "bool": "yes or no (是/否)", "text": "text"}
_WHOLE = re.compile(r"^([+-]?[0-9]+)\.0+$")
"""A whole number written with zero decimals (6.0, 6.00): the count it says."""
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
"""A count in ASCII digits only, as DECIMAL (duban.domain.values) for a number: scores are read by the same rule."""
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}([,，][0-9]{3})+(\.[0-9]*)?$")
"""A figure written with thousands separators (1,000.5, 1，000): refused with the hint to leave them out, not read
(a separator typed in the wrong place, 1,00, would otherwise be kept as a different figure)."""


def _metric_value(metric: Metric, text: str) -> Any:
    label = f"{metric.label} ({metric.name})"
    typed = str(text).strip()
    if metric.type in ("int", "number"):
        typed = typed.translate(FULL_WIDTH)
    if metric.type in ("int", "number") and len(typed) > MAX_INPUT_CHARS:
        raise SubmissionError(
            f"{label}: {len(typed)} characters is no figure (at most {MAX_INPUT_CHARS})",
            cn=f"「{metric.label}」填写的数字过长（{len(typed)} 个字符），数值须小于 10 的 15 次方（1,000 万亿）",
        )
    try:
        if metric.type == "int":  # 6.0 (a spreadsheet's way of writing 6) is 6; 6.5 is no count
            whole = _WHOLE.sub(r"\1", typed)
            if not _INTEGER.match(whole):
                raise ValueError
            value: Any = int(whole)
        elif metric.type == "number":
            if not DECIMAL.match(typed):
                raise ValueError
            value = float(typed)
            if not math.isfinite(value):  # NaN passes every min/max comparison; inf is no count anyone made
                raise ValueError
        elif metric.type == "bool":
            lowered = str(text).strip().lower()
            if lowered not in ("true", "false", "是", "否", "1", "0", "yes", "no"):
                raise ValueError
            value = lowered in ("true", "是", "1", "yes")
        else:
            return str(text)
    except ValueError:
        grouped = metric.type in ("int", "number") and _GROUPED.match(typed) is not None
        raise SubmissionError(
            f"{label}: {str(text)[:40]!r} is not {_TYPE_EN[metric.type]}"
            + (" (leave out the thousands separators)" if grouped else ""),
            cn=f"「{metric.label}」填写的「{str(text)[:40]}」不是{_TYPE_CN[metric.type]}"
            + ("：请去掉千位分隔符（如 1,000.5 写作 1000.5）" if grouped else ""),
        ) from None
    if metric.type in ("int", "number"):
        _bounded(metric, label, value, typed)
    if metric.min is not None and value < metric.min:
        raise SubmissionError(
            f"{label}: {value} is below the minimum {metric.min:g} the notice sets",
            cn=f"「{metric.label}」为 {value:g}，低于通知要求的 {metric.min:g}{metric.unit or ''}",
        )
    if metric.max is not None and value > metric.max:
        raise SubmissionError(
            f"{label}: {value} is above the maximum {metric.max:g}",
            cn=f"「{metric.label}」为 {value:g}，超过上限 {metric.max:g}{metric.unit or ''}",
        )
    return value


def _bounded(metric: Metric, label: str, value: int | float, typed: str) -> None:
    """A figure a bureau can report: |x| < 10^15 and no more decimals than the metric declares (duban.domain.values)."""
    if not in_bounds(value):
        raise SubmissionError(
            f"{label}: {typed[:24]} is out of range (|x| < 10^15)",
            cn=f"「{metric.label}」填写的「{typed[:24]}」超出范围，数值须小于 10 的 15 次方（1,000 万亿）",
        )
    if metric.type == "number":
        allowed = DEFAULT_DECIMALS if metric.decimals is None else metric.decimals
        try:
            exponent = Decimal(typed.replace("_", "")).normalize().as_tuple().exponent
            decimals = max(0, -exponent) if isinstance(exponent, int) else 0
        except (InvalidOperation, ValueError):
            decimals = 0
        if decimals > allowed:
            raise SubmissionError(
                f"{label}: {typed[:24]} has {decimals} decimals, at most {allowed}",
                cn=f"「{metric.label}」最多保留 {allowed} 位小数" if allowed else f"「{metric.label}」须为整数",
            )


def not_a_file(path: Path) -> SubmissionError:
    """The error for a path to hand in that is no regular file: a folder or a device was "not found"."""
    if path.is_dir():
        return SubmissionError(
            f"{path} is a folder, not a file: give the file in it", cn=f"「{path.name}」是文件夹，不是文件"
        )
    if path.exists():
        return SubmissionError(
            f"{path} is not a regular file (a device, pipe or socket): give the file to hand in",
            cn=f"「{path.name}」不是普通文件",
        )
    return SubmissionError(f"file {path} not found", cn=f"找不到文件「{path.name}」")


def store_files(
    item: Item, paths: list[Path], files_dir: Path, *, max_bytes: int | None = None
) -> list[tuple[StoredFile, Path]]:
    """Check each file's name, size and content (duban.domain.filecheck), then copy it into the content-addressed
    store: each stored file with the path it was copied from (see `_still_stored`). A file given twice (the same
    content, picked twice on a phone) is kept once: a version listed "r.pdf | r.pdf" with two downloads of one
    document. Under another name, the kept file names it (`also`), so the receipt says it was left out."""
    checked = []
    for path in paths:
        if not path.is_file():
            raise not_a_file(path)
        name = safe_name(path.name)
        checked.append((path, name, check_file(path, name, item.formats, max_bytes=max_bytes)))
    stored: list[tuple[StoredFile, Path]] = []
    for path, name, fmt in checked:  # nothing is copied unless every file passed
        digest, size = _copy_in(path, files_dir)
        same = next((n for n, (kept, _source) in enumerate(stored) if kept.sha256 == digest), None)
        if same is not None:
            kept, source = stored[same]
            if name != kept.name and name not in kept.also:
                stored[same] = (replace(kept, also=(*kept.also, name)), source)
            continue
        stored.append((StoredFile(name=name, sha256=digest, size=size, format=fmt), path))
    return stored


def _still_stored(stored: list[tuple[StoredFile, Path]], files_dir: Path) -> None:
    """After the hand-in is committed: each file it names is in the store. A reset of another campaign that held
    the same content (`duban reset`: duban.services.leftovers.delete_uploads) could delete it between the copy —
    skipped, the content being there already — and the commit, when no committed hand-in named it yet; the unit's
    version would then name a file nobody can download. Copied in again from the upload, which is still at hand;
    a reset after the commit sees the hand-in and keeps the file."""
    for kept, source in stored:
        _keep(source, files_dir / kept.sha256[:2] / kept.sha256)


def _copy_in(path: Path, files_dir: Path) -> tuple[str, int]:
    """Copy a file to files_dir/ab/abcdef…; the write is atomic, so a crash never leaves half a file."""
    hasher, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
            size += len(block)
    digest = hasher.hexdigest()
    _keep(path, files_dir / digest[:2] / digest)
    return digest, size


def _keep(path: Path, target: Path) -> None:
    """Copy `path` to `target` unless the content is there: atomically (a crash never leaves half a file), folders
    0700 and files 0600 (the units' materials are duban's owner's alone). A folder a reset removes between its
    making and the copy (delete_uploads takes away the folders it empties) is made again."""
    for attempt in range(3):
        if target.exists():
            return
        try:
            for folder in (target.parent.parent, target.parent):
                if not folder.exists():
                    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = target.with_name(f"{target.name}.{os.getpid()}.part")
            shutil.copyfile(path, partial)
            os.chmod(partial, 0o600)
            os.replace(partial, target)
            return
        except FileNotFoundError:
            if attempt == 2 or not path.exists():
                raise


def record_submission(
    engine: Engine,
    campaign_id: str,
    unit_code: str,
    item_id: str,
    at: datetime,
    *,
    files: list[Path] = (),  # type: ignore[assignment]
    metrics: dict[str, str] | None = None,
    instance: str | None = None,
    actor: str = "cli",
    files_dir: Path,
    max_bytes: int | None = None,
    recorded_at: datetime | None = None,
) -> Receipt:
    """Validate and record one submission; the receipt intent is written in the same transaction. `recorded_at`:
    when it is entered, if later than `at` (补登) — a 更正 it brings is dated then, not at the hand-in."""
    campaign = load_campaign(engine, campaign_id, units=False)
    items = {item.id: item for _stage, item in campaign.spec.items()}
    if item_id not in items:
        raise SubmissionError(
            f"campaign {campaign_id!r} has no item {item_id!r}; items: {', '.join(items)}",
            cn="本专项工作没有这一报送事项",
        )
    item = items[item_id]
    held = _stage_order(campaign.spec, item_id)
    values = parse_metrics(item, metrics or {})
    copied = store_files(item, list(files), files_dir, max_bytes=max_bytes)
    stored = [kept for kept, _source in copied]
    if item.formats and not stored and item.via == "upload":
        raise SubmissionError(
            f"item {item_id!r} is submitted as a file ({', '.join(item.formats)}): give --file",
            cn=f"请选择要上传的文件（{'、'.join(item.formats)}）",
        )
    at = utc(at)
    with unit_of_work(engine) as conn:
        row = owed_assignment(conn, campaign_id, unit_code, item_id, instance)
        _possible(row, at, campaign.tz, "a hand-in", item_id, unit_code, held=held)
        same = _unchanged(conn, row, stored, values, item_id)
        if same is not None:
            return same
        receipt = _record(
            conn, campaign_id, row, at, stored, values, actor, review=item.review is not None, recorded_at=recorded_at
        )
    _still_stored(copied, files_dir)
    return receipt


AHEAD = timedelta(minutes=5)  # a clock this far ahead of the server's is not yet "the future"


def _stage_order(spec, item_id: str) -> tuple[str, str] | None:
    """(the stage's name, when it opens in the notice's words) for an item of a stage opened by an earlier one."""
    names = {stage.id: stage.name for stage in spec.stages}
    for stage, item in spec.items():
        if item.id == item_id:
            return (stage.name, stage.follows.words(names)) if stage.follows is not None else None
    return None


def _possible(
    row,
    at: datetime,
    tz: str,
    what: str,
    item_id: str,
    unit_code: str,
    *,
    early: bool = False,
    held: tuple[str, str] | None = None,
) -> None:
    """A hand-in dated before its item opens, or a hand-in or 免报 dated after now, is refused: `submit --at
    1999-01-01` was 按时 for an item opened in 2024, and one dated 2030 made every status and tick before 2030
    "earlier than the record". `early`: allowed before the item opens (a 免报 decided ahead). `held`: the item's
    stage opens after an earlier one (按阶段顺序); until the record opens it, its rows hold only the earliest
    instant it could open, and a hand-in then was recorded 按时 for a stage nobody had been told of."""
    opens, asked = fmt_at(row.open_at, tz), fmt_at(at, tz)
    if not early and held is not None and row.state == State.pending.value and row.next_event_at is None:
        stage_name, follows = held
        raise SubmissionError(
            f"--at {asked}: stage {row.stage_id!r} (item {item_id!r}) has not opened: it opens {follows} "
            f"(按阶段顺序; {opens} at the earliest) and the record has not reached that yet (the tick that reaches "
            f"it opens the stage); {what} cannot come before it",
            cn=f"这一事项所在的「{stage_name}」尚未开始（{follows}开始），此前不能报送",
        )
    if not early and at < utc(row.open_at):
        raise SubmissionError(
            f"item {item_id!r} of unit {unit_code} opens at {opens}: {what} at {asked} comes before it; "
            f"give --at {opens} or later",
            cn=f"这一事项{fmt_cn(row.open_at, tz)}开始报送，此前不能报送",
        )
    now = datetime.now(timezone.utc)
    if at > now + AHEAD:
        raise SubmissionError(
            f"{what} at {fmt_at(at, tz)} is in the future (it is {fmt_at(now, tz)} now): give the instant it happened",
            cn="报送时间不能晚于现在",
        )


def _unchanged(conn: Connection, row, stored: list[StoredFile], values: dict[str, Any], item_id: str) -> Receipt | None:
    """The newest version when this hand-in repeats it (the same files under the same names, the same figures): a
    form posted twice, or `duban submit` run twice, kept v2 = v1 and sent a second receipt. After a 退回 the same
    material again is refused: the review asked for a change."""
    newest = newest_handed_in(conn, row.id)
    if newest is None or _content(newest.files or [], newest.metrics or {}) != _content(
        [f.__dict__ for f in stored], values
    ):
        return None
    if newest.returned:
        raise SubmissionError(
            f"item {item_id!r} of unit {row.unit_code}: version {newest.version} was returned (退回) and this "
            "hand-in is the same files and figures; change what the review asked for, then hand it in again",
            cn=f"所报材料与被退回的第{newest.version}版完全相同，请按退回意见修改后再报送",
        )
    return Receipt(
        newest.id,
        row.id,
        newest.version,
        State(row.state),
        utc(newest.submitted_at),
        newest.late,
        due_at=utc(row.due_at),
        unchanged=True,
    )


def _content(files: list[dict[str, Any]], metrics: dict[str, Any]) -> str:
    """What a version hands in, in one comparable text: its files (name and content) and its figures."""
    kept = sorted((f["name"], f["sha256"]) for f in files)
    return json.dumps([kept, metrics], sort_keys=True, ensure_ascii=False)


def owed_assignment(conn: Connection, campaign_id: str, unit_code: str, item_id: str, instance: str | None):
    """The unit's assignment of the item (the first one still owed, for a recurring item), locked on PostgreSQL."""
    rows = owed_rows(conn, campaign_id, unit_code, item_id, instance)
    if not rows:
        raise SubmissionError(
            f"unit {unit_code} owes nothing for item {item_id!r} in campaign {campaign_id!r}",
            cn="本单位不需要报送这一事项",
        )
    unfinished = [r for r in rows if not State(r.state).finished]
    return (unfinished or rows)[0]


def _record(
    conn: Connection,
    campaign_id: str,
    row,
    at: datetime,
    stored,
    values,
    actor: str,
    *,
    review: bool = False,
    recorded_at: datetime | None = None,
) -> Receipt:
    schedule = Schedule(open_at=row.open_at, due_at=row.due_at)
    progress = Progress(State(row.state), row.reminders_done, row.escalations_done)
    change, progress = submit(schedule, progress, at, review=review)
    late = at > row.due_at
    submission_id, version = record_handed_in(
        conn,
        campaign_id,
        row,
        at,
        change,
        progress.state,
        late=late,
        files=[f.record() for f in stored],
        metrics=values,
        actor=actor,
    )
    if progress.state in (State.submitted, State.late):  # nothing is owed now (a reviewed item waits for its review)
        extension_requests.settle_finished(
            conn,
            row.id,
            at,
            decided_by=actor[:80],
            note="不再需要：事项已报送",
            handed_in=utc(row.submitted_at or at) if progress.state is State.late else None,
        )
    # an item not reviewed keeps its first hand-in's state: a later version after the due corrects one on time
    corrects = utc(row.submitted_at) if late and not review and progress.state is State.submitted else None
    corrected: tuple[str, ...] = ()
    if progress.state is State.submitted and not change.from_state.finished:  # on time, though told 逾期 (补登)
        # written now, not at the hand-in: a report as of an instant in between counted a message not yet written
        corrected = correct_overdue_notices(conn, campaign_id, row, at, max(at, utc(recorded_at or at)))
    return Receipt(
        submission_id, row.id, version, progress.state, at, late, corrects, row.due_at, corrected, files=tuple(stored)
    )


def record_excuse(
    engine: Engine, campaign_id: str, unit_code: str, item_id: str, at: datetime, *, reason: str, actor: str = "cli"
) -> State:
    """免报: the unit no longer owes the item (the reason is kept in the audit trail)."""
    reason = bounded(reason, option="--reason", field="免报理由") or ""
    at = utc(at)
    with unit_of_work(engine) as conn:
        row = owed_assignment(conn, campaign_id, unit_code, item_id, None)
        _possible(row, at, campaign_timezone(conn, campaign_id), "a 免报", item_id, unit_code, early=True)
        return record_excused(conn, campaign_id, row.id, row.state, at, actor=actor, reason=reason)


def record_on_behalf(
    engine: Engine,
    campaign_id: str,
    unit_code: str,
    item_id: str,
    at: datetime,
    *,
    files: list[dict[str, Any]],
    metrics: dict[str, Any],
    actor: str,
) -> Receipt:
    """A submission duban makes for a unit from submissions already kept (a roll-up, a forward fed upward):
    the files are in the store already and the counts were checked when their units handed them in."""
    with unit_of_work(engine) as conn:
        row = owed_assignment(conn, campaign_id, unit_code, item_id, None)
        stored = [StoredFile(f["name"], f["sha256"], f["size"], f["format"], tuple(f.get("also", ()))) for f in files]
        return _record(conn, campaign_id, row, utc(at), stored, metrics, actor)
