"""Submissions: on time or late, files and counts checked, versions kept, and the next tick respects them."""

import pytest
from sqlalchemy import select

from duban.domain.state import Color, State
from duban.errors import SubmissionError
from duban.services.submit import record_excuse, record_submission
from duban.store.tables import Assignment, Intent, Submission
from duban.views.status import status_report
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import pdf_bytes, write, xlsx_bytes


@pytest.fixture
def xlsx(tmp_path):
    return write(tmp_path / "乐平镇自查评分表.xlsx", xlsx_bytes())


def _state(engine, unit, item):
    with engine.connect() as conn:
        return conn.execute(
            select(Assignment.state).where(Assignment.unit_code == unit, Assignment.item_id == item)
        ).scalar_one()


def test_an_on_time_submission_gets_no_reminder(engine, xlsx, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    receipt = record_submission(
        engine,
        CAMPAIGN,
        "140724100",
        "self_score_sheet",
        at("2024-05-20 10:00"),
        files=[xlsx],
        files_dir=tmp_path / "files",
    )
    assert receipt.state is State.submitted and not receipt.late and receipt.version == 1
    tick(engine, at("2024-05-22 09:00"))
    with engine.connect() as conn:
        kinds = set(
            conn.execute(
                select(Intent.kind)
                .join(Assignment, Assignment.id == Intent.assignment_id)
                .where(Assignment.unit_code == "140724100", Assignment.item_id == "self_score_sheet")
            ).scalars()
        )
    assert kinds == {"opened", "receipt"}
    assert _state(engine, "140724100", "self_report") == "due_soon"


def test_late_submissions_are_marked_late_and_versions_are_kept(engine, xlsx, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-26 08:00"))
    assert _state(engine, "140724100", "self_score_sheet") == "overdue"
    first = record_submission(
        engine,
        CAMPAIGN,
        "140724100",
        "self_score_sheet",
        at("2024-05-27 10:00"),
        files=[xlsx],
        files_dir=tmp_path / "files",
    )
    corrected = write(tmp_path / "乐平镇自查评分表（修改）.xlsx", xlsx_bytes([["项目", "得分"], ["工作职责", 9]]))
    second = record_submission(
        engine,
        CAMPAIGN,
        "140724100",
        "self_score_sheet",
        at("2024-05-27 11:00"),
        files=[corrected],
        files_dir=tmp_path / "files",
    )
    assert first.late and first.state is State.late and second.version == 2
    with engine.connect() as conn:
        versions = conn.execute(select(Submission.version, Submission.files).order_by(Submission.version)).all()
    assert [v for v, _ in versions] == [1, 2]
    digest = versions[0][1][0]["sha256"]
    assert (tmp_path / "files" / digest[:2] / digest).read_bytes() == xlsx.read_bytes()
    tick(engine, at("2024-05-28 09:00"))  # escalation day: 乐平镇's report is escalated, not its score sheet
    with engine.connect() as conn:
        escalated = set(
            conn.execute(
                select(Assignment.item_id)
                .join(Intent, Intent.assignment_id == Assignment.id)
                .where(Intent.kind == "escalation", Assignment.unit_code == "140724100")
            ).scalars()
        )
    assert escalated == {"self_report"}


def test_counts_are_checked_against_the_notice(engine, tmp_path):
    plan_jinzhong(engine)
    sheet = tmp_path / "评分表.pdf"
    sheet.write_bytes(pdf_bytes("scores"))
    with pytest.raises(SubmissionError, match="below the minimum 6"):
        record_submission(
            engine,
            CAMPAIGN,
            "140724",
            "county_inspection",
            at("2024-06-01 10:00"),
            files=[sheet],
            metrics={"townships_inspected": "4"},
            files_dir=tmp_path / "f",
        )
    with pytest.raises(SubmissionError, match="missing townships_inspected"):
        record_submission(
            engine,
            CAMPAIGN,
            "140724",
            "county_inspection",
            at("2024-06-01 10:00"),
            files=[sheet],
            files_dir=tmp_path / "f",
        )
    with pytest.raises(SubmissionError, match="accepts xlsx, pdf, not docx"):
        doc = tmp_path / "评分表.docx"
        doc.write_bytes(b"PK")
        record_submission(
            engine,
            CAMPAIGN,
            "140724",
            "county_inspection",
            at("2024-06-01 10:00"),
            files=[doc],
            metrics={"townships_inspected": "6"},
            files_dir=tmp_path / "f",
        )
    with pytest.raises(SubmissionError, match="owes nothing"):
        record_submission(
            engine,
            CAMPAIGN,
            "140724100",
            "county_inspection",
            at("2024-06-01 10:00"),
            files=[sheet],
            metrics={"townships_inspected": "6"},
            files_dir=tmp_path / "f",
        )
    ok = record_submission(
        engine,
        CAMPAIGN,
        "140724",
        "county_inspection",
        at("2024-06-01 10:00"),
        files=[sheet],
        metrics={"townships_inspected": "7"},
        files_dir=tmp_path / "f",
    )
    assert ok.state is State.submitted


def test_status_colours_follow_the_clock(engine, xlsx, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    record_submission(
        engine,
        CAMPAIGN,
        "140724100",
        "self_score_sheet",
        at("2024-05-11 10:00"),
        files=[xlsx],
        files_dir=tmp_path / "f",
    )
    record_excuse(engine, CAMPAIGN, "140724101", "self_score_sheet", at("2024-05-11 10:00"), reason="撤并")
    early = {u.code: u for u in status_report(engine, CAMPAIGN, at("2024-05-12 12:00")).units}
    assert early["140724100"].stages["self_assessment"] is Color.green
    assert early["140724100"].stages.get("county_check") is None
    # read-only look ahead: 5/23 is after the first reminder, 5/27 after the due
    soon = {u.code: u for u in status_report(engine, CAMPAIGN, at("2024-05-23 12:00")).units}
    assert soon["140724100"].stages["self_assessment"] is Color.yellow  # its report is due soon
    late = status_report(engine, CAMPAIGN, at("2024-05-27 12:00"))
    assert {u.code: u for u in late.units}["140724102"].stages["self_assessment"] is Color.red
    assert _state(engine, "140724102", "self_report") == "open"  # status wrote nothing
    assert ("140724101", "self_assessment", "self_score_sheet") not in {(c, s, i) for c, s, i, _ in late.overdue}


def test_a_correction_after_the_due_of_an_on_time_hand_in_is_receipted_as_a_correction(engine, xlsx, tmp_path):
    """A second version handed in after the due, of an item handed in on time, read 逾期1天10小时报送 in its
    receipt (an outside tester's finding): the item stays on time, and the receipt says it was corrected."""
    from duban.notify.notifier import SinkNotifier
    from duban.services.compose import compose_messages
    from duban.services.dispatch import dispatch

    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    sink = SinkNotifier(tmp_path / "sink")
    dispatch(engine, at("2024-05-10 08:30"), lambda _: sink, fallback_channels=["sink"])
    for moment in ("2024-05-20 10:00", "2024-05-27 10:00"):
        xlsx.write_bytes(xlsx_bytes([["报送", moment]]))  # a correction: what it hands in differs
        record_submission(
            engine, CAMPAIGN, "140724100", "self_score_sheet", at(moment), files=[xlsx], files_dir=tmp_path / "files"
        )
        compose_messages(engine, CAMPAIGN, at(moment), recipients=["140724100"])
    (tmp_path / "sink" / "messages.txt").unlink()
    dispatch(engine, at("2024-05-27 10:01"), lambda _: sink, fallback_channels=["sink"])
    text = (tmp_path / "sink" / "messages.txt").read_text(encoding="utf-8")
    assert _state(engine, "140724100", "self_score_sheet") == "submitted"
    assert "逾期" not in text
    assert "第2版（更正），报送时间：5月27日 周一 10:00（第1版已于5月20日 周一 10:00按时报送，仍计为按时报送）" in text
