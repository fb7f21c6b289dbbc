"""A real office round trip: the score-sheet template is filled and re-saved by LibreOffice Calc, which computes
its totals and 达标 from the template's formulas, and `duban scores import` takes Calc's file back; the
close-out report's 汇总表 opens in Calc, every worksheet, the 检查评分 one with the units and their scores."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from duban.cli.main import app
from tests.conftest import JINZHONG

pytestmark = pytest.mark.skipif(
    shutil.which("soffice") is None or not os.path.exists("/usr/lib/libreoffice/program/libsclo.so"),
    reason="LibreOffice Calc is installed by .ci/run",
)
POINTS = {  # row of the template → points per check item (满分 10 15 10 10 10 10 10 10 15)
    4: [10, 15, 10, 10, 10, 10, 10, 10, 15],
    5: [5, 10, 5, 6, 6, 6, 6, 6, 10],
    6: [9, 14, 9, 5, 9, 9, 9, 9, 14],
}


def _calc(tmp_path, target: str, source, outdir) -> None:
    """Open `source` in LibreOffice Calc (headless, a private profile so parallel runs do not clash) and save it."""
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_scores_filled_in_calc_come_back_and_the_summary_table_opens_in_calc(tmp_path):
    template = tmp_path / "评分表.xlsx"
    _cli("scores", "template", str(JINZHONG), "--sample", "city_check", "--out", str(template))
    book = load_workbook(template)
    sheet = book["市级抽查"]
    for row, points in POINTS.items():
        for offset, value in enumerate(points):
            sheet.cell(row, 4 + offset, value)
        sheet.cell(row, 15, "王检查")
        sheet.cell(row, 16, date(2024, 6, 19))
    book.save(template)
    _calc(tmp_path, "xlsx:Calc MS Excel 2007 XML", template, tmp_path / "calc")
    saved = tmp_path / "calc" / "评分表.xlsx"

    computed = load_workbook(saved, data_only=True)["市级抽查"]  # the values Calc computed and stored
    names = {row: computed.cell(row, 2).value for row in POINTS}
    assert [(computed.cell(r, 13).value, computed.cell(r, 14).value) for r in POINTS] == [
        (100, "达标"),
        (60, "未达标"),
        (87, "达标"),
    ]
    assert computed.cell(7, 13).value in (None, "")  # a row not scored yet stays empty

    imported = _cli("scores", "import", str(JINZHONG), str(saved), "--at", "2024-06-20 10:00")
    assert "3 units scored, 1 below 80" in imported
    assert names[5] in imported and "截止 2024-07-04 周四 24:00" in imported

    report = tmp_path / "report" / "晋中.docx"
    _cli("report", str(JINZHONG), "--out", str(report), "--as-of", "2024-07-08 09:00")
    table = report.with_name("晋中-汇总表.xlsx")
    _calc(
        tmp_path,
        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
        table,
        tmp_path / "csv",
    )
    sheets = {
        p.stem.removeprefix("晋中-汇总表-"): list(csv.reader(p.open(encoding="utf-8")))
        for p in (tmp_path / "csv").glob("*.csv")
    }
    assert {"汇总", "规范化建设自评阶段", "检查评分"} <= set(sheets)
    assert any("乐平镇统计站" in row for row in sheets["规范化建设自评阶段"])
    scores = {row[2]: row for row in sheets["检查评分"][3:] if len(row) > 2}
    assert scores[names[5]][13:16] == ["60", "未达标", "王检查"] and scores[names[5]][-1] == "逾期未报（已逾期4天）"
    assert scores[names[4]][13:15] == ["100", "达标"]
