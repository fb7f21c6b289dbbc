"""签收 on the 衡阳 统计法治宣传月 (acknowledge: within 1 working day, then the 市统计局 is told): the 县市区 open on
Monday 11/29 08:30 and owe their 签收 by Tuesday 08:30; those that have not are reminded then, and on Wednesday
the 市统计局 hears which still have not. A unit's 签收 (its link or `duban ack`) stops both; 签收率 is counted."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from duban.domain.messages import render
from duban.domain.quiet import QuietHours
from duban.errors import RequestError
from duban.services.acknowledgements import record_acknowledgement, tick_acknowledgements
from duban.services.compose import compose_messages, describe
from duban.services.lifecycle import ensure_planned
from duban.services.tick import tick_stage
from duban.spec.load import load_spec
from duban.store.tables import AcknowledgementRow, OutboxMessage
from duban.views.acknowledgements import ack_rates
from duban.views.campaigns import load_campaign
from tests.conftest import SPECS
from tests.integration.helpers import at

HENGYANG = SPECS / "hengyang-2021-law-month.yaml"
CAMPAIGN = "hengyang-2021-law-month"
CITY, HENGYANG_COUNTY, HENGNAN = "430400", "430421", "430422"
QUIET = QuietHours.parse("22:00-07:30")


def _plan(engine):
    ensure_planned(engine, HENGYANG, now=at("2021-11-28 12:00"))


def _tick(engine, when):
    """As the tick flow does it: the stage, then the 签收 told whether the stage opened anything."""
    moment = at(when)
    opened = tick_stage(engine, CAMPAIGN, "law_month", moment).events["opened"] > 0
    done = tick_acknowledgements(engine, CAMPAIGN, moment, quiet=QUIET, opened=opened)
    compose_messages(engine, CAMPAIGN, moment, quiet=QUIET)
    return done


def _acks(engine):
    k = AcknowledgementRow.__table__
    with engine.connect() as conn:
        return {r.unit_code: r for r in conn.execute(select(k).where(k.c.campaign_id == CAMPAIGN))}


def _messages(engine, kind):
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        return conn.execute(select(o).where(o.c.kind == kind).order_by(o.c.id)).all()


def _rendered(engine, message, campaign_id=CAMPAIGN):
    """The message as its recipient reads it (subject and text)."""
    campaign = load_campaign(engine, campaign_id)
    return render(
        describe(campaign, message.payload),
        title=campaign.spec.title,
        issuer=campaign.spec.issuer,
        doc_no=campaign.spec.doc_no,
        tz=campaign.tz,
        key=message.idempotency_key,
    )


def _text(engine, message):
    return _rendered(engine, message).text


def _rows(engine, model):
    with engine.connect() as conn:
        return sorted(tuple(str(v) for v in r) for r in conn.execute(select(model.__table__)))


def test_units_that_do_not_acknowledge_are_reminded_then_escalated_and_the_rate_is_counted(engine):
    _plan(engine)
    acks = _acks(engine)
    counties = sorted(code for code in acks if code.startswith("4304") and len(code) == 6 and code != CITY)
    assert len(counties) == 12 and acks[HENGYANG_COUNTY].due_at == at("2021-11-30 08:30")
    assert acks[HENGYANG_COUNTY].targets == [CITY]
    _tick(engine, "2021-11-29 08:30")  # told at the opening (a later tick would count the 签收 from itself)
    # the opening asks for the 签收, and by when: the unit's first word of it was "尚未签收…已逾期" (a tester's
    # finding)
    opened = _text(engine, next(m for m in _messages(engine, "opened") if m.recipient == HENGNAN))
    assert "本通知要求签收：请于收到后1个工作日内签收" in opened, opened
    assert record_acknowledgement(engine, CAMPAIGN, HENGYANG_COUNTY, at("2021-11-29 15:00"), actor="unit:430421") == [
        ""
    ]
    with pytest.raises(RequestError, match="acknowledged already"):
        record_acknowledgement(engine, CAMPAIGN, HENGYANG_COUNTY, at("2021-11-29 16:00"))

    done = _tick(engine, "2021-11-30 09:00")
    reminded = {unit for _stage, unit in done.missing}
    assert HENGYANG_COUNTY not in reminded and set(counties) - {HENGYANG_COUNTY} <= reminded
    reminders = _messages(engine, "ack_reminder")
    assert {m.recipient for m in reminders} == reminded
    text = _text(engine, next(m for m in reminders if m.recipient == HENGNAN))
    assert "以下通知您单位尚未签收，请向发文单位确认签收：" in text  # no portal address here: no link to open
    assert "【通知】收到通知后签收" in text and "签收截止：11月30日 周二 08:30（已逾期30分钟，至今未签收）" in text
    # a reminder that goes at the deadline itself read "签收截止：11月30日 周二 08:30" as if time were left
    message = next(m for m in reminders if m.recipient == HENGNAN)
    at_due = SimpleNamespace(
        payload={**message.payload, "as_of": at("2021-11-30 08:30").isoformat()}, idempotency_key="k"
    )
    assert "签收截止：11月30日 周二 08:30（已到签收截止时间，至今未签收）" in _text(engine, at_due)
    early = SimpleNamespace(
        payload={**message.payload, "as_of": at("2021-11-30 07:00").isoformat()}, idempotency_key="k"
    )
    assert "签收截止：11月30日 周二 08:30前（还有1小时30分钟）" in _text(engine, early)
    before = (_rows(engine, AcknowledgementRow), _rows(engine, OutboxMessage))
    _tick(engine, "2021-11-30 09:00")  # the same instant again: nothing new
    assert (_rows(engine, AcknowledgementRow), _rows(engine, OutboxMessage)) == before

    record_acknowledgement(engine, CAMPAIGN, HENGNAN, at("2021-11-30 10:00"))
    done = _tick(engine, "2021-12-01 09:00")
    assert HENGNAN not in {unit for _s, unit in done.escalated} and len(done.escalated) >= 10
    [escalation] = _messages(engine, "ack_escalation")
    assert escalation.recipient == CITY
    text = _text(engine, escalation)
    assert "以下单位逾期未签收通知，请督促签收：\n1. 【通知】收到通知后签收" in text
    # the ten and more counties under the one item, not a line each (issue 24's tester: a 29 KB 催办)
    listed = text.split("未签收的单位（")[1].split("\n联系人")[0].split("\n晋")[0]
    assert listed.startswith(f"{len(done.escalated)}个）：") and "衡东县统计局" in listed
    assert "衡南县" not in text and "衡阳县统计局" not in listed
    with engine.connect() as conn:
        done_n, asked = ack_rates(conn, CAMPAIGN, at("2021-12-01 09:00"))[""]
    assert done_n == 2 and asked == len([a for a in acks.values() if a.open_at <= at("2021-12-01 09:00")])


def test_the_cli_records_a_units_acknowledgement_and_status_shows_the_rate():
    from typer.testing import CliRunner

    from duban.cli.main import app

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)

    done = run("ack", HENGYANG, "--unit", HENGYANG_COUNTY, "--at", "2021-11-29 15:00")
    assert done.exit_code == 0, done.output
    assert "已签收 衡阳县统计局（430421）：通知（2021-11-29 周一 15:00）" in done.output
    again = run("ack", HENGYANG, "--unit", HENGYANG_COUNTY, "--at", "2021-11-29 16:00")
    assert (
        again.exit_code == 1 and "error: unit 430421 has nothing to acknowledge (acknowledged already)" in again.output
    )
    early = run("ack", HENGYANG, "--unit", CITY, "--at", "2021-11-29 16:00")  # 市本级 opens only on 12/5
    assert early.exit_code == 1, early.output
    assert f"error: unit {CITY} has nothing to acknowledge by 2021-11-29 周一 16:00: 签收 is asked when" in early.output
    unknown = run("ack", HENGYANG, "--unit", "999999", "--at", "2021-11-29 16:00")
    assert unknown.exit_code == 1, unknown.output
    assert "error: --unit '999999' is no unit of campaign 'hengyang-2021-law-month'" in unknown.output
    no_stage = run("ack", HENGYANG, "--unit", HENGYANG_COUNTY, "--stage", "nosuch", "--at", "2021-11-29 16:00")
    assert no_stage.exit_code == 1 and "error: no stage 'nosuch'; stages: " in no_stage.output, no_stage.output
    stage = next(s.id for s in load_spec(HENGYANG).campaign.stages if s.acknowledge is None)
    none = run("ack", HENGYANG, "--unit", HENGYANG_COUNTY, "--stage", stage, "--at", "2021-11-29 16:00")
    assert none.exit_code == 1 and f"error: stage {stage} asks no 签收" in none.output, none.output
    status = run("status", HENGYANG, "--as-of", "2021-11-30 09:00")
    assert "签收率：通知 1/" in status.output


def test_an_acknowledgement_and_a_tick_at_the_same_moment_on_postgres(pg_engine):
    import threading

    engine = pg_engine
    _plan(engine)
    _tick(engine, "2021-11-29 08:30")  # told at the opening
    moment = at("2021-11-30 08:30")
    start, errors = threading.Barrier(2), []

    def run(work):
        start.wait()
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(lambda: record_acknowledgement(engine, CAMPAIGN, HENGNAN, moment),)),
        threading.Thread(target=run, args=(lambda: tick_acknowledgements(engine, CAMPAIGN, moment, quiet=QUIET),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    tick_acknowledgements(engine, CAMPAIGN, moment, quiet=QUIET)  # what the tick skipped while the row was locked
    acks = _acks(engine)
    assert acks[HENGNAN].state == "acknowledged" and acks[HENGNAN].next_event_at is None
    assert all(
        a.state == "unacknowledged" for code, a in acks.items() if code not in (HENGNAN,) and a.open_at <= moment
    )
    before = (_rows(engine, AcknowledgementRow), _rows(engine, OutboxMessage))
    tick_acknowledgements(engine, CAMPAIGN, moment, quiet=QUIET)
    assert (_rows(engine, AcknowledgementRow), _rows(engine, OutboxMessage)) == before


def test_the_prefect_summary_states_the_acknowledgement_rate(sqlite_engine):
    from duban.views.artifacts import summary_markdown
    from duban.views.progress import campaign_view

    _plan(sqlite_engine)
    _tick(sqlite_engine, "2021-11-29 09:00")
    record_acknowledgement(sqlite_engine, CAMPAIGN, HENGYANG_COUNTY, at("2021-11-29 15:00"))
    text = summary_markdown(campaign_view(sqlite_engine, CAMPAIGN, at("2021-11-30 09:00")))
    assert "- 签收率（通知）**8.3%**（12个单位中1个已签收）" in text


def test_an_acknowledgement_refreshes_the_prefect_summary_the_same_day(engine):
    """The summary artifact's 签收率 is republished when a unit acknowledges, though nothing else happened: an
    acknowledgement changes a row and adds none, so the views count the campaign's 签收 given."""
    from duban.views.artifacts import summary_markdown
    from duban.views.progress import campaign_view, views_published, views_stale

    _plan(engine)
    _tick(engine, "2021-11-29 08:30")
    marks = views_stale(engine, CAMPAIGN, at("2021-11-29 08:30"))
    assert marks is not None
    views_published(engine, CAMPAIGN, at("2021-11-29 08:30"), marks)
    assert views_stale(engine, CAMPAIGN, at("2021-11-29 09:00")) is None  # nothing since: an idle tick
    record_acknowledgement(engine, CAMPAIGN, HENGNAN, at("2021-11-29 09:10"), actor=f"unit:{HENGNAN}")
    after = views_stale(engine, CAMPAIGN, at("2021-11-29 09:20"))
    assert after is not None  # the 签收 is news: the views are published again
    view = campaign_view(engine, CAMPAIGN, at("2021-11-29 09:20"))
    assert "签收率（通知）**8.3%**（12个单位中1个已签收）" in summary_markdown(view, {}, 0)
    views_published(engine, CAMPAIGN, at("2021-11-29 09:20"), after)
    assert views_stale(engine, CAMPAIGN, at("2021-11-29 09:30")) is None
    record_acknowledgement(engine, CAMPAIGN, HENGYANG_COUNTY, at("2021-11-29 09:40"), actor="cli")
    assert views_stale(engine, CAMPAIGN, at("2021-11-29 09:50")) is not None


