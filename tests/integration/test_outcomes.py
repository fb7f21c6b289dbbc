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
