"""由上级指定 in real Chromium (Debian's, driven by Playwright) on a 375 px phone: 昔阳县 opens its link, sees the
指定抽查单位 form with its own townships only, taps 皋落镇 and then changes to 乐平镇; the page fits the screen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from duban.services.lifecycle import ensure_planned
from duban.services.links import issue
from duban.services.tick import tick_stage
from duban.settings import Settings
from duban.store.db import engine_for
from duban.store.sample_names import named_units
from duban.web import create_app
from duban.web.server import running
from tests.conftest import ROOT
from tests.e2e.test_portal_pages_chromium import ARGS, CHROMIUM
from tests.integration.helpers import at

SPEC = ROOT / "tests" / "specs" / "jinzhong-2024-open-samples.yaml"
CAMPAIGN = "jinzhong-2024-open-samples"
XIYANG = "140724"


def test_a_county_names_its_township_on_a_phone(tmp_path: Path):
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: .ci/run installs it"
    settings = Settings(home=tmp_path / "home")
    engine = engine_for(settings.resolved_database_url)
    ensure_planned(engine, SPEC, now=at("2024-05-20 09:00"))
    tick_stage(engine, CAMPAIGN, "checks", at("2024-06-01 08:30"))
    now = at("2024-06-01 10:00")
    token = issue(settings.portal_key(), CAMPAIGN, XIYANG, now, timedelta(days=45))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            with running(create_app(settings, engine=engine, clock=lambda: now)) as base:
                phone = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
                phone.goto(f"{base}/u/{token}")
                form = phone.locator("#naming-county_models")
                assert "指定抽查单位：县级示范点" in form.inner_text()
                assert "乐平镇统计站" in form.inner_text() and "朝阳镇统计站" not in form.inner_text()  # 寿阳县's
                assert phone.evaluate("document.documentElement.scrollWidth") <= 375
                form.locator("button").click()  # nothing chosen
                phone.wait_for_load_state()
                assert "指定单位：请指定1个单位（现选了0个）" in phone.inner_text("#naming-county_models .alert")
                phone.locator("#naming-county_models label.choice", has_text="皋落镇统计站").click()
                phone.locator("#naming-county_models button").click()
                phone.wait_for_url("**#naming-county_models")
                assert "本单位已指定：皋落镇统计站" in phone.inner_text("#naming-county_models")
                phone.locator("#naming-county_models label.choice", has_text="乐平镇统计站").click()
                phone.locator("#naming-county_models button").click()
                phone.wait_for_url("**#naming-county_models")
                assert "本单位已指定：乐平镇统计站" in phone.inner_text("#naming-county_models")
                box = phone.locator("#naming-county_models label.choice").first.bounding_box()
                assert box is not None and box["height"] >= 44  # a thumb's target
                assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        finally:
            browser.close()
    assert named_units(engine, CAMPAIGN, "county_models") == {XIYANG: ["140724100"]}
