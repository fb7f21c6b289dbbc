"""Listed parties (名录单位): enterprises and other units from a bureau's list, each attached to its division.

A bureau exports its 名录 (规上/四上企业, 名录库 records, market entities) as CSV or xlsx with its own column names;
duban reads the columns it knows by their usual names (统一社会信用代码, 单位详细名称, 行政区划代码, 行业代码, 规模,
风险等级, 联系人, 联系电话 …) or by a mapping (a YAML file, or `columns:` in the spec):

    columns: {name: 企业名称, credit_code: 信用代码, division: 所在地区划}
    attributes: {employees: 从业人员期末人数}     # more columns kept as attributes (strata, `where:`)
    kind: enterprise                              # what a row is (default enterprise)

Every row is checked — a 统一社会信用代码 with a wrong check digit (GB 32100-2015), a division code the Ministry of
Civil Affairs data does not know, a code listed twice, a missing name — and the whole file is refused with every
bad row named by its line when any is wrong. A row's unit code is its 统一社会信用代码 (or the `code` column);
its attributes `industry`, `size` and `risk` (and the mapped ones) are what groups (`where:`), sampling strata and
roll-ups select on; its 邮箱/通知渠道 (`channels`) is where its messages go (duban.domain.listed_channels).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import mul
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from duban.domain.listed_channels import listed_channels
from duban.domain.units import LEVEL_ALIASES, Level, mca_divisions
from duban.domain.xlsx_formulas import formula_rows, has_formulas, is_formula
from duban.errors import DubanError

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_CHARS)}
_CREDIT_SET = frozenset(CREDIT_CHARS)

FIELDS = (
    "code",
    "credit_code",
    "name",
    "division",
    "industry",
    "size",
    "risk",
    "contact",
    "phone",
    "channels",
    "kind",
    "level",
)
USUAL_NAMES: dict[str, tuple[str, ...]] = {
    "code": ("单位代码", "代码", "code"),
    "credit_code": ("统一社会信用代码", "社会信用代码", "信用代码", "credit_code"),
    "name": ("单位详细名称", "单位名称", "企业名称", "详细名称", "名称", "name"),
    "division": (
        "行政区划代码",
        "统计用区划代码",
        "区划代码",
        "所在地区划代码",
        "所在地行政区划代码",
        "区划",
        "division",
    ),
    "industry": ("行业代码", "国民经济行业代码", "行业", "所属行业", "industry"),
    "size": ("规模", "企业规模", "规模代码", "size"),
    "risk": ("风险等级", "风险分类", "信用风险分类", "风险类别", "risk"),
    "contact": ("联系人", "单位负责人", "负责人", "填报人", "contact"),
    "phone": ("联系电话", "电话", "移动电话", "手机", "phone"),
    "channels": ("通知渠道", "渠道", "电子邮箱", "邮箱", "电子邮件", "E-mail", "Email", "email", "channels"),
    "kind": ("单位类型", "类型", "kind"),
    "level": ("层级", "level"),
}
ATTRIBUTE_FIELDS = ("industry", "size", "risk")
MAX_SHOWN = 200
"""Bad rows listed in one error (the count says how many more)."""
MAX_LIST_BYTES = 1024 * 2**20
"""A list of a million enterprises is about 150 MB as CSV; a larger file is refused before it is read."""
MAX_CELL = 200
"""Characters of a cell duban keeps (a name, a contact, an attribute): an enterprise's registered name is at most
a few dozen; longer is not a name (a quote never closed, a pasted document)."""
MAX_COLUMNS = 1_000
"""Columns of a workbook's row read: a 名录 export has a few dozen; a stray cell in column XFD would have every
row padded to 16,384."""
MAX_CSV_FIELD = 100_000
"""Characters of a CSV field read at all: past this the reader stops with an error naming the row (Python's own
limit, 131,072, ended in a traceback)."""
MAX_XLSX_INFLATED, MAX_XLSX_RATIO = 2 * MAX_LIST_BYTES, 100
"""An xlsx is a zip: what its members inflate to, in all and against its packed size (a million rows inflate to
about 400 MB, ten times their packed size; a zip bomb to gigabytes from a few MB)."""
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
"""Control, zero-width, line-separator and bidirectional-override characters (as spec text refuses them): no name or
code holds one; shown in a terminal they move the cursor, colour or reorder the text or split one record's line in
two, and unseen they make two names look alike."""
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
"""How Excel writes a character XML cannot hold (ESC as `_x001B_`, CR as `_x000D_`); openpyxl leaves it as text."""


def _unescaped(text: str) -> str:
    """A workbook's text with each `_xHHHH_` that stands for an _UNSEEN character turned into it, so that it is
    refused as that character (what Excel shows holds it); an escape of any other character is left as written."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if _UNSEEN.fullmatch(char) else match.group()

    return _OOXML_ESCAPE.sub(one, text)


