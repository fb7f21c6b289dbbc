"""The 晋中 campaign as of 7/2, nobody having handed anything in: the 通报 and the close-out report name the
units the notice asked for work, not 晋中市统计局's own 设管科 (its 市级现场检查 is the bureau's own work, said
apart in the report); the 通报 cites the notice, not the campaign's title; the report's missing list goes by
county as the 通报's does."""

from __future__ import annotations

from docx import Document
from typer.testing import CliRunner

from duban.cli.main import app
from duban.settings import get_settings
from duban.store.db import engine_for
from tests.conftest import JINZHONG
from tests.integration.helpers import at, plan_jinzhong, tick

AS_OF = "2024-07-02 09:00"


def _run(*args) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _text(path) -> tuple[list[str], list[list[str]]]:
    document = Document(str(path))
    rows = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    return [p.text for p in document.paragraphs], rows


def _at_july(tmp_path):
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at(AS_OF))
    bulletin, report = tmp_path / "通报.docx", tmp_path / "总结.docx"
    _run("bulletin", JINZHONG, "--as-of", AS_OF, "--out", bulletin)
    _run("report", JINZHONG, "--as-of", AS_OF, "--out", report)
    return _text(bulletin), _text(report)


def test_the_issuers_own_office_is_not_named_late_but_stated_apart_in_the_report(tmp_path):
    (paragraphs, rows), (report_paragraphs, report_rows) = _at_july(tmp_path)
    text = "\n".join(paragraphs)
    assert "设管科" not in text and not any("设管科" in cell for row in rows for cell in row)
    assert not any(row[0] == "其他" for row in rows[1:])
    assert "应报323项" in text and "130个单位有逾期事项" in text
    report_text = "\n".join(report_paragraphs)
    assert not any(row[0] == "市级" for row in report_rows), [r for r in report_rows if r[0] == "市级"]
    assert not any("设管科" in row[0] for row in report_rows)
    assert "市级现场检查（6个县、24个乡镇级统计机构）：截至7月2日未报送" not in report_text
    assert (
        "市级现场检查（6个县、24个乡镇级统计机构）：晋中市统计局本级工作（设管科），截至7月2日尚未完成。" in report_text
    )
    assert "晋中市统计局本级工作1项，不计入上述各单位报送情况" in report_text


def test_the_bulletin_cites_the_notice_not_the_campaigns_title(tmp_path):
    (paragraphs, _rows), (report_paragraphs, _report_rows) = _at_july(tmp_path)
    notice = '《山西省统计局关于开展基层统计工作规范化建设"回头看"的通知》'
    assert not any('《统计基层基础工作规范化建设"回头看"》' in p for p in paragraphs)
    assert f"按照{notice}要求，现将截至2024年7月2日各项工作的报送情况通报如下。" in paragraphs
    assert any(p.startswith(f"根据{notice}要求") for p in report_paragraphs)  # as the report cites it


def test_the_reports_missing_list_goes_by_county_as_the_bulletin_does(tmp_path):
    (_paragraphs, rows), (_report_paragraphs, report_rows) = _at_july(tmp_path)
    header = next(i for i, row in enumerate(report_rows) if row[:2] == ["县（区、市）", "单位"])
    listed = [row for row in report_rows[header + 1 :] if row[0] and not row[0].startswith("……")]
    counties = [row[0] for row in listed]
    assert counties[0] == rows[1][0]
    seen = list(dict.fromkeys(counties))
    assert counties == sorted(counties, key=seen.index)  # each county's units together
    assert "昔阳县" in seen and "榆次区" in seen
