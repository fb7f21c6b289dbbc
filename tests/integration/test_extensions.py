"""延期申请 on the 晋中 "回头看" (extensions: max 5 working days): 昔阳县 asks on 6/6 to hand in its 县级实地检查评分表
on 6/14 instead of 6/10 (端午), the 市局 approves 6/13; only 昔阳's due, reminders and escalation move, it is told,
and later ticks follow its new due. Refusals say why; a denial leaves the due; the digest lists what waits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from duban.domain.messages import render, render_digest
from duban.errors import RequestError
from duban.instants import parse_instant
from duban.services.compose import describe
from duban.services.extension import decide_extension, request_extension
from duban.services.submit import record_submission
from duban.store.tables import Assignment, OutboxMessage, TransitionRow
from duban.views.campaigns import load_campaign
from duban.views.digest import compose_digest
from duban.views.extensions import requests_of
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, snapshot, tick, transitions
from tests.samples import xlsx_bytes

XIYANG, SHOUYANG, HESHUN, YUCI = "140724", "140725", "140723", "140702"
ITEM = "county_inspection"


def end(day: str):
    return parse_instant(day, "Asia/Shanghai", end_of_day=True)


def _assignment(engine, unit, item=ITEM):
    a = Assignment.__table__
    with engine.connect() as conn:
        return conn.execute(
            select(a).where(a.c.campaign_id == CAMPAIGN, a.c.unit_code == unit, a.c.item_id == item)
        ).one()


def _ask(engine, unit, until, when, reason="端午假期后乡镇实地检查未完成"):
    return request_extension(engine, CAMPAIGN, unit, ITEM, end(until), at(when), reason=reason)


def _hand_in(engine, tmp_path, unit, when):
    """The county's 县级检查 score sheet and its figure, handed in at `when`: its receipt."""
    sheet = tmp_path / f"{unit}.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["义兴镇", 88]]))
    return record_submission(
        engine,
        CAMPAIGN,
        unit,
        ITEM,
        at(when),
        files=[sheet],
        metrics={"townships_inspected": "6"},
        files_dir=tmp_path / "files",
    )


def _messages(engine, kind):
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        return conn.execute(select(o).where(o.c.kind == kind).order_by(o.c.id)).all()


def _text(engine, message):
    campaign = load_campaign(engine, CAMPAIGN)
    payload = describe(campaign, message.payload)
    return render(
        payload,
        title=campaign.spec.title,
        issuer=campaign.spec.issuer,
        doc_no=None,
        tz=campaign.tz,
        key=message.idempotency_key,
    ).text


def test_an_approved_extension_moves_only_that_units_due_and_the_tick_follows_it(engine):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-05 09:30"))
    asked = _ask(engine, XIYANG, "2024-06-14", "2024-06-06 10:00")
    assert asked.status.value == "pending" and asked.due_at == end("2024-06-10")
    others_before = _assignment(engine, SHOUYANG)

    decision = decide_extension(
        engine, asked.id, at("2024-06-07 10:00"), approve=True, until=end("2024-06-13"), note="同意延期至6月13日"
    )
    assert decision.request.status.value == "approved" and decision.new_due == end("2024-06-13")
    xiyang = _assignment(engine, XIYANG)
    # three working days before 6/13 (6/10 is 端午) was 6/7 09:00: already past, so it is due soon
    assert xiyang.due_at == end("2024-06-13") and xiyang.state == "due_soon"
    assert _assignment(engine, SHOUYANG) == others_before  # nobody else's due moved

    # the unit is told, with the new due, the old one and the note
    [told] = _messages(engine, "extension")
    text = _text(engine, told)
    assert told.recipient == XIYANG
    # approved to an earlier day than asked: the unit reads both
    assert "申请延至6月14日 周五 24:00，批准延至6月13日 周四 24:00前" in text and "原截止6月10日 周一 24:00" in text
    assert "审批意见：同意延期至6月13日" in text

    # 6/11: the others slipped at 6/10 24:00, 昔阳 did not; its reminder comes the day before its own due
    tick(engine, at("2024-06-11 09:30"))
    assert _assignment(engine, SHOUYANG).state == "overdue" and _assignment(engine, XIYANG).state == "due_soon"
    tick(engine, at("2024-06-14 08:00"))
    assert _assignment(engine, XIYANG).state == "overdue"
    tick(engine, at("2024-06-17 09:30"))  # two working days after 6/13: escalated to 晋中市 and its leader
    events = [
        t
        for t in transitions(engine, at("2024-06-07 10:00"), at("2024-06-17 09:30"))
        if t[0] == XIYANG and t[1] == ITEM
    ]
    assert [(e[2], e[4]) for e in sorted(events, key=lambda e: e[4])] == [
        ("reminder", at("2024-06-12 09:00")),
        ("overdue", end("2024-06-13")),
        ("escalation", at("2024-06-17 09:00")),
    ]
    # a repeated tick changes nothing
    before = snapshot(engine)
    tick(engine, at("2024-06-17 09:30"))
    assert snapshot(engine) == before