def test_a_second_acknowledgement_from_the_page_is_refused_and_audited(sqlite_engine, tmp_path):
    """Two phones of one 县统计局 tap 签收 from the same page: the second is told 本单位已签收, and the audit log keeps
    the refusal as it keeps every other (who, what, why), not only the 签收 given."""
    import re
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from duban.services.links import issue
    from duban.settings import Settings
    from duban.web import create_app
    from tests.integration.portal_site import Site

    _plan(sqlite_engine)
    _tick(sqlite_engine, "2021-11-29 08:30")
    site = Site(Settings(home=tmp_path / "home"), sqlite_engine, at("2021-11-29 10:00"))
    token = issue(site.settings.portal_key(), CAMPAIGN, HENGNAN, site.now, timedelta(days=45))
    page = site.client.get(f"/u/{token}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    other_phone = TestClient(
        create_app(site.settings, engine=sqlite_engine, clock=lambda: site.now), base_url="http://portal.test"
    )
    other_phone.cookies.update(site.client.cookies)
    first = site.client.post(f"/u/{token}/ack", data={"csrf": csrf}, follow_redirects=False)
    assert first.status_code == 303
    second = other_phone.post(f"/u/{token}/ack", data={"csrf": csrf}, follow_redirects=False)
    assert second.status_code == 400 and "本单位已签收" in second.text
    entries = [(e.action, e.ok, e.detail) for e in site.audit() if e.unit_code == HENGNAN and e.target == "签收"]
    assert entries == [("acknowledge", True, None), ("refused", False, "本单位已签收")]


