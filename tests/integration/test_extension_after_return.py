"""A 退回 that moves an item's due late in the year, and the 延期申请 around it: a request for a date in a year the
calendar has is judged on what is wrong with it (never a missing 2027 calendar), and a request waiting when a return
moves the due to or past what it asks is settled, not left impossible to approve."""

from __future__ import annotations

import pytest

from duban.errors import RequestError
from duban.instants import parse_instant
from duban.services.extension import request_extension
from duban.services.review import record_review
from duban.services.submit import record_submission
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import xlsx_bytes

XIYANG = "140724"
ITEM = "materials_upload"


def end(day: str):
    return parse_instant(day, "Asia/Shanghai", end_of_day=True)


def _hand_in(engine, tmp_path, when):
    path = tmp_path / f"{XIYANG}-{when[:10]}.xlsx"
    path.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    return record_submission(engine, CAMPAIGN, XIYANG, ITEM, at(when), files=[path], files_dir=tmp_path / "files")


def _returned_to(engine, tmp_path, due: str):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    _hand_in(engine, tmp_path, "2024-06-28 09:00")
    return _return(engine, due)


def _return(engine, due: str):
    """The operators return 昔阳县's 材料 on 6/28 10:00 with a new due at the end of `due`."""
    return record_review(
        engine,
        CAMPAIGN,
        XIYANG,
        ITEM,
        at("2024-06-28 10:00"),
        accept_it=False,
        reason="评分表缺少乡镇签章",
        until=end(due),
        reviewer="operator:设管科",
    )


def _ask(engine, until, when="2024-07-01 10:00"):
    return request_extension(
        engine, CAMPAIGN, XIYANG, ITEM, end(until), at(when), reason="汛期影响，需要多几天时间完成"
    )


def test_a_request_after_a_return_into_late_december_needs_no_calendar_of_the_next_year(sqlite_engine, tmp_path):
    returned = _returned_to(sqlite_engine, tmp_path, "2026-12-25")  # 5 working days later is in 2027
    assert returned.new_due == end("2026-12-25")
    with pytest.raises(RequestError) as next_year:
        _ask(sqlite_engine, "2027-01-05")
    assert "2027年的节假日和调休安排尚未录入" in next_year.value.cn
    asked = _ask(sqlite_engine, "2026-12-28")  # within 2026: the limit, wherever it falls in 2027, is later
    assert asked.until == end("2026-12-28")
    with pytest.raises(RequestError) as waiting:
        _ask(sqlite_engine, "2026-12-29", when="2024-07-01 11:00")
    assert waiting.value.cn == "本事项已有一份延期申请正在审批，请等待答复"


def test_a_request_a_return_overtakes_is_settled_and_the_unit_may_ask_again(sqlite_engine, tmp_path):
    from duban.views.extensions import requests_of

    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-06-12 09:30"))
    _ask(sqlite_engine, "2024-07-03", when="2024-06-20 10:00")  # due 7/1
    _hand_in(sqlite_engine, tmp_path, "2024-06-28 09:00")
    _return(sqlite_engine, "2024-07-05")
    [settled] = requests_of(sqlite_engine, CAMPAIGN, unit_code=XIYANG)
    assert settled.status.cn == "不再需要" and settled.note == "不再需要：截止时间已延至7月5日 周五 24:00"
    again = _ask(sqlite_engine, "2024-07-08", when="2024-06-28 11:00")  # nothing waits now
    assert again.status.cn == "待审批"
    # nobody refused it: status and the report do not count it among 未批准
    from duban.store.db import reading
    from duban.views.status import loop_counts

    with reading(sqlite_engine) as conn:
        counts = loop_counts(conn, CAMPAIGN, at("2024-06-28 12:00"))["extensions"]
    assert counts == {"approved": 0, "denied": 0, "pending": 1, "settled": 1}, counts
    from duban.report.submission_text import loop_sentence

    said = loop_sentence({"extensions": counts})
    assert "未批准0件、因截止时间已调整或事项已办结不再需要1件、待审批1件" in said, said


def test_the_queue_shows_the_due_in_force_after_a_return_moved_it(sqlite_engine, tmp_path):
    from tests.integration.portal_site import make_site, text_of

    site = make_site(sqlite_engine, now="2024-06-28 10:30", ticked="2024-06-12 09:30")
    _ask(site.engine, "2024-07-05", when="2024-06-20 10:00")  # due 7/1
    _hand_in(site.engine, tmp_path, "2024-06-28 09:00")
    _return(site.engine, "2024-07-03")  # earlier than asked: the request still waits, against the new due
    assert site.login().status_code == 303
    shown = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/loop").text)
    assert "截止 7月3日 周三 24:00（申请时 7月1日 周一 24:00） → 申请延至 7月5日 周五 24:00" in shown


