"""The 汇总表: a roll-up by level with metric totals and a sheet per stage, as a spreadsheet program reads it."""

import io

import pytest
from openpyxl import load_workbook

from duban.services.submit import record_submission
from duban.views.summary_table import summary_workbook
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import docx_bytes, pdf_bytes, write, xlsx_bytes


@pytest.fixture
def book_bytes(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-27 10:00"))
    files = tmp_path / "files"
    sheet, report, pdf = (
        write(tmp_path / "评分表.xlsx", xlsx_bytes()),
        write(tmp_path / "总结.docx", docx_bytes()),
        write(tmp_path / "检查评分表.pdf", pdf_bytes()),
    )
    record_submission(
        engine, CAMPAIGN, "140724100", "self_score_sheet", at("2024-05-20 10:00"), files=[sheet], files_dir=files
    )
    record_submission(
        engine, CAMPAIGN, "140724101", "self_score_sheet", at("2024-05-26 10:00"), files=[sheet], files_dir=files
    )
    record_submission(
        engine, CAMPAIGN, "140724100", "self_report", at("2024-05-21 10:00"), files=[report], files_dir=files
    )
    for county, count in (("140724", "7"), ("140725", "6"), ("140724", "9")):  # 昔阳县 corrects its count
        record_submission(
            engine,
            CAMPAIGN,
            county,
            "county_inspection",
            at("2024-06-01 10:00"),
            files=[pdf],
            metrics={"townships_inspected": count},
            files_dir=files,
        )
    return summary_workbook(engine, CAMPAIGN, at("2024-06-02 10:00"))


def test_the_rollup_counts_by_level_and_totals_the_latest_counts(book_bytes):
    book = load_workbook(io.BytesIO(book_bytes))
    assert book.sheetnames == [
        "汇总",
        "规范化建设自评阶段",
        "县级检查阶段",
        "市级检查阶段",
        '"回头看"检查材料整理上报阶段',
    ]
    rows = {(r[1], r[2]): r for r in book["汇总"].iter_rows(min_row=5, values_only=True)}
    assert rows[("自查评分表", "乡级")][3:13] == (118, 2, 1, 1, 0, 116, 0, 0, 0, "2%")
    assert rows[("自查评分表", "合计")][3] == 130
    inspection = rows[("县级实地检查评分表（不少于6个乡镇）", "县级")]
    assert inspection[3:6] == (11, 2, 2) and inspection[13] == 15  # 9 (昔阳县's latest version) + 6
    assert "晋中市统计局 · 截至 2024-06-02 周日 10:00" in book["汇总"]["A2"].value


def test_each_stage_sheet_lists_units_with_coloured_states_counts_and_files(book_bytes):
    sheet = load_workbook(io.BytesIO(book_bytes))["县级检查阶段"]
    head = [c.value for c in sheet[2]]
    assert head[:4] == ["单位代码", "单位", "级别", "上级单位"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=3)}
    xiyang = {head[i]: cell for i, cell in enumerate(rows["140724"])}
    assert xiyang["县级实地检查评分表（不少于6个乡镇）·状态"].value == "已报送"
    assert xiyang["县级实地检查评分表（不少于6个乡镇）·状态"].fill.fgColor.rgb.endswith("2E7D32")  # green
    assert xiyang["县级实地检查评分表（不少于6个乡镇）·实地检查乡镇(街道)数"].value == 9
    assert xiyang["县级实地检查评分表（不少于6个乡镇）·版本"].value == 2
    assert xiyang["县级实地检查评分表（不少于6个乡镇）·文件"].value == "检查评分表.pdf"
    assert len(rows) == 11 and sheet.freeze_panes == "E3"
    self_sheet = load_workbook(io.BytesIO(book_bytes))["规范化建设自评阶段"]
    late = next(r for r in self_sheet.iter_rows(min_row=3) if r[0].value == "140724101")
    assert late[4].value == "逾期报送" and late[4].fill.fgColor.rgb.endswith("F9A825")  # yellow


def test_a_version_waiting_for_review_counts_as_handed_in_as_status_counts_it(engine, tmp_path):
    """The 汇总 sheet counted a hand-in waiting for review (待审核) under 办理中, while `duban status` counts it in
    已报 (已报 N（按时、逾期、待审核）): the sheet says 已报 and its 待审核 apart, and 办理中 no longer holds it."""
    plan_jinzhong(engine)
    tick(engine, at("2024-06-11 08:30"))
    upload = write(tmp_path / "材料.pdf", pdf_bytes())
    record_submission(
        engine, CAMPAIGN, "140724", "materials_upload", at("2024-06-12 10:00"), files=[upload], files_dir=tmp_path
    )
    sheet = load_workbook(io.BytesIO(summary_workbook(engine, CAMPAIGN, at("2024-06-12 12:00"))))["汇总"]
    head = [c.value for c in sheet[4]]
    row = next(r for r in sheet.iter_rows(min_row=5, values_only=True) if r[1] and r[1].startswith("抽查县、乡"))
    counts = {name: row[head.index(name)] for name in ("应报", "已报", "按时报送", "逾期报送", "待审核", "办理中")}
    assert counts == {"应报": 11, "已报": 1, "按时报送": 0, "逾期报送": 0, "待审核": 1, "办理中": 10}, counts


def test_a_hand_in_late_by_a_second_shows_it_in_the_stage_sheet(sqlite_engine, tmp_path):
    """乐平镇 at 5/25 24:00 (按时) and 皋落镇 at 5/26 00:00:01 (逾期) read the same minute (t1 #29)."""
    plan_jinzhong(sqlite_engine)
    sheet_file = write(tmp_path / "评分表.xlsx", xlsx_bytes())
    for unit, when in (("140724100", "2024-05-25 24:00"), ("140724101", "2024-05-26 00:00:01")):
        record_submission(
            sqlite_engine, CAMPAIGN, unit, "self_score_sheet", at(when), files=[sheet_file], files_dir=tmp_path / "f"
        )
    book = load_workbook(io.BytesIO(summary_workbook(sqlite_engine, CAMPAIGN, at("2024-05-27 10:00"))))
    sheet = book["规范化建设自评阶段"]
    head = [c.value for c in sheet[2]]
    rows = {r[0]: dict(zip(head, r)) for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["140724100"]["自查评分表·报送时间"] == "2024-05-25 周六 24:00"
    assert rows["140724101"]["自查评分表·报送时间"] == "2024-05-26 周日 00:00:01"