def test_a_first_tick_after_the_opening_counts_the_签收_from_when_the_units_are_told(engine):
    """The campaign's first tick came a day and a half after the opening (deployed late, ticks stopped): each unit
    got its 开始办理 and, in the same send, a 签收提醒 saying it was 已逾期13小时; the next morning all were escalated
    (an outside tester's finding). The 签收 is counted from that tick; a unit told on time is reminded as before."""
    _plan(engine)
    late = "2021-11-30 21:00"  # the notice opened 11-29 08:30, its 签收 due 11-30 08:30
    done = _tick(engine, late)
    assert done.missing == [] and _messages(engine, "ack_reminder") == []
    acks = _acks(engine)
    assert acks[HENGNAN].open_at == at(late) and acks[HENGNAN].due_at == at("2021-12-01 21:00")
    assert _tick(engine, "2021-12-01 09:00").missing == []  # within the day it was given
    reminded = _tick(engine, "2021-12-01 21:00")
    assert (("", HENGNAN) in reminded.missing) and _messages(engine, "ack_reminder")


def test_an_opening_held_by_quiet_hours_gives_the_whole_签收_time_from_the_morning(engine):
    """The first tick came at 00:35 (the notice opened the day before at 08:30): the 开始办理 waited for 07:30, yet
    its 签收 was due at 08:30 that morning and the unit was reminded 已逾期30分钟 at 09:00 (an outside tester's
    finding). The 签收 counts from when the message may be read: 07:30, due the next morning at 07:30."""
    _plan(engine)
    _tick(engine, "2021-11-30 00:35")
    [opened] = [m for m in _messages(engine, "opened") if m.recipient == HENGNAN]
    assert opened.not_before == at("2021-11-30 07:30")
    assert _tick(engine, "2021-11-30 09:00").missing == [] and _messages(engine, "ack_reminder") == []
    reminded = _tick(engine, "2021-12-01 07:30")
    assert ("", HENGNAN) in reminded.missing
    [reminder] = [m for m in _messages(engine, "ack_reminder") if m.recipient == HENGNAN]
    assert "签收截止：12月1日 周三 07:30" in _text(engine, reminder), _text(engine, reminder)
    assert _tick(engine, "2021-12-01 07:30").missing == []  # a tick run twice changes nothing