class ListFileError(DubanError):
    """A list file (名录) has bad rows: every one is named with its line; nothing was stored."""

    def __init__(self, file: str, problems: list[tuple[int | None, str]]) -> None:
        self.file = file
        self.problems = problems
        shown = [f"{file}:{line} {message}" if line else f"{file}: {message}" for line, message in problems[:MAX_SHOWN]]
        more = len(problems) - MAX_SHOWN
        head = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {file}, nothing was stored:"
        super().__init__("\n".join([head, *shown, *([f"… and {more} more"] if more > 0 else [])]))


class Mapping(BaseModel):
    """Which column holds what (a mapping file, or `columns:`/`attributes:` of a spec's list)."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(
        default_factory=dict, description="field → column name: name, credit_code, division …"
    )
    attributes: dict[str, str] = Field(default_factory=dict, description="attribute → column name, kept on the unit")
    kind: str = "enterprise"
    level: str = "entity"
    # where it was read (a mapping file): a column it names that the list lacks is said at the mapping's line
    _file: str | None = PrivateAttr(default=None)
    _lines: dict[tuple[str, str], int | None] = PrivateAttr(default_factory=dict)

    @property
    def file(self) -> str | None:
        """The mapping file it was read from (None: the usual names, no file)."""
        return self._file

    def located(self, section: str, key: str) -> tuple[str, int | None] | None:
        """The mapping file and the line of `section.key` (columns.name …), or None for a mapping not read from
        a file."""
        return (self._file, self._lines.get((section, key))) if self._file else None


@dataclass(slots=True)
class ListedRow:
    """One listed party, checked."""

    line: int
    code: str
    name: str
    division: str  # the most specific known division code (township or county …)
    level: str = Level.entity.value
    kind: str = "enterprise"
    credit_code: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    contact: str | None = None
    phone: str | None = None
    channels: tuple[str, ...] = ()  # references (mail:ADDRESS, env:NAME …): duban.domain.listed_channels

    def content(self) -> tuple:
        """What a re-import compares (the line is where it was, not what it is)."""
        return (
            self.name,
            self.division,
            self.level,
            self.kind,
            self.credit_code,
            tuple(sorted(self.attributes.items())),
            self.contact,
            self.phone,
            self.channels,
        )


def credit_check_digit(first17: str) -> str | None:
    """The check character of a 统一社会信用代码 from its first 17 (None if they hold a character it cannot)."""
    try:  # a million rows per import: the weighted sum in C (map) rather than a Python loop
        total = sum(map(mul, map(_CREDIT_VALUE.__getitem__, first17[:17]), CREDIT_WEIGHTS))
    except KeyError:
        return None
    return CREDIT_CHARS[(31 - total % 31) % 31]


def credit_problem(code: str) -> str | None:
    """What is wrong with a 统一社会信用代码, or None."""
    if len(code) != 18:
        return f"统一社会信用代码 {code!r} has {len(code)} characters, not 18"
    if not _CREDIT_SET.issuperset(code):
        bad = sorted({c for c in code if c not in _CREDIT_VALUE})
        return (
            f"统一社会信用代码 {code!r} holds {''.join(bad)!r}, which no 信用代码 uses (I, O, S, V, Z are never used)"
        )
    expected = credit_check_digit(code[:17])
    if expected != code[17]:
        return f"统一社会信用代码 {code} ends in {code[17]}, but its check digit is {expected} (a typing error?)"
    return None


def load_mapping(path: Path) -> Mapping:
    """A mapping file; errors name the file, the line and what is wrong (read as specs are: a key given twice,
    aliases and nesting bounded)."""
    from duban.errors import SpecError, SpecErrors
    from duban.spec.source import read_source

    def said(error: SpecError) -> tuple[int | None, str]:
        where = f"{error.path}: " if error.path else ""
        return error.line, where + error.message + (f" ({error.hint})" if error.hint else "")

    try:
        source = read_source(path, collect=True, what="mapping")
    except SpecErrors as exc:
        raise ListFileError(str(path), [said(e) for e in exc.errors]) from None
    except SpecError as exc:
        raise ListFileError(str(path), [said(exc)]) from None
    if source.problems:
        raise ListFileError(str(path), [said(e) for e in source.problems]) from None
    data = source.data if source.data is not None else {}
    if not isinstance(data, dict):
        raise ListFileError(str(path), [(1, "a mapping file holds `columns:` and `attributes:` (YAML keys)")])
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        raise ListFileError(
            str(path),
            [
                (source.line_of(tuple(e["loc"])), f"{'.'.join(map(str, e['loc']))}: {_plain_words(e)}")
                for e in exc.errors()
            ],
        ) from None
    unknown = [key for key in mapping.columns if key not in FIELDS]  # said here, at its line, not at the list's
    if unknown:
        raise ListFileError(
            str(path),
            [
                (
                    source.line_of(("columns", key)),
                    f"columns.{key}: no such field (fields: {', '.join(FIELDS)})"
                    + "".join(f"; did you mean {close!r}?" for close in difflib.get_close_matches(key, FIELDS, n=1)),
                )
                for key in unknown
            ],
        )
    clashes = _mapping_clashes(mapping)  # the mapping's own faults: at its lines, before any list is read
    if clashes:
        located = [(source.line_of(key), f"{'.'.join(key)}: {said}") for key, said in clashes]
        raise ListFileError(str(path), sorted(located, key=lambda problem: problem[0] or 0))
    mapping._file = str(path)
    mapping._lines = {
        (section, key): source.line_of((section, key))
        for section in ("columns", "attributes")
        for key in getattr(mapping, section)
    }
    return mapping


def _plain_words(error: Any) -> str:
    """A mapping file's error as its reader would say it."""
    if error["type"] == "extra_forbidden":
        return "not a key of a mapping file (columns:, attributes:, kind:, level:)"
    if error["type"] in ("dict_type", "mapping_type"):
        return "should be keys and column names (name: 企业名称)"
    if error["type"] == "string_type":
        return "should be a column name (text)"
    return str(error["msg"])