def test_an_approval_whose_reminders_need_a_missing_year_is_refused_with_that_reason(sqlite_engine, tmp_path):
    from duban.services.extension import decide_extension
    from duban.views.extensions import requests_of

    _returned_to(sqlite_engine, tmp_path, "2026-12-25")
    asked = _ask(sqlite_engine, "2026-12-31")
    with pytest.raises(RequestError) as refused:
        decide_extension(sqlite_engine, asked.id, at("2024-07-02 10:00"), approve=True)
    assert "2027年的节假日和调休安排尚未录入督办系统" in refused.value.cn and "本次审批未办理" in refused.value.cn
    [still] = requests_of(sqlite_engine, CAMPAIGN, unit_code=XIYANG)
    assert still.status.cn == "待审批"


def test_the_operators_form_after_a_return_refuses_in_the_form_and_says_what_was_kept(sqlite_engine, tmp_path):
    from tests.integration.portal_site import make_site, text_of

    site = make_site(sqlite_engine, now="2024-07-01 10:00", ticked="2024-06-12 09:30")
    _hand_in(site.engine, tmp_path, "2024-06-28 09:00")
    _return(site.engine, "2026-12-25")
    assert site.login().status_code == 303
    page = f"/ops/c/{CAMPAIGN}/u/{XIYANG}"

    def file(until, decide):
        data = {"csrf": site.csrf(page), "item": f"{ITEM}|", "until": until, "reason": "汛期影响", "decide": decide}
        return site.client.post(f"{page}/extension", data=data, follow_redirects=False)

    kept = file("2026-12-31", "approve")  # recorded, its approval refused: sent back, the form not filled again
    assert kept.status_code == 303
    approved = site.client.get(kept.headers["location"]).text
    assert "2027年的节假日和调休安排尚未录入督办系统" in text_of(approved) and "申请已登记为申请#1" in text_of(approved)
    assert "汛期影响</textarea>" not in approved
    waiting = file("2026-12-28", "later")  # nothing recorded: refused in the form, what was typed kept
    assert waiting.status_code == 400 and "本事项已有一份延期申请正在审批，请等待答复" in text_of(waiting.text)
    assert "汛期影响</textarea>" in waiting.text and 'value="2026-12-28"' in waiting.text


def test_the_units_form_after_a_return_refuses_a_date_in_a_missing_year_keeping_what_was_typed(sqlite_engine, tmp_path):
    from tests.integration.portal_site import make_site, text_of

    site = make_site(sqlite_engine, now="2024-07-01 10:00", ticked="2024-06-12 09:30")
    _returned_to_on(site.engine, tmp_path)
    token = site.token(XIYANG)

    def ask(until):
        data = {"csrf": site.csrf(f"/u/{token}"), "until": until, "reason": "汛期影响，需要多几天时间完成"}
        return site.client.post(f"/u/{token}/items/{ITEM}/extension", data=data, follow_redirects=False)

    refused = ask("2027-01-05")
    assert refused.status_code == 400 and "2027年的节假日和调休安排尚未录入督办系统" in text_of(refused.text)
    assert "汛期影响，需要多几天时间完成" in refused.text and "2027-01-05" in refused.text
    assert ask("2026-12-28").status_code == 303


def _returned_to_on(engine, tmp_path):
    _hand_in(engine, tmp_path, "2024-06-28 09:00")
    _return(engine, "2026-12-25")


def _extension_messages(engine):
    from sqlalchemy import select

    from duban.store.tables import OutboxMessage

    o = OutboxMessage.__table__
    with engine.connect() as conn:
        return conn.execute(select(o.c.id).where(o.c.kind == "extension")).all()


def test_a_request_waiting_when_the_item_is_accepted_is_settled_and_can_no_longer_be_approved(engine, tmp_path):
    """An outside tester's finding: the request stayed 待审批 after 审核通过, and approving it told the unit
    "同意延期，截止时间延至…" right after "审核通过，无需再报"."""
    from duban.services.extension import decide_extension
    from duban.views.extensions import requests_of

    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    asked = _ask(engine, "2024-07-03", when="2024-06-20 10:00")  # due 7/1
    _hand_in(engine, tmp_path, "2024-06-28 09:00")
    accepted = record_review(
        engine, CAMPAIGN, XIYANG, ITEM, at("2024-06-28 10:00"), accept_it=True, reviewer="operator:设管科"
    )
    assert accepted.new_state.value == "submitted"
    [settled] = requests_of(engine, CAMPAIGN, unit_code=XIYANG)
    assert settled.id == asked.id
    assert settled.status.value == "settled" and settled.note == "不再需要：事项已审核通过"
    with pytest.raises(RequestError) as refused:
        decide_extension(engine, asked.id, at("2024-06-28 11:00"), approve=True)
    assert refused.value.cn == "该申请已不再需要（事项已审核通过），本次审批未办理"
    assert _extension_messages(engine) == []  # nothing tells the unit 同意延期
    [still] = requests_of(engine, CAMPAIGN, unit_code=XIYANG)
    assert still.status.value == "settled" and still.until == asked.until


