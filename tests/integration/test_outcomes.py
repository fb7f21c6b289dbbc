"""Outcomes a notice names for slipping units (issue 25): 约谈, 重新开展 (owed as an item), 通报批评 — decided by the
tick from the record, in the notice's words, at instants checked by hand against the 2024 schedule (端午节 6/10)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from duban.instants import fmt
from duban.services.lifecycle import ensure_planned
from duban.services.outcomes import decide_outcomes, recorded_outcomes
from duban.services.submit import record_submission
from duban.services.tick import tick_stage
from duban.simulation.preview import simulate_spec
from duban.store.tables import Assignment
from tests.conftest import ROOT
from tests.integration.helpers import at

TZ = "Asia/Shanghai"
SPEC = ROOT / "tests" / "specs" / "xiyang-2024-outcomes.yaml"
CAMPAIGN = "xiyang-2024-outcomes"


def _tick(engine, moment):
    tick_stage(engine, CAMPAIGN, "self_check", moment)
    return decide_outcomes(engine, CAMPAIGN, moment)


@pytest.mark.parametrize("engine", ["sqlite", "pg"], indirect=True)
def test_outcomes_are_decided_from_the_record_in_the_notices_words(engine, tmp_path):
    planned = ensure_planned(engine, SPEC, now=at("2024-05-06 12:00"))
    townships = sorted({a.unit_code for a in planned.plan.assignments})
    _tick(engine, at("2024-05-13 08:30"))
    late = townships[0]
    record_submission(engine, CAMPAIGN, late, "self_report", at("2024-05-28 10:00"), files_dir=tmp_path)
    assert _tick(engine, at("2024-05-28 11:00")) == 1  # handed in after the due (Friday 5/24): 通报批评
    # due Friday 5/24 24:00; three working days after is Wednesday 5/29 09:00: 约谈 for those still out
    assert _tick(engine, at("2024-05-29 08:59")) == 0
    assert _tick(engine, at("2024-05-29 09:00")) == len(townships) - 1
    # five working days after is Friday 5/31 09:00: 重新开展, owed within 10 working days (端午 6/10 off): 6/17
    assert _tick(engine, at("2024-05-31 09:00")) == len(townships) - 1
    assert decide_outcomes(engine, CAMPAIGN, at("2024-05-31 09:05")) == 0  # each once
    rows = recorded_outcomes(engine, CAMPAIGN)
    words = {
        (r.unit_code == late, r.words, fmt(r.decided_at, TZ), fmt(r.due_at, TZ) if r.due_at else None) for r in rows
    }
    assert words == {
        (True, "逾期报送：通报批评", "2024-05-28 周二 10:00", None),
        (False, "逾期3个工作日未报：约谈", "2024-05-29 周三 09:00", None),
        (False, "逾期5个工作日未报：重新开展（限10个工作日）", "2024-05-31 周五 09:00", "2024-06-17 周一 24:00"),
    }
    with engine.connect() as conn:
        owed = conn.execute(
            select(func.count(), func.min(Assignment.due_at)).where(Assignment.item_id == "self_report-o2")
        ).one()
    assert owed[0] == len(townships) - 1 and fmt(owed[1], TZ) == "2024-06-17 周一 24:00"
    opened = tick_stage(engine, CAMPAIGN, "self_check", at("2024-05-31 09:10"))  # opens what was decided at 09:00
    assert opened.events["opened"] == len(townships) - 1  # the next tick opens 重新开展 and tells the townships


def test_plan_prints_the_outcomes_and_the_campaign_simulates():
    from rich.console import Console

    from duban.cli.show import print_plan
    from duban.domain.calendar import WorkCalendar
    from duban.domain.plan import build_plan
    from duban.spec.load import load_spec

    console = Console(record=True, width=200)
    print_plan(console, load_spec(SPEC), build_plan(load_spec(SPEC), WorkCalendar()), every=False)
    assert "处理 逾期5个工作日未报：重新开展（限10个工作日）" in console.export_text()
    preview = simulate_spec(SPEC, seed=5)
    assert any("自查报告（重新开展）" in e.rendered.text for e in preview.messages if e.kind == "opened")


FAILED_SPEC = ROOT / "tests" / "specs" / "xiyang-2024-failed.yaml"
FAILED = "xiyang-2024-failed"


def _inspected(engine) -> str:
    """xiyang-2024-failed scored on Wednesday 6/5 at 10:00: one township below 80, one below and re-scored above
    at 10:30, two above; returns the failing one."""
    from duban.domain.scoring import UnitScores
    from duban.services.scores import record_scores
    from duban.views.samples import sample_members

    ensure_planned(engine, FAILED_SPEC, now=at("2024-05-06 12:00"))
    failing, corrected, *passing = sample_members(engine, FAILED, "county_check")
    low, high = {"ledgers": 30, "reporting": 40}, {"ledgers": 45, "reporting": 45}
    scores = [UnitScores(failing, low), UnitScores(corrected, low), *(UnitScores(u, high) for u in passing)]
    record_scores(engine, FAILED, "county_check", scores, at=at("2024-06-05 10:00"))
    record_scores(engine, FAILED, "county_check", [UnitScores(corrected, high)], at=at("2024-06-05 10:30"))
    return failing


@pytest.mark.parametrize("engine", ["sqlite", "pg"], indirect=True)
def test_units_an_inspection_fails_face_the_notices_outcomes_once(engine):
    """检查得分低于80分的，通报批评并于10个工作日内重新开展自查: decided by the tick from the latest scoring."""
    failing = _inspected(engine)
    assert decide_outcomes(engine, FAILED, at("2024-06-05 09:59")) == 0  # not yet scored
    assert decide_outcomes(engine, FAILED, at("2024-06-05 11:00")) == 2  # 通报批评 and 重新开展, for one unit
    assert decide_outcomes(engine, FAILED, at("2024-06-05 11:10")) == 0  # each once
    rows = recorded_outcomes(engine, FAILED)
    assert {r.unit_code for r in rows} == {failing}  # the unit re-scored above the pass mark faces nothing
    # 10 working days from Wednesday 6/5 (端午节 Monday 6/10 off): Thursday 6/20
    assert [(r.words, fmt(r.decided_at, TZ), fmt(r.due_at, TZ) if r.due_at else None) for r in rows] == [
        ("检查未达标：通报批评", "2024-06-05 周三 10:00", None),
        ("检查未达标：重新开展（限10个工作日）", "2024-06-05 周三 10:00", "2024-06-20 周四 24:00"),
    ]
    with engine.connect() as conn:
        owed = conn.execute(select(Assignment.unit_code).where(Assignment.item_id == "self_report-o2")).scalars().all()
    assert owed == [failing]


def test_outcomes_show_in_the_digest_the_prefect_summary_and_the_close_out_report(sqlite_engine):
    """Operators read what the rules decided where they read everything else: 每日督办简报, the tick's summary
    artifact, and the 总结报告's 存在问题 with a 处理情况 list."""
    from duban.domain.calendar import WorkCalendar
    from duban.domain.messages import render_digest
    from duban.report.blocks import Para, Table
    from duban.report.draft import build_draft
    from duban.report.record import read_record
    from duban.store.tables import OutboxMessage
    from duban.views.artifacts import summary_markdown
    from duban.views.campaigns import load_campaign
    from duban.views.digest import compose_digest
    from duban.views.progress import campaign_view

    engine = sqlite_engine
    failing = _inspected(engine)
    tick_stage(engine, FAILED, "checks", at("2024-06-05 11:00"))
    assert decide_outcomes(engine, FAILED, at("2024-06-05 11:00")) == 2
    campaign = load_campaign(engine, FAILED)
    name = campaign.display(failing)

    assert compose_digest(engine, FAILED, at("2024-06-06 08:30"))
    with engine.connect() as conn:
        digest = conn.execute(select(OutboxMessage.__table__).where(OutboxMessage.kind == "digest")).one()
    text = render_digest(digest.payload, campaign, key=digest.idempotency_key).text
    assert (
        "按通知处理：\n· 自查报告：检查未达标：通报批评，1个单位"
        "\n· 自查报告：检查未达标：重新开展（限10个工作日），1个单位" in text
    )

    summary = summary_markdown(campaign_view(engine, FAILED, at("2024-06-06 08:30")))
    assert "- 处理：自查报告 · 检查未达标：通报批评 **1** 个单位" in summary

    draft = build_draft(read_record(engine, FAILED, at("2024-06-06 09:00"), WorkCalendar()))
    [problems] = [s for s in draft.sections if "存在问题" in s.heading]
    said = " ".join(b.text for b in problems.blocks if isinstance(b, Para))
    assert (
        "依照通知规定作出处理（自查报告检查未达标：通报批评1个单位，自查报告检查未达标：重新开展（限10个工作日）1个单位）"
        in said
    )
    [listed] = [b for b in problems.blocks if isinstance(b, Table) and b.caption == "处理情况"]
    assert listed.rows == [
        [name, "自查报告", "检查未达标：通报批评", "6月5日", "—"],
        [name, "自查报告", "检查未达标：重新开展（限10个工作日）", "6月5日", "6月20日"],
    ]