@dataclass
class ReadList:
    file: str
    sha256: str
    rows: list[ListedRow]
    # rows stored under a coarser division than their code names (a township code the Ministry's data does not
    # know — a 统计用区划代码 of a development zone, or a typing error — attached to its county), each with its line
    notes: list[str] = field(default_factory=list)


def read_list(path: Path | str, mapping: Mapping | None = None, *, divisions: dict[str, Any] | None = None) -> ReadList:
    """Read and check every row of a CSV or xlsx list; ListFileError names every bad row, nothing is returned then."""
    path = Path(path)
    name = str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ListFileError(
                name, [(None, "is not a regular file (a folder, device or pipe): give the CSV or xlsx file")]
            )
        if info.st_size > MAX_LIST_BYTES:
            raise ListFileError(
                name, [(None, f"is {info.st_size:,} bytes: a list file is at most {MAX_LIST_BYTES // 2**20} MB")]
            )
        with open(path, "rb") as handle:
            raw = handle.read(min(info.st_size, MAX_LIST_BYTES) + 1)  # a size is allocated up front: never a GB
        if len(raw) > MAX_LIST_BYTES:
            raise ListFileError(
                name, [(None, f"is larger than {MAX_LIST_BYTES // 2**20} MB: a list file is at most that")]
            )
    except FileNotFoundError:
        raise ListFileError(name, [(None, "file not found")]) from None
    except OSError as exc:
        raise ListFileError(name, [(None, f"cannot be read ({exc.strerror})")]) from None
    sha = hashlib.sha256(raw).hexdigest()
    numbers: set[tuple[int, int]] = set()  # xlsx cells of 16 digits or more that Excel keeps as numbers
    sheets: list[str] = []
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        table = _xlsx_rows(raw, name, numbers, sheets)
    elif path.suffix.lower() in (".csv", ".txt"):
        table = _csv_rows(raw, name)
    else:
        raise ListFileError(name, [(None, "a list is a .csv or .xlsx file (save the 名录 export as one of them)")])
    del raw
    notes: list[str] = []
    known = divisions if divisions is not None else division_index()
    rows = check_rows(table, mapping or Mapping(), name, known, notes=notes, numbers=numbers, sheets=sheets)
    return ReadList(file=name, sha256=sha, rows=rows, notes=notes)


