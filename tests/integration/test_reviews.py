"""审核与退回 on the 晋中 "回头看": 设管科 reviews each county's 检查材料 (review: operators) and returns 昔阳县's
with a reason; 昔阳 owes it again by the new due, hears why, is reminded and escalated by the new due, hands in
again and is accepted. A county reviews its own townships' 总结报告 (review: parent) and cannot review another
county's."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy import select

from duban.domain.messages import render
from duban.errors import RequestError
from duban.instants import parse_instant
from duban.services.compose import describe
from duban.services.lifecycle import ensure_planned
from duban.services.review import record_review
from duban.services.submit import record_submission
from duban.spec.terms import Offset, OffsetUnit
from duban.store.tables import Assignment, OutboxMessage, Submission
from duban.views.campaigns import load_campaign
from duban.views.reviews import review_queue, reviews_of
from tests.conftest import JINZHONG, SPECS
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, snapshot, tick, transitions
from tests.samples import docx_bytes, xlsx_bytes

XIYANG, SHOUYANG = "140724", "140725"
LEPING = "140724100"  # 乐平镇, under 昔阳县
ITEM = "materials_upload"


def end(day: str):
    return parse_instant(day, "Asia/Shanghai", end_of_day=True)


def _row(engine, unit, item=ITEM):
    a = Assignment.__table__
    with engine.connect() as conn:
        return conn.execute(
            select(a).where(a.c.campaign_id == CAMPAIGN, a.c.unit_code == unit, a.c.item_id == item)
        ).one()


def _hand_in(engine, tmp_path, unit, when, item=ITEM):
    path = tmp_path / f"{unit}-{item}-{when[:10]}.xlsx"
    if item == "self_report":
        path = path.with_suffix(".docx")
        path.write_bytes(docx_bytes("乐平镇统计站规范化建设总结"))
    else:  # each hand-in its own sheet: the same one again is no new version (after a 退回, refused)
        path.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86], ["报送", when]]))
    return record_submission(engine, CAMPAIGN, unit, item, at(when), files=[path], files_dir=tmp_path / "files")


def _messages(engine, kind):
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        return conn.execute(select(o).where(o.c.kind == kind).order_by(o.c.id)).all()


def _text(engine, message):
    campaign = load_campaign(engine, CAMPAIGN)
    return render(
        describe(campaign, message.payload),
        title=campaign.spec.title,
        issuer=campaign.spec.issuer,
        doc_no=None,
        tz=campaign.tz,
        key=message.idempotency_key,
    ).text


def test_a_returned_item_is_owed_again_by_its_new_due_and_every_version_and_review_is_kept(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    first = _hand_in(engine, tmp_path, XIYANG, "2024-06-28 09:00")
    assert first.state.value == "in_review" and not first.late
    assert [r.unit_code for r in review_queue(engine, CAMPAIGN)] == [XIYANG]
    tick(engine, at("2024-06-28 09:30"))
    assert _row(engine, XIYANG).state == "in_review"  # the tick leaves a version under review alone

    returned = record_review(
        engine,
        CAMPAIGN,
        XIYANG,
        ITEM,
        at("2024-06-28 10:00"),
        accept_it=False,
        reason="评分表缺少乡镇签章",
        reviewer="operator:设管科",
    )
    # 3 working days after Friday 6/28: Wednesday 7/3 (later than the 7/1 due it had)
    assert returned.new_due == end("2024-07-03") and returned.new_state.value == "due_soon"
    assert review_queue(engine, CAMPAIGN) == []
    [told] = _messages(engine, "returned")
    text = _text(engine, told)
    assert "以下材料经审核退回，请按要求修改后重新报送：" in text
    assert "第1版已退回，请于7月3日 周三 24:00前重新报送" in text and "退回原因：评分表缺少乡镇签章" in text

    tick(engine, at("2024-07-02 09:30"))  # 寿阳 slipped at its 7/1 due; 昔阳 is reminded before its new one
    assert _row(engine, SHOUYANG).state == "overdue" and _row(engine, XIYANG).state == "due_soon"
    tick(engine, at("2024-07-05 09:30"))
    mine = [
        t
        for t in transitions(engine, at("2024-06-28 09:59"), at("2024-07-05 09:30"))
        if t[0] == XIYANG and t[1] == ITEM
    ]
    assert [(t[2], t[4]) for t in sorted(mine, key=lambda t: t[4])] == [
        ("returned", at("2024-06-28 10:00")),
        ("reminder", at("2024-07-02 09:00")),
        ("overdue", end("2024-07-03")),
        ("escalation", at("2024-07-05 09:00")),
    ]
    before = snapshot(engine)
    tick(engine, at("2024-07-05 09:30"))
    assert snapshot(engine) == before

    again = _hand_in(engine, tmp_path, XIYANG, "2024-07-05 10:00")
    assert again.version == 2 and again.state.value == "in_review" and again.late
    accepted = record_review(
        engine, CAMPAIGN, XIYANG, ITEM, at("2024-07-05 11:00"), accept_it=True, reviewer="operator:设管科"
    )
    assert accepted.new_state.value == "late" and accepted.version == 2
    assert [(r.decision, r.reason) for r in reviews_of(engine, CAMPAIGN)] == [
        ("returned", "评分表缺少乡镇签章"),
        ("accepted", None),
    ]
    s = Submission.__table__
    with engine.connect() as conn:
        assert conn.execute(
            select(s.c.version).where(s.c.unit_code == XIYANG, s.c.item_id == ITEM)
        ).scalars().all() == [1, 2]
    with pytest.raises(RequestError, match="nothing waiting for review"):
        record_review(engine, CAMPAIGN, XIYANG, ITEM, at("2024-07-05 12:00"), accept_it=True)


def test_a_return_needs_a_reason_and_only_reviewed_items_are_reviewed(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    _hand_in(engine, tmp_path, XIYANG, "2024-06-20 09:00")
    with pytest.raises(RequestError, match="reason") as no_reason:
        record_review(engine, CAMPAIGN, XIYANG, ITEM, at("2024-06-20 10:00"), accept_it=False, reason=" ")
    assert no_reason.value.cn == "请填写退回的理由"
    with pytest.raises(RequestError, match="--reason: 5,000 characters") as long:
        record_review(engine, CAMPAIGN, XIYANG, ITEM, at("2024-06-20 10:00"), accept_it=False, reason="缺" * 5000)
    assert long.value.cn == "退回理由不超过1000字"
    # a terminal's escape and a text-direction override reached the unit's message and the operator's terminal
    for hidden, code in (("退回\x1b[31m红\a", "U+001B"), ("评分表缺少签章\u202e", "U+202E")):
        with pytest.raises(RequestError, match=re.escape(f"--reason: holds {code}")) as unseen:
            record_review(engine, CAMPAIGN, XIYANG, ITEM, at("2024-06-20 10:00"), accept_it=False, reason=hidden)
        assert unseen.value.cn == f"退回理由含有看不见的字符（{code}），请删除后重新填写"
    assert _row(engine, XIYANG).state == "in_review"  # nothing was recorded
    # a line break would start a line of the unit's message that reads as duban's own: folded into one line
    record_review(
        engine, CAMPAIGN, XIYANG, ITEM, at("2024-06-20 10:00"), accept_it=False, reason="缺少签章\r\n伪造：同意延期"
    )
    assert [r.reason for r in reviews_of(engine, CAMPAIGN, unit_code=XIYANG)] == ["缺少签章 伪造：同意延期"]
    for days in (-3, 0):  # a new due at or before the return is refused, not silently the old due
        with pytest.raises(RequestError, match="not positive"):
            record_review(
                engine,
                CAMPAIGN,
                XIYANG,
                ITEM,
                at("2024-06-20 10:00"),
                accept_it=False,
                reason="x",
                within=Offset(days, OffsetUnit.working_days),
            )
    with pytest.raises(RequestError, match="not reviewed"):
        record_review(engine, CAMPAIGN, XIYANG, "county_report", at("2024-06-20 10:00"), accept_it=True)


@pytest.fixture
def parent_reviewed(tmp_path):
    """晋中 with the townships' 总结报告 reviewed by their county (review: parent)."""
    folder = tmp_path / "specs"
    shutil.copytree(SPECS / "units", folder / "units")
    shutil.copytree(SPECS / "calendar", folder / "calendar")
    text = JINZHONG.read_text(encoding="utf-8")
    marker = "        name: 本单位统计基层基础规范化建设总结报告\n"
    assert marker in text
    spec = folder / JINZHONG.name
    spec.write_text(text.replace(marker, marker + "        review: parent\n"), encoding="utf-8")
    return spec