def test_refusals_say_why(engine):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-05 09:30"))
    with pytest.raises(RequestError, match="beyond the campaign's limit on extensions") as beyond:
        _ask(engine, XIYANG, "2024-06-18", "2024-06-06 10:00")  # 5 working days after 6/10 is 6/17
    assert "超过本次工作允许的最长延期（5个工作日，最晚2024-06-17 周一 24:00）" in beyond.value.cn
    _ask(engine, XIYANG, "2024-06-17", "2024-06-06 10:00")  # the limit itself is allowed
    with pytest.raises(RequestError, match="already waits"):
        _ask(engine, XIYANG, "2024-06-12", "2024-06-06 11:00")
    with pytest.raises(RequestError, match="has passed") as late:
        _ask(engine, SHOUYANG, "2024-06-14", "2024-06-11 08:00")
    assert "延期申请须在截止前提出" in late.value.cn
    with pytest.raises(RequestError, match="not later than the due"):
        _ask(engine, SHOUYANG, "2024-06-10", "2024-06-06 10:00")
    with pytest.raises(RequestError, match="give the reason"):
        _ask(engine, SHOUYANG, "2024-06-12", "2024-06-06 10:00", reason="  ")
    with pytest.raises(RequestError, match="--reason: 1,001 characters") as long:
        _ask(engine, SHOUYANG, "2024-06-12", "2024-06-06 10:00", reason="人" * 1001)
    assert long.value.cn == "理由不超过1000字"
    assert [r.unit_code for r in requests_of(engine, CAMPAIGN)] == [XIYANG]


def test_a_decision_is_taken_once_and_never_later_than_asked(engine):
    plan_jinzhong(engine)
    asked = _ask(engine, XIYANG, "2024-06-13", "2024-06-06 10:00")
    with pytest.raises(RequestError, match="later than the unit asked"):
        decide_extension(engine, asked.id, at("2024-06-07 10:00"), approve=True, until=end("2024-06-14"))
    # approved an hour before it was asked for: its reply would have been composed before the request existed
    with pytest.raises(RequestError, match=r"dated before the request was made \(2024-06-06 周四 10:00\)"):
        decide_extension(engine, asked.id, at("2024-06-06 09:00"), approve=True)
    with pytest.raises(RequestError, match="no extension request 99999999999999999999999"):
        decide_extension(engine, 99999999999999999999999, at("2024-06-07 10:00"), approve=True)
    decide_extension(engine, asked.id, at("2024-06-07 10:00"), approve=False, note="检查时间已统一安排")
    with pytest.raises(RequestError, match="denied already"):
        decide_extension(engine, asked.id, at("2024-06-07 11:00"), approve=True)
    assert _assignment(engine, XIYANG).due_at == end("2024-06-10")
    [told] = _messages(engine, "extension")
    text = _text(engine, told)
    assert "延期至6月13日 周四 24:00的申请未获同意，请按原截止时间6月10日 周一 24:00前报送" in text
    assert "审批意见：检查时间已统一安排" in text