def _csv_rows(raw: bytes, name: str):
    """(line, cells) of a CSV in UTF-8 (with or without BOM) or GB18030, as bureaus' exports are."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ListFileError(name, [(None, "neither UTF-8 nor GB18030 text: save the file as CSV UTF-8")])
    csv.field_size_limit(min(sys.maxsize, MAX_CSV_FIELD))
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error:
        raise ListFileError(
            name,
            [
                (
                    start,
                    f'a cell of this row runs on for more than {MAX_CSV_FIELD:,} characters: a quote (") opened '
                    "in it is never closed, or the file is not a list",
                )
            ],
        ) from None


def _xlsx_rows(raw: bytes, name: str, numbers: set[tuple[int, int]], sheets: list[str]):
    """(line, cells) of the workbook's first sheet; `numbers` gathers the cells of 16 digits or more stored as
    numbers (Excel keeps 15 significant digits: a 统一社会信用代码 typed as a number has lost its last ones),
    `sheets` the sheets' names."""
    from openpyxl import load_workbook

    _inflates_sanely(raw, name)
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            said = "an old .xls workbook (Excel 97–2003): save it as .xlsx (Excel 工作簿) or as CSV"
        elif raw[:2] != b"PK" and b"\x00" not in raw[:4096]:
            said = "text, not a workbook (a CSV named .xlsx?): name it .csv"
        else:
            said = "not an xlsx workbook that can be read (save it again from Excel/WPS)"
        raise ListFileError(name, [(None, said)]) from None
    sheets.extend(book.sheetnames)
    sheet = book.worksheets[0]
    sheet.reset_dimensions()  # every row the sheet holds, whatever range it declares (a range can hide or pad rows)
    formulas = formula_rows(raw, book.worksheets[0].title) if has_formulas(raw) else iter(())
    unsaved: list[tuple[int | None, str]] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        written = next(formulas, ())
        for column, (value, formula) in enumerate(zip(values, written)):
            if value is None and is_formula(formula):
                unsaved.append(
                    (
                        number,
                        f"column {column + 1} is a formula with no saved value ({formula[:30]}…): "
                        "paste it as values in Excel/WPS and save",
                    )
                )
        if unsaved and len(unsaved) >= MAX_SHOWN:
            break
        if len(values) > MAX_COLUMNS:
            raise ListFileError(
                name,
                [
                    (
                        number,
                        f"a cell in column {len(values):,}: a list has at most {MAX_COLUMNS:,} columns (a stray cell?)",
                    )
                ],
            )
        cells = []
        for column, v in enumerate(values):
            if isinstance(v, str):
                cells.append(_unescaped(v) if "_x" in v else v)
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) >= 1e15:
                numbers.add((number, column))
            cells.append("" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
        if not unsaved:
            yield number, cells
    book.close()
    if unsaved:  # a formula cell read as empty: "no name", or a mailbox left out in silence (a tester's finding)
        raise ListFileError(name, unsaved)


def _inflates_sanely(raw: bytes, name: str) -> None:
    """An xlsx (a zip) whose members would inflate past MAX_XLSX_INFLATED, or MAX_XLSX_RATIO times its packed size,
    is refused before anything is inflated (zipfile reads no member past its declared size)."""
    import zipfile

    try:
        members = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # not a zip: load_workbook says so
    inflated = sum(m.file_size for m in members)
    if inflated > MAX_XLSX_INFLATED or inflated > MAX_XLSX_RATIO * max(len(raw), 1):
        raise ListFileError(
            name,
            [
                (
                    None,
                    f"the workbook would inflate to {inflated:,} bytes from {len(raw):,}: not a list exported "
                    "from Excel/WPS (save it again, or as CSV)",
                )
            ],
        )


def division_index() -> dict[str, str]:
    """Every known division code (MCA data), mapped to itself."""
    return {code: code for _lv, code, _p, _n in mca_divisions()}


FEW_VALUES = 12  # an attribute with at most this many values is a class (风险等级, 规模): its values are listed


def attribute_values(read: ReadList) -> list[str]:
    """'风险等级 (risk): 一般 44, 低 48, 较高 5, 高 1, 高风险 1' for each attribute of a few values, most held first:
    what a sample's strata and a `where:` will find, a county's own spelling among them."""
    counts: dict[str, dict[str, int]] = {}
    for row in read.rows:
        for key, value in row.attributes.items():
            values = counts.setdefault(key, {})
            values[value] = values.get(value, 0) + 1
    lines = []
    for key in sorted(counts):
        values = counts[key]
        numbers = all(v.replace(".", "", 1).isdigit() for v in values)  # 从业人员 12: a figure, not a class
        if len(values) <= FEW_VALUES and not numbers:
            shown = ", ".join(f"{v} {n:,}" for v, n in sorted(values.items(), key=lambda vn: (-vn[1], vn[0])))
            lines.append(f"{LABELS.get(key, key)} ({key}): {shown}")
    return lines


DIVISION_LENGTHS = (6, 9, 12)  # county, township (乡镇), village (统计用区划代码): the digits a division code has


def known_division(raw: str, divisions: dict[str, Any]) -> str | None:
    """The most specific known division of a 6-, 9- or 12-digit code (统计用区划代码 end in village digits)."""
    code = raw.strip()
    if not code.isdigit() or len(code) not in DIVISION_LENGTHS:  # 1407241 is no code: a digit lost or one too many
        return None
    for length in (12, 9, 6):
        if len(code) >= length and code[:length] in divisions:
            return code[:length]
    return None


def _header_map(
    header: list[str], mapping: Mapping, name: str, misnamed: list[tuple[int | None, str]]
) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """The columns of the fields and attributes, and what is wrong with the header; a column that a mapping file
    names and the list lacks goes to `misnamed`, at the mapping's line."""
    cleaned = [h.strip() for h in header]
    position = {h: i for i, h in reversed(list(enumerate(cleaned))) if h}
    problems: list[str] = []
    columns: dict[str, int] = {}

    def lacking(section: str, key: str, wanted: str, what: str) -> None:
        located = mapping.located(section, key)
        if located is None:
            problems.append(f"the mapping names column {wanted!r} for {what}, but the header has no such column")
            return
        present = list(dict.fromkeys(h for h in cleaned if h))  # in the header's order
        close = difflib.get_close_matches(wanted, present, n=1)
        shown = ", ".join(repr(_shown(c)) for c in present[:12]) + (
            f" … ({len(present)} in all)" if len(present) > 12 else ""
        )
        misnamed.append(
            (
                located[1],
                f"{section}.{key}: {name} has no column {_shown(wanted)!r}"
                + (f" (did you mean {close[0]!r}?)" if close else "")
                + f"; its columns: {shown or 'none'}",
            )
        )

    for field_name in FIELDS:
        wanted = mapping.columns.get(field_name)
        if wanted is not None:
            if wanted not in position:
                lacking("columns", field_name, wanted, field_name)
            else:
                columns[field_name] = position[wanted]
            continue
        found = next((position[n] for n in USUAL_NAMES[field_name] if n in position), None)
        if found is not None:
            columns[field_name] = found
    unknown = sorted(set(mapping.columns) - set(FIELDS))
    problems += [f"the mapping's columns has no field {u!r} (fields: {', '.join(FIELDS)})" for u in unknown]
    attributes = {}
    for attribute, wanted in mapping.attributes.items():
        if wanted not in position:
            lacking("attributes", attribute, wanted, f"attribute {attribute}")
        else:
            attributes[attribute] = position[wanted]
    problems += [said for _key, said in _mapping_clashes(mapping)]
    used = {**{f"{f}": i for f, i in columns.items()}, **{f"attribute {a}": i for a, i in attributes.items()}}
    for label, index in used.items():
        twice = [i for i, h in enumerate(cleaned) if h and h == cleaned[index]]
        if len(twice) > 1:
            places = " and ".join(str(i + 1) for i in twice)
            problems.append(f"column {cleaned[index]!r} ({label}) appears {len(twice)} times (columns {places})")
    if "name" not in columns and "name" not in mapping.columns:
        problems.append(f"no name column (one of {', '.join(USUAL_NAMES['name'])}, or map it: columns: {{name: …}})")
    if "division" not in columns and "division" not in mapping.columns:
        problems.append(f"no division column (one of {', '.join(USUAL_NAMES['division'])}, or map it)")
    if "code" not in columns and "credit_code" not in columns and not ({"code", "credit_code"} & set(mapping.columns)):
        problems.append("no 统一社会信用代码 column (nor a `code` column to key the units by)")
    return columns, attributes, problems


def _header_read(header: list[str], sheets: list[str] | None) -> str:
    """What the first row read holds (and, of a workbook, which sheet it is), for a header that lacks columns."""
    cells = [_shown(c.strip()) for c in header if c.strip()]
    shown = ", ".join(repr(c) for c in cells[:12]) + (f" … ({len(cells)} in all)" if len(cells) > 12 else "")
    said = f"the first row read holds {shown}"
    if sheets:
        others = sheets[1:6]
        said += f" (sheet {sheets[0]!r}, the workbook's first" + (
            f"; its others: {', '.join(map(repr, others))}: move the list to the first sheet)" if others else ")"
        )
    elif len(cells) == 1 and any(sep in header[0] for sep in ("\t", ";", "|")):
        said += ": its columns are separated by tabs or semicolons, not commas (save it as CSV, comma-separated)"
    return said


def _mapping_clashes(mapping: Mapping) -> list[tuple[tuple[str, str], str]]:
    """What a mapping may not say: an attribute named like a field (it would replace it) or not as a spec can
    name it, one column read as two things; each with the key that says it (section, key)."""
    problems = []
    for attribute in mapping.attributes:
        if attribute in FIELDS:
            problems.append(
                (
                    ("attributes", attribute),
                    f"the mapping's attribute {attribute!r} is a field's name: map it under columns:",
                )
            )
        elif not attribute.isidentifier() or len(attribute) > 40:
            problems.append(
                (
                    ("attributes", attribute),
                    f"the mapping's attribute {attribute[:40]!r} is not a name a spec can use (letters, digits and _, "
                    "at most 40)",
                )
            )
    read_as: dict[str, list[tuple[str, str]]] = {}
    for key in [*(("columns", f) for f in mapping.columns), *(("attributes", a) for a in mapping.attributes)]:
        read_as.setdefault(getattr(mapping, key[0])[key[1]], []).append(key)
    for column, keys in read_as.items():
        if len(keys) > 1:
            labels = [key if section == "columns" else f"attribute {key}" for section, key in keys]
            problems.append((keys[-1], f"the mapping reads column {column!r} as {' and '.join(labels)}"))
    return problems


def _cells_problem(cells: list[str], get: dict, kept: list[str], labels: list[str], count: tuple) -> str:
    """What is wrong with a row's cells as such (a control character, the number of fields, a cell too long),
    headed by what names the row; `count`: (the row's fields, the header's, whether they disagree)."""
    fields, named, ragged = count
    shown = _shown(cells[get["name"]] or cells[get["code"]] or cells[get["credit_code"]] or "(no name)")
    unseen = _unseen_problem(kept, labels)
    if unseen:
        return f"{shown}: {unseen}"
    if ragged:
        return (
            f"{shown}: {fields} fields, the header has {named} (a comma inside a value that is not in quotes? a "
            "cell left out?)"
        )
    label, value = next((label, v) for v, label in zip(kept, labels) if len(v) > MAX_CELL)
    return f"{shown}: {label} is {len(value):,} characters long: at most {MAX_CELL}"


def _unseen_problem(cells: list[str], labels: list[str]) -> str | None:
    """The first used cell holding a control or bidirectional-override character, named (see _UNSEEN)."""
    for value, label in zip(cells, labels):
        found = _UNSEEN.search(value)
        if found:
            char = found.group()
            what = "a line break (a quote opened here and never closed?)" if char in "\r\n" else f"U+{ord(char):04X}"
            return f"{label} holds {what}, which no name or code has: remove it and export again"
    return None


def _shown(value: str) -> str:
    """A cell's text as an error shows it: control characters escaped, at most 40 characters."""
    value = _UNSEEN.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return value if len(value) <= 40 else value[:40] + "…"


LABELS = {
    "code": "code",
    "credit_code": "统一社会信用代码",
    "name": "单位名称",
    "division": "行政区划代码",
    "industry": "行业代码",
    "size": "规模",
    "risk": "风险等级",
    "contact": "联系人",
    "phone": "联系电话",
    "channels": "渠道",
    "kind": "单位类型",
    "level": "层级",
}


def check_rows(
    table,
    mapping: Mapping,
    name: str,
    divisions: dict[str, Any],
    *,
    notes: list[str] | None = None,
    numbers: set[tuple[int, int]] | None = None,
    sheets: list[str] | None = None,
) -> list[ListedRow]:
    """Check every row; the rows when all are right, else ListFileError listing each bad one. `notes` gathers the
    rows attached to a coarser division than their code names (see ReadList.notes); `numbers`, `sheets`: an
    xlsx's long numbers and sheet names (see _xlsx_rows), for what its errors say."""
    iterator = iter(table)
    header_line, header = next(iterator, (1, []))
    if not any(c.strip() for c in header):
        where = ""
        if sheets:
            others = ", ".join(map(repr, sheets[1:6]))
            where = f" (sheet {sheets[0]!r}, the workbook's first" + (
                f"; its others: {others}: move the list to the first sheet)" if others else ")"
            )
        raise ListFileError(
            name, [(header_line, f"the first row is empty{where}: it must be the header (column names)")]
        )
    misnamed: list[tuple[int | None, str]] = []
    columns, attribute_columns, header_problems = _header_map(header, mapping, name, misnamed)
    if misnamed:  # the typo is in the mapping file: said at its line there, with the columns the list has
        raise ListFileError(mapping.file or name, misnamed)
    if header_problems:
        raise ListFileError(name, [(header_line, p) for p in [*header_problems, _header_read(header, sheets)]])
    level = LEVEL_ALIASES.get(mapping.level, None) or _level(mapping.level)
    if level is None:
        raise ListFileError(name, [(None, f"level {mapping.level!r} is not a level (entity, village, block …)")])
    problems: list[tuple[int | None, str]] = []
    rows: list[ListedRow] = []
    first_line: dict[str, int] = {}
    credit_line: dict[str, int] = {}
    interned: dict[str, str] = {}
    # each row's cells are stripped once, padded to the columns read and ended by an empty cell, which the
    # fields without a column read (index -1): a million rows per import, no call per cell
    get = {f: -1 if columns.get(f) is None else columns[f] for f in FIELDS}
    width = max([*columns.values(), *attribute_columns.values()], default=-1) + 1
    named = len(header) - next((i for i, h in enumerate(reversed(header)) if h.strip()), len(header))
    used = [(index, LABELS[f]) for f, index in get.items() if index >= 0]
    used += [(index, f"attribute {a}") for a, index in attribute_columns.items()]
    used_at, used_labels = [i for i, _l in used], [label for _i, label in used]

    for line, raw_cells in iterator:
        cells = [c.strip() for c in raw_cells]
        if not any(cells):
            continue  # a blank line (a spreadsheet's trailing rows)
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        cells.append("")
        unit_name = cells[get["name"]]
        kept = [cells[i] for i in used_at]
        joined = "".join(kept)
        ragged = len(raw_cells) != len(header) and (len(raw_cells) < named or any(cells[named:-1]))
        if ragged or _UNSEEN.search(joined) or (len(joined) > MAX_CELL and max(map(len, kept)) > MAX_CELL):
            problems.append((line, _cells_problem(cells, get, kept, used_labels, (len(raw_cells), named, ragged))))
            continue
        bad = []
        if not unit_name:
            bad.append("no name (单位名称 is empty)")
        if not joined.isascii():  # full-width digits and letters (１４０７２４) typed by an input method: as ASCII
            for field_name in ("credit_code", "code", "division"):
                cells[get[field_name]] = unicodedata.normalize("NFKC", cells[get[field_name]])
        credit = cells[get["credit_code"]].upper() or None
        if credit is not None:
            wrong = credit_problem(credit)
            if wrong and numbers and (line, get["credit_code"]) in numbers:
                wrong = (
                    f"统一社会信用代码 {credit} is a number in the workbook, so Excel kept only its first 15 digits: "
                    "format the column as text (文本), type the codes again or paste them from the original, and save"
                )
            if wrong:
                bad.append(wrong)
        code = cells[get["code"]] or credit or ""
        if not code:
            bad.append("no 统一社会信用代码 (nor code): a listed unit needs one to be told apart")
        elif len(code) > 64:
            bad.append(f"code of {len(code)} characters: at most 64")
        raw_division = cells[get["division"]]
        division = known_division(raw_division, divisions) if raw_division else None
        if not raw_division:
            bad.append("no division code (行政区划代码 is empty)")
        elif division is None and raw_division.strip().isdigit() and len(raw_division.strip()) not in DIVISION_LENGTHS:
            bad.append(
                f"division code {raw_division!r} has {len(raw_division.strip())} digits: a division code has 6 "
                "(county), 9 (township) or 12 (village) — a digit lost or one too many?"
            )
        elif division is None:
            bad.append(
                f"division code {raw_division!r} is not a division of the Ministry of Civil Affairs data (2025-12-31)"
            )
        elif notes is not None and len(division) == 6 and len(raw_division) >= 9 and raw_division[6:9] != "000":
            notes.append(
                f"{name}:{line} {cells[get['name']] or code}: division code {raw_division!r} — the Ministry's data "
                f"(2025-12-31) has no township {raw_division[:9]}; stored under the county {division}"
            )
        if code:
            if code in first_line:
                bad.append(f"{code} is listed twice (first on line {first_line[code]})")
            else:
                first_line[code] = line
        if credit is not None and credit != code:
            if credit in credit_line:
                bad.append(f"统一社会信用代码 {credit} is listed twice (first on line {credit_line[credit]})")
            else:
                credit_line[credit] = line
        row_level = cells[get["level"]]
        this_level = (LEVEL_ALIASES.get(row_level) or _level(row_level)) if row_level else level
        if this_level is None:
            bad.append(f"层级 {row_level!r} is not a level (村/社区, 普查小区, 企业 …)")
        channels: tuple[str, ...] = ()
        if cells[get["channels"]]:  # an address or a reference, checked here: never a key, never a typo stored
            channels, wrong_channel = listed_channels(cells[get["channels"]])
            if wrong_channel:
                bad.append(wrong_channel)
        if bad:
            problems.extend((line, f"{_shown(unit_name or code or '(no name)')}: {b}") for b in bad)
            continue
        attributes = {}
        for attribute in ATTRIBUTE_FIELDS:
            value = cells[get[attribute]]
            if value:
                attributes[attribute] = interned.setdefault(value, value)
        for attribute, index in attribute_columns.items():
            value = cells[index]
            if value:
                attributes[attribute] = interned.setdefault(value, value)
        rows.append(
            ListedRow(
                line=line,
                code=code,
                name=unit_name,
                division=division,  # type: ignore[arg-type]
                level=this_level.value,  # type: ignore[union-attr]
                kind=interned.setdefault(k := cells[get["kind"]] or mapping.kind, k),
                credit_code=credit,
                attributes=attributes,
                contact=cells[get["contact"]] or None,
                phone=cells[get["phone"]] or None,
                channels=channels,
            )
        )
    if problems:
        raise ListFileError(name, problems)
    if not rows:
        raise ListFileError(name, [(header_line, "the list has a header but no rows")])
    return rows


def _level(text: str) -> Level | None:
    try:
        return Level(text)
    except ValueError:
        return None


_NO_TAGS: frozenset[str] = frozenset()


def attach(registry, rows: list[ListedRow]) -> tuple[int, int]:
    """Add the listed parties whose division (or a division above it) is in the registry; (added, outside)."""
    from duban.domain.units import Unit

    added = outside = 0
    units = registry.units
    for row in rows:
        parent = _nearest(row.division, units)
        if parent is None:
            outside += 1
            continue
        registry.add(
            Unit(
                code=row.code,
                name=row.name,
                level=Level(row.level),
                parent=parent,
                kind=row.kind,
                tags=_NO_TAGS,  # type: ignore[arg-type]  # one empty set shared by every listed party, never added to
                channels=row.channels,  # type: ignore[arg-type]  # the list's (a tuple, never added to), or none
                contact=row.contact,
                phone=row.phone,
                attributes=row.attributes,
                line="",
            )
        )
        added += 1
    return added, outside


def _nearest(division: str, units: dict) -> str | None:
    """The division itself, or the nearest division above it, that the registry holds."""
    for code in (division, division[:9], division[:6], division[:4] + "00", division[:2] + "0000"):
        if code in units and units[code].kind == "division":
            return code
    return None


StoredLists = Callable[[str, "datetime | None"], list[ListedRow]]
_stored: StoredLists | None = None


def use_stored_lists(loader: StoredLists) -> None:
    """Where a plan reads a stored list (`registry.lists: [NAME]`): duban.store sets the settings' database when
    it is imported, so the domain reads lists without speaking SQL."""
    global _stored
    _stored = loader


def stored_rows(name: str, as_of: datetime | None) -> list[ListedRow]:
    """The stored list `name` (as it stood at `as_of`), through the loader duban.store set."""
    if _stored is None:
        raise DubanError(
            f"list {name!r} is kept in the database, and nothing here reads it: plan with duban (the CLI, "
            "a flow or the portal), or give the list as `{file: …}`"
        )
    return _stored(name, as_of)
