"""What an operator sees in the Prefect UI, in headless Chromium (Debian's) at 1440 pixels, zh-CN, Asia/Shanghai.

Prefect serves two UIs: the new one (`/v2/…`, where the server's root leads) and the old one (`/…`, where links
to a run or an artifact lead, and which "Switch to V1 UI" opens). The tick's run page and the summary are taken
in the old one, as before; the unit table in both (it must fit either at 1440 pixels); the event feed in the new
one, which shows a resource's name (the old one shows the id of any resource that is not Prefect's own).
Only loopback is reachable: a request elsewhere is refused and listed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote
from uuid import UUID

WIDTH = 1440


@dataclass
class Seen:
    run_artifacts: str = ""
    run_logs: str = ""
    summary: str = ""
    units: dict[str, str] = field(default_factory=dict)  # UI → the table's text
    units_overflow: dict[str, int] = field(default_factory=dict)  # UI (and search) → pixels cut off on the right
    events: str = ""
    refused: list[str] = field(default_factory=list)


def _browser(p):
    return p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )


def _page(browser, refused: list[str], allowed: str = "http://127.0.0.1"):
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, locale="zh-CN", timezone_id="Asia/Shanghai")

    def only(route):
        if route.request.url.startswith((allowed, "data:", "blob:")):
            return route.continue_()
        refused.append(route.request.url)
        return route.abort()

    page.route("**/*", only)
    return page


# How many pixels of a table its scrolling box hides on the right, or the window does (0: it fits).
_OVERFLOW = """() => Math.max(0, ...[...document.querySelectorAll('table')].map(t => {
  let box = t.parentElement;
  while (box && box !== document.body && getComputedStyle(box).overflowX === 'visible') box = box.parentElement;
  const hidden = box && box !== document.body ? box.scrollWidth - box.clientWidth : 0;
  return Math.max(hidden, Math.ceil(t.getBoundingClientRect().right - innerWidth));
}))"""


def look(
    ui: str, *, run_id: UUID, logs_run_id: UUID, summary_id: UUID, units_id: UUID, folder: Path, widest: str
) -> Seen:
    """Visit the pages an operator opens after a tick; screenshots go to `folder` (prefect-ui-*.png).

    `logs_run_id`: a run whose Logs tab to read; `widest`: a word that finds the unit with the longest name, so the
    new UI's paged table shows it."""
    from playwright.sync_api import sync_playwright

    seen = Seen()
    with sync_playwright() as p:
        browser = _browser(p)
        page = _page(browser, seen.refused)
        page.goto(f"{ui}/runs/flow-run/{run_id}", wait_until="networkidle")
        page.get_by_text("Artifacts", exact=True).first.click()
        page.get_by_text("-summary").first.wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.set_viewport_size({"width": WIDTH, "height": 1320})  # the page scrolls inside: show all six cards
        page.screenshot(path=str(folder / "prefect-ui-artifacts.png"))
        seen.run_artifacts = page.inner_text("body")
        page.goto(f"{ui}/runs/flow-run/{logs_run_id}", wait_until="networkidle")
        page.get_by_text("Logs", exact=True).first.click()
        page.get_by_text("本次巡检（").first.wait_for(timeout=30_000)
        page.get_by_text("本次巡检（").first.scroll_into_view_if_needed()
        page.screenshot(path=str(folder / "prefect-ui-logs.png"))
        seen.run_logs = page.inner_text("body")

        page.set_viewport_size({"width": WIDTH, "height": 1100})
        page.goto(f"{ui}/artifacts/artifact/{summary_id}", wait_until="networkidle")
        page.get_by_text("逾期未报：").first.wait_for(timeout=30_000)
        page.screenshot(path=str(folder / "prefect-ui-summary.png"))
        seen.summary = page.inner_text("body")

        for name, url in (
            ("v1", f"{ui}/artifacts/artifact/{units_id}"),
            ("v2", f"{ui}/v2/artifacts/artifact/{units_id}"),
        ):
            page.goto(url, wait_until="networkidle")
            page.locator("table").first.wait_for(timeout=30_000)
            time.sleep(0.5)
            seen.units[name] = page.locator("table").first.inner_text()
            seen.units_overflow[name] = page.evaluate(_OVERFLOW)
            if name == "v1":
                page.screenshot(path=str(folder / "prefect-ui-units.png"))
            page.get_by_placeholder("Search").first.fill(widest)
            page.wait_for_function(  # the search filters the rows a moment after the typing (more on a busy machine)
                "w => { const t = document.querySelector('table'); return t && t.innerText.includes(w) && "
                "![...t.querySelectorAll('tbody tr')].some(r => !r.innerText.includes(w)); }",
                arg=widest,
                timeout=30_000,
            )
            time.sleep(0.3)
            seen.units_overflow[f"{name} {widest}"] = page.evaluate(_OVERFLOW)
            seen.units[f"{name} {widest}"] = page.locator("table").first.inner_text()

        wanted = quote(json.dumps(["duban.assignment.overdue"]))
        # an explicit range: "past day" ends at the start of the current minute, so it leaves out what just happened
        now = datetime.now(timezone.utc)
        span = "&".join(
            f"{k}={quote(json.dumps(v.isoformat()))}"
            for k, v in (("start", now - timedelta(hours=2)), ("end", now + timedelta(minutes=10)))
        )
        page.goto(f"{ui}/v2/events?events={wanted}&rangeType=range&{span}", wait_until="networkidle")
        try:
            page.get_by_text("Duban Assignment Overdue").first.wait_for(timeout=60_000)
        except Exception:
            page.screenshot(path=str(folder / "prefect-ui-events-failed.png"))
            raise AssertionError(
                f"no duban event in the feed at {page.url}:\n{page.inner_text('body')[:3000]}"
            ) from None
        time.sleep(1)
        page.screenshot(path=str(folder / "prefect-ui-events.png"))
        seen.events = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
        browser.close()
    return seen


def api_calls_of(ui: str, *, wait: float = 8.0) -> list[str]:
    """The API addresses the UI at `ui` calls when its dashboard opens (each refused if it leaves `ui`)."""
    from playwright.sync_api import sync_playwright

    refused: list[str] = []
    called: list[str] = []
    with sync_playwright() as p:
        browser = _browser(p)
        page = _page(browser, refused, allowed=ui)
        page.on("request", lambda request: called.append(request.url) if "/api/" in request.url else None)
        page.goto(f"{ui}/", wait_until="domcontentloaded")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not any("/api/" in url for url in called):
            page.wait_for_timeout(250)
        browser.close()
    return called
