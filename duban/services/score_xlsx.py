"""The score sheet as an xlsx workbook (评分表.xlsx): a template to fill, and reading it back.

One worksheet per sample, named by the sample (市级抽查), one row per sampled unit and one column per
check item, a row of maximum points (满分) under the headings, totals and 达标/未达标 as formulas for the
inspector's convenience (duban recomputes them; it never trusts a formula). A hidden worksheet records the
campaign, the sheet and which worksheet holds which sample. Reading names every bad value by file,
worksheet and cell: "评分表.xlsx 市级抽查!D7: 12 exceeds the maximum 10 of 统计台账".
"""

from __future__ import annotations

import math
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.escape import unescape
from openpyxl.worksheet.datavalidation import DataValidation

from duban.domain.scoring import Problem, UnitScores, inspection_day, inspection_words, sample_label
from duban.domain.xlsx_formulas import formula_rows, has_formulas, is_formula
from duban.domain.xlsx_inert import inert
from duban.services.scores import ScoreError
from duban.spec.models import ScoreSheet

META = "_duban"
FIXED = ("单位代码", "单位名称", "上级单位")
TRAILING = ("合计", "结论", "检查人", "检查日期", "备注")
HEADER_ROW, MAX_ROW, FIRST_ROW = 2, 3, 4


@dataclass
class SampleRows:
    """One worksheet of the template: a sample and its units (code, name, parent's name)."""

    sample_id: str
    sample_name: str
    units: list[tuple[str, str, str]]


def worksheet_title(sample_name: str, taken: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """A sample's worksheet name (市级抽查), different from those `taken`."""
    title = base = sample_label(sample_name)
    n = 2
    while title in taken:
        title = f"{base[:28]}{n}"
        n += 1
    return title


def write_template(path: Path, campaign_id: str, sheet: ScoreSheet, samples: list[SampleRows]) -> Path:
    """Write the template for `samples` to `path` (xlsx)."""
    book = Workbook()
    book.remove(book.active)
    meta = book.create_sheet(META)
    meta.append(["campaign", campaign_id])
    meta.append(["sheet", sheet.id])
    taken: set[str] = set()
    for rows in samples:
        title = worksheet_title(rows.sample_name, taken)
        taken.add(title)
        meta.append(["worksheet", title, rows.sample_id])
        ws = book.create_sheet(title, len(taken) - 1)
        inert(ws, formulas=_worksheet(ws, sheet, rows))  # names from the registry are text; 合计/结论 are ours
    inert(meta)
    meta.sheet_state = "hidden"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _worksheet(ws, sheet: ScoreSheet, rows: SampleRows) -> set[str]:
    """Fill one sample's worksheet; the cells of the formulas duban writes (合计, 结论)."""
    heads = [*FIXED, *(item.name for item in sheet.items), *TRAILING]
    first_item, last_item = len(FIXED) + 1, len(FIXED) + len(sheet.items)
    total_col, verdict_col = last_item + 1, last_item + 2
    ws.cell(
        1, 1, f"{sheet.name} · {rows.sample_name}（满分{sheet.total:g}分，{sheet.pass_mark:g}分及以上为达标）"
    ).font = Font(bold=True)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(heads))
    fill = PatternFill("solid", fgColor="DDEBF7")
    for col, head in enumerate(heads, start=1):
        cell = ws.cell(HEADER_ROW, col, head)
        cell.font, cell.fill, cell.alignment = Font(bold=True), fill, Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(col)].width = 14 if col > len(FIXED) else 18
    ws.cell(MAX_ROW, 1, "满分")
    for offset, item in enumerate(sheet.items):
        ws.cell(MAX_ROW, first_item + offset, item.max)
    ws.cell(MAX_ROW, total_col, sheet.total)
    ws.cell(MAX_ROW, verdict_col, f"≥{sheet.pass_mark:g}分达标")
    first_letter, last_letter = get_column_letter(first_item), get_column_letter(last_item)
    total_letter = get_column_letter(total_col)
    ours: set[str] = set()
    for index, (code, name, parent) in enumerate(rows.units):
        row = FIRST_ROW + index
        ws.cell(row, 1, code).number_format = "@"
        ws.cell(row, 2, name)
        ws.cell(row, 3, parent)
        ours.add(
            ws.cell(
                row,
                total_col,
                f'=IF(COUNT({first_letter}{row}:{last_letter}{row})=0,"",SUM({first_letter}{row}:{last_letter}{row}))',
            ).coordinate
        )
        ours.add(
            ws.cell(
                row,
                verdict_col,
                f'=IF({total_letter}{row}="","",IF({total_letter}{row}>={sheet.pass_mark:g},"达标","未达标"))',
            ).coordinate
        )
    last_row = FIRST_ROW + max(len(rows.units), 1) - 1
    for offset, item in enumerate(sheet.items):
        letter = get_column_letter(first_item + offset)
        check = DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2=f"{item.max:g}",
            allow_blank=True,
            error=f"{item.name}：0–{item.max:g}分",
            errorTitle="超出分值",
        )
        check.add(f"{letter}{FIRST_ROW}:{letter}{last_row}")
        ws.add_data_validation(check)
    ws.freeze_panes = ws.cell(FIRST_ROW, len(FIXED) + 1)
    return ours