def test_a_units_page_keeps_saying_when_it_signed(sqlite_engine, tmp_path):
    """After 签收 the page said 已签收，谢谢。 once; reloaded later it said nothing of it, and a second clerk of the
    county could not tell whether it had signed (an outside tester's finding). It keeps the time, from the record."""
    import re
    from datetime import timedelta

    from duban.services.links import issue
    from duban.settings import Settings
    from tests.integration.portal_site import Site

    _plan(sqlite_engine)
    _tick(sqlite_engine, "2021-11-29 08:30")
    site = Site(Settings(home=tmp_path / "home"), sqlite_engine, at("2021-11-29 10:00"))
    token = issue(site.settings.portal_key(), CAMPAIGN, HENGNAN, site.now, timedelta(days=45))
    assert "已于" not in site.client.get(f"/u/{token}").text  # not signed yet: asked, with its due
    csrf = re.search(r'name="csrf" value="([^"]+)"', site.client.get(f"/u/{token}").text).group(1)
    assert site.client.post(f"/u/{token}/ack", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    site.now = at("2021-11-30 09:00")
    page = site.client.get(f"/u/{token}")
    text = re.sub(r"<[^>]+>", "", page.text)
    assert "通知已于11月29日 周一 10:00签收" in text, text
    assert "请签收通知" not in text and "签收截止" not in text


def test_a_page_asks_no_签收_by_a_past_instant_before_the_unit_is_told_of_the_opening(sqlite_engine, tmp_path):
    """A campaign planned but never ticked (no 开始办理 has gone out): the unit's page said 签收截止：11月30日 周二
    08:30（已逾期…） (an outside tester's finding). The window counts from when the unit is told, as the tick counts
    it; until then the page asks the 签收 without a due, and after the first tick with the one counted from it."""
    from datetime import timedelta

    from duban.services.links import issue
    from duban.settings import Settings
    from tests.integration.portal_site import Site

    _plan(sqlite_engine)
    site = Site(Settings(home=tmp_path / "home"), sqlite_engine, at("2021-11-30 21:00"))
    token = issue(site.settings.portal_key(), CAMPAIGN, HENGNAN, site.now, timedelta(days=45))
    text = " ".join(re.sub(r"<[^>]+>", " ", site.client.get(f"/u/{token}").text).split())
    assert "请签收通知" in text and "已逾期" not in text.split("请签收通知")[1].split("签收")[1], text
    assert "签收时限从开始办理通知发出时起算" in text, text
    _tick(sqlite_engine, "2021-11-30 21:00")  # the first tick tells the unit: due a working day later
    text = " ".join(re.sub(r"<[^>]+>", " ", site.client.get(f"/u/{token}").text).split())
    assert "签收截止： 12月1日 周三 21:00" in text and "起算" not in text, text


def test_an_idle_tick_reads_no_waiting_签收_or_intent(sqlite_engine):
    """The 签收 step of an idle tick is one probe of the due index: looking for the units told of an opening read
    every waiting 签收 and its unit's intents at each tick (21 ms of an idle tick at 10,793 units, 0.5 ms without).
    It runs only in a tick whose stages opened something, as the flow and simulate tell it."""
    from sqlalchemy import event

    from duban.simulation.simulate import domain_tick

    _plan(sqlite_engine)
    tick = domain_tick(sqlite_engine, CAMPAIGN, ["law_month"], quiet=QUIET)
    tick(at("2021-11-29 08:30"))
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):  # noqa: ANN001, ANN202
        statements.append(statement)

    event.listen(sqlite_engine, "before_cursor_execute", seen)
    try:
        tick(at("2021-11-29 15:00"))  # nothing due: the 签收 are waiting, their due is tomorrow
    finally:
        event.remove(sqlite_engine, "before_cursor_execute", seen)
    assert statements
    both = [s for s in statements if "acknowledgement" in s and "intent" in s]
    assert both == [], both
    assert all(r.state == "waiting" for r in _acks(sqlite_engine).values())


