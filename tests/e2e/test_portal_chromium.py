"""The portal in real Chromium (Debian's, driven by Playwright): 昔阳县统计局 opens its link on a phone, hands in
a PDF with the number of townships inspected and a DOCX, sees its receipts; the operators' dashboard shows the
county green; the next tick leaves it out of the reminders; an operator scores one of its townships below the pass
mark and the township owes a 整改. The tour is docs/screenshots.py, which also keeps
the screenshots in docs/ — so the pictures in the README come from this very path."""

import importlib.util
import sys
from pathlib import Path

from sqlalchemy import select

from duban.store.tables import Assignment, Intent, OutboxMessage, ScoreRecord, Submission
from tests.conftest import ROOT
from tests.integration.helpers import at, tick


def _tour():
    spec = importlib.util.spec_from_file_location("duban_portal_tour", ROOT / "docs" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    assert Path(module.CHROMIUM).exists(), "Debian's chromium is needed: .ci/run installs it"
    return module


def test_a_county_hands_in_its_inspection_from_a_phone_and_turns_green(tmp_path):
    tour = _tour().take(tmp_path / "shots", home=tmp_path / "home")

    assert "县级实地检查评分表（不少于6个乡镇）" in tour.unit_text and "还有14天14小时" in tour.unit_text
    assert tour.phone_width <= 375  # nothing runs off a phone's screen
    assert "下级单位报送情况" in tour.unit_text and "大寨镇统计站" in tour.unit_text
    inspection, report = tour.receipts
    assert "报送成功" in inspection and "昔阳县实地检查评分表.pdf" in inspection and "按时报送" in inspection
    assert "实地检查乡镇(街道)数\n7个" in inspection
    assert "报送成功" in report and "昔阳县回头看总结报告.docx" in report
    assert "本单位共 5 项：已报送 4 · 待报送 0" in tour.unit_after
    assert "cell green" in tour.dashboard_row and "昔阳县统计局" in tour.dashboard_text
    assert "合计 74 分，未达标，已布置整改，截止 6月11日 周二 24:00" in tour.scores_text  # 10 working days, 端午 6/10
    assert tour.requests and all(url.startswith(tour.base) for url in tour.requests)  # no CDN, no web font
    for shot in tour.shots:
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 30_000

    engine = tour.engine
    with engine.connect() as conn:
        handed = conn.execute(
            select(Submission.item_id, Submission.actor, Submission.metrics).where(
                Submission.unit_code == "140724", Submission.actor == "portal"
            )
        ).all()
        receipts = conn.execute(
            select(OutboxMessage.id).where(OutboxMessage.recipient == "140724", OutboxMessage.kind == "receipt")
        ).all()
    assert sorted((h.item_id, str(h.metrics)) for h in handed) == [
        ("county_inspection", "{'townships_inspected': 7}"),
        ("county_report", "{}"),
    ]
    assert len(receipts) == 2
    with engine.connect() as conn:
        follow = conn.execute(
            select(Assignment.unit_code, Assignment.instance).where(Assignment.item_id == "rectification")
        ).all()
        score = conn.execute(select(ScoreRecord.total, ScoreRecord.inspector, ScoreRecord.actor)).one()
    assert follow == [(tour.scored_unit, "县级检查乡镇")] and tuple(score) == (74, "王建国", "operator:duban")

    tick(engine, at("2024-06-07 09:00"), tour.campaign_id)  # past the 县级检查 reminders
    with engine.connect() as conn:
        reminded = set(
            conn.execute(
                select(Assignment.unit_code)
                .join(Intent, Intent.assignment_id == Assignment.id)
                .where(Intent.kind == "reminder", Assignment.item_id == "county_inspection")
            ).scalars()
        )
    assert "140724" not in reminded and len(reminded) == 10  # the other ten counties are reminded
    engine.dispose()
