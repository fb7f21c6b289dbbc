"""A tour of the upload portal in real Chromium, with a screenshot of each page (kept in docs/ for the README).

    uv run python docs/screenshots.py [OUT_DIR]      # default: docs/

Builds the 晋中 campaign (seed 004) on a throw-away database at 2024-05-27 10:00 — 自评 just past its due,
县级检查 open — with 昔阳县's townships on time, late or silent. Serves the portal on a free port. Then, on a
phone (375 px), 昔阳县统计局 opens its link, hands in its 县级检查 score sheet (PDF) with the number of townships
inspected and its summary report (DOCX), and sees the receipts; an operator logs in, opens the dashboard and the
county's page (1280 px), then scores one of 昔阳县's inspected townships below the pass mark on the 评分表 page.
Writes portal-unit.png, portal-receipt.png, portal-dashboard.png, portal-ops-unit.png, portal-scores.png;
tests/e2e runs the same tour.
Needs /usr/bin/chromium (Debian's) and Playwright's Python package (a dev dependency); nothing is downloaded.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SPEC = ROOT / "campaign_specs" / "jinzhong-2024-lookback.yaml"
NOW = "2024-05-27 10:00"
COUNTY = "140724"  # 昔阳县
OPERATOR = ("duban", "tour-password-1")
TOWNSHIPS = [
    "140724100",
    "140724101",
    "140724102",
    "140724103",
    "140724104",
    "140724201",
    "140724202",
    "140724203",
    "140724204",
    "140724205",
]


@dataclass
class Tour:
    """What the tour saw, for the e2e test to check."""

    settings: object
    engine: object
    campaign_id: str
    unit_text: str = ""
    receipts: list[str] = field(default_factory=list)
    unit_after: str = ""
    dashboard_row: str = ""  # 昔阳县's overall cell class on the dashboard
    dashboard_text: str = ""
    phone_width: int = 0  # the unit page's widest content on a 375 px screen
    requests: list[str] = field(default_factory=list)  # every URL the browser asked for
    base: str = ""
    shots: list[Path] = field(default_factory=list)
    scored_unit: str = ""  # the township scored on the 评分表 page
    scores_text: str = ""  # that page after saving


def build(home: Path) -> Tour:
    """The campaign at NOW: townships on time, late and silent; 昔阳县's own 自评 handed in on time."""
    from duban.instants import parse_instant
    from duban.services.compose import compose_messages
    from duban.services.lifecycle import ensure_planned
    from duban.services.operators import save_operator
    from duban.services.submit import record_submission
    from duban.services.tick import tick_stage
    from duban.settings import Settings
    from duban.store.db import engine_for
    from tests.samples import docx_bytes, pdf_bytes, write, xlsx_bytes

    settings = Settings(
        home=home, database_url=None, portal_url="https://duban.tjj.example.cn"
    )  # links shown on ops pages
    engine = engine_for(settings.resolved_database_url)
    at = lambda text: parse_instant(text, "Asia/Shanghai")  # noqa: E731
    campaign = ensure_planned(engine, SPEC, now=at("2024-05-09 12:00")).campaign_id
    incoming = home / "incoming"
    incoming.mkdir(parents=True)
    sheet = write(incoming / "自查评分表.xlsx", xlsx_bytes())
    report = write(incoming / "规范化建设总结报告.docx", docx_bytes())
    for index, code in enumerate(TOWNSHIPS):
        if index % 5 == 4:
            continue  # silent: red after the due
        when = at("2024-05-26 16:00") if index % 5 == 3 else at(f"2024-05-{14 + index} 15:30")
        for item, path in (("self_score_sheet", sheet), ("self_report", report)):
            record_submission(engine, campaign, code, item, when, files=[path], files_dir=settings.files_dir)
    for item, path in (
        ("self_score_sheet", write(incoming / "昔阳县自查评分表.pdf", pdf_bytes("self score"))),
        ("self_report", write(incoming / "昔阳县自评总结报告.docx", docx_bytes("昔阳县自评总结"))),
    ):
        record_submission(
            engine, campaign, COUNTY, item, at("2024-05-21 11:00"), files=[path], files_dir=settings.files_dir
        )
    for stage in ("self_assessment", "county_check", "city_check", "materials"):
        tick_stage(engine, campaign, stage, at(NOW))
    compose_messages(engine, campaign, at(NOW))
    save_operator(settings.operators_file, *OPERATOR)
    write(incoming / "昔阳县实地检查评分表.pdf", pdf_bytes("county inspection"))
    write(incoming / "昔阳县回头看总结报告.docx", docx_bytes("昔阳县统计局统计基层基础工作规范化建设回头看总结报告"))
    return Tour(settings, engine, campaign)