def _sent_text(engine, message):
    """The message's text as the dispatcher sends it: with what the record says at the send."""
    from duban.services.send_notes import told_at_send

    campaign = load_campaign(engine, CAMPAIGN)
    with engine.connect() as conn:
        payload = told_at_send(conn, campaign, [message.payload])[0] or message.payload
    return _text(engine, SimpleNamespace(payload=payload, idempotency_key=message.idempotency_key))


def test_the_opening_asks_the_签收_once_with_the_instant_the_record_holds(engine):
    """A county's 开始办理 said 本通知要求签收：请于收到后1个工作日内签收 under each of its items and never by when,
    while its page showed 签收截止：12月8日 周二 08:30 (an outside tester's finding). It asks once, with the instant
    the record holds when the message goes out: the planned one, or the one counted from a late first tick."""
    _plan(engine)
    _tick(engine, "2021-11-29 08:30")
    text = _sent_text(engine, next(m for m in _messages(engine, "opened") if m.recipient == HENGNAN))
    assert "\n本通知要求签收：请于11月30日 周二 08:30前签收\n" in text and text.count("要求签收") == 1, text


def test_a_late_opening_asks_the_签收_by_the_instant_counted_from_the_tick(engine):
    _plan(engine)
    _tick(engine, "2021-11-30 21:00")  # the first tick, 36 hours after the opening: the 签收 counts from here
    [opened] = [m for m in _messages(engine, "opened") if m.recipient == HENGNAN]
    text = _sent_text(engine, opened)
    assert "本通知要求签收：请于12月1日 周三 21:00前签收" in text and text.count("要求签收") == 1, text
    record_acknowledgement(engine, CAMPAIGN, HENGNAN, at("2021-11-30 21:05"))
    assert "要求签收" not in _sent_text(engine, opened)  # given before the send: nothing left to ask


