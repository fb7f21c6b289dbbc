"""`duban units import` of files a careless clerk or an attacker hands it (an outside tester's findings): each is
refused in a few lines naming the file, the row and the field, with no traceback, no gigabytes read, and nothing
stored — the same on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from duban.cli.main import app
from duban.domain.listed import ListFileError, read_list
from duban.simulation.synthetic_list import HEADER, credit_code
from duban.store.listed import import_list, listed_rows
from duban.store.tables import UnitImport

runner = CliRunner()


def _row(n: int, name: str | None = None) -> list[str]:
    return [credit_code(random.Random(n), "140724"), name or f"模拟企业{n}有限公司", "140724", "C30", "小型", "一般"]


def _csv(path, rows, header=HEADER[:6]):
    path.write_text("\n".join(",".join(r) for r in [list(header), *rows]) + "\n", encoding="utf-8")
    return path


def _refusal(path) -> str:
    """What reading `path` says (it must refuse it)."""
    with pytest.raises(ListFileError) as caught:
        read_list(path)
    return str(caught.value)


def test_a_cell_of_millions_of_characters_is_refused_at_its_row(tmp_path):
    """A name of 17 million characters (or 50 MB without a line end) ended in csv's `field larger than field
    limit` traceback; a 100,000-character name was stored."""
    huge = _csv(tmp_path / "huge.csv", [_row(1), _row(2, "山" * 2_000_000)])
    said = _refusal(huge)
    assert f"{huge}:3 a cell of this row runs on for more than 100,000 characters" in said, said
    long_name = _csv(tmp_path / "long.csv", [_row(1), _row(2, "山" * 5_000)])
    said = _refusal(long_name)
    assert f"{long_name}:3 " in said and "单位名称 is 5,000 characters long: at most 200" in said, said
    assert len(said) < 600  # the name is shown cut, not 5,000 characters of it


def test_control_characters_and_bidi_overrides_are_refused_naming_row_and_field(tmp_path):
    """A NUL in a name was stored on SQLite and a psycopg traceback on PostgreSQL; an escape sequence and a line
    break in a name were stored and echoed raw by `duban units history` (the terminal turned red, one record
    took two lines); U+202E reordered the text shown."""
    cases = {
        "nul": ("模拟\x00企业有限公司", "单位名称 holds U+0000"),
        "escape": ("模拟企业\x1b[31m红有限公司", "单位名称 holds U+001B"),
        "bidi": ("模拟\u202e企业有限公司", "单位名称 holds U+202E"),
        "bell": ("模拟企业\x07有限公司", "单位名称 holds U+0007"),
    }
    for label, (name, expected) in cases.items():
        path = _csv(tmp_path / f"{label}.csv", [_row(1), _row(2), _row(3, name)])
        said = _refusal(path)
        assert f"{path}:4 " in said and expected in said, said
        assert "\x1b" not in said and "\x00" not in said and "\u202e" not in said  # shown escaped
    risk = tmp_path / "risk.csv"
    risk.write_text(",".join(HEADER[:6]) + "\n" + ",".join([*_row(1)[:5], "高\x00"]) + "\n", encoding="utf-8")
    assert f"{risk}:2 " in (said := _refusal(risk)) and "风险等级 holds U+0000" in said, said


def test_line_separators_and_control_characters_excel_escapes_are_refused_at_their_row(tmp_path):
    """U+2028 (which spec text refuses) was stored inside a name; so was ESC from a workbook, where Excel writes it
    as `_x001B_` (what Excel shows the name as holds the character; the export gave it back to Excel)."""
    for char in ("\u2028", "\u2029"):
        path = _csv(tmp_path / "sep.csv", [_row(1), _row(2, f"模拟{char}企业有限公司")])
        said = _refusal(path)
        assert f"{path}:3 " in said and f"单位名称 holds U+{ord(char):04X}" in said, said
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER[:6])
    book.active.append(_row(1))
    book.active.append(_row(2, "模拟企业MARK有限公司"))
    plain = io.BytesIO()
    book.save(plain)
    escaped = tmp_path / "名录.xlsx"
    _sheet_changed(plain, escaped, lambda xml: xml.replace(b"MARK", b"_x001B_[31m"))
    said = _refusal(escaped)
    assert f"{escaped}:3 " in said and "单位名称 holds U+001B" in said and "\x1b" not in said, said
    result = runner.invoke(app, ["units", "import", str(escaped), "--list", "xiyang"])
    assert result.exit_code == 1 and "单位名称 holds U+001B" in result.output, result.output
    kept = tmp_path / "kept.xlsx"  # an escape of an ordinary character is left as written
    _sheet_changed(plain, kept, lambda xml: xml.replace(b"MARK", b"_x4E2D_"))
    assert read_list(kept).rows[1].name == "模拟企业_x4E2D_有限公司"


def test_an_unclosed_quote_is_named_at_its_row_not_dumped_whole(tmp_path):
    """A quote opened on line 3 and never closed swallowed the rest of the file into one 'problem' of 9.7 KB (30 MB
    for a real export) that blamed an empty division code."""
    rows = [",".join(_row(n)) for n in range(1, 21)]
    rows[1] = '"' + rows[1]
    path = tmp_path / "quote.csv"
    path.write_text(",".join(HEADER[:6]) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    said = _refusal(path)
    assert f"{path}:3 " in said and "a line break (a quote opened here and never closed?)" in said, said
    assert len(said) < 400, said


def test_a_row_with_more_or_fewer_fields_than_the_header_is_refused(tmp_path):
    """`…,一般,备注` (an unquoted comma) shifted the columns and was stored; a row of three fields was stored."""
    good = [",".join(_row(n)) for n in range(1, 5)]
    shifted = ",".join([*_row(5), "备注"])
    short = ",".join(_row(6)[:3])
    trailing = ",".join(_row(7)) + ",,"  # empty cells past the header: as spreadsheets export them, kept
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join([",".join(HEADER[:6]), *good, shifted, short, trailing]) + "\n", encoding="utf-8")
    said = _refusal(path)
    assert f"{path}:6 模拟企业5有限公司: 7 fields, the header has 6" in said, said
    assert f"{path}:7 模拟企业6有限公司: 3 fields, the header has 6" in said, said
    assert ":8 " not in said and said.startswith("2 problems")


def test_a_column_the_list_reads_given_twice_is_refused(tmp_path):
    """A second 行政区划代码 column (all 140100) was ignored without a word: which one did the clerk mean?"""
    header = [*HEADER[:6], "行政区划代码"]
    path = _csv(tmp_path / "twice.csv", [[*_row(1), "140100"]], header=header)
    said = _refusal(path)
    assert f"{path}:1 column '行政区划代码' (division) appears 2 times (columns 3 and 7)" in said, said


def test_a_mapping_that_would_corrupt_the_fields_is_refused_at_its_line(tmp_path):
    """An attribute named `risk` replaced the risk class with the industry code, `a b/../c` was kept as an
    attribute name, one column was read as name and risk, a key given twice silently kept the last one; errors
    were pydantic's words without a line."""
    from duban.domain.listed import load_mapping

    path = _csv(tmp_path / "l.csv", [_row(1)])
    clash = tmp_path / "clash.yaml"
    clash.write_text("attributes:\n  risk: 行业代码\n  'a b/../c': 规模\n  size2: 单位详细名称\n", encoding="utf-8")
    with pytest.raises(ListFileError) as caught:
        read_list(path, load_mapping(clash))
    said = str(caught.value)
    assert "the mapping's attribute 'risk' is a field's name" in said, said
    assert "the mapping's attribute 'a b/../c' is not a name a spec can use" in said, said
    assert "the mapping reads column '单位详细名称'" not in said  # name found by its usual column, not mapped
    same = tmp_path / "same.yaml"
    same.write_text("columns:\n  name: 单位详细名称\n  risk: 单位详细名称\n", encoding="utf-8")
    with pytest.raises(ListFileError) as caught:
        read_list(path, load_mapping(same))
    assert "the mapping reads column '单位详细名称' as name and risk" in str(caught.value), str(caught.value)
    for text, expected in [
        (
            "columns:\n  name: 企业名称\ncolumns:\n  name: 名称\n",
            f"{tmp_path / 'm.yaml'}:3 columns: key 'columns' appears twice",
        ),
        ("- a\n- b\n", f"{tmp_path / 'm.yaml'}:1 a mapping file holds `columns:` and `attributes:`"),
        ("columns:\n  name: 企业名称\nextra: 1\n", f"{tmp_path / 'm.yaml'}:3 extra: not a key of a mapping file"),
    ]:
        (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
        with pytest.raises(ListFileError) as caught:
            load_mapping(tmp_path / "m.yaml")
        assert expected in str(caught.value), str(caught.value)


def _sheet_changed(plain: io.BytesIO, path, change) -> None:
    """Write the workbook `plain` to `path` with its first sheet's XML passed through `change` (deflated)."""
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, zipfile.ZipFile(path, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            out.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)


def test_an_xlsx_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    """A 3 MB workbook whose sheet inflates to 3 GB was read in full: 76 s and 3 GB of memory, then stored."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER[:6])
    sheet.append(_row(1))
    plain = io.BytesIO()
    book.save(plain)
    bomb = tmp_path / "bomb.xlsx"  # whitespace inside the sheet: valid XML, 200 MB
    _sheet_changed(plain, bomb, lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + b" " * (200 * 2**20)))
    assert bomb.stat().st_size < 2 * 2**20
    said = _refusal(bomb)
    assert f"{bomb}: the workbook would inflate to" in said and "not a list exported from Excel/WPS" in said, said
    fine = tmp_path / "fine.xlsx"
    fine.write_bytes(plain.getvalue())
    assert [r.name for r in read_list(fine).rows] == ["模拟企业1有限公司"]


def test_a_hostile_file_stores_nothing_on_either_database(engine, tmp_path):
    """The refusals above come before the database is touched: the list and its imports stay as they were."""
    import_list(engine, "xiyang", read_list(_csv(tmp_path / "good.csv", [_row(1), _row(2)])), now=_now())
    bad = _csv(tmp_path / "bad.csv", [_row(1), _row(2), _row(3, "模拟\x00企业")])
    said = _refusal(bad)
    assert "单位名称 holds U+0000" in said
    assert len(listed_rows(engine, "xiyang")) == 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(UnitImport)).scalar_one() == 1


def test_the_cli_says_it_in_a_few_lines_without_a_traceback(tmp_path):
    path = _csv(tmp_path / "名录.csv", [_row(1), _row(2, "山" * 300_000)])
    result = runner.invoke(app, ["units", "import", str(path), "--list", "xiyang"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path}:3 a cell of this row runs on for more than 100,000 characters" in " ".join(result.output.split())
    assert len(result.output) < 1000


def _now():
    from datetime import datetime, timezone

    return datetime(2025, 3, 1, 2, 0, tzinfo=timezone.utc)


def test_an_xlsx_whose_list_is_not_on_its_first_sheet_says_which_sheet_it_read(tmp_path):
    """Data on sheet 名录 behind a sheet 说明: the error listed the missing columns and nothing else; the clerk could
    not tell which sheet or which row had been read. A tab-separated file got the same silence."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    book.active.append(["本表为2025年规上企业名录"])
    book.create_sheet("名录").append(HEADER[:6])
    path = tmp_path / "two.xlsx"
    book.save(path)
    said = _refusal(path)
    assert (
        "the first row read holds '本表为2025年规上企业名录' (sheet '说明', the workbook's first; its others: '名录'"
        in said
    )
    tabbed = tmp_path / "tab.csv"
    tabbed.write_text("\t".join(HEADER[:6]) + "\n" + "\t".join(_row(1)) + "\n", encoding="utf-8")
    said = _refusal(tabbed)
    assert "separated by tabs or semicolons, not commas" in said and "\t" not in said, said


def test_a_credit_code_excel_kept_as_a_number_is_named_as_such(tmp_path):
    """911407241573681931 typed into a number cell is stored as 9.11407241573682E17: the check digit error sent
    the clerk hunting for a typing error that was Excel's."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER[:6])
    book.active.append(_row(1))
    book.active.append([float("911407241573681931"), *_row(2)[1:]])  # as Excel stores it: 9.11407241573682E17
    path = tmp_path / "number.xlsx"
    book.save(path)
    said = _refusal(path)
    assert f"{path}:3 " in said and "is a number in the workbook, so Excel kept only its first 15 digits" in said
    assert ":2 " not in said  # the code typed as text is read as it is


def test_full_width_codes_are_read_and_a_workbook_that_is_not_one_says_what_it_is(tmp_path):
    """１４０７２４ (typed by an input method) was "not a division"; a CSV renamed .xlsx and an old .xls both got "not
    an xlsx workbook that can be read", with no word of what they were."""
    wide = _row(1)
    wide[2] = "１４０７２４"
    rows = read_list(_csv(tmp_path / "wide.csv", [wide])).rows
    assert [(r.division, r.name) for r in rows] == [("140724", "模拟企业1有限公司")]
    renamed = tmp_path / "名录.xlsx"
    renamed.write_text(",".join(HEADER[:6]) + "\n" + ",".join(_row(1)) + "\n", encoding="utf-8")
    assert "text, not a workbook (a CSV named .xlsx?): name it .csv" in _refusal(renamed)
    old = tmp_path / "名录2003.xlsx"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert "an old .xls workbook (Excel 97–2003)" in _refusal(old)


def test_a_list_file_a_spec_reads_is_not_said_to_store_anything(tmp_path):
    """`lists: [{file: units/nonexist.csv}]` in `duban validate` said "nothing was stored", which validate never
    does."""
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "id: x\ntitle: t\nissuer: i\nregistry:\n  divisions: ['140724']\n  lists: [{file: 名录.csv}]\n"
        "stages:\n  - {id: s, name: 阶段, window: {start: 2025-03-03, end: 2025-03-21},\n"
        "     items: [{id: a, name: 甲, units: {level: county}}]}\n",
        encoding="utf-8",
    )
    _csv(tmp_path / "名录.csv", [_row(1), _row(2, "模拟\x07企业")])
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1 and "单位名称 holds U+0007" in result.output, result.output
    assert "nothing was stored" not in result.output


def test_list_units_outside_the_campaign_are_said_to_be_left_out(tmp_path):
    """A 名录 of 晋中 and 太原 (4,000 units) over a 晋中 campaign: the 太原 half was dropped without a word, while a
    list wholly outside was an error."""
    from duban.simulation.synthetic_list import write_csv

    write_csv(tmp_path / "名录.csv", ["140724", "140725", "140105"], 300, seed=5)
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "id: x\ntitle: t\nissuer: i\nregistry:\n  divisions: ['140700']\n  lists: [{file: 名录.csv}]\n"
        "stages:\n  - {id: s, name: 阶段, window: {start: 2025-03-03, end: 2025-03-21},\n"
        "     items: [{id: a, name: 甲, units: {kind: enterprise}}]}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"{spec}:6 registry.lists[0]" in said and "of the 300 units of 名录.csv lie outside the registry's" in said
    assert "(140700) and are left out" in said, said


def test_a_workbook_s_declared_range_neither_hangs_nor_hides_rows(tmp_path):
    """A 5 KB workbook with one cell at XFD1048576 declared A1:XFD1048576 and hung the import (killed after
    120 s); a workbook declaring A1:H3 over seven rows had rows 4–7 dropped without a word."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER[:6])
    book.active.append(_row(1))
    book.active.cell(row=1_048_576, column=16_384, value="x")
    far = tmp_path / "far.xlsx"
    book.save(far)
    assert far.stat().st_size < 20_000
    said = _refusal(far)
    assert f"{far}:1048576 a cell in column 16,384: a list has at most 1,000 columns" in said, said

    book = Workbook()
    book.active.append(HEADER[:6])
    for n in range(1, 7):
        book.active.append(_row(n))
    plain = io.BytesIO()
    book.save(plain)
    lying = tmp_path / "lying.xlsx"
    _sheet_changed(plain, lying, lambda xml: xml.replace(b'<dimension ref="A1:F7"/>', b'<dimension ref="A1:F3"/>'))
    with zipfile.ZipFile(lying) as written:
        assert b'ref="A1:F3"' in written.read("xl/worksheets/sheet1.xml")
    assert len(read_list(lying).rows) == 6


def test_zero_width_characters_and_an_empty_first_sheet(tmp_path):
    """坏\\u200b企业 was stored (two names that look alike); an empty 说明 sheet before the list said only that
    the first row was empty."""
    path = _csv(tmp_path / "zw.csv", [_row(1), _row(2, "坏\u200b企业有限公司")])
    assert "单位名称 holds U+200B" in _refusal(path)
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    book.create_sheet("名录").append(HEADER[:6])
    empty_first = tmp_path / "empty.xlsx"
    book.save(empty_first)
    said = _refusal(empty_first)
    assert "the first row is empty (sheet '说明', the workbook's first; its others: '名录'" in said, said
