"""Score-sheet import against xlsx bombs (issue 20): a workbook that inflates to far more than any template is
refused before it is opened, and a cell placed at row 120,000 costs no more than a real template — the import reads
a bounded stream of rows. Both in bounded time and memory, through the operators' upload form."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile

import pytest
from openpyxl import load_workbook

from duban.services.scores import latest_scores
from tests.integration.helpers import CAMPAIGN
from tests.integration.portal_site import make_site, text_of

BASE = f"/ops/c/{CAMPAIGN}/scores/lookback_scores"
GOOD = [9, 14, 9, 9, 9, 9, 9, 9, 14]  # 91


@pytest.fixture
def site(sqlite_engine):
    site = make_site(sqlite_engine, now="2024-06-20 10:00", ticked="2024-06-20 09:00")
    assert site.login().status_code == 303
    return site


def _template(site) -> tuple[object, dict[str, int]]:
    got = site.client.get(f"{BASE}/county_checks/template.xlsx?under=140724")
    book = load_workbook(io.BytesIO(got.content))
    ws = book["县级检查乡镇"]
    rows = {str(ws.cell(r, 1).value): r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value}
    return book, rows


def _upload(site, data: bytes):
    csrf = site.csrf(f"{BASE}/county_checks?under=140724")
    tracemalloc.start()
    started = time.monotonic()
    try:
        answer = site.client.post(
            f"{BASE}/county_checks/import",
            data={"csrf": csrf, "under": "140724"},
            files=[("file", ("昔阳县检查评分表.xlsx", data))],
            follow_redirects=False,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return answer, time.monotonic() - started, peak


def test_a_far_away_cell_costs_no_more_than_a_real_template(site):
    book, rows = _template(site)
    ws = book["县级检查乡镇"]
    unit = sorted(rows)[0]
    for offset, value in enumerate(GOOD):
        ws.cell(rows[unit], 4 + offset, value)
    ws.cell(120_000, 400, "x")  # the sheet now claims 120,000 rows and 400 columns
    out = io.BytesIO()
    book.save(out)
    assert len(out.getvalue()) < 100_000
    answer, seconds, peak = _upload(site, out.getvalue())
    assert answer.status_code == 303 and "imported=1&failed=0" in answer.headers["location"]
    assert [s.unit_code for s in latest_scores(site.engine, CAMPAIGN)] == [unit]
    assert seconds < 30 and peak < 60 * 1024 * 1024, (seconds, peak / 1024 / 1024)


def test_a_workbook_that_inflates_past_any_template_is_refused_before_it_is_opened(site):
    book, _rows = _template(site)
    real = io.BytesIO()
    book.save(real)
    bomb = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(real.getvalue())) as source,
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info, source.read(info.filename))
                continue
            with out.open("xl/worksheets/sheet1.xml", "w") as sheet:  # 60 MB of rows, streamed
                sheet.write(
                    b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                )
                block = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 1000  # rows without numbers
                for _ in range(1200):
                    sheet.write(block)
                sheet.write(b"</sheetData></worksheet>")
    assert len(bomb.getvalue()) < 400_000  # a few hundred KB on the wire
    answer, seconds, peak = _upload(site, bomb.getvalue())
    assert answer.status_code == 400 and "文件解压后过大" in text_of(answer.text)
    assert latest_scores(site.engine, CAMPAIGN) == []
    assert seconds < 10 and peak < 30 * 1024 * 1024, (seconds, peak / 1024 / 1024)
    assert site.audit("score_import")[-1].ok is False
