"""The 督办 loop in real Chromium (Debian's, driven by Playwright), on 晋中 with 签收 asked of every unit and the
townships' 总结报告 reviewed by their county: 昔阳县 on a 375 px phone taps 签收 and asks to hand in its 县级检查
评分表 later; from the same page it returns 乐平镇's report with a reason (and cannot see 寿阳县's townships);
at /ops the operator approves the extension with an earlier date and the unit's due moves."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import select

from duban.instants import parse_instant
from duban.services.lifecycle import ensure_planned
from duban.services.links import issue
from duban.services.operators import save_operator
from duban.services.submit import record_submission
from duban.settings import Settings
from duban.store.db import engine_for
from duban.store.tables import AcknowledgementRow, Assignment, CampaignUnit, ExtensionRequest, ReviewRow
from duban.web import create_app
from duban.web.server import running
from tests.conftest import JINZHONG, SPECS
from tests.e2e.test_portal_pages_chromium import ARGS, CHROMIUM, _login
from tests.integration.helpers import CAMPAIGN, at, tick
from tests.integration.portal_site import OPERATOR
from tests.samples import docx_bytes, write

XIYANG, LEPING, SHOUYANG_TOWN = "140724", "140724100", "140725100"


def _spec(folder: Path) -> Path:
    shutil.copytree(SPECS / "units", folder / "units")
    shutil.copytree(SPECS / "calendar", folder / "calendar")
    text = JINZHONG.read_text(encoding="utf-8")
    marker = "        name: 本单位统计基层基础规范化建设总结报告\n"
    text = text.replace(marker, marker + "        review: parent\n")
    text = text.replace(
        "extensions: {max: 5 working days}\n", "extensions: {max: 5 working days}\nacknowledge: 1 working day\n"
    )
    spec = folder / JINZHONG.name
    spec.write_text(text, encoding="utf-8")
    return spec


def _one(engine, model, *where):
    with engine.connect() as conn:
        return conn.execute(select(model.__table__).where(*where)).one()


def test_a_county_acknowledges_asks_for_an_extension_and_returns_a_townships_report_on_a_phone(tmp_path: Path):
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: .ci/run installs it"
    home = tmp_path / "home"
    settings = Settings(home=home)
    engine = engine_for(settings.resolved_database_url)
    ensure_planned(engine, _spec(tmp_path / "specs"), now=at("2024-05-09 12:00"))
    tick(engine, at("2024-05-10 09:00"))
    (home / "in").mkdir(parents=True)
    for town in (LEPING, SHOUYANG_TOWN):
        record_submission(
            engine,
            CAMPAIGN,
            town,
            "self_report",
            at("2024-05-20 10:00"),
            files=[write(home / "in" / f"{town}总结报告.docx", docx_bytes())],
            files_dir=settings.files_dir,
        )
    save_operator(settings.operators_file, *OPERATOR)
    other = _one(engine, CampaignUnit, CampaignUnit.code == SHOUYANG_TOWN).display  # a township of 寿阳县
    now = at("2024-05-21 10:00")
    token = issue(settings.portal_key(), CAMPAIGN, XIYANG, now, timedelta(days=45))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            with running(create_app(settings, engine=engine, clock=lambda: now)) as base:
                phone = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
                phone.goto(f"{base}/u/{token}")
                assert "请签收通知" in phone.inner_text("#ack")
                assert phone.evaluate("document.documentElement.scrollWidth") <= 375
                phone.click("#ack button.ack-button")  # one tap
                phone.wait_for_url("**acked=1**")
                assert "已签收，谢谢。" in phone.inner_text("main") and phone.locator("#ack").count() == 0
                assert (
                    _one(
                        engine,
                        AcknowledgementRow,
                        AcknowledgementRow.unit_code == XIYANG,
                        AcknowledgementRow.stage_id == "",
                    ).state
                    == "acknowledged"
                )

                # 延期申请 for the 自查评分表 (due 5/25): beyond the limit first, then within it
                card = phone.locator("#self_score_sheet")
                card.locator("details.extend summary").click()
                card.locator("input[name=until]").fill("2024-06-30")
                card.locator("textarea[name=reason]").fill("乡镇人员参加防汛值班，自查评分需延后")
                card.locator("form.extension button").click()
                phone.wait_for_load_state()
                assert "超过本次工作允许的最长延期（5个工作日" in phone.inner_text("#self_score_sheet")
                card = phone.locator("#self_score_sheet")  # the form is open again, the reason as typed
                assert card.locator("textarea[name=reason]").input_value() == "乡镇人员参加防汛值班，自查评分需延后"
                card.locator("input[name=until]").fill("2024-05-30")
                card.locator("form.extension button").click()
                phone.wait_for_url(f"**/u/{token}#self_score_sheet")
                assert "申请延至5月30日 周四 24:00 · 待审批" in phone.inner_text("#self_score_sheet")
                assert phone.evaluate("document.documentElement.scrollWidth") <= 375

                # the county's own townships' reports wait for its review; 寿阳县's do not show here
                queue = phone.inner_text("#to-review")
                assert "乐平镇统计站" in queue and other not in queue and "待审核的下级单位材料（1份）" in queue
                review = phone.locator("#to-review article.review").first
                review.locator("textarea[name=reason]").fill("缺少存在问题和下一步打算两部分")
                review.locator("button[value=return]").click()
                phone.wait_for_url("**#to-review")
                assert phone.locator("#to-review").count() == 0
                returned = _one(engine, ReviewRow, ReviewRow.unit_code == LEPING)
                assert (returned.decision, returned.reason, returned.reviewer) == (
                    "returned",
                    "缺少存在问题和下一步打算两部分",
                    f"unit:{XIYANG}",
                )

                # the township sees why and by when
                town = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
                town.goto(f"{base}/u/{issue(settings.portal_key(), CAMPAIGN, LEPING, now, timedelta(days=45))}")
                assert (
                    "第1版已退回：缺少存在问题和下一步打算两部分。请修改后于 5月25日 周六 24:00 前重新报送"
                    in town.inner_text("#self_report")
                )

                # the operator approves the extension with an earlier date than asked
                desk = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
                _login(desk, base)
                desk.goto(f"{base}/ops/c/{CAMPAIGN}/loop")
                asked = desk.locator("article.extension").first
                assert "昔阳县统计局" in asked.inner_text() and "申请延至 5月30日 周四 24:00" in asked.inner_text()
                asked.locator("input[name=until]").fill("2024-05-28")
                asked.locator("textarea[name=note]").fill("同意延至5月28日")
                asked.locator("button[value=approve]").click()
                desk.wait_for_url(f"**/ops/c/{CAMPAIGN}/loop#extensions")  # back at the requests
                assert "没有待审批的延期申请。" in desk.inner_text("#extensions")
                assert desk.evaluate("document.documentElement.scrollWidth") <= 375
        finally:
            browser.close()
    request = _one(engine, ExtensionRequest, ExtensionRequest.unit_code == XIYANG)
    assert (request.status, request.decided_by) == ("approved", f"operator:{OPERATOR[0]}")
    row = _one(engine, Assignment, Assignment.unit_code == XIYANG, Assignment.item_id == "self_score_sheet")
    assert row.due_at == parse_instant("2024-05-28", "Asia/Shanghai", end_of_day=True)