MAX_ROWS, MAX_COLUMNS = 5000, 100  # a sample's units and its check items fit many times over
MAX_PARTS, MAX_PART, MAX_INFLATED = 200, 8 << 20, 24 << 20  # the workbook's files, one file, all, inflated


def read_scores(
    path: Path,
    sheet: ScoreSheet,
    campaign_id: str,
    samples: dict[str, str],
    names: dict[str, str],
    today: date | None = None,
) -> dict[str, list[UnitScores]]:
    """Scores by sample id from a filled template. `samples`: sample id → name; `names`: unit name → code.

    A workbook is measured before it is opened (how many files it holds and how large they inflate: zipfile never
    inflates a member past the size it declares) and read as a stream, row by row, at most MAX_ROWS rows and
    MAX_COLUMNS columns of each worksheet: a 300 KB file that inflates to gigabytes, or a cell at XFD1048576, is
    refused or costs no more than a real template."""
    label = path.name
    _measure(path, label)
    _scan(path, label)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise ScoreError(
            [
                Problem(
                    label,
                    f"not an xlsx workbook ({exc}); export a template with `duban scores template`",
                    "不是 xlsx 工作簿，请先下载评分表模板填写",
                )
            ]
        ) from None
    problems: list[Problem] = []
    found: dict[str, list[UnitScores]] = {}
    try:
        mapping = _worksheets(book, label, sheet, campaign_id, samples)
        raw = path.read_bytes() if mapping else b""  # measured above: at most MAX_INFLATED once inflated
        formulas = has_formulas(raw) if raw else False
        for title, sample_id in mapping.items():
            written = formula_rows(raw, title, **_BOUNDS) if formulas else None
            found[sample_id] = _read_worksheet(book[title], label, sheet, names, problems, today, written)
    except ScoreError:
        raise
    except (
        ParseError,
        zipfile.BadZipFile,
        OSError,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        OverflowError,
    ) as exc:  # _scan let through something openpyxl cannot read: name the file, never a 500
        raise ScoreError(
            [
                Problem(
                    label,
                    f"the workbook is damaged ({type(exc).__name__}); export a new template",
                    "文件已损坏，无法读取，请重新下载评分表模板填写",
                )
            ]
        ) from None
    finally:
        book.close()
    if problems:
        raise ScoreError(problems)
    return found


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
"""A number cell's <v> as Excel writes it, in ASCII digits (\\d and openpyxl's int() take ١٢ for 12)."""
_SCANNED = (".xml", ".rels", ".vml")


def _scan(path: Path, label: str) -> None:
    """Every XML part read once with DTDs and entities forbidden (defusedxml: no DOCTYPE, no external entity, no
    billion laughs), and every number cell of every worksheet checked to be a finite decimal number, before openpyxl
    sees the file: a damaged or hostile workbook is refused by worksheet and cell, never with a 500."""
    problems: list[Problem] = []
    with zipfile.ZipFile(path) as archive:
        parts = set(archive.namelist())
        titles = _titles(archive, parts)
        for title, part in titles.items():
            if part not in parts:
                problems.append(
                    Problem(
                        f"{label} {title}",
                        f"worksheet {title} has no content in the file (damaged)",
                        f"工作表「{title}」的内容缺失，文件已损坏",
                    )
                )
        sheet_of = {part: title for title, part in titles.items()}
        for name in sorted(parts):
            if name.lower().endswith(_SCANNED):
                problem = _scan_part(archive, name, label, sheet_of.get(name))
                if problem:
                    problems.append(problem)
                    if len(problems) >= 25:
                        break
    if problems:
        raise ScoreError(problems)


