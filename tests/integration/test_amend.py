"""An amendment mid-campaign (晋中 "回头看", 2024-06-12): the 县级检查 stage ends 6/20 instead of 6/10 (端午),
材料上报 moves to 7/5. Every earlier submission and transition stays, only the named items move, every other
row is byte-identical, the units still owing are told once, and later ticks follow the new dues."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from duban.domain.messages import render
from duban.domain.plan import load_calendar_for
from duban.errors import StoreError
from duban.instants import fmt
from duban.notify.notifier import SinkNotifier
from duban.services.amend import apply_amendment
from duban.services.compose import describe
from duban.services.dispatch import dispatch
from duban.services.lifecycle import plan_file
from duban.services.submit import record_submission
from duban.spec.amendment import load_amendment
from duban.store.tables import AmendmentRow, Assignment, OutboxMessage, Submission, TransitionRow
from duban.views.campaigns import load_campaign
from tests.conftest import JINZHONG, ROOT, SPECS
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, snapshot, tick
from tests.samples import pdf_bytes, xlsx_bytes

EXTENSION = SPECS / "amendments" / "jinzhong-2024-county-check-extension.yaml"
NAMED = {"county_inspection", "county_report", "materials_upload"}
TZ = "Asia/Shanghai"
XIYANG, SHOUYANG, HESHUN, YUCI = "140724", "140725", "140723", "140702"


def _submit(engine, tmp_path, unit, item, when, **metrics):
    sheet = tmp_path / f"{unit}-{item}.xlsx"
    sheet.write_bytes(xlsx_bytes([["单位", "事项"], [unit, item]]))
    return record_submission(
        engine, CAMPAIGN, unit, item, at(when), files=[sheet], metrics=metrics, files_dir=tmp_path / "files"
    )


def _rows(engine, model, *where):
    with engine.connect() as conn:
        return conn.execute(select(model.__table__).where(*where).order_by(model.__table__.c.id)).all()


def _by_item(snap_rows, keep):
    """Assignment rows (as snapshot text) of the items `keep` accepts; column 4 is item_id."""
    return [r for r in snap_rows if keep(r[4])]


def _amend(engine, when="2024-06-12 08:00", **kw):
    spec, _plan = plan_file(JINZHONG)
    return apply_amendment(engine, spec, load_amendment(EXTENSION), load_calendar_for(spec), at=at(when), **kw)


def test_an_amendment_keeps_every_submission_and_changes_only_what_it_names(engine, tmp_path):
    plan_jinzhong(engine)
    _submit(engine, tmp_path, YUCI, "self_score_sheet", "2024-05-20 10:00")
    _submit(engine, tmp_path, XIYANG, "county_inspection", "2024-06-05 10:00", townships_inspected="6")
    tick(engine, at("2024-06-11 09:30"))  # 6/10 (端午) has passed: the others are overdue
    late = _submit(engine, tmp_path, SHOUYANG, "county_inspection", "2024-06-11 10:00", townships_inspected="7")
    assert late.late
    before = snapshot(engine)

    with pytest.raises(
        StoreError, match="already runs to 2024-06-11 周二 10:00: an amendment takes effect from then on"
    ):
        _amend(engine, when="2024-06-10 08:00")  # before what the record already holds
    dry = _amend(engine, dry_run=True)
    assert dry.changed and not dry.written and snapshot(engine) == before

    result = _amend(engine)
    after = snapshot(engine)
    # every submission untouched, every earlier transition and message kept
    assert after["submission"] == before["submission"]
    assert set(before["transition"]) <= set(after["transition"])
    assert set(before["outbox"]) <= set(after["outbox"]) and set(before["intent"]) <= set(after["intent"])
    # the items it does not name: byte-identical rows
    assert _by_item(after["assignment"], lambda i: i not in NAMED) == _by_item(
        before["assignment"], lambda i: i not in NAMED
    )
    assert _by_item(after["assignment"], lambda i: i in NAMED) != _by_item(before["assignment"], lambda i: i in NAMED)

    a = Assignment.__table__
    rows = {(r.item_id, r.unit_code): r for r in _rows(engine, Assignment, a.c.item_id.in_(NAMED))}
    assert len(rows) == 33 and len(result.changed) == 33  # 11 counties × 3 items
    assert {fmt(r.due_at, TZ) for (item, _u), r in rows.items() if item != "materials_upload"} == {
        "2024-06-20 周四 24:00"
    }
    assert {fmt(r.due_at, TZ) for (item, _u), r in rows.items() if item == "materials_upload"} == {
        "2024-07-05 周五 24:00"
    }
    # submitted stays submitted; the late one counts as on time under the rule now in force; the overdue reopen
    assert rows[("county_inspection", XIYANG)].state == "submitted"
    assert rows[("county_inspection", SHOUYANG)].state == "submitted"
    reopened = rows[("county_inspection", HESHUN)]
    assert reopened.state == "open" and reopened.escalations_done == 0
    assert fmt(reopened.next_event_at, TZ) == "2024-06-17 周一 09:00"  # 3 working days before 6/20
    assert [s.late for s in _rows(engine, Submission, Submission.__table__.c.unit_code == SHOUYANG)] == [True]

    t = TransitionRow.__table__
    amended = _rows(engine, TransitionRow, t.c.event == "amended")
    assert len(amended) == 33 and {r.step for r in amended} == {1}
    moves = {(r.from_state, r.to_state) for r in amended}
    assert ("overdue", "open") in moves and ("late", "submitted") in moves and ("open", "open") in moves
    [record] = _rows(engine, AmendmentRow)
    assert (record.seq, record.doc_no) == (1, "示例〔2024〕1号") and "防汛" in record.reason
    assert {c["item"] for c in record.changes} == NAMED

    # one message per county: its changed items with the new and the old due, the number and the reason
    messages = _rows(engine, OutboxMessage, OutboxMessage.__table__.c.kind == "amended")
    assert len(messages) == 11 and result.messages == 11
    xiyang = next(m for m in messages if m.recipient == XIYANG)
    assert {i["item_id"] for i in xiyang.payload["items"]} == {
        "county_report",
        "materials_upload",
    }  # it submitted the third
    campaign = load_campaign(engine, CAMPAIGN)
    heshun = next(m for m in messages if m.recipient == HESHUN)
    text = render(
        describe(campaign, heshun.payload),
        title=campaign.spec.title,
        issuer=campaign.spec.issuer,
        doc_no=campaign.spec.doc_no,
        tz=TZ,
        key=heshun.idempotency_key,
    ).text
    assert "示例〔2024〕1号" in text and "调整原因：受端午节假期和防汛工作影响" in text
    assert "截止时间调整为：6月20日 周四 24:00前（还有8天" in text and "原截止6月10日 周一 24:00" in text
    assert "截止时间调整为：7月5日 周五 24:00前" in text
    shouyang = next(m for m in messages if m.recipient == SHOUYANG)
    text = render(
        describe(campaign, shouyang.payload),
        title=campaign.spec.title,
        issuer=campaign.spec.issuer,
        doc_no=None,
        tz=TZ,
        key=shouyang.idempotency_key,
    ).text
    assert "您单位已报送，按调整后的时间计为按时报送" in text

    # the dispatcher sends them like any other message
    sink = SinkNotifier(tmp_path / "sink")
    sent = dispatch(engine, at("2024-06-12 08:05"), lambda _: sink, fallback_channels=["sink"], campaign_id=CAMPAIGN)
    assert sent.by_kind.get("amended") == 11
    lines = [json.loads(x) for x in (tmp_path / "sink" / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    [to_heshun] = [m for m in lines if m["kind"] == "amended" and m["to"] == HESHUN]
    assert to_heshun["subject"] == '【督办】统计基层基础工作规范化建设"回头看"：截止时间调整（3项）'
    assert (
        '晋中市统计局《关于调整"回头看"县级检查和材料上报时间的通知（示例）》（示例〔2024〕1号）' in to_heshun["text"]
    )
    after = snapshot(engine)

    # the same amendment again changes nothing
    again = _amend(engine, when="2024-06-13 08:00")
    assert again.already and snapshot(engine) == after


def test_after_an_amendment_ticks_follow_the_new_dues(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-06-11 09:30"))
    _amend(engine)
    a = Assignment.__table__
    tick(engine, at("2024-06-17 09:00"))  # the new reminder, no second overdue
    heshun = _rows(engine, Assignment, a.c.item_id == "county_inspection", a.c.unit_code == HESHUN)[0]
    assert heshun.state == "due_soon"
    receipt = _submit(engine, tmp_path, HESHUN, "county_inspection", "2024-06-18 15:00", townships_inspected="6")
    assert not receipt.late  # before the new due: on time
    tick(engine, at("2024-06-21 09:00"))
    states = {r.unit_code: r.state for r in _rows(engine, Assignment, a.c.item_id == "county_inspection")}
    assert states[HESHUN] == "submitted" and states[XIYANG] == "overdue"
    t = TransitionRow.__table__
    overdue = _rows(engine, TransitionRow, t.c.event == "overdue", t.c.assignment_id == heshun.id)
    assert [fmt(r.event_at, TZ) for r in overdue] == ["2024-06-10 周一 24:00"]  # the old slip stays in the audit


def test_duban_amend_on_the_command_line():
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.settings import get_settings
    from duban.store.db import engine_for

    runner = CliRunner()
    plan_jinzhong(engine_for(get_settings().resolved_database_url))  # as a first tick would (no Prefect needed)
    args = ["amend", str(JINZHONG), str(EXTENSION), "--at", "2024-06-12 08:00"]
    dry = runner.invoke(app, [*args, "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert "county_inspection: 11 assignment(s), due 2024-06-10 周一 24:00 → 2024-06-20 周四 24:00" in dry.output
    assert "would re-plan 33 assignment(s); 11 unit(s) would be told" in dry.output
    done = runner.invoke(app, args, catch_exceptions=False)
    assert "re-planned 33 assignment(s); 11 unit(s) told (11 message(s) in the outbox" in done.output
    assert "was applied before: nothing changed" in runner.invoke(app, args, catch_exceptions=False).output
    wrong = runner.invoke(app, ["amend", str(SPECS / "hengyang-2021-law-month.yaml"), str(EXTENSION)])
    assert wrong.exit_code == 1 and "error: " in wrong.output and "not 'hengyang-2021-law-month'" in wrong.output


def test_one_period_of_a_recurring_item_moves_and_adding_periods_is_refused(sqlite_engine, tmp_path):
    from duban.errors import PlanError
    from duban.services.lifecycle import ensure_planned

    path = SPECS / "shandong-2020-open-government.yaml"
    campaign_id = ensure_planned(sqlite_engine, path, now=at("2020-07-08 09:00")).campaign_id
    spec, _plan = plan_file(path)
    head = "campaign: shandong-2020-open-government\nissuer: 山东省统计局办公室\nreason: 四季度发布会改期\n"
    moved = tmp_path / "q4.yaml"
    moved.write_text(
        head + "changes:\n  - {item: press_conferences, instance: 2020Q4, due: 2021-01-20}\n", encoding="utf-8"
    )
    before = snapshot(sqlite_engine)
    result = apply_amendment(
        sqlite_engine, spec, load_amendment(moved), load_calendar_for(spec), at=at("2020-11-02 09:00")
    )
    assert [(c.item_id, c.instance, fmt(c.new_due, TZ)) for c in result.changed] == [
        ("press_conferences", "2020Q4", "2021-01-20 周三 24:00")
    ]
    changed_ids = {str(c.assignment_id) for c in result.changed}
    assert [r for r in snapshot(sqlite_engine)["assignment"] if r[0] not in changed_ids] == [
        r for r in before["assignment"] if r[0] not in changed_ids
    ]
    longer = tmp_path / "longer.yaml"
    longer.write_text(head + "changes:\n  - {stage: platforms, start: 2020-07-08, end: 2021-03-31}\n", encoding="utf-8")
    with pytest.raises(
        PlanError, match="would add or drop periods of a recurring item .new: press_conference_posting 2021Q1"
    ):
        apply_amendment(sqlite_engine, spec, load_amendment(longer), load_calendar_for(spec), at=at("2020-11-03 09:00"))
    assert campaign_id == "shandong-2020-open-government"


def test_an_amendment_leaving_an_item_opening_after_its_due_is_refused(sqlite_engine):
    """晋中 燃气排查 (2025): 自查 moved to 10/10 would open 县级复查 then, after its 节日值班表's due (10/8): the next
    tick would send 开始办理, 逾期 and 催办 together. Refused, nothing written; with the item's new due it applies."""
    from duban.errors import PlanError
    from duban.services.lifecycle import ensure_planned
    from duban.spec.load import load_spec

    zj = ROOT / "tests" / "specs" / "zj-2025-gas.yaml"
    ensure_planned(sqlite_engine, zj, now=at("2025-09-15 12:00"))
    spec = load_spec(zj)
    before = snapshot(sqlite_engine)
    with pytest.raises(PlanError, match="item 'holiday_due' is due 2025-10-08 周三 24:00, before it opens"):
        apply_amendment(
            sqlite_engine,
            spec,
            load_amendment(ROOT / "tests" / "specs" / "amendments" / "zj-2025-gas-move.yaml"),
            load_calendar_for(spec),
            at=at("2025-09-26 09:00"),
        )
    assert snapshot(sqlite_engine) == before
    dry = apply_amendment(
        sqlite_engine,
        spec,
        load_amendment(ROOT / "tests" / "specs" / "amendments" / "zj-2025-gas-move.yaml"),
        load_calendar_for(spec),
        at=at("2025-09-26 09:00"),
        dry_run=True,
    )
    assert len(dry.errors) == 1 and not dry.written
    done = apply_amendment(
        sqlite_engine,
        spec,
        load_amendment(ROOT / "tests" / "specs" / "amendments" / "zj-2025-gas-move-with-due.yaml"),
        load_calendar_for(spec),
        at=at("2025-09-26 09:00"),
    )
    assert done.written and not done.errors
    due = {fmt(r.due_at, TZ) for r in _rows(sqlite_engine, Assignment, Assignment.item_id == "holiday_due")}
    assert due == {"2025-10-15 周三 24:00"}