def test_the_simulation_scores_its_inspections_so_failing_units_meet_their_outcomes():
    """`duban simulate` of 检查得分低于80分的…重新开展: the 县级检查 is scored by a seeded draw at 09:00 on the
    working day after its 检查台账 are due (Friday 6/7 24:00 → Tuesday 6/11, 端午节 Monday 6/10 off), at least one
    township falls below 80, and the preview tells it to do 自查报告（重新开展）by 6/25 (10 working days) — before,
    nothing was scored and no `when: failed` outcome ever appeared."""
    preview = simulate_spec(FAILED_SPEC, seed=5)
    opened = [m for m in preview.messages if m.kind == "opened" and "自查报告（重新开展）" in m.rendered.text]
    assert opened and all(m.at.startswith("2024-06-11T01:00") for m in opened)  # 09:00 in 晋中 is 01:00 UTC
    assert "6月25日" in opened[0].rendered.text
    assert len({m.recipient for m in opened}) < 4  # about a fifth of the four fail, not every one
    assert preview.inspections == [
        f"2024-06-11 周二 09:00 检查评分表（县级检查）评分 4 个单位，未达标 {len(opened)} 个"
    ]
    again = simulate_spec(FAILED_SPEC, seed=5)
    assert [m.recipient for m in again.messages if m.kind == "opened" and "重新开展" in m.rendered.text] == [
        m.recipient for m in opened
    ]