def test_a_request_left_waiting_on_an_accepted_item_by_an_older_duban_is_refused_not_approved(engine, tmp_path):
    from sqlalchemy import update

    from duban.services.extension import decide_extension
    from duban.store.tables import ExtensionRequest

    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    asked = _ask(engine, "2024-07-03", when="2024-06-20 10:00")
    _hand_in(engine, tmp_path, "2024-06-28 09:00")
    record_review(engine, CAMPAIGN, XIYANG, ITEM, at("2024-06-28 10:00"), accept_it=True, reviewer="operator:设管科")
    r = ExtensionRequest.__table__
    with engine.begin() as conn:  # as a database written before such requests were settled holds it
        conn.execute(update(r).where(r.c.id == asked.id).values(status="pending", decided_at=None, note=None))
    for approve in (True, False):
        with pytest.raises(RequestError) as refused:
            decide_extension(engine, asked.id, at("2024-06-28 11:00"), approve=approve)
        assert refused.value.cn == "该单位本事项已报送，无需延期，本次审批未办理"
    assert _extension_messages(engine) == []


def _told(engine, kind, unit=XIYANG):
    """The text of the one message of `kind` to `unit`, as rendered for its channel."""
    from sqlalchemy import select

    from duban.domain.messages import render
    from duban.services.compose import describe
    from duban.store.tables import OutboxMessage
    from duban.views.campaigns import load_campaign

    o = OutboxMessage.__table__
    with engine.connect() as conn:
        [message] = conn.execute(select(o).where(o.c.kind == kind, o.c.recipient == unit)).all()
    campaign = load_campaign(engine, CAMPAIGN)
    return render(
        describe(campaign, message.payload),
        title=campaign.spec.title,
        issuer=campaign.spec.issuer,
        doc_no=None,
        tz=campaign.tz,
        key=message.idempotency_key,
    ).text


def test_the_return_message_says_the_waiting_request_it_overtakes_is_no_longer_needed(sqlite_engine, tmp_path):
    """An outside tester's finding (F7): the 退回 settled 昔阳's 延期申请 as 不再需要, and the unit, told only
    请于7月5日前重新报送, still waited for an answer to it."""
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-06-12 09:30"))
    _ask(sqlite_engine, "2024-07-03", when="2024-06-20 10:00")  # due 7/1
    _hand_in(sqlite_engine, tmp_path, "2024-06-28 09:00")
    _return(sqlite_engine, "2024-07-05")
    lines = _told(sqlite_engine, "returned").splitlines()
    said = [line.strip() for line in lines if "延期申请" in line]
    assert len(said) == 1, lines
    assert "您单位的延期申请（申请延至7月3日 周三 24:00）已不再需要：截止时间已延至7月5日 周五 24:00" in said[0]
    assert "退回原因：评分表缺少乡镇签章" in "\n".join(lines)


def test_a_return_earlier_than_the_date_asked_says_nothing_of_the_request_still_waiting(sqlite_engine, tmp_path):
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-06-12 09:30"))
    _ask(sqlite_engine, "2024-07-05", when="2024-06-20 10:00")
    _hand_in(sqlite_engine, tmp_path, "2024-06-28 09:00")
    _return(sqlite_engine, "2024-07-03")  # the request still waits: nothing settled to tell
    assert "延期申请" not in _told(sqlite_engine, "returned")


def test_the_acceptance_message_says_the_waiting_request_is_no_longer_needed(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    _ask(engine, "2024-07-03", when="2024-06-20 10:00")
    _hand_in(engine, tmp_path, "2024-06-28 09:00")
    record_review(engine, CAMPAIGN, XIYANG, ITEM, at("2024-06-28 10:00"), accept_it=True, reviewer="operator:设管科")
    text = _told(engine, "accepted")
    assert "第1版审核通过，无需再报" in text
    assert "您单位的延期申请（申请延至7月3日 周三 24:00）已不再需要：事项已审核通过" in text