SLIP_SPEC = """\
id: hengyang-2021-selfcheck
title: 统计执法检查自查
issuer: 衡阳市统计局
doc_no: 衡统〔2021〕41号
issued_on: 2021-11-29
timezone: Asia/Shanghai
window: {start: 2021-11-29, end: 2021-12-31}
registry:
  divisions: ["430400"]
groups:
  counties: {level: county, kind: division}
defaults:
  reminders: []
  escalation: {after: 1 working day, to: [parent]}
  postpone: none
acknowledge: {within: 1 working day, escalate_after: 1 working day, to: [parent]}
stages:
  - id: selfcheck
    name: 自查
    items:
      - id: selfcheck_report
        name: 自查报告
        units: counties
        opens: 2021-11-29 08:30
        due: 2021-11-30 08:30
        formats: [docx]
"""
SLIP = "hengyang-2021-selfcheck"
HENGSHAN = "430423"


def _plan_slip(engine, tmp_path):
    """The 自查报告 is due when the notice's 签收 is (Tuesday 08:30): a county that neither signed nor handed in
    slips on both at that one tick."""
    path = tmp_path / "selfcheck.yaml"
    path.write_text(SLIP_SPEC, encoding="utf-8")
    ensure_planned(engine, path, now=at("2021-11-28 12:00"))


def _tick_slip(engine, when, quiet=QUIET):
    moment = at(when)
    opened = tick_stage(engine, SLIP, "selfcheck", moment, quiet=quiet).events["opened"] > 0
    tick_acknowledgements(engine, SLIP, moment, quiet=quiet, opened=opened)
    compose_messages(engine, SLIP, moment, quiet=quiet)


def _told(engine, when):
    """(recipient → its messages) created by the tick at `when`."""
    o = OutboxMessage.__table__
    told: dict[str, list] = {}
    with engine.connect() as conn:
        for m in conn.execute(select(o).where(o.c.campaign_id == SLIP, o.c.created_at == at(when)).order_by(o.c.id)):
            told.setdefault(m.recipient, []).append(m)
    return told


def _slip_text(engine, message):
    return _rendered(engine, message, SLIP)


