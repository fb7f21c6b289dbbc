"""`duban serve --as-of` is a preview (issues 20 and 22): over a campaign's real record it shows the record as it
stood at that instant — no submission handed in later, no red for an item not yet open — and it writes nothing:
a form sent to a preview is refused in Chinese, and nothing is recorded at the frozen instant."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta

import httpx
from openpyxl import load_workbook
from sqlalchemy import func, select

from duban.services.links import issue
from duban.services.operators import save_operator
from duban.services.submit import record_submission
from duban.settings import Settings
from duban.store.db import engine_for
from duban.store.tables import LinkRevocation, ScoreRecord, Submission
from tests.conftest import ROOT
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.integration.portal_site import OPERATOR, text_of
from tests.samples import docx_bytes, pdf_bytes, write

COUNTY = "140724"  # 昔阳县


def _record(home) -> Settings:
    """The 晋中 campaign run to 2024-07-02: 昔阳县 hands in its county check on 15 June (late) and its report."""
    settings = Settings(home=home)
    engine = engine_for(settings.resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    (home / "in").mkdir(parents=True)
    sheet = write(home / "in" / "昔阳县实地检查评分表.pdf", pdf_bytes("county inspection"))
    report = write(home / "in" / "昔阳县自评总结报告.docx", docx_bytes())
    record_submission(
        engine, CAMPAIGN, COUNTY, "self_report", at("2024-05-21 11:00"), files=[report], files_dir=settings.files_dir
    )
    tick(engine, at("2024-06-12 09:00"))
    record_submission(
        engine,
        CAMPAIGN,
        COUNTY,
        "county_inspection",
        at("2024-06-15 16:00"),
        files=[sheet],
        metrics={"townships_inspected": "7"},
        files_dir=settings.files_dir,
    )
    tick(engine, at("2024-07-02 09:00"))
    save_operator(settings.operators_file, *OPERATOR)
    engine.dispose()
    return settings


def _serve(home, as_of: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DUBAN_HOME": str(home), "DUBAN_PORTAL_URL": "https://duban.tjj.example.cn"}
    env.pop("DUBAN_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "duban.cli.main", "serve", "--port", str(port), "--as-of", as_of],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/", timeout=2)
            return server, base
        except httpx.TransportError:
            assert server.poll() is None and time.monotonic() < deadline, "duban serve did not start"
            time.sleep(0.2)


def _counts(settings) -> tuple[int, int, int]:
    engine = engine_for(settings.resolved_database_url)
    with engine.connect() as conn:
        found = tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Submission, ScoreRecord, LinkRevocation)
        )
    engine.dispose()
    return found


def test_a_preview_shows_the_record_as_it_stood_and_writes_nothing(tmp_path):
    home = tmp_path / "home"
    settings = _record(home)
    token = issue(settings.portal_key(), CAMPAIGN, COUNTY, at("2024-05-27 09:00"), timedelta(days=3650))
    before = _counts(settings)
    server, base = _serve(home, "2024-05-27 10:00")
    try:
        with httpx.Client(base_url=base, timeout=30) as unit:
            page = unit.get(f"/u/{token}")
            assert page.status_code == 200
            shown = text_of(page.text)
            assert "预览：页面按 2024-05-27 周一 10:00 时的记录显示" in shown
            assert "此刻之后记录的免报、延期、审核按现状计入（与进度、通报、总结报告相同）" in shown  # as status says
            assert "6月15日" not in shown and "昔阳县实地检查评分表.pdf" not in shown  # handed in later
            county = shown.split("县级实地检查评分表")[1][:200]
            assert "已逾期" not in county and "还有14天" in county  # open then, not yet due
            assert '灰 · 未开始 "回头看"检查材料整理上报阶段' in shown  # opens 11 June: grey, not red
            assert "5月21日" in shown  # the report handed in before the instant is there
            assert 'type="file"' not in page.text and "预览模式：这里只能查看，不能报送" in shown
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            refused = unit.post(
                f"/u/{token}/items/county_inspection",
                data={"csrf": csrf.group(1) if csrf else "", "m_townships_inspected": "7"},
                files=[("files", ("评分表.pdf", pdf_bytes()))],
            )
            assert refused.status_code == 409 and "预览模式" in text_of(refused.text)
        with httpx.Client(base_url=base, timeout=30) as desk:
            form = desk.get("/ops/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
            login = desk.post("/ops/login", data={"csrf": csrf, "name": OPERATOR[0], "password": OPERATOR[1]})
            assert login.status_code in (200, 303)
            detail = desk.get(f"/ops/c/{CAMPAIGN}/u/{COUNTY}")
            assert detail.status_code == 200 and "6月15日" not in detail.text and "/u/ey" not in detail.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', detail.text).group(1)
            revoke = desk.post(f"/ops/c/{CAMPAIGN}/u/{COUNTY}/revoke", data={"csrf": csrf, "reason": "x"})
            assert revoke.status_code == 409
            table = desk.get(f"/ops/c/{CAMPAIGN}/summary.xlsx")
            book = load_workbook(io.BytesIO(table.content))
            rows = [
                r for r in book["汇总"].iter_rows(values_only=True) if r[1] and str(r[1]).startswith("县级实地检查")
            ]
            assert rows[0][4:9] == (0, 0, 0, 0, 0)  # nobody had handed in, nobody was late or overdue on 27 May
            scores = desk.post(
                f"/ops/c/{CAMPAIGN}/scores/lookback_scores/city_check/u/140724100", data={"csrf": csrf, "p_duties": "9"}
            )
            assert scores.status_code == 409
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert _counts(settings) == before  # nothing handed in, scored or revoked at the frozen instant