def test_the_preview_runs_until_an_outcome_owed_as_an_item_is_due_and_lists_the_outcomes():
    """The self-report is due Friday 5/24; 东冶头镇 never hands it in (seed 5): 约谈 on Wednesday 5/29, 重新开展 on
    Friday 5/31 owed 10 working days later (6/3 … 6/7, 6/11 … 6/14 over 端午 6/10, 6/17). The preview runs past
    that due, so the redo's 逾期未报 goes out, and prints what the run decided."""
    from datetime import datetime

    from rich.console import Console

    from duban.cli.show import print_preview

    preview = simulate_spec(SPEC, seed=5)
    overdue = [fmt(datetime.fromisoformat(m.at), TZ) for m in preview.messages if m.kind == "overdue"]
    assert "2024-06-18 周二 07:30" in overdue  # the redo's 逾期未报, after quiet hours
    redo = [row for row in preview.outcomes if row.due_at is not None]
    assert [(fmt(row.decided_at, TZ), fmt(row.due_at, TZ)) for row in redo] == [
        ("2024-05-31 周五 09:00", "2024-06-17 周一 24:00")
    ]
    assert preview.end > redo[0].due_at
    console = Console(record=True, width=200)
    print_preview(console, preview, unit=None)
    text = console.export_text()
    assert "outcomes decided (处理): 逾期3个工作日未报：约谈 1, 逾期5个工作日未报：重新开展（限10个工作日） 1" in text
    assert "2024-05-29 周三 09:00  东冶头镇统计站 自查报告 — 逾期3个工作日未报：约谈" in text
