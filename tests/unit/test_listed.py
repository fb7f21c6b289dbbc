"""Lists (名录) read from a bureau's CSV or xlsx export: every row checked, each bad row named by its line."""

from __future__ import annotations

import random

import pytest

from duban.domain.listed import ListFileError, Mapping, credit_check_digit, credit_problem, known_division, read_list
from duban.simulation.synthetic_list import HEADER, credit_code

XIYANG = "140724"


def _good(n: int, division: str = XIYANG) -> list[str]:
    rng = random.Random(n)
    return [
        credit_code(rng, division),
        f"模拟昔阳企业{n}有限公司",
        division,
        "C30",
        "小型",
        "一般",
        "王芳",
        "0354-4000000",
    ]


def _csv(tmp_path, rows, header=HEADER, encoding="utf-8", name="名录.csv"):
    path = tmp_path / name
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_the_check_digit_of_a_credit_code():
    assert credit_check_digit("91350100M000100Y4") == "3"  # GB 32100-2015's worked example: 91350100M000100Y43
    assert credit_problem("91350100M000100Y43") is None
    assert "check digit is 3" in credit_problem("91350100M000100Y44")
    assert "18" in credit_problem("9135010")
    assert "I, O, S, V, Z" in credit_problem("91350100M000100YO3")


def test_a_good_list_gives_units_with_their_attributes(tmp_path):
    read = read_list(_csv(tmp_path, [_good(1), _good(2, "140724100")]))
    first, second = read.rows
    assert first.division == XIYANG and second.division == "140724100"
    assert first.attributes == {"industry": "C30", "size": "小型", "risk": "一般"}
    assert first.code == first.credit_code and first.level == "entity" and first.kind == "enterprise"
    assert first.contact == "王芳" and len(read.sha256) == 64


def test_every_bad_row_is_named_with_its_line_and_nothing_is_returned(tmp_path):
    bad_digit = _good(3)
    bad_digit[0] = bad_digit[0][:17] + ("0" if bad_digit[0][17] != "0" else "1")
    unknown = _good(4, "149999")
    nameless = _good(5)
    nameless[1] = ""
    twice = _good(1)
    path = _csv(tmp_path, [_good(1), bad_digit, unknown, nameless, _good(6), twice])
    with pytest.raises(ListFileError) as caught:
        read_list(path)
    text = str(caught.value)
    assert text.startswith(f"4 problems in {path}, nothing was stored:")
    assert f"{path}:3 " in text and "check digit is" in text
    assert f"{path}:4 " in text and "'149999' is not a division" in text
    assert f"{path}:5 " in text and "no name" in text
    assert f"{path}:7 " in text and "listed twice (first on line 2)" in text
    assert f"{path}:6 " not in text and f"{path}:2 " not in text


def test_a_village_code_of_twelve_digits_attaches_to_its_township():
    divisions = {"140724": 1, "140724100": 1}
    assert known_division("140724100201", divisions) == "140724100"
    assert known_division("140724999201", divisions) == "140724"
    assert known_division("990000", divisions) is None and known_division("14a724", divisions) is None


def test_a_gb18030_export_and_a_mapping_of_other_column_names(tmp_path):
    header = ["信用代码", "企业名称", "所在地区划", "从业人员", "风险"]
    row = _good(7)
    path = _csv(tmp_path, [[row[0], row[1], row[2], "120", "高"]], header=header, encoding="gb18030")
    mapping = Mapping(columns={"division": "所在地区划", "risk": "风险"}, attributes={"employees": "从业人员"})
    [unit] = read_list(path, mapping).rows
    assert unit.name == row[1] and unit.attributes == {"risk": "高", "employees": "120"}
    with pytest.raises(ListFileError, match="no division column"):
        read_list(path)
    with pytest.raises(ListFileError, match="names column '风险等级' for risk"):
        read_list(path, Mapping(columns={"division": "所在地区划", "risk": "风险等级"}))