def test_a_unit_missing_its_签收_as_its_item_slips_gets_one_message_saying_both(engine, tmp_path):
    """常宁's 签收提醒 and its 逾期未报 came as two messages a second apart at Tuesday 08:30 (the 签收 step wrote its
    own, beside the compose's): a unit is told once a tick, the 签收 request and the slip in one message whose
    subject counts both. A county that signed is told of its slip only; one that owes nothing (免报), of its 签收
    only."""
    _plan_slip(engine, tmp_path)
    _tick_slip(engine, "2021-11-29 08:30")
    record_acknowledgement(engine, SLIP, HENGYANG_COUNTY, at("2021-11-29 10:00"))
    from duban.services.submit import record_excuse

    record_excuse(engine, SLIP, HENGSHAN, "selfcheck_report", at("2021-11-29 16:00"), reason="已并入县局年度自查")
    _tick_slip(engine, "2021-11-30 08:30")
    told = _told(engine, "2021-11-30 08:30")
    [both] = told[HENGNAN]
    assert both.kind == "overdue" and sorted(i["kind"] for i in both.payload["items"]) == ["ack_reminder", "overdue"]
    rendered = _slip_text(engine, both)
    assert rendered.subject == "【督办】统计执法检查自查：逾期未报1项、签收提醒1项", rendered.subject
    assert "以下事项已逾期未报，请尽快报送：\n1. 【自查】自查报告" in rendered.text, rendered.text
    assert "尚未签收" in rendered.text and "2. 【通知】收到通知后签收" in rendered.text, rendered.text
    [slipped] = told[HENGYANG_COUNTY]  # signed on Monday: its slip alone
    assert [i["kind"] for i in slipped.payload["items"]] == ["overdue"]
    [unsigned] = told[HENGSHAN]  # excused on Monday: its 签收 alone, as the 签收 step wrote it
    assert unsigned.kind == "ack_reminder" and [i["kind"] for i in unsigned.payload["items"]] == ["ack_reminder"]
    assert all(len(messages) == 1 for messages in told.values()), {r: len(m) for r, m in told.items()}
    before = (_rows(engine, AcknowledgementRow), _rows(engine, OutboxMessage))
    _tick_slip(engine, "2021-11-30 08:30")  # the same instant again: nothing written twice
    compose_messages(engine, SLIP, at("2021-11-30 08:30"), quiet=QUIET)
    assert (_rows(engine, AcknowledgementRow), _rows(engine, OutboxMessage)) == before


def test_an_urgent_slip_is_not_held_back_by_a_签收提醒_waiting_for_the_morning(engine, tmp_path):
    """In quiet hours the merged message parts as compose parts every unit's items: the urgent 逾期未报 goes at
    once, the 签收提醒 (not urgent here) waits for the end of the quiet hours, each in its own message."""
    _plan_slip(engine, tmp_path)
    _tick_slip(engine, "2021-11-29 08:30")
    quiet = QuietHours.parse("08:00-09:00", urgent=["overdue"])  # Tuesday's tick falls in quiet hours
    _tick_slip(engine, "2021-11-30 08:30", quiet)
    by_kind = {m.kind: m for m in _told(engine, "2021-11-30 08:30")[HENGNAN]}
    assert sorted(by_kind) == ["ack_reminder", "overdue"]
    assert [i["kind"] for i in by_kind["overdue"].payload["items"]] == ["overdue"]
    assert by_kind["overdue"].not_before == at("2021-11-30 08:30")
    assert by_kind["ack_reminder"].not_before == at("2021-11-30 09:00")


def test_the_city_told_of_a_slip_and_a_missing_签收_in_one_tick_gets_one_催办(engine, tmp_path):
    """The 签收催办 and the 逾期催办 to 衡阳市统计局 fall at the same instant when the 催办 comes 24 hours after the
    due: one message naming both, not two."""
    path = tmp_path / "selfcheck.yaml"
    path.write_text(
        SLIP_SPEC.replace("{after: 1 working day, to: [parent]}", "{after: 24 hours, to: [parent]}"),
        encoding="utf-8",
    )
    ensure_planned(engine, path, now=at("2021-11-28 12:00"))
    for when in ("2021-11-29 08:30", "2021-11-30 08:30", "2021-12-01 08:30"):
        _tick_slip(engine, when)
    [both] = _told(engine, "2021-12-01 08:30")[CITY]
    assert {i["kind"] for i in both.payload["items"]} == {"escalation", "ack_escalation"}
    subject = _slip_text(engine, both).subject
    assert subject == "【督办】统计执法检查自查：逾期催办1项（涉及12个单位）、签收催办1项（涉及12个单位）", subject