def test_an_amendment_reaching_the_date_a_unit_asked_settles_its_request_and_says_so(sqlite_engine):
    """F7: 和顺 asked to hand in its 检查评分表 by 6/14; the 调整通知 moved the due to 6/20. The request stayed 待审批,
    and could no longer be approved (6/14 is not after the due); the unit's 截止时间调整 said nothing of it."""
    from duban.errors import RequestError
    from duban.instants import parse_instant
    from duban.services.extension import decide_extension, request_extension
    from duban.views.extensions import requests_of

    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-06-05 09:30"))
    asked = request_extension(
        sqlite_engine,
        CAMPAIGN,
        HESHUN,
        "county_inspection",
        parse_instant("2024-06-14", TZ, end_of_day=True),
        at("2024-06-05 10:00"),
        reason="检查组人员抽调防汛",
    )
    _amend(sqlite_engine)
    [settled] = requests_of(sqlite_engine, CAMPAIGN, unit_code=HESHUN)
    assert settled.status.value == "settled"
    assert settled.note == "不再需要：调整通知（示例〔2024〕1号）已将截止时间调整为6月20日 周四 24:00"
    with pytest.raises(RequestError) as refused:
        decide_extension(sqlite_engine, asked.id, at("2024-06-12 09:00"), approve=True)
    assert "已不再需要" in refused.value.cn
    campaign = load_campaign(sqlite_engine, CAMPAIGN)
    o = OutboxMessage.__table__
    [heshun] = _rows(sqlite_engine, OutboxMessage, o.c.kind == "amended", o.c.recipient == HESHUN)
    text = render(
        describe(campaign, heshun.payload),
        title=campaign.spec.title,
        issuer=campaign.spec.issuer,
        doc_no=None,
        tz=TZ,
        key=heshun.idempotency_key,
    ).text
    said = [line.strip() for line in text.splitlines() if "延期申请" in line]
    assert len(said) == 1, text
    assert said[0].endswith(
        "您单位的延期申请（申请延至6月14日 周五 24:00）已不再需要：调整通知（示例〔2024〕1号）已将截止时间调整为"
        "6月20日 周四 24:00"
    )
    [xiyang] = _rows(sqlite_engine, OutboxMessage, o.c.kind == "amended", o.c.recipient == XIYANG)
    assert "延期申请" not in json.dumps(xiyang.payload, ensure_ascii=False)  # it asked for nothing


