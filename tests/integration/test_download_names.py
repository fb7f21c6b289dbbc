"""The 汇总表 as an operator downloads it: a file name Windows can save (the campaign's title has straight double
quotes: 统计基层基础工作规范化建设"回头看"), and one heading above the table."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from tests.integration.portal_site import make_site

WINDOWS_REFUSES = set('<>:"/\\|?*') | {chr(c) for c in range(32)}


@pytest.fixture
def site(sqlite_engine):
    return make_site(sqlite_engine, now="2024-07-02 09:00")


def test_the_summary_table_downloads_under_a_name_windows_can_save(site):
    site.login()
    got = site.client.get("/ops/c/jinzhong-2024-lookback/summary.xlsx")
    assert got.status_code == 200
    name = unquote(got.headers["content-disposition"].split("filename*=UTF-8''")[1])
    assert not WINDOWS_REFUSES & set(name), name
    assert name.startswith("统计基层基础工作规范化建设“回头看”-汇总表-") and name.endswith(".xlsx")


def test_the_summary_sheet_has_its_heading_once(site):
    site.login()
    sheet = load_workbook(io.BytesIO(site.client.get("/ops/c/jinzhong-2024-lookback/summary.xlsx").content))["汇总"]
    first = [row[0] for row in sheet.iter_rows(max_row=6, values_only=True)]
    assert first[0] == '统计基层基础工作规范化建设"回头看" 汇总表' and first[3] == "阶段"
    assert [str(v) for v in first].count(first[0]) == 1 and sum(
        1 for v in first if str(v).startswith("晋中市统计局")
    ) == 1


def test_each_sheet_opens_on_its_rows_below_the_frozen_heading(site):
    """The panes froze the heading, but the cursor sat on A1 inside it: a program that scrolls the lower pane to the
    cursor showed the title, the issuer and the blank row a second time under the frozen ones."""
    site.login()
    book = load_workbook(io.BytesIO(site.client.get("/ops/c/jinzhong-2024-lookback/summary.xlsx").content))
    for sheet in book.worksheets:
        view = sheet.sheet_view
        assert view.pane is not None, sheet.title
        active = next(s for s in view.selection if s.pane == view.pane.activePane)
        assert active.activeCell == view.pane.topLeftCell and active.sqref == view.pane.topLeftCell, sheet.title
