"""A hand-in in the minute the due is written as (24:00 is the next day's 00:00 on paper) shows its seconds, so a
county comparing receipts sees why one is late: `2026-12-04 24:00` 按时 and `2026-12-05 00:00:01` read the same
minute, one 逾期 (t1 #29). Seconds are shown only where they decide lateness."""

from __future__ import annotations

from typer.testing import CliRunner

from duban.cli.main import app
from duban.notify.notifier import RecordingNotifier
from duban.services.dispatch import dispatch
from duban.settings import get_settings
from duban.store.db import engine_for
from tests.conftest import JINZHONG
from tests.integration.helpers import at
from tests.integration.portal_site import make_site, text_of
from tests.samples import docx_bytes

ITEM = "self_report"  # 自评阶段 ends 2024-05-25: due 5/25 24:00


def _submit(tmp_path, unit: str, when: str) -> str:
    report = tmp_path / f"{unit}.docx"
    report.write_bytes(docx_bytes())
    args = ["submit", str(JINZHONG), "--unit", unit, "--item", ITEM, "--file", str(report), "--at", when]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_submit_and_its_receipt_show_the_second_that_made_a_hand_in_late(tmp_path):
    on_time = _submit(tmp_path, "140724100", "2024-05-25 24:00")
    late = _submit(tmp_path, "140724101", "2024-05-26 00:00:01")
    assert "2024-05-25 周六 24:00（按时）" in on_time, on_time
    assert "2024-05-26 周日 00:00:01（逾期报送）" in late, late
    ordinary = _submit(tmp_path, "140724102", "2024-05-26 10:15:37")  # late by hours: the minute says it
    assert "2024-05-26 周日 10:15（逾期报送）" in ordinary, ordinary
    sink = RecordingNotifier()
    engine = engine_for(get_settings().resolved_database_url)  # the database `duban submit` wrote
    dispatch(engine, at("2024-05-26 18:00"), lambda _ref: sink, fallback_channels=["sink"])
    texts = {e.recipient: e.rendered.text for channel in sink.sent.values() for e in channel}
    assert "报送时间：5月25日 周六 24:00（按时报送）" in texts["140724100"], texts["140724100"]
    assert "报送时间：5月26日 周日 00:00:01（逾期" in texts["140724101"], texts["140724101"]


def test_the_portal_receipt_and_unit_page_show_the_deciding_second(sqlite_engine):
    site = make_site(sqlite_engine, now="2024-05-26 00:00:01")
    token = site.token("140724100")
    receipt = site.submit(token, ITEM, [("总结报告.docx", docx_bytes())]).headers["location"]
    page = text_of(site.client.get(receipt).text)
    assert "报送时间 2024-05-26 周日 00:00:01" in page, page
    unit_page = text_of(site.page(token).text)
    assert "5月26日 周日 00:00:01 · 逾期报送" in unit_page, unit_page