def test_an_amendment_closing_a_stage_in_the_past_warns_as_a_due_moved_into_the_past_does(sqlite_engine, tmp_path):
    """A notice taking effect 6/8 that ends 县级检查阶段 on 6/5, its items still due 6/10, warned only that they are
    now due outside their stage (an outside tester's finding): the stage's end before the amendment takes effect is
    said too, in the dry run and the real one, as a due moved into the past is."""
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-06-08 09:00"))
    path = tmp_path / "closed.yaml"
    path.write_text(
        "campaign: jinzhong-2024-lookback\nissuer: 晋中市统计局\nissued_on: 2024-06-08\nreason: 提前结束\nchanges:\n"
        "  - {stage: county_check, end: 2024-06-05}\n"
        "  - {item: county_inspection, due: 2024-06-10}\n"
        "  - {item: county_report, due: 2024-06-10}\n",
        encoding="utf-8",
    )
    spec, _plan = plan_file(JINZHONG)
    for dry_run in (True, False):
        result = apply_amendment(
            sqlite_engine,
            spec,
            load_amendment(path),
            load_calendar_for(spec),
            at=at("2024-06-08 10:00"),
            dry_run=dry_run,
        )
        assert (
            "stage 县级检查阶段 now ends 2024-06-05 周三 24:00, before the amendment takes effect (2024-06-08 周六 "
            "10:00): it is over from the moment the units are told"
        ) in result.warnings, result.warnings
        assert any("outside its stage 县级检查阶段" in w for w in result.warnings), result.warnings