def test_an_extension_approved_after_a_late_submission_makes_it_on_time(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-05 09:30"))
    asked = _ask(engine, HESHUN, "2024-06-12", "2024-06-08 10:00")
    tick(engine, at("2024-06-11 09:30"))  # not decided yet: the due in force passed
    assert _assignment(engine, HESHUN).state == "overdue"
    receipt = _hand_in(engine, tmp_path, HESHUN, "2024-06-11 10:00")
    assert receipt.late
    decision = decide_extension(engine, asked.id, at("2024-06-11 11:00"), approve=True)
    assert (decision.old_state.value, decision.new_state.value) == ("late", "submitted")
    t = TransitionRow.__table__
    with engine.connect() as conn:
        last = conn.execute(
            select(t.c.event, t.c.from_state, t.c.to_state)
            .where(t.c.assignment_id == _assignment(engine, HESHUN).id)
            .order_by(t.c.id.desc())
        ).first()
    assert tuple(last) == ("extended", "late", "submitted")


def test_the_digest_lists_requests_waiting_for_a_decision(engine):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-05 09:30"))
    _ask(engine, XIYANG, "2024-06-14", "2024-06-06 10:00", reason="乡镇检查人员参加端午值班")
    assert compose_digest(engine, CAMPAIGN, at("2024-06-07 08:30"))
    [digest] = _messages(engine, "digest")
    assert digest.payload["extensions_total"] == 1
    text = render_digest(digest.payload, load_campaign(engine, CAMPAIGN), key=digest.idempotency_key).text
    assert "待审批的延期申请1件：" in text
    assert (
        "1. 昔阳县统计局：县级实地检查评分表（不少于6个乡镇），截止6月10日 周一 24:00，申请延至6月14日 周五 24:00"
        in text
    )
    assert "理由：乡镇检查人员参加端午值班" in text


def test_the_cli_asks_decides_and_lists(tmp_path):
    import re

    from typer.testing import CliRunner

    from duban.cli.main import app
    from tests.conftest import JINZHONG

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)

    asked = run(
        "extension",
        "request",
        JINZHONG,
        "--unit",
        XIYANG,
        "--item",
        ITEM,
        "--until",
        "2024-06-14",
        "--reason",
        "端午假期后乡镇实地检查未完成",
        "--at",
        "2024-06-06 10:00",
    )
    assert asked.exit_code == 0, asked.output
    assert (
        "延期申请 #1（待审批）：昔阳县" in asked.output
        and "截止2024-06-10 周一 24:00 → 申请延至2024-06-14 周五 24:00" in asked.output
    )
    refused = run(
        "extension",
        "request",
        JINZHONG,
        "--unit",
        SHOUYANG,
        "--item",
        ITEM,
        "--until",
        "2024-06-20",
        "--reason",
        "人手不足",
        "--at",
        "2024-06-06 10:00",
    )
    assert refused.exit_code == 1 and "error: " in refused.output
    assert "beyond the campaign's limit on extensions" in refused.output
    assert "Traceback" not in refused.output
    huge = ("extension", "request", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--until", "2024-06-12")
    long_reason = run(*huge, "--reason", "人" * 30_000, "--at", "2024-06-06 10:00")
    assert long_reason.exit_code == 1 and "error: --reason: 30,000 characters" in long_reason.output, long_reason.output
    long_note = run("extension", "decide", "1", "--deny", "--note", "意" * 1001, "--at", "2024-06-07 09:00")
    assert long_note.exit_code == 1 and "error: --note: 1,001 characters" in long_note.output, long_note.output
    both = run("extension", "decide", "1", "--approve", "--deny")
    assert both.exit_code == 1 and "exactly one of --approve and --deny" in both.output
    decided = run(
        "extension", "decide", "1", "--approve", "--until", "2024-06-13", "--note", "同意", "--at", "2024-06-07 10:00"
    )
    assert decided.exit_code == 0, decided.output
    assert re.search(r"已批准 延期申请 #1：昔阳县.*截止2024-06-10 周一 24:00 → 2024-06-13 周四 24:00", decided.output)
    listing = run("extension", "list", JINZHONG)
    assert listing.exit_code == 0 and "已批准" in listing.output and "2024-06-13 周四 24:00" in listing.output
    again = run("extension", "decide", "1", "--deny", "--at", "2024-06-07 11:00")
    assert again.exit_code == 1 and "approved already" in again.output


def test_a_decision_and_a_tick_at_the_same_moment_record_both_once_on_postgres(pg_engine):
    import threading

    from duban.services.tick import tick_stage

    engine = pg_engine
    plan_jinzhong(engine)
    tick(engine, at("2024-06-05 09:30"))
    asked = _ask(engine, XIYANG, "2024-06-14", "2024-06-08 10:00")
    moment = at("2024-06-11 09:30")  # past the old due: the tick would make 昔阳 overdue, the approval moves it
    start, errors = threading.Barrier(2), []

    def run(work):
        start.wait()
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(lambda: decide_extension(engine, asked.id, moment, approve=True),)),
        threading.Thread(target=run, args=(lambda: tick_stage(engine, CAMPAIGN, "county_check", moment),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    tick(engine, moment)  # whatever the tick skipped while the row was locked
    row = _assignment(engine, XIYANG)
    assert row.due_at == end("2024-06-14") and row.state in ("open", "due_soon")
    events = [t[2] for t in transitions(engine, at("2024-06-10 12:00"), moment) if t[0] == XIYANG and t[1] == ITEM]
    assert events.count("extended") == 1 and events.count("overdue") <= 1
    assert _assignment(engine, SHOUYANG).state == "overdue"
    before = snapshot(engine)
    tick(engine, moment)
    assert snapshot(engine) == before


def test_a_request_waiting_when_the_unit_hands_in_on_time_or_is_excused_is_settled(engine, tmp_path):
    """Nothing is owed after an on-time hand-in of an item without review, or a 免报: the waiting request is settled
    as 不再需要, an approval is refused and the unit is never told 同意延期 (an outside tester's finding)."""
    from duban.services.submit import record_excuse

    plan_jinzhong(engine)
    tick(engine, at("2024-06-05 09:30"))
    handed = _ask(engine, HESHUN, "2024-06-12", "2024-06-08 10:00")  # due 6/10
    excused = _ask(engine, SHOUYANG, "2024-06-12", "2024-06-08 10:00")
    receipt = _hand_in(engine, tmp_path, HESHUN, "2024-06-09 10:00")
    assert not receipt.late
    record_excuse(engine, CAMPAIGN, SHOUYANG, ITEM, at("2024-06-09 11:00"), reason="本县无检查任务")
    notes = {r.unit_code: (r.status.value, r.note) for r in requests_of(engine, CAMPAIGN)}
    assert notes == {HESHUN: ("settled", "不再需要：事项已报送"), SHOUYANG: ("settled", "不再需要：事项已免报")}
    for request, why in ((handed, "事项已报送"), (excused, "事项已免报")):
        with pytest.raises(RequestError) as refused:
            decide_extension(engine, request.id, at("2024-06-09 12:00"), approve=True)
        assert refused.value.cn == f"该申请已不再需要（{why}），本次审批未办理"
    assert _messages(engine, "extension") == []
    assert _assignment(engine, HESHUN).due_at == _assignment(engine, XIYANG).due_at  # nothing moved


def test_a_late_hand_in_keeps_a_request_that_would_make_it_on_time_and_settles_one_that_would_not(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-05 09:30"))
    reaching = _ask(engine, HESHUN, "2024-06-12", "2024-06-08 10:00")
    short = _ask(engine, SHOUYANG, "2024-06-11", "2024-06-08 10:00")
    tick(engine, at("2024-06-11 09:30"))
    for unit in (HESHUN, SHOUYANG):
        _hand_in(engine, tmp_path, unit, "2024-06-12 10:00")
    by_id = {r.id: (r.status.value, r.note) for r in requests_of(engine, CAMPAIGN)}
    assert by_id == {reaching.id: ("pending", None), short.id: ("settled", "不再需要：事项已报送")}
    decision = decide_extension(engine, reaching.id, at("2024-06-12 11:00"), approve=True)
    assert (decision.old_state.value, decision.new_state.value) == ("late", "submitted")
