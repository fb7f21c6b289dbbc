"""The same hand-in posted twice (a double tap on the phone, a reload, `duban submit` run again) is recognised: no
second version, no second receipt message; the unit is told it is received, the same as the version it has. After a
退回 the same material again is refused: the review asked for a change (an outside tester's finding: v2 = v1)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from duban.errors import SubmissionError
from duban.services.review import record_review
from duban.services.submit import record_submission
from duban.store.tables import Intent, Submission
from tests.conftest import JINZHONG
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.integration.portal_site import make_site, text_of
from tests.samples import docx_bytes, write, xlsx_bytes

XIYANG, LEPING = "140724", "140724100"


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _receipts(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Intent).where(Intent.kind == "receipt")).scalar_one()


def test_a_form_posted_twice_keeps_one_version_and_shows_its_receipt(sqlite_engine):
    site = make_site(sqlite_engine)
    token = site.token(LEPING)
    report = [("乐平镇总结报告.docx", docx_bytes("乐平镇统计站规范化建设总结"))]
    first = site.submit(token, "self_report", report)
    assert first.status_code == 303, first.text
    site.now = at("2024-05-20 10:02")
    again = site.submit(token, "self_report", report)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"] + "?same=1"
    assert site.submissions() == 1 and _receipts(sqlite_engine) == 1  # one receipt for one hand-in
    shown = text_of(site.client.get(again.headers["location"]).text)
    assert "已收到（此前已报送）" in shown and "与已报送的第1版相同，未另存新版本" in shown, shown
    assert "2024-05-20 周一 10:00" in shown  # the version's own instant, not the second post's
    changed = site.submit(
        token, "self_report", [("乐平镇总结报告.docx", docx_bytes("乐平镇统计站规范化建设总结（修改）"))]
    )
    assert changed.status_code == 303 and site.submissions() == 2


def test_the_cli_run_twice_says_the_hand_in_is_received_already(tmp_path):
    from typer.testing import CliRunner

    from duban.cli.main import app

    report = write(tmp_path / "总结报告.docx", docx_bytes())
    args = ["submit", str(JINZHONG), "--unit", LEPING, "--item", "self_report", "--file", str(report), "--at"]
    first = CliRunner().invoke(app, [*args, "2024-05-20 10:00"], catch_exceptions=False)
    assert first.exit_code == 0 and "第1版" in first.output, first.output
    again = CliRunner().invoke(app, [*args, "2024-05-20 10:05"], catch_exceptions=False)
    said = " ".join(again.output.split())
    assert again.exit_code == 0, said
    assert "已收到" in said and "与已报送的第1版相同（2024-05-20 周一 10:00，按时），未另存新版本" in said, said
    assert "第2版" not in said and "回执消息已排入" not in said


@pytest.mark.parametrize("engine", ["sqlite", "pg"], indirect=True)
def test_the_same_material_after_a_return_is_refused_as_unchanged(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    sheet = tmp_path / "昔阳县检查材料.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))

    def hand_in(when):
        return record_submission(
            engine, CAMPAIGN, XIYANG, "materials_upload", at(when), files=[sheet], files_dir=tmp_path / "files"
        )

    first = hand_in("2024-06-28 09:00")
    same = hand_in("2024-06-28 09:05")  # before the review: received already, still waiting for review
    assert same.unchanged and same.version == 1 and same.submission_id == first.submission_id
    assert same.state.value == "in_review"
    record_review(
        engine, CAMPAIGN, XIYANG, "materials_upload", at("2024-06-28 10:00"), accept_it=False, reason="缺少乡镇签章"
    )
    with pytest.raises(SubmissionError) as refused:
        hand_in("2024-06-28 11:00")
    assert refused.value.cn == "所报材料与被退回的第1版完全相同，请按退回意见修改后再报送"
    assert "version 1 was returned (退回)" in str(refused.value)
    assert _count(engine, Submission) == 1
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分", "签章"], ["乐平镇", 86, "已盖章"]]))
    assert hand_in("2024-06-28 11:30").version == 2