def test_a_dispatcher_polling_between_the_签收_step_and_the_compose_sends_no_签收_message_yet(engine, tmp_path):
    """The 签收 step commits before the tick's compose: a dispatcher polling in between sent 常宁's 签收提醒 alone,
    before the compose could put it with the unit's 逾期未报. The 签收 messages wait for the compose, as the
    tick's own drafts do; then each unit's one message goes, once."""
    from duban.store.dispatching import claim_ready

    def claim(when):
        with engine.begin() as conn:
            return claim_ready(conn, at(when), waiting=("pending",), gone=(), worker="d-1", limit=100, campaign_id=SLIP)

    _plan_slip(engine, tmp_path)
    _tick_slip(engine, "2021-11-29 08:30")
    assert len(claim("2021-11-29 08:31")) == 12  # the openings
    moment = at("2021-11-30 08:30")
    tick_stage(engine, SLIP, "selfcheck", moment, quiet=QUIET)
    assert tick_acknowledgements(engine, SLIP, moment, quiet=QUIET, opened=False).messages == 12
    assert claim("2021-11-30 08:30") == []  # the 逾期 drafts and the 签收 messages wait for the compose
    compose_messages(engine, SLIP, moment, quiet=QUIET)
    claimed = claim("2021-11-30 08:31")
    assert len(claimed) == 12 and len({c.recipient for c in claimed}) == 12
    assert {c.kind for c in claimed} == {"overdue"}
    assert all({i["kind"] for i in c.payload["items"]} == {"overdue", "ack_reminder"} for c in claimed)


def test_the_portal_on_the_real_clock_does_not_move_a_simulated_campaigns_record(sqlite_engine, tmp_path):
    """One 签收 from the page of the 晋中 campaign, whose record was simulated to June 2024 (as the demo's), was
    recorded at the portal's real clock (2026): its record then ran to 2026 and status and the report read 2026
    (an outside tester's finding). A portal write on a simulated campaign whose record stands more than a week
    before the clock is refused, saying why; nothing is recorded. `duban ack --at` still records it at the
    campaign's own instant, and a portal whose clock is within the record works as before."""
    import re

    from duban.services.submit import record_submission
    from duban.store.amendments import last_act
    from tests.integration.portal_site import make_site, text_of
    from tests.samples import docx_bytes, xlsx_bytes

    site = make_site(sqlite_engine, now="2024-06-12 10:00", ticked="2024-06-12 09:30", home=tmp_path / "home")
    xiyang = "140724"
    report = tmp_path / "乐平镇总结.docx"
    report.write_bytes(docx_bytes())
    record_submission(  # a simulated unit's hand-in, as the demo's synthetic behaviour records it
        sqlite_engine,
        "jinzhong-2024-lookback",
        "140724100",
        "self_report",
        at("2024-05-20 10:00"),
        actor="simulated",
        files=[report],
        files_dir=tmp_path / "files",
    )
    with sqlite_engine.connect() as conn:
        recorded = last_act(conn, "jinzhong-2024-lookback")
    site.now = at("2026-12-07 10:00")  # the wall clock, two years after the simulated record
    token = site.token(xiyang)
    csrf = re.search(r'name="csrf" value="([^"]+)"', site.page(token).text).group(1)
    acked = site.client.post(f"/u/{token}/ack", data={"csrf": csrf}, follow_redirects=False)
    said = text_of(acked.text)
    assert acked.status_code == 409, said[:500]
    assert "按模拟时钟运行（演示），记录停在2024年6月12日 周三 09:30，不能按现在的时间签收" in said, said
    handed = site.submit(token, "materials_upload", [("昔阳县检查材料.xlsx", xlsx_bytes())])
    assert handed.status_code == 409 and "不能按现在的时间报送" in text_of(handed.text)
    with sqlite_engine.connect() as conn:
        assert last_act(conn, "jinzhong-2024-lookback") == recorded  # the record did not move
    assert _acks_of(sqlite_engine, "jinzhong-2024-lookback", xiyang) == [None]
    assert site.submissions() == 1  # the simulated one alone
    assert record_acknowledgement(sqlite_engine, "jinzhong-2024-lookback", xiyang, at("2024-06-12 10:00"))
    site.now = at("2024-06-12 11:00")  # in step again: the page acknowledges as before (already, here)
    csrf = re.search(r'name="csrf" value="([^"]+)"', site.page(token).text).group(1)
    again = site.client.post(f"/u/{token}/ack", data={"csrf": csrf}, follow_redirects=False)
    assert again.status_code == 400 and "本单位已签收" in text_of(again.text)


def _acks_of(engine, campaign_id, unit):
    k = AcknowledgementRow.__table__
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(k.c.acknowledged_at).where(k.c.campaign_id == campaign_id, k.c.unit_code == unit)
            ).scalars()
        )
