"""Score-sheet import against damaged and hostile workbooks (issue 20, the outside attacker's section 6): number
cells holding NaN, inf or 0x1E, control characters, a DOCTYPE with an external entity, a billion-laughs DTD,
truncated sheet XML, a workbook whose hidden `_duban` sheet has no content — each is refused naming the worksheet
and cell, in Chinese, through `duban scores import`'s function and the operators' upload form (400, never 500).
The import applies the form's date checks (one function): no future date, a real calendar date, Excel serials in
bounds."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from duban.domain.scoring import inspection_day
from duban.services.score_import import export_template, import_workbook
from duban.services.scores import ScoreError, latest_scores
from duban.store.tables import SampleDraw
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong

MARK = 7777  # a placeholder number typed into a cell, then replaced in the sheet's XML
DATE_COLUMN = "P"  # 单位代码 单位名称 上级单位, 9 check items, 合计 结论 检查人 → 检查日期 is the 16th column


def _members(engine):
    with engine.connect() as conn:
        return conn.execute(select(SampleDraw.members).where(SampleDraw.sample_id == "city_check")).scalar_one()


def _template(engine, tmp_path, *, day="2024-06-19", first=5):
    """A template with the first unit's row filled (D = `first`), saved by openpyxl; its bytes."""
    path = tmp_path / "评分表.xlsx"
    export_template(engine, CAMPAIGN, ["city_check"], path)
    book = load_workbook(path)
    ws = book["市级抽查"]
    ws.cell(4, 4, first)
    for col in range(5, 13):
        ws.cell(4, col, 5)
    ws.cell(4, 15, "ZJC")
    ws.cell(4, 16, day)
    book.save(path)
    return path


def _rewrite(path, change):
    """Rewrite the parts of the xlsx at `path`: change(name, bytes) → bytes, or None to leave the part out."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            data = change(name, data)
            if data is not None:
                archive.writestr(name, data)
    path.write_bytes(out.getvalue())


def _sheet(change):
    return lambda name, data: change(data) if name == "xl/worksheets/sheet1.xml" else data


NUMBER_CELLS = ["NaN", "nan", "inf", "-inf", "Infinity", "0x1E", "1e999", "1_0", "٩", "१२", "９"]
"""A number cell's <v> Excel never writes; openpyxl would read ٩ and ９ as 9, and १२ as 12."""
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)


@pytest.fixture
def planned(sqlite_engine):
    plan_jinzhong(sqlite_engine)
    return sqlite_engine


def _refused(engine, path) -> str:
    with pytest.raises(ScoreError) as caught:
        import_workbook(engine, CAMPAIGN, path, at=at("2024-06-20 10:00"))
    assert latest_scores(engine, CAMPAIGN) == []
    return caught.value.cn


@pytest.mark.parametrize("text", NUMBER_CELLS)
def test_a_number_cell_that_is_not_a_finite_number_is_refused_by_cell(planned, tmp_path, text):
    path = _template(planned, tmp_path, first=MARK)
    _rewrite(path, _sheet(lambda xml: xml.replace(f"<v>{MARK}</v>".encode(), f"<v>{text}</v>".encode())))
    cn = _refused(planned, path)
    assert "评分表.xlsx 市级抽查!D4" in cn and "不是数字" in cn, cn


def test_nan_in_the_date_cell_is_refused_by_cell(planned, tmp_path):
    path = _template(planned, tmp_path, day=MARK)
    _rewrite(path, _sheet(lambda xml: xml.replace(f"<v>{MARK}</v>".encode(), b"<v>NaN</v>")))
    assert f"市级抽查!{DATE_COLUMN}4" in _refused(planned, path)


@pytest.mark.parametrize("prolog", [XXE, LAUGHS], ids=["xxe", "billion_laughs"])
@pytest.mark.parametrize(
    "part", ["xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml", "[Content_Types].xml"]
)
def test_a_doctype_anywhere_is_refused_before_it_is_parsed(planned, tmp_path, prolog, part):
    path = _template(planned, tmp_path)
    _rewrite(path, lambda name, data: prolog + re.sub(rb"^<\?xml[^>]*\?>", b"", data) if name == part else data)
    cn = _refused(planned, path)
    assert "DOCTYPE" in cn and "passwd" not in cn, cn


def test_a_control_character_reference_in_a_cell_is_refused_naming_the_worksheet(planned, tmp_path):
    path = _template(planned, tmp_path)
    _rewrite(path, _sheet(lambda xml: xml.replace(b"ZJC", b"Z&#x1;C")))
    cn = _refused(planned, path)
    assert "评分表.xlsx 市级抽查" in cn and "文件已损坏" in cn, cn


