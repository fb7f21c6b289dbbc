"""The pages of issues 20 and 22 in real Chromium (Debian's, driven by Playwright): an operator on a 375 px phone
opens a county's page — it fits the screen, says who did what in Chinese words and names, and shows the unit's
link built from DUBAN_PORTAL_URL, not from the address the browser used; a preview (`--as-of`) shows the record
as it stood then, with no form to hand anything in; a file name with a right-to-left override reads as it is."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import sync_playwright

from duban.services import audit
from duban.services.links import issue
from duban.services.submit import record_submission
from duban.store.db import engine_for
from duban.web import create_app
from duban.web.server import running
from tests.integration.helpers import CAMPAIGN, at
from tests.integration.portal_site import OPERATOR
from tests.integration.test_portal_preview import COUNTY, _record
from tests.samples import docx_bytes, write

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=zh-CN",
]


def _login(page, base: str) -> None:
    page.goto(f"{base}/ops/login")
    page.fill("input[name=name]", OPERATOR[0])
    page.fill("input[name=password]", OPERATOR[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"**/ops/c/{CAMPAIGN}**")


def test_the_pages_operators_and_units_meet_in_a_real_browser(tmp_path: Path):
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: .ci/run installs it"
    home = tmp_path / "home"
    settings = _record(home).model_copy(update={"portal_url": "https://duban.tjj.example.cn"})
    engine = engine_for(settings.resolved_database_url)
    township = "140724100"
    write(home / "in" / "总结\u202efdp.docx", docx_bytes())  # drawn as 总结xcod.pdf in a browser that obeys it
    record_submission(
        engine,
        CAMPAIGN,
        township,
        "self_report",
        at("2024-05-20 10:00"),
        actor="simulated",
        files=[write(home / "in" / "乐平镇总结报告.docx", docx_bytes())],
        files_dir=settings.files_dir,
    )
    audit.record(
        engine,
        at("2024-07-02 09:30"),
        "revoke",
        actor="operator:duban",
        campaign_id=CAMPAIGN,
        unit_code=COUNTY,
        target="此前发出的全部链接",
        detail="消息被误转发，经办人员调整后重新发送全部链接",
    )
    now = at("2024-07-02 10:00")
    token = issue(settings.portal_key(), CAMPAIGN, COUNTY, now, timedelta(days=45))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            with running(create_app(settings, engine=engine, clock=lambda: now)) as base:
                phone = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
                phone.goto(f"{base}/u/{token}")
                phone.click("#self_report details.resubmit summary")  # handed in before: a correction
                form = phone.locator("#self_report form[enctype='multipart/form-data']")
                form.locator("input[type=file]").set_input_files(str(home / "in" / "总结\u202efdp.docx"))
                form.locator("button[type=submit]").click()
                phone.wait_for_url("**/receipts/**")
                receipt = phone.inner_text("main")
                assert "总结fdp.docx" in receipt and "\u202e" not in receipt

                desk = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
                _login(desk, base)
                desk.goto(f"{base}/ops/c/{CAMPAIGN}/u/{COUNTY}")
                text = desk.inner_text("main")
                width = desk.evaluate("document.documentElement.scrollWidth")
                assert width <= 375, f"the county's page is {width} px wide on a 375 px phone"
                for raw in ("operator:", "unit:", "simulated", "tampered"):
                    assert raw not in text, raw
                assert "督办人员 duban" in text and "昔阳县统计局" in text.split("最近记录")[1]
                assert desk.input_value("input.linkbox").startswith("https://duban.tjj.example.cn/u/")
                assert "127.0.0.1" not in desk.input_value("input.linkbox")
                desk.goto(f"{base}/ops/c/{CAMPAIGN}/u/{township}")
                assert "模拟数据（演示）" in desk.inner_text("main")
                assert desk.evaluate("document.documentElement.scrollWidth") <= 375

            with running(create_app(settings, engine=engine, preview_at=at("2024-05-27 10:00"))) as base:
                phone = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
                fresh = issue(settings.portal_key(), CAMPAIGN, COUNTY, datetime.now(timezone.utc), timedelta(days=1))
                phone.goto(f"{base}/u/{fresh}")  # a link checked on the wall clock, as `duban portal link` gives
                shown = phone.inner_text("body")
                assert "预览：页面按 2024-05-27 周一 10:00 时的记录显示" in shown
                assert "6月15日" not in shown and phone.locator("input[type=file]").count() == 0
                assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        finally:
            browser.close()
    engine.dispose()