def test_a_county_reviews_its_own_townships_and_no_other_countys(engine, tmp_path, parent_reviewed):
    ensure_planned(engine, parent_reviewed, now=at("2024-05-09 12:00"))
    tick(engine, at("2024-05-10 09:00"))
    _hand_in(engine, tmp_path, LEPING, "2024-05-20 10:00", item="self_report")
    assert [r.unit_code for r in review_queue(engine, CAMPAIGN, parent=XIYANG)] == [LEPING]
    assert review_queue(engine, CAMPAIGN, parent=SHOUYANG) == []
    with pytest.raises(RequestError, match="reviews only its own children") as refused:
        record_review(
            engine,
            CAMPAIGN,
            LEPING,
            "self_report",
            at("2024-05-21 10:00"),
            accept_it=False,
            reason="不合格",
            reviewer=f"unit:{SHOUYANG}",
            reviewer_unit=SHOUYANG,
        )
    assert refused.value.cn == "只能审核本单位所属下级单位的材料"
    assert _row(engine, LEPING, "self_report").state == "in_review"
    returned = record_review(
        engine,
        CAMPAIGN,
        LEPING,
        "self_report",
        at("2024-05-21 10:00"),
        accept_it=False,
        reason="缺少经验亮点部分",
        reviewer=f"unit:{XIYANG}",
        reviewer_unit=XIYANG,
    )
    assert returned.new_due == end("2024-05-25") and returned.new_state.value in ("open", "due_soon")
    # the county's link cannot review a county-level item either (the spec says parent for townships' reports)
    with pytest.raises(RequestError, match="reviews only its own children"):
        record_review(engine, CAMPAIGN, XIYANG, ITEM, at("2024-06-20 10:00"), accept_it=True, reviewer_unit="140700")