def take(out: Path, home: Path | None = None) -> Tour:
    """Build, serve, walk through the pages in Chromium and photograph them."""
    from playwright.sync_api import sync_playwright

    from duban.instants import parse_instant
    from duban.services.links import issue
    from duban.web import create_app
    from duban.web.server import running

    with tempfile.TemporaryDirectory() as tmp:
        tour = build(home or Path(tmp) / "home")
        settings, now = tour.settings, parse_instant(NOW, "Asia/Shanghai")
        incoming = settings.home / "incoming"
        token = issue(settings.portal_key(), tour.campaign_id, COUNTY, now, timedelta(days=45))
        out.mkdir(parents=True, exist_ok=True)
        tour.shots = [
            out / "portal-unit.png",
            out / "portal-receipt.png",
            out / "portal-dashboard.png",
            out / "portal-ops-unit.png",
            out / "portal-scores.png",
        ]
        with running(create_app(settings, engine=tour.engine, clock=lambda: now)) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--lang=zh-CN"])
            tour.base = base
            try:
                phone = browser.new_page(viewport={"width": 375, "height": 812}, device_scale_factor=2, locale="zh-CN")
                phone.on("request", lambda request: tour.requests.append(request.url))
                phone.goto(f"{base}/u/{token}")
                tour.unit_text = phone.inner_text("main")
                tour.phone_width = phone.evaluate("document.documentElement.scrollWidth")
                phone.screenshot(path=str(tour.shots[0]), full_page=True)
                for item, name, count in (
                    ("county_inspection", "昔阳县实地检查评分表.pdf", "7"),
                    ("county_report", "昔阳县回头看总结报告.docx", None),
                ):
                    form = phone.locator(f"#{item} form[enctype='multipart/form-data']")  # the upload, not the 延期申请
                    form.locator("input[type=file]").set_input_files(str(incoming / name))
                    if count:
                        form.locator("input[name=m_townships_inspected]").fill(count)
                    form.locator("button[type=submit]").click()
                    phone.wait_for_url("**/receipts/**")
                    tour.receipts.append(phone.inner_text("main"))
                    if count:
                        phone.screenshot(path=str(tour.shots[1]), full_page=True)
                    phone.click("text=返回报送页面")
                tour.unit_after = phone.inner_text("main")
                desk = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
                desk.on("request", lambda request: tour.requests.append(request.url))
                desk.goto(f"{base}/ops/login")
                desk.fill("input[name=name]", OPERATOR[0])
                desk.fill("input[name=password]", OPERATOR[1])
                desk.click("button[type=submit]")
                desk.wait_for_url(f"**/ops/c/{tour.campaign_id}")
                desk.select_option("select[name=parent]", COUNTY)
                desk.click("form.filters button[type=submit]")
                desk.wait_for_url("**parent=140724**")
                tour.dashboard_text = desk.inner_text("main")
                county = desk.get_by_role("link", name="昔阳县统计局", exact=True)
                row = desk.locator("table.matrix tbody tr", has=county)
                tour.dashboard_row = row.locator("td.c .cell").first.get_attribute("class") or ""
                desk.screenshot(path=str(tour.shots[2]), full_page=True)
                county.click()  # the county's own page: its versions, files and link
                desk.wait_for_url(f"**/u/{COUNTY}")
                desk.screenshot(path=str(tour.shots[3]), full_page=True)
                score(desk, tour)
            finally:
                browser.close()
        if home is None:
            tour.engine.dispose()
    return tour


POINTS = {
    "duties": 8,
    "staffing": 12,
    "rules": 7,
    "ledgers": 6,
    "reporting": 8,
    "service": 8,
    "informatization": 7,
    "training": 8,
    "funding": 10,
}  # 74: below the pass mark of 80


def score(desk, tour: Tour) -> None:
    """评分表录入: 县级检查乡镇 → 昔阳县 → the first township's form, below the pass mark, saved."""
    desk.goto(f"{tour.base}/ops/c/{tour.campaign_id}")
    desk.click("text=评分表录入")
    desk.click("text=县级检查乡镇（每县不少于6个）")
    desk.click("table.log >> text=昔阳县统计局")
    desk.wait_for_url("**under=140724**")
    card = desk.locator("article.card.score").first
    tour.scored_unit = card.get_attribute("id").removeprefix("u-")
    for item, points in POINTS.items():
        card.locator(f"input[name=p_{item}]").fill(str(points))
    card.locator("input[name=inspector]").fill("王建国")
    card.locator("input[name=inspected_on]").fill("2024-05-27")
    card.locator("input[name=note]").fill("统计台账不全，原始记录缺 3 个月")
    card.locator("button[type=submit]").click()
    desk.wait_for_url("**saved=**")
    tour.scores_text = desk.inner_text("main")
    desk.screenshot(path=str(tour.shots[4]), full_page=True)


if __name__ == "__main__":
    for shot in take(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs").shots:
        print(shot)
