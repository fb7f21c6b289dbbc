"""Outcomes on the operators' pages (issue 25): a unit's /ops page lists the 约谈, 重新开展 and 通报批评 recorded for
it, in the notice's words with when each was decided and by when it is owed, and the 汇总表 export has a 处理情况
sheet of them all — its cells of user text inert, as the rest of the export's."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from duban.services.lifecycle import ensure_planned
from duban.services.operators import save_operator
from duban.services.outcomes import decide_outcomes
from duban.services.submit import record_submission
from duban.services.tick import tick_stage
from duban.settings import Settings
from duban.web import create_app
from tests.conftest import ROOT
from tests.integration.helpers import at
from tests.integration.portal_site import OPERATOR, Site, text_of

SPEC = ROOT / "tests" / "specs" / "xiyang-2024-outcomes.yaml"
CAMPAIGN = "xiyang-2024-outcomes"


def _decided(engine, files, spec=SPEC):
    """Three townships of 昔阳县: one hands in late (通报批评), the others never (约谈, then 重新开展 owed)."""
    planned = ensure_planned(engine, spec, now=at("2024-05-06 12:00"))
    townships = sorted({a.unit_code for a in planned.plan.assignments})
    tick_stage(engine, CAMPAIGN, "self_check", at("2024-05-13 08:30"))
    record_submission(engine, CAMPAIGN, townships[0], "self_report", at("2024-05-28 10:00"), files_dir=files)
    for moment in ("2024-05-28 11:00", "2024-05-29 09:00", "2024-05-31 09:00"):
        tick_stage(engine, CAMPAIGN, "self_check", at(moment))
        decide_outcomes(engine, CAMPAIGN, at(moment))
    return townships


def _site(engine, now="2024-06-03 10:00") -> Site:
    settings = Settings()
    save_operator(settings.operators_file, *OPERATOR)
    site = Site(settings, engine, at(now))
    site.login()
    return site


@pytest.fixture
def decided(sqlite_engine, tmp_path):
    return _decided(sqlite_engine, tmp_path), sqlite_engine


def test_a_units_ops_page_lists_its_outcomes_in_the_notices_words(decided):
    (late, never, *_rest), engine = decided
    site = _site(engine)
    page = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/u/{never}").text)
    assert "处理情况" in page
    assert "逾期3个工作日未报：约谈 自查报告 · 决定于 5月29日 周三 09:00" in page
    assert (
        "逾期5个工作日未报：重新开展（限10个工作日） 自查报告 · 决定于 5月31日 周五 09:00 · 限期 6月17日 周一 24:00"
        in page
    )
    assert "通报批评" not in page  # the late unit's, not this one's
    late_page = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/u/{late}").text)
    assert "逾期报送：通报批评 自查报告 · 决定于 5月28日 周二 10:00" in late_page and "约谈" not in late_page


def test_a_preview_shows_only_the_outcomes_decided_by_its_instant(decided):
    """`duban serve --as-of 2024-05-30 12:00`: the 约谈 of 5/29 is there, the 重新开展 of 5/31 not yet."""
    (_late, never, *_rest), engine = decided
    site = _site(engine)
    preview = Site(site.settings, engine, at("2024-06-03 10:00"))
    preview.app = create_app(site.settings, engine=engine, clock=lambda: preview.now, preview_at=at("2024-05-30 12:00"))
    preview.client = TestClient(preview.app, raise_server_exceptions=False, base_url="http://portal.test")
    preview.login()
    page = text_of(preview.client.get(f"/ops/c/{CAMPAIGN}/u/{never}").text)
    assert "逾期3个工作日未报：约谈" in page and "限10个工作日" not in page
    book = load_workbook(io.BytesIO(preview.client.get(f"/ops/c/{CAMPAIGN}/summary.xlsx").content))
    assert "重新开展" not in str(list(book["处理情况"].iter_rows(values_only=True)))


def test_the_summary_export_has_a_sheet_of_the_outcomes(decided):
    (late, never, *_rest), engine = decided
    site = _site(engine)
    got = site.client.get(f"/ops/c/{CAMPAIGN}/summary.xlsx")
    assert got.status_code == 200
    book = load_workbook(io.BytesIO(got.content))
    assert book.sheetnames[-1] == "处理情况"
    rows = list(book["处理情况"].iter_rows(values_only=True))
    assert rows[1] == ("单位代码", "单位", "级别", "上级单位", "事项", "处理（通知原文）", "决定时间", "限期")
    by_unit = {(r[0], r[5]): r for r in rows[2:]}
    assert by_unit[(late, "逾期报送：通报批评")][4:] == ("自查报告", "逾期报送：通报批评", "2024-05-28 周二 10:00", "—")
    assert by_unit[(never, "逾期5个工作日未报：重新开展（限10个工作日）")][6:] == (
        "2024-05-31 周五 09:00",
        "2024-06-17 周一 24:00",
    )
    assert by_unit[(never, "逾期3个工作日未报：约谈")][2:4] == ("乡级", "昔阳县统计局")
    assert len(rows) - 2 == 1 + 2 * (len(_rest) + 1)  # one 通报批评, and 约谈 and 重新开展 for each unit still out


def test_hostile_words_stay_text_on_the_page_and_inert_in_the_export(sqlite_engine, tmp_path):
    """An item named like a formula and outcome words like a script: escaped on the page, plain text (quote
    prefix) in the 处理情况 sheet — never a formula a spreadsheet program runs."""
    text = SPEC.read_text(encoding="utf-8")
    text = text.replace("name: 自查报告", 'name: "=HYPERLINK(\\"http://evil.test\\",\\"自查报告\\")"')
    text = text.replace("{when: late, do: 通报批评}", '{when: late, do: "<script>alert(1)</script>"}')
    spec = tmp_path / "hostile.yaml"
    spec.write_text(text, encoding="utf-8")
    late, *_rest = _decided(sqlite_engine, tmp_path / "files", spec)
    site = _site(sqlite_engine)
    page = site.client.get(f"/ops/c/{CAMPAIGN}/u/{late}")
    assert page.status_code == 200 and "<script>alert(1)" not in page.text
    assert "逾期报送：&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    book = load_workbook(io.BytesIO(site.client.get(f"/ops/c/{CAMPAIGN}/summary.xlsx").content))
    sheet = book["处理情况"]
    item = next(row[4] for row in sheet.iter_rows(min_row=3) if row[0].value == late)
    assert item.value.startswith("=HYPERLINK(") and item.data_type == "s" and item.quotePrefix