def test_truncated_sheet_xml_is_refused(planned, tmp_path):
    path = _template(planned, tmp_path)
    _rewrite(path, _sheet(lambda xml: xml[: len(xml) // 2]))
    cn = _refused(planned, path)
    assert "评分表.xlsx 市级抽查" in cn and "文件已损坏" in cn, cn


def test_a_workbook_whose_hidden_sheet_has_no_content_is_refused(planned, tmp_path):
    path = _template(planned, tmp_path)
    _rewrite(path, lambda name, data: None if name == "xl/worksheets/sheet2.xml" else data)
    cn = _refused(planned, path)
    assert "工作表「_duban」的内容缺失" in cn, cn


@pytest.mark.parametrize(
    "day, wrong",
    [
        ("9999-12-31", "不能晚于今天"),
        ("2099-01-01", "不能晚于今天"),
        ("2024-06-21", "不能晚于今天"),
        ("2026-02-30", "不是日期"),
        ("#VALUE!", "不是日期"),
        (2958466, "不是日期"),
        (1e20, "不是日期"),
        (-1, "不是日期"),
        (12.5, "不是日期"),
        ("1999-12-31", "不能早于"),
        ("٢٠٢٤-٠٦-١٩", "不是日期"),  # Arabic-Indic digits were read as 2024-06-19
        ("2024-06-١٩", "不是日期"),
    ],
)
def test_the_import_applies_the_forms_date_checks(planned, tmp_path, day, wrong):
    path = _template(planned, tmp_path, day=day)
    cn = _refused(planned, path)
    assert f"市级抽查!{DATE_COLUMN}4" in cn and wrong in cn, cn


REAL_DAYS = ["2024-06-20", "2024/6/3", "2024年6月3日", "２０２４年６月３日", "２０２４－０６－１９", 45462]
"""45462 = 2024-06-19 (Excel serial); full-width digits and dashes as a Chinese IME types them."""


@pytest.mark.parametrize("day", REAL_DAYS)
def test_real_dates_are_kept(planned, tmp_path, day):
    path = _template(planned, tmp_path, day=day)
    import_workbook(planned, CAMPAIGN, path, at=at("2024-06-20 10:00"))
    [record] = latest_scores(planned, CAMPAIGN)
    assert str(record.inspected_on)[:4] == "2024"


def test_the_form_and_the_import_share_one_date_check():
    from datetime import date

    today = date(2024, 6, 20)
    assert inspection_day("2024-06-20", today) == (date(2024, 6, 20), None)
    assert inspection_day(45462, today) == (date(2024, 6, 19), None)
    assert inspection_day(float("nan"), today)[1] and inspection_day("2024-02-30", today)[1]
    assert inspection_day("", today) == (None, None)


def test_the_upload_form_answers_400_in_chinese_not_500(sqlite_engine, tmp_path):
    from tests.integration.portal_site import make_site, text_of

    site = make_site(sqlite_engine, now="2024-06-20 10:00", ticked="2024-06-20 09:00")
    assert site.login().status_code == 303
    base = f"/ops/c/{CAMPAIGN}/scores/lookback_scores"
    got = site.client.get(f"{base}/county_checks/template.xlsx?under=140724")
    path = tmp_path / "t.xlsx"
    path.write_bytes(got.content)
    book = load_workbook(path)
    ws = book["县级检查乡镇"]
    ws.cell(4, 4, MARK)
    book.save(path)
    for text in ("NaN", "0x1E"):
        data = path.read_bytes()
        fixed = tmp_path / f"{text}.xlsx"
        fixed.write_bytes(data)
        _rewrite(fixed, lambda name, d, text=text: d.replace(f"<v>{MARK}</v>".encode(), f"<v>{text}</v>".encode()))
        csrf = site.csrf(f"{base}/county_checks?under=140724")
        answer = site.client.post(
            f"{base}/county_checks/import",
            data={"csrf": csrf, "under": "140724"},
            files=[("file", ("检查评分表.xlsx", fixed.read_bytes()))],
            follow_redirects=False,
        )
        assert answer.status_code == 400, answer.status_code
        page = text_of(answer.text)
        assert "县级检查乡镇!D4" in page and "不是数字" in page, page


@pytest.mark.parametrize(("column", "head"), [(15, "检查人"), (17, "备注")])
@pytest.mark.parametrize("saved", [None, "张检查"])
def test_a_formula_in_the_inspector_or_note_cell_is_refused_by_cell(planned, tmp_path, column, head, saved):
    """A tester's finding (t2 G5): `=HYPERLINK(...)` in 检查人, as a script writes it (no saved value), was read as
    an empty 检查人 without a word. A formula is refused whether or not a value was saved with it."""
    path = _template(planned, tmp_path)
    book = load_workbook(path)
    book["市级抽查"].cell(4, column, '=HYPERLINK("http://evil.example","x")')
    book.save(path)
    letter = "OQ"[column == 17]
    if saved is not None:  # as Excel saves it: the formula and the text it last computed
        cached = rf'\1 t="str"\2<v>{saved}</v>'.encode()
        _rewrite(
            path, _sheet(lambda xml: re.sub(rf'(<c r="{letter}4")([^>]*><f>[^<]*</f>)<v></v>'.encode(), cached, xml))
        )
        assert load_workbook(path, data_only=True)["市级抽查"].cell(4, column).value == saved
    cn = _refused(planned, path)
    assert f"评分表.xlsx 市级抽查!{letter}4" in cn and f"{head}是公式，请填写文字" in cn, cn