def test_an_amendment_moving_a_due_into_the_past_warns_that_units_are_overdue_at_once(sqlite_engine, tmp_path):
    """A notice taking effect 6/8 that moves 县级总结报告 from 6/10 to 6/5 made the 11 counties still owing it overdue
    a week back without a word (an outside tester's finding): a warning, in the dry run and the real one."""
    plan_jinzhong(sqlite_engine)
    report = tmp_path / "昔阳县总结报告.pdf"
    report.write_bytes(pdf_bytes("昔阳县回头看总结报告"))
    record_submission(
        sqlite_engine,
        CAMPAIGN,
        XIYANG,
        "county_report",
        at("2024-06-03 10:00"),
        files=[report],
        files_dir=tmp_path / "files",
    )
    tick(sqlite_engine, at("2024-06-08 09:00"))
    path = tmp_path / "early.yaml"
    path.write_text(
        "campaign: jinzhong-2024-lookback\nissuer: 晋中市统计局\nissued_on: 2024-06-08\nreason: 提前完成\nchanges:\n"
        "  - {item: county_report, due: 2024-06-05}\n",
        encoding="utf-8",
    )
    spec, _plan = plan_file(JINZHONG)
    for dry_run in (True, False):
        result = apply_amendment(
            sqlite_engine,
            spec,
            load_amendment(path),
            load_calendar_for(spec),
            at=at("2024-06-08 10:00"),
            dry_run=dry_run,
        )
        assert result.warnings == [
            "item 'county_report' is now due 2024-06-05 周三 24:00, before the amendment takes effect "
            "(2024-06-08 周六 10:00): the 10 unit(s) still owing it are overdue from the moment they are told"
        ], result.warnings