def test_the_cli_says_when_a_return_keeps_the_due_in_force_over_the_notices_window(tmp_path):
    """退回 on 6/14 with the spec's 3个工作日内补报 (6/19) kept the unit's due of 7/1 and said only 新的截止时间 7/1:
    the 设管科 was surprised the county had 17 days (an outside tester's finding). The CLI says why."""
    from typer.testing import CliRunner

    from duban.cli.main import app

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)

    sheet = tmp_path / "昔阳县检查材料.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    assert run("submit", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--file", sheet, "--at", "2024-06-13 09:00")
    early = ("--return", "--reason", "缺少调查问卷，请补充后重报", "--at", "2024-06-14 10:00")
    returned = run("review", JINZHONG, "--unit", XIYANG, "--item", ITEM, *early)
    flat = " ".join(returned.output.split())
    assert returned.exit_code == 0 and "新的截止时间 2024-07-01 周一 24:00" in flat, flat
    assert "（退回后补报期限为2024-06-19 周三 24:00，早于原截止时间，按原截止时间：退回不缩短单位的时间）" in flat, flat
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86], ["调查问卷", "已补"]]))
    run("submit", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--file", sheet, "--at", "2024-06-28 09:00")
    late = ("--return", "--reason", "仍缺签章", "--at", "2024-06-28 10:00")
    again = " ".join(run("review", JINZHONG, "--unit", XIYANG, "--item", ITEM, *late).output.split())
    assert "新的截止时间 2024-07-03 周三 24:00" in again and "退回后补报期限" not in again, again


def test_the_cli_returns_and_accepts(tmp_path):
    from typer.testing import CliRunner

    from duban.cli.main import app

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)

    sheet = tmp_path / "昔阳县检查材料.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    handed = run("submit", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--file", sheet, "--at", "2024-06-28 09:00")
    assert handed.exit_code == 0 and "待审核" in handed.output, handed.output
    both = run("review", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--accept", "--return")
    assert both.exit_code == 1 and "exactly one of --accept and --return" in both.output
    retry = (
        "review",
        JINZHONG,
        "--unit",
        XIYANG,
        "--item",
        ITEM,
        "--return",
        "--reason",
        "x",
        "--at",
        "2024-06-28 09:30",
    )
    for within, why in [
        ("-3 working days", "'-3 working days' is not positive"),
        ("0 working days", "'0 working days' is not positive"),
        ("1000000000 days", "1000000000 days: an offset is at most 3,660 days"),
        ("3 weeks", "'3 weeks' is neither a duration (write 3 working days"),
    ]:
        refused = run(*retry, "--within", within)
        assert refused.exit_code == 2 and f"error: --within: {why}" in refused.output, refused.output
    returned = run(
        "review",
        JINZHONG,
        "--unit",
        XIYANG,
        "--item",
        ITEM,
        "--return",
        "--reason",
        "评分表缺少乡镇签章",
        "--within",
        "2 working days",
        "--at",
        "2024-06-28 10:00",
    )
    assert returned.exit_code == 0, returned.output
    assert (
        "已退回 昔阳县统计局（140724）" in returned.output and "新的截止时间 2024-07-02 周二 24:00" in returned.output
    )
    nothing = run("review", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--accept", "--at", "2024-06-28 11:00")
    assert (
        nothing.exit_code == 1
        and "error: unit 140724 has nothing waiting" in nothing.output
        and "nothing waiting for review" in nothing.output
    )
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分", "签章"], ["乐平镇", 86, "已盖章"]]))
    run("submit", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--file", sheet, "--at", "2024-07-01 09:00")
    accepted = run("review", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--accept", "--at", "2024-07-01 10:00")
    assert accepted.exit_code == 0 and "审核通过" in accepted.output and "第2版 → 已报送" in accepted.output
    status = run("status", JINZHONG, "--as-of", "2024-07-01 10:00")
    assert "审核：退回 1 次 · 通过 1 次" in status.output


def test_a_return_and_a_tick_at_the_same_moment_record_both_once_on_postgres(pg_engine, tmp_path):
    import threading

    from duban.services.tick import tick_stage

    engine = pg_engine
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    _hand_in(engine, tmp_path, XIYANG, "2024-06-28 09:00")
    moment = at("2024-07-02 00:30")  # the others slip at 7/1 24:00 in this tick; 昔阳 is returned at the same moment
    start, errors = threading.Barrier(2), []

    def run(work):
        start.wait()
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(
            target=run,
            args=(
                lambda: record_review(
                    engine, CAMPAIGN, XIYANG, ITEM, moment, accept_it=False, reason="评分表缺少乡镇签章"
                ),
            ),
        ),
        threading.Thread(target=run, args=(lambda: tick_stage(engine, CAMPAIGN, "materials", moment),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    tick(engine, moment)
    assert _row(engine, XIYANG).state in ("open", "due_soon") and _row(engine, SHOUYANG).state == "overdue"
    assert [r.decision for r in reviews_of(engine, CAMPAIGN)] == ["returned"]
    mine = [t[2] for t in transitions(engine, at("2024-06-28 09:30"), moment) if t[0] == XIYANG and t[1] == ITEM]
    assert mine.count("returned") == 1 and "overdue" not in mine
    before = snapshot(engine)
    tick(engine, moment)
    assert snapshot(engine) == before


def test_the_digest_reminds_the_operators_of_versions_waiting_for_review(engine, tmp_path):
    from duban.domain.messages import render_digest
    from duban.views.digest import compose_digest

    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    _hand_in(engine, tmp_path, XIYANG, "2024-06-20 09:00")
    assert compose_digest(engine, CAMPAIGN, at("2024-06-21 08:30"))
    [digest] = _messages(engine, "digest")
    text = render_digest(digest.payload, load_campaign(engine, CAMPAIGN), key=digest.idempotency_key).text
    assert "待审核的材料1份，最早一份报送于6月20日 周四 09:00" in text


def _reminding_spec(tmp_path, old: str, new: str):
    folder = tmp_path / "specs"
    shutil.copytree(SPECS / "units", folder / "units")
    shutil.copytree(SPECS / "calendar", folder / "calendar")
    text = JINZHONG.read_text(encoding="utf-8")
    assert old in text
    spec = folder / JINZHONG.name
    spec.write_text(text.replace(old, new), encoding="utf-8")
    return spec


def _reminders(engine):
    return [
        (m.recipient, m.payload["as_of"], [i["unit"] for i in m.payload["items"]])
        for m in _messages(engine, "review_reminder")
    ]


def test_a_version_left_unreviewed_reminds_the_operators_once_per_period(engine, tmp_path):
    """设管科 is reminded of 昔阳县's 检查材料 two working days after it came in, once, however often the tick runs,
    again two working days later, and never after it has reviewed it."""
    from duban.services.review_reminders import remind_reviewers

    plan_jinzhong(engine)  # the seed: review: {by: operators, within: 3 working days, remind_after: 2 working days}
    tick(engine, at("2024-06-12 09:30"))
    _hand_in(engine, tmp_path, XIYANG, "2024-06-28 09:00")  # a Friday

    for moment in ("2024-06-28 18:00", "2024-07-01 09:30", "2024-07-02 08:59"):
        assert remind_reviewers(engine, CAMPAIGN, at(moment)).messages == 0
    first = remind_reviewers(engine, CAMPAIGN, at("2024-07-02 09:30"))  # 2 working days: Tuesday 09:00
    assert first.reminded == [("operators", XIYANG, ITEM, 1)] and first.messages == 1
    before = snapshot(engine)
    for moment in ("2024-07-02 09:30", "2024-07-02 16:00", "2024-07-03 09:30"):
        assert remind_reviewers(engine, CAMPAIGN, at(moment)).messages == 0  # once per period
    assert snapshot(engine) == before
    [told] = _messages(engine, "review_reminder")
    text = _text(engine, told)
    assert "督办工作人员：" in text and "以下单位报送的材料等待审核，请尽快审核（通过或退回）：" in text
    assert "昔阳县统计局 — 【" in text and "第1版报送于6月28日 周五 09:00，已等待审核4天" in text

    assert remind_reviewers(engine, CAMPAIGN, at("2024-07-04 09:30")).messages == 1  # the next period: Thursday
    record_review(engine, CAMPAIGN, XIYANG, ITEM, at("2024-07-04 10:00"), accept_it=True, reviewer="operator:设管科")
    assert remind_reviewers(engine, CAMPAIGN, at("2024-07-10 09:30")).messages == 0  # reviewed: nothing more
    assert [(r, when[:16]) for r, when, _units in _reminders(engine)] == [
        ("operators", "2024-07-02T01:30"),
        ("operators", "2024-07-04T01:30"),
    ]


def test_a_county_is_reminded_of_its_townships_waiting_for_its_review(engine, tmp_path):
    """With `review: {by: parent, remind_after: 1 working day}` the reminder goes to the township's county (its own
    channels and link), one message listing its townships; a reminder the county answered before the send is dropped."""
    from duban.services.review_reminders import remind_reviewers
    from duban.store.codec import Codec
    from duban.store.freshness import check

    marker = "        name: 本单位统计基层基础规范化建设总结报告\n"
    spec = _reminding_spec(tmp_path, marker, marker + "        review: {by: parent, remind_after: 1 working day}\n")
    ensure_planned(engine, spec, now=at("2024-05-09 12:00"))
    tick(engine, at("2024-05-10 09:00"))
    _hand_in(engine, tmp_path, LEPING, "2024-05-20 10:00", item="self_report")  # a Monday
    _hand_in(engine, tmp_path, "140724101", "2024-05-20 11:00", item="self_report")  # 大寨镇, also 昔阳县's
    assert remind_reviewers(engine, CAMPAIGN, at("2024-05-21 08:00")).messages == 0
    done = remind_reviewers(engine, CAMPAIGN, at("2024-05-21 09:10"))
    assert done.messages == 1 and {r[0] for r in done.reminded} == {XIYANG}
    [(recipient, _when, units)] = _reminders(engine)
    assert recipient == XIYANG and sorted(units) == [LEPING, "140724101"]
    [told] = _messages(engine, "review_reminder")
    text = _text(engine, told)
    assert "昔阳县统计局：" in text and "以下下级单位报送的材料等待您单位审核" in text and "乐平镇" in text

    record_review(engine, CAMPAIGN, LEPING, "self_report", at("2024-05-21 09:20"), accept_it=True, reviewer_unit=XIYANG)
    with engine.connect() as conn:
        fresh = check(Codec(conn), [(told.id, told.payload)], at("2024-05-21 09:30"))
    assert [i["unit"] for i in fresh[told.id].payload["items"]] == ["140724101"]
    assert fresh[told.id].dropped[0]["why"] == "材料已审核"


def test_remind_after_must_be_a_positive_wait(tmp_path):
    from duban.errors import SpecError
    from duban.spec.load import load_spec

    spec = _reminding_spec(
        tmp_path,
        "review: {by: operators, within: 3 working days, remind_after: 2 working days}",
        "review: {by: operators, remind_after: soon}",
    )
    with pytest.raises(SpecError, match="remind_after"):
        load_spec(spec)


def test_a_county_returns_a_township_from_its_page_with_a_new_due(engine, tmp_path, parent_reviewed):
    """The county's review form carries an optional 新的截止时间 (as `duban review --return --until`): a typo is
    refused by the field's name and changes nothing; a date moves the township's due there."""
    from duban.settings import Settings
    from tests.integration.portal_site import Site, text_of

    ensure_planned(engine, parent_reviewed, now=at("2024-05-09 12:00"))
    tick(engine, at("2024-05-10 09:00"))
    _hand_in(engine, tmp_path, LEPING, "2024-05-20 10:00", item="self_report")
    site = Site(Settings(), engine, at("2024-05-21 10:00"))
    token = site.token(XIYANG)
    assert 'name="due"' in site.page(token).text and "新的截止时间" in site.page(token).text
    row = _row(engine, LEPING, "self_report")

    def post(**fields):
        data = {"csrf": site.csrf(f"/u/{token}"), "version": "1", **fields}  # 第1版, as the page showed
        return site.client.post(f"/u/{token}/reviews/{row.id}", data=data, follow_redirects=False)

    refused = post(decision="return", reason="缺少经验亮点部分", due="下周三")
    assert refused.status_code == 400 and "新的截止时间：“下周三”不是日期" in text_of(refused.text)
    accepted_with_due = post(decision="accept", due="2024-05-28")
    assert accepted_with_due.status_code == 400 and "新的截止时间：只在退回时填写" in text_of(accepted_with_due.text)
    assert _row(engine, LEPING, "self_report").state == "in_review"
    # a due in a year without 节假日 data (2027 chosen in late December) was a 500 (a tester's finding)
    gap = post(decision="return", reason="缺少经验亮点部分", due="2099-01-05")
    assert gap.status_code == 409 and "2099年的节假日和调休安排尚未录入督办系统" in text_of(gap.text)
    assert "本次操作未保存" in text_of(gap.text) and "错误编号" not in text_of(gap.text)
    assert "缺少这一年的节假日安排" in gap.text and "预览模式" not in gap.text and "2098年" not in gap.text
    assert _row(engine, LEPING, "self_report").state == "in_review" and reviews_of(engine, CAMPAIGN) == []
    returned = post(decision="return", reason="缺少经验亮点部分", due="2024-05-28")
    assert returned.status_code == 303, text_of(returned.text)
    assert _row(engine, LEPING, "self_report").due_at == end("2024-05-28")
    [review] = reviews_of(engine, CAMPAIGN, unit_code=LEPING)
    assert review.decision == "returned" and review.reason == "缺少经验亮点部分"


def test_an_over_long_new_due_is_refused_not_cut_to_a_date(sqlite_engine, tmp_path, parent_reviewed):
    """`2026-12-25` followed by spaces and 后再延长三天 was cut to its first 40 characters and read as 12-25."""
    from duban.settings import Settings
    from tests.integration.portal_site import Site, text_of

    engine = sqlite_engine
    ensure_planned(engine, parent_reviewed, now=at("2024-05-09 12:00"))
    tick(engine, at("2024-05-10 09:00"))
    _hand_in(engine, tmp_path, LEPING, "2024-05-20 10:00", item="self_report")
    site = Site(Settings(), engine, at("2024-05-21 10:00"))
    token = site.token(XIYANG)
    row = _row(engine, LEPING, "self_report")
    data = {"csrf": site.csrf(f"/u/{token}"), "decision": "return", "reason": "缺签章", "version": "1"}
    data["due"] = "2024-05-28" + " " * 30 + "后再延长三天"
    refused = site.client.post(f"/u/{token}/reviews/{row.id}", data=data, follow_redirects=False)
    assert refused.status_code == 400 and "新的截止时间过长" in text_of(refused.text)
    assert _row(engine, LEPING, "self_report").state == "in_review" and reviews_of(engine, CAMPAIGN) == []


def test_an_over_long_revocation_reason_is_refused_not_cut(sqlite_engine):
    from tests.integration.portal_site import make_site, text_of

    site = make_site(sqlite_engine, now="2024-06-20 10:00", ticked="2024-06-12 09:30")
    assert site.login().status_code == 303
    page = f"/ops/c/{CAMPAIGN}/u/{LEPING}"
    data = {"csrf": site.csrf(page), "reason": "x" * 5000}
    refused = site.client.post(f"{page}/revoke", data=data, follow_redirects=False)
    assert refused.status_code == 400 and "停用原因不超过200字" in text_of(refused.text)
    assert site.audit("revoke") == []


def test_a_return_reason_over_1000_characters_is_refused_at_ops_not_cut(sqlite_engine, tmp_path):
    from tests.integration.portal_site import make_site, text_of

    site = make_site(sqlite_engine, now="2024-06-20 10:00", ticked="2024-06-12 09:30")
    assert site.login().status_code == 303
    handed = _hand_in(site.engine, tmp_path, XIYANG, "2024-06-20 09:00")
    loop = f"/ops/c/{CAMPAIGN}/loop"
    data = {"csrf": site.csrf(loop), "decision": "return", "reason": "缺" * 5000, "version": "1"}
    refused = site.client.post(f"/ops/c/{CAMPAIGN}/reviews/{handed.assignment_id}", data=data, follow_redirects=False)
    assert refused.status_code == 400 and "退回理由不超过1000字" in text_of(refused.text)  # the queue, the reason kept
    assert reviews_of(site.engine, CAMPAIGN, unit_code=XIYANG) == []
    [entry] = site.audit("refused")  # the operator's refused return is in the audit log, with why
    assert entry.actor == "operator:duban" and entry.unit_code == XIYANG and not entry.ok
    assert "退回" in entry.target and "退回理由不超过1000字" in entry.detail


def test_a_units_messages_arrive_in_the_order_they_were_written(engine, tmp_path):
    """Two versions handed in and returned, dispatched at once by 16 threads: the unit read the 退回 of 第1版, then
    the receipt of 第2版, then its 退回, in the order written (each message of a channel without a bot's limit went
    alone)."""
    from duban.services.compose import compose_messages
    from duban.services.dispatch import dispatch

    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    dispatch(engine, at("2024-06-12 09:30"), lambda _: _Slow(), fallback_channels=["sink"], concurrency=16)
    for version, (handed, returned) in enumerate((("06-12 10:00", "06-12 11:00"), ("06-13 10:00", "06-13 10:30"))):
        _hand_in(engine, tmp_path, XIYANG, f"2024-{handed}")
        compose_messages(engine, CAMPAIGN, at(f"2024-{handed}"), recipients=[XIYANG])  # its receipt, as the CLI does
        why = ("缺少签章", "仍缺签章")[version]
        record_review(engine, CAMPAIGN, XIYANG, ITEM, at(f"2024-{returned}"), accept_it=False, reason=why)
        compose_messages(engine, CAMPAIGN, at(f"2024-{returned}"), recipients=[XIYANG])
    slow = _Slow()
    dispatch(engine, at("2024-06-13 11:05"), lambda _: slow, fallback_channels=["sink"], concurrency=16)
    read = [(e.kind, e.rendered.text) for e in slow.seen if e.recipient == XIYANG]
    # the 第1版 receipt is told by the 第2版 one (duban.store.freshness): its 待审核 no longer held
    assert [kind for kind, _text in read] == ["returned", "receipt", "returned"], read
    assert "第1版已退回；已于6月13日 周四 10:00重新报送第2版" in read[0][1] and "第2版已退回" in read[2][1], read
    # a receipt of a reviewed item does not call the version 按时报送: 待审核 until reviewed, then what was decided
    assert "第2版，报送时间：6月13日 周四 10:00（截止前报送，已退回）" in read[1][1], read[1][1]


class _Slow:
    """A channel that takes its time over receipts (a slow mail server): threads racing would overtake it."""

    def __init__(self) -> None:
        import threading

        self.seen: list = []
        self._lock = threading.Lock()

    def send(self, channel, envelope):  # noqa: ANN001
        import time

        from duban.notify.notifier import SendResult

        if envelope.kind == "receipt":
            time.sleep(0.2)
        with self._lock:
            self.seen.append(envelope)
        return SendResult(True, "recorded")


def test_an_operators_return_shows_its_reason_on_the_ops_pages_escaped(sqlite_engine, tmp_path):
    """/ops listed a 退回 made from /ops as `materials_upload 退回`, without why (a tester's finding): the unit's
    最近记录 and the audit log now say the reason, as typed and escaped (a person typed it)."""
    from tests.integration.portal_site import make_site, text_of

    site = make_site(sqlite_engine, now="2024-06-20 10:00", ticked="2024-06-12 09:30")
    assert site.login().status_code == 303
    handed = _hand_in(site.engine, tmp_path, XIYANG, "2024-06-20 09:00")
    loop = f"/ops/c/{CAMPAIGN}/loop"
    data = {"csrf": site.csrf(loop), "decision": "return", "reason": "评分表缺少<b>乡镇签章</b>", "version": "1"}
    returned = site.client.post(f"/ops/c/{CAMPAIGN}/reviews/{handed.assignment_id}", data=data, follow_redirects=False)
    assert returned.status_code == 303
    for path in (f"/ops/c/{CAMPAIGN}/u/{XIYANG}", f"/ops/c/{CAMPAIGN}/audit"):
        page = site.client.get(path).text
        assert "materials_upload 第1版 退回 · 评分表缺少<b>乡镇签章</b>" in text_of(page), path
        assert "<b>乡镇签章</b>" not in page and "&lt;b&gt;乡镇签章&lt;/b&gt;" in page, path


def test_the_clis_review_is_in_the_audit_log_as_the_portals_is(tmp_path):
    """`duban review` left no entry in the audit log, while a review on the portal does (a tester's finding): the
    operators' audit page lists the CLI's return with its reason and its acceptance, under 管理员（命令行）."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.services.operators import save_operator
    from duban.settings import Settings
    from duban.store.db import engine_for
    from tests.integration.portal_site import OPERATOR, Site, text_of

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)

    sheet = tmp_path / "昔阳县检查材料.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    review = ("review", JINZHONG, "--unit", "昔阳县统计局", "--item", ITEM)
    run("submit", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--file", sheet, "--at", "2024-06-28 09:00")
    returned = run(*review, "--return", "--reason", "评分表缺少乡镇签章", "--at", "2024-06-28 10:00")
    assert returned.exit_code == 0, returned.output
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分", "签章"], ["乐平镇", 86, "已盖章"]]))
    run("submit", JINZHONG, "--unit", XIYANG, "--item", ITEM, "--file", sheet, "--at", "2024-07-01 09:00")
    assert run(*review, "--accept", "--at", "2024-07-01 10:00").exit_code == 0
    settings = Settings()
    save_operator(settings.operators_file, *OPERATOR)
    site = Site(settings, engine_for(settings.resolved_database_url), at("2024-07-01 11:00"))
    assert site.login().status_code == 303
    log = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/audit?action=review").text)
    assert "管理员（命令行） 审核 昔阳县统计局 materials_upload 第2版 通过 成功" in log, log
    assert "管理员（命令行） 审核 昔阳县统计局 materials_upload 第1版 退回 · 评分表缺少乡镇签章 成功" in log, log


def test_a_return_never_shortens_a_units_time_and_decides_only_the_version_shown(engine, tmp_path, parent_reviewed):
    """Two outside testers' findings on a county's review form: a 新的截止时间 before the due in force was taken (a
    township that handed in early owed it again sooner, and turned yellow at once); and 审核通过 clicked on a
    page showing 第1版 accepted 第2版, handed in after the page was opened (a file nobody had looked at)."""
    from duban.settings import Settings
    from tests.integration.portal_site import Site, text_of

    ensure_planned(engine, parent_reviewed, now=at("2024-05-09 12:00"))
    tick(engine, at("2024-05-10 09:00"))
    _hand_in(engine, tmp_path, LEPING, "2024-05-14 10:00", item="self_report")
    site = Site(Settings(), engine, at("2024-05-15 10:00"))
    token = site.token(XIYANG)
    page = site.page(token).text
    assert 'name="version" value="1"' in page
    row = _row(engine, LEPING, "self_report")
    due = row.due_at

    def post(**fields):
        data = {"csrf": site.csrf(f"/u/{token}"), **fields}
        return site.client.post(f"/u/{token}/reviews/{row.id}", data=data, follow_redirects=False)

    early = post(decision="return", reason="缺少经验亮点部分", due="2024-05-17", version="1")
    assert early.status_code == 400 and "新的截止时间不能早于原截止时间（5月25日" in text_of(early.text), text_of(
        early.text
    )
    assert _row(engine, LEPING, "self_report").due_at == due and reviews_of(engine, CAMPAIGN) == []
    with pytest.raises(RequestError, match="earlier than the due in force"):  # `duban review --return --until`
        record_review(
            engine,
            CAMPAIGN,
            LEPING,
            "self_report",
            at("2024-05-15 10:00"),
            accept_it=False,
            reason="缺页",
            until=end("2024-05-17"),
        )
    _hand_in(engine, tmp_path, LEPING, "2024-05-15 11:00", item="self_report")  # 第2版, the page still shows 第1版
    stale = post(decision="accept", version="1")
    assert stale.status_code == 400 and "该单位已重新报送第2版（您看到的是第1版），请刷新页面后再审核" in text_of(
        stale.text
    )
    assert _row(engine, LEPING, "self_report").state == "in_review" and reviews_of(engine, CAMPAIGN) == []
    assert post(decision="accept", version="2").status_code == 303
    [review] = reviews_of(engine, CAMPAIGN, unit_code=LEPING)
    assert review.decision == "accepted"
    from tests.integration.portal_site import OPERATOR, save_operator

    save_operator(site.settings.operators_file, *OPERATOR)
    assert site.login().status_code == 303  # the audit log names the county that reviewed, not 单位 140724
    audit = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/audit?action=review").text)  # the reviews alone
    assert "昔阳县统计局" in audit and "单位 140724" not in audit, audit[:600]


@pytest.mark.parametrize("then", ["extended", "handed in again"])
def test_a_return_held_over_the_night_says_what_is_true_in_the_morning(engine, tmp_path, then):
    """A 退回 written at 22:30 waits for the end of quiet hours. Overnight the unit's extension was approved (the
    morning send said the old due beside the 延期 answer with the new one), or the unit handed the file in again
    (the morning send still asked it to 重新报送): an outside tester's findings. The 退回 goes with the due in force,
    or, once the file is in again, with its reason and the re-submission in place of a due."""
    from duban.notify.notifier import RecordingNotifier
    from duban.services.compose import compose_messages
    from duban.services.dispatch import dispatch
    from duban.services.extension import decide_extension, request_extension

    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    _hand_in(engine, tmp_path, XIYANG, "2024-06-27 09:00")
    night = at("2024-06-27 22:30")
    record_review(engine, CAMPAIGN, XIYANG, ITEM, night, accept_it=False, reason="评分表缺少乡镇签章")
    assert _row(engine, XIYANG).due_at == end("2024-07-02")  # 3 working days after 6/27
    if then == "extended":
        asked = request_extension(
            engine, CAMPAIGN, XIYANG, ITEM, end("2024-07-05"), at("2024-06-27 23:00"), reason="补签章"
        )
        decide_extension(engine, asked.id, at("2024-06-27 23:10"), approve=True)
    else:
        _hand_in(engine, tmp_path, XIYANG, "2024-06-27 23:30")
    compose_messages(engine, CAMPAIGN, at("2024-06-27 23:40"))
    sink = RecordingNotifier()
    dispatch(engine, at("2024-06-28 07:40"), lambda _ref: sink, fallback_channels=["sink"])
    sent = [e.rendered.text for channel in sink.sent.values() for e in channel if e.recipient == XIYANG]
    returns = [text for text in sent if "以下材料经审核退回" in text]
    if then == "extended":
        [text] = returns
        assert "第1版已退回，请于7月5日 周五 24:00前重新报送" in text and "7月2日" not in text, text
        assert "退回原因：评分表缺少乡镇签章" in text
    else:  # it no longer asks for the file, but its reason still reaches the group
        [text] = returns
        assert "第1版已退回；已于6月27日 周四 23:30重新报送第2版" in text and "前重新报送（" not in text, text
        assert "退回原因：评分表缺少乡镇签章" in text


def test_a_return_the_unit_has_answered_on_its_page_no_longer_asks_for_the_file_in_its_heading(sqlite_engine):
    """A 退回 written at 22:30 waited for the morning; 昔阳县 handed 第2版 in on its page at 23:30. The morning
    message's item line said so (第1版已退回；已于…重新报送第2版) while its heading above still read
    以下材料经审核退回，请按要求修改后重新报送 and its subject 退回重报 (a 昔阳县 clerk's finding). The heading now
    agrees with the item and the page; 寿阳县, returned alike and handing in nothing since, is still asked."""
    from duban.notify.notifier import RecordingNotifier
    from duban.services.compose import compose_messages
    from duban.services.dispatch import dispatch
    from tests.integration.portal_site import make_site, text_of

    site = make_site(sqlite_engine, now="2024-06-27 09:00", ticked="2024-06-12 09:30")
    tokens = {unit: site.token(unit) for unit in (XIYANG, SHOUYANG)}
    for unit, token in tokens.items():
        handed = site.submit(token, ITEM, [(f"{unit}检查材料.xlsx", xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))])
        assert handed.status_code == 303, handed.text
        record_review(sqlite_engine, CAMPAIGN, unit, ITEM, at("2024-06-27 22:30"), accept_it=False, reason="缺少签章")
    site.now = at("2024-06-27 23:30")
    again = site.submit(tokens[XIYANG], ITEM, [("昔阳县检查材料（补签章）.xlsx", xlsx_bytes([["乡镇", "得分"]]))])
    assert again.status_code == 303, again.text
    card = text_of(site.page(tokens[XIYANG]).text).split("抽查县、乡统计机构评分表")[1]
    assert "已报送，等待审核" in card and "请修改后" not in card, card  # the page: 第2版 waits for review
    compose_messages(sqlite_engine, CAMPAIGN, at("2024-06-27 23:40"))
    sink = RecordingNotifier()
    dispatch(sqlite_engine, at("2024-06-28 07:40"), lambda _ref: sink, fallback_channels=["sink"])
    sent = [e for channel in sink.sent.values() for e in channel if e.kind == "returned"]
    [xiyang] = [e.rendered for e in sent if e.recipient == XIYANG]
    assert "第1版已退回；已于6月27日 周四 23:30重新报送第2版" in xiyang.text and "退回原因：缺少签章" in xiyang.text
    assert "请按要求修改后" not in xiyang.text and "前重新报送" not in xiyang.text, xiyang.text
    assert "以下材料经审核退回，您单位已重新报送：" in xiyang.text, xiyang.text
    assert "退回重报" not in xiyang.subject and "已重新报送" in xiyang.subject, xiyang.subject
    [shouyang] = [e.rendered for e in sent if e.recipient == SHOUYANG]  # nothing new: still asked, by its due
    assert "以下材料经审核退回，请按要求修改后重新报送：" in shouyang.text, shouyang.text
    assert "第1版已退回，请于7月2日 周二 24:00前重新报送" in shouyang.text and "退回重报" in shouyang.subject