def _titles(archive: zipfile.ZipFile, parts: set[str]) -> dict[str, str]:
    """Worksheet title → its part (xl/worksheets/sheet1.xml), from the workbook and its relationships."""
    if "xl/workbook.xml" not in parts or "xl/_rels/workbook.xml.rels" not in parts:
        return {}
    try:
        targets = {}
        for _event, elem in iterparse(archive.open("xl/_rels/workbook.xml.rels"), forbid_dtd=True):
            if elem.tag.endswith("Relationship"):
                target = elem.get("Target") or ""
                targets[elem.get("Id")] = (
                    target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                )
        titles = {}
        for _event, elem in iterparse(archive.open("xl/workbook.xml"), forbid_dtd=True):
            if elem.tag == f"{_MAIN}sheet" and elem.get(f"{_REL}id") in targets:
                titles[elem.get("name") or "?"] = targets[elem.get(f"{_REL}id")]
        return titles
    except (ParseError, DefusedXmlException, ValueError, KeyError, OSError, zipfile.BadZipFile):
        return {}  # said by _scan_part, which reads these parts too


def _scan_part(archive: zipfile.ZipFile, name: str, label: str, title: str | None) -> Problem | None:
    where, last = (f"{label} {title}" if title else f"{label} {name}"), None
    try:
        for _event, elem in iterparse(archive.open(name), forbid_dtd=True, forbid_entities=True, forbid_external=True):
            if title is None or elem.tag != f"{_MAIN}c":
                if elem.tag == f"{_MAIN}row":
                    elem.clear()
                continue
            last = elem.get("r") or last
            value = elem.find(f"{_MAIN}v")
            if elem.get("t", "n") == "n" and value is not None and value.text is not None and value.text.strip():
                text = value.text.strip()
                if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
                    shown = text if len(text) <= 20 else text[:20] + "…"
                    return Problem(
                        f"{where}!{last or '?'}",
                        f"{shown!r} is not a number",
                        f"「{shown}」不是数字（Excel 不会写出这样的数值，文件可能被改动过）",
                    )
    except DefusedXmlException:
        return Problem(
            where,
            "the file declares a DOCTYPE or entities (refused: a template has none)",
            "文件含有 DOCTYPE 或实体声明，不是评分表模板，已拒收",
        )
    except (ParseError, ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        line, column = getattr(exc, "position", (0, 0))
        after = f"!{last} 之后" if last else ""
        return Problem(
            f"{where}{after}",
            f"damaged XML at line {line}, column {column}",
            f"文件已损坏（第 {line} 行第 {column} 列不是合法的 XML，如非法控制字符或内容被截断）",
        )
    return None


def _measure(path: Path, label: str) -> None:
    too_big = Problem(
        label,
        f"the workbook holds more than {MAX_PARTS} files or inflates beyond {MAX_INFLATED >> 20} MB",
        f"文件解压后过大（超过 {MAX_INFLATED >> 20} MB 或多于 {MAX_PARTS} 个部件），不是评分表模板；"
        "请下载本页的模板填写后上传",
    )
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ScoreError(
            [
                Problem(
                    label,
                    "not an xlsx workbook; export a template with `duban scores template`",
                    "不是 xlsx 工作簿，请先下载评分表模板填写",
                )
            ]
        ) from None
    if (
        len(parts) > MAX_PARTS
        or any(p.file_size > MAX_PART for p in parts)
        or sum(p.file_size for p in parts) > MAX_INFLATED
    ):
        raise ScoreError([too_big])


def _worksheets(book, label: str, sheet: ScoreSheet, campaign_id: str, samples: dict[str, str]) -> dict[str, str]:
    """Worksheet title → sample id, from the hidden record or else by the samples' names."""
    if META in book.sheetnames:
        rows = [row for row in book[META].iter_rows(max_row=MAX_ROWS, max_col=3, values_only=True) if row]
        meta = {row[0]: row[1:] for row in rows if row[0] != "worksheet"}
        if meta.get("campaign", (None,))[0] != campaign_id or meta.get("sheet", (None,))[0] != sheet.id:
            theirs = f"{meta.get('campaign', ('?',))[0]} / {meta.get('sheet', ('?',))[0]}"
            raise ScoreError(
                [
                    Problem(
                        label,
                        f"this workbook is the template of {theirs}, not of {campaign_id} / {sheet.id}",
                        f"这是另一项工作或另一张评分表的模板（{theirs}），请下载本评分表的模板",
                    )
                ]
            )
        mapping = {row[1]: row[2] for row in rows if row[0] == "worksheet"}
    else:
        by_title = {worksheet_title(name): sample_id for sample_id, name in samples.items()}
        mapping = {title: by_title[title] for title in book.sheetnames if title in by_title}
    mapping = {title: sid for title, sid in mapping.items() if title in book.sheetnames and sid in samples}
    if not mapping:
        titles = "、".join(worksheet_title(n) for n in samples.values())
        raise ScoreError(
            [
                Problem(
                    label,
                    f"no worksheet for the samples of {sheet.name} ({titles})",
                    f"没有{sheet.name}各样本的工作表（应为：{titles}）",
                )
            ]
        )
    return mapping


_BOUNDS = {"min_row": 1, "max_row": MAX_ROWS, "max_col": MAX_COLUMNS}


def _read_worksheet(
    ws,
    label: str,
    sheet: ScoreSheet,
    names: dict[str, str],
    problems: list[Problem],
    today: date | None = None,
    written: Iterator[tuple] | None = None,
) -> list[UnitScores]:
    """One worksheet's scored rows, read once as a stream (rows past MAX_ROWS, columns past MAX_COLUMNS unread).
    `written`: the same rows as written (a formula as its text), when the workbook holds formulas: a 检查人 or 备注
    that is a formula is refused, saved value or not (read with data_only=True, one with none was an empty 检查人)."""
    where = f"{label} {ws.title}"
    rows = ws.iter_rows(values_only=True, **_BOUNDS)
    formulas = written if written is not None else iter(())
    header: int | None = None
    columns: dict[str, int] = {}
    for number, values in enumerate(rows, start=1):
        if number > 10:
            break
        next(formulas, ())
        if values and str(values[0] or "").strip() == FIXED[0]:
            header = number
            columns = {}
            for c, v in enumerate(values, start=1):
                columns.setdefault(str(v or "").strip(), c)
            break
    if header is None:
        problems.append(
            Problem(
                where,
                f"no heading row starting with {FIXED[0]} in the first 10 rows",
                f"前 10 行中没有以「{FIXED[0]}」开头的表头行",
            )
        )
        return []
    items = {}
    for item in sheet.items:
        if item.name not in columns:
            problems.append(
                Problem(
                    f"{where}!{header}", f"no column for check item {item.name}", f"没有检查项目「{item.name}」这一列"
                )
            )
        items[item.id] = columns.get(item.name)

    def cell(values: tuple, column: int | None):  # noqa: ANN202
        return values[column - 1] if column and column <= len(values) else None

    entries = []
    for row, values in enumerate(rows, start=header + 1):
        as_written = next(formulas, ())
        first = cell(values, 1)
        if str(first or "").strip() == "满分":
            continue
        points = {iid: cell(values, col) for iid, col in items.items()}
        name = str(cell(values, columns.get(FIXED[1], 2)) or "").strip()
        code = _text(first) or names.get(name, "")
        if all(v is None or str(v).strip() == "" for v in points.values()):
            continue  # not scored yet
        cells = {iid: f"{where}!{get_column_letter(col)}{row}" for iid, col in items.items() if col}
        cells["unit"] = f"{where}!A{row}"
        if not code:
            problems.append(
                Problem(
                    cells["unit"],
                    f"no unit code (and {name or 'no name'} is not a unit of the sample)",
                    f"没有单位代码（{name or '单位名称为空'}也不是样本中的单位）",
                )
            )
            continue
        texts: dict[str, str | None] = {}
        for head in (TRAILING[2], TRAILING[4]):
            if is_formula(cell(as_written, columns.get(head))):
                at = f"{where}!{get_column_letter(columns[head])}{row}"
                problems.append(Problem(at, f"{head} is a formula: type the text", f"{head}是公式，请填写文字"))
                texts[head] = None
                continue
            written = cell(values, columns.get(head))
            if isinstance(written, str):  # _x001B_ is ESC to Excel, whichever way the cell holds it
                written = unescape(written)
            texts[head], wrong = inspection_words(written, head)
            if wrong:
                at = f"{where}!{get_column_letter(columns[head])}{row}"
                problems.append(Problem(at, f"{head} refused: {wrong}", wrong))
        day_cell = f"{where}!{get_column_letter(columns[TRAILING[3]])}{row}" if columns.get(TRAILING[3]) else where
        day, wrong = inspection_day(cell(values, columns.get(TRAILING[3])), today or date.max)
        if wrong:
            problems.append(Problem(day_cell, f"inspection date refused: {wrong}", wrong))
        entries.append(
            UnitScores(
                unit_code=code,
                points=points,
                cells=cells,
                inspector=texts[TRAILING[2]],
                inspected_on=day.isoformat() if day else None,
                note=texts[TRAILING[4]],
            )
        )
    return entries


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None