def test_an_xlsx_export_reads_like_its_csv(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(_good(8))
    sheet.append([None] * len(HEADER))  # a spreadsheet's trailing blank row
    bad = _good(9)
    bad[2] = 149999  # a number cell (as Excel keeps codes) naming no division
    sheet.append(bad)
    path = tmp_path / "名录.xlsx"
    book.save(path)
    with pytest.raises(ListFileError) as caught:
        read_list(path)
    assert f"{path}:4 " in str(caught.value) and "1 problem in" in str(caught.value)


def test_a_formula_cell_with_no_saved_value_is_said_as_such_at_its_line(tmp_path):
    """A name written as =HYPERLINK(…) was reported as "no name", and a 邮箱 written as =CONCATENATE(…) was read as
    empty in silence, the enterprise left to the fallback channel (an outside tester's finding)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append([*HEADER, "邮箱"])
    named = _good(1)
    named[1] = '=HYPERLINK("http://evil","辛集")'
    sheet.append([*named, "a@xiyang.gov.cn"])
    sheet.append([*_good(2), '=CONCATENATE("a","@b.cn")'])
    sheet.append([*_good(3), "c@xiyang.gov.cn"])
    path = tmp_path / "名录.xlsx"
    book.save(path)
    with pytest.raises(ListFileError) as caught:
        read_list(path)
    said = str(caught.value)
    assert f"{path}:2 column 2 is a formula with no saved value" in said and "no name" not in said, said
    assert f"{path}:3 column {len(HEADER) + 1} is a formula with no saved value" in said, said
    assert f"{path}:4" not in said


def test_a_file_that_is_not_a_list_says_so(tmp_path):
    with pytest.raises(ListFileError, match="file not found"):
        read_list(tmp_path / "none.csv")
    other = tmp_path / "名录.docx"
    other.write_bytes(b"PK")
    with pytest.raises(ListFileError, match=r"\.csv or \.xlsx"):
        read_list(other)
    with pytest.raises(ListFileError, match="header but no rows"):
        read_list(_csv(tmp_path, []))


def test_a_division_code_of_another_length_is_an_error_not_a_guess(tmp_path):
    """1407241 (a digit lost) or 1407241000 (one too many) were filed under 140724 without a word (an outside
    tester's finding): a division code has 6, 9 or 12 digits."""
    divisions = {"140724": 1, "140724100": 1}
    for code in ("1407241", "14072410", "1407241000", "14072410000", "1407241000000"):
        assert known_division(code, divisions) is None, code
    short, long = _good(2, "1407241"), _good(3, "1407241000")
    path = _csv(tmp_path, [_good(1), short, long, _good(4, "140724100")])
    with pytest.raises(ListFileError) as caught:
        read_list(path)
    text = str(caught.value)
    assert f"{path}:3 " in text and "division code '1407241' has 7 digits" in text
    assert f"{path}:4 " in text and "'1407241000' has 10 digits" in text
    assert "a digit lost or one too many" in text and f"{path}:5 " not in text


def test_a_mapping_files_unknown_field_is_said_at_its_own_line(tmp_path):
    """A typo at columns.divison (line 3 of the mapping) was reported as `名录.csv:1 the mapping's columns has no field
    'divison'`: the clerk looked in the list (an outside tester's finding)."""
    from duban.domain.listed import load_mapping

    mapping = tmp_path / "columns.yaml"
    mapping.write_text("columns:\n  name: 企业名称\n  divison: 所在地区划\n", encoding="utf-8")
    with pytest.raises(ListFileError) as caught:
        load_mapping(mapping)
    said = str(caught.value)
    assert f"{mapping}:3 " in said and "columns.divison: no such field" in said and "did you mean 'division'?" in said


def test_a_mapping_files_own_clashes_are_said_at_its_lines(tmp_path):
    """An attribute named like a field (risk) and a column read as two things were reported at the list's first
    line (`名录.csv:1 the mapping reads column …`), though the list was right: said at the mapping file's lines."""
    from duban.domain.listed import load_mapping

    mapping = tmp_path / "columns.yaml"
    mapping.write_text(
        "columns:\n  name: 企业名称\n  division: 所在地区划\nattributes:\n  risk: 风险\n  staff: 企业名称\n",
        encoding="utf-8",
    )
    with pytest.raises(ListFileError) as caught:
        load_mapping(mapping)
    said = str(caught.value).splitlines()
    assert said == [
        f"2 problems in {mapping}, nothing was stored:",
        f"{mapping}:5 attributes.risk: the mapping's attribute 'risk' is a field's name: map it under columns:",
        f"{mapping}:6 attributes.staff: the mapping reads column '企业名称' as name and attribute staff",
    ]


def test_a_rows_mailbox_is_read_as_clerks_type_it(tmp_path):
    """邮箱 cells as exports hold them: full width from an input method, a spreadsheet's mailto: link, 无 for none,
    two channels tried in turn; each becomes the unit's channel references."""
    cells = ["ｗａｎｇ＠XiYang.gov.cn", "mailto:li@xiyang.gov.cn", "无", "env:XY_KEY_FIRMS；zhao@qq.com", ""]
    rows = [[*_good(n), cell] for n, cell in enumerate(cells, 1)]
    read = read_list(_csv(tmp_path, rows, header=[*HEADER, "邮箱"]))
    assert [r.channels for r in read.rows] == [
        ("mail:wang@xiyang.gov.cn",),
        ("mail:li@xiyang.gov.cn",),
        (),
        ("env:XY_KEY_FIRMS", "mail:zhao@qq.com"),
        (),
    ]
