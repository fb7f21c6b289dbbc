"""Stages ordered by each other in the spec and the plan (issue 25): the earliest instants, marked as depending."""

from __future__ import annotations

import pytest

from duban.domain.calendar import WorkCalendar
from duban.domain.plan import build_plan
from duban.errors import SpecError
from duban.instants import fmt
from duban.spec.load import load_spec
from duban.spec.models import Campaign
from tests.conftest import ROOT

TZ = "Asia/Shanghai"
SPEC = ROOT / "tests" / "specs" / "jinzhong-2024-stage-order.yaml"


@pytest.fixture(scope="module")
def plan():
    return build_plan(load_spec(SPEC), WorkCalendar())


def test_the_plan_gives_the_earliest_instants_and_marks_the_stages_that_depend(plan):
    windows = {k: (fmt(a, TZ), fmt(b, TZ)) for k, (a, b) in plan.stage_windows.items()}
    assert windows["county_check"] == (
        "2024-05-31 周五 24:00",
        "2024-06-17 周一 24:00",
    )  # 10 working days over 端午 6/10
    assert windows["city_check"] == (
        "2024-06-03 周一 08:30",
        "2024-06-11 周二 24:00",
    )  # earliest: 1 working day after 5/31
    assert windows["materials"] == ("2024-06-14 周五 08:30", "2024-06-19 周三 24:00")
    assert plan.depending["city_check"] == "县级检查阶段80%单位完成后1个工作日"
    assert plan.held == {"city_check", "materials"}  # county_check follows a date: nothing for the tick to decide


def test_plan_prints_them_as_depending(plan):
    from rich.console import Console

    from duban.cli.show import plan_json, print_plan

    console = Console(record=True, width=240)
    print_plan(console, load_spec(SPEC), plan, every=False)
    text = console.export_text()
    assert "〔县级检查阶段80%单位完成后1个工作日开启；最早时刻，实际由巡检按记录决定〕" in text
    assert plan_json(plan)["depending"]["materials"]["decided_by_tick"] is True


@pytest.mark.parametrize(
    ("stage", "said"),
    [
        (
            "{id: b, name: 乙, follows: a, window: {start: 2024-05-01, end: 2024-05-02}, lasts: 3 days}",
            "drop its `window:`",
        ),
        ("{id: b, name: 乙, follows: a}", "say how long it lasts"),
        ("{id: b, name: 乙, follows: c, lasts: 3 days}", "not an earlier stage"),
        ("{id: b, name: 乙, follows: {stage: a, finished: 120%}, lasts: 3 days}", "between 0 and 100"),
    ],
)
def test_a_stage_order_that_cannot_be_is_an_error_at_its_line(tmp_path, stage, said):
    path = tmp_path / "t.yaml"
    path.write_text(
        'id: t\ntitle: 测试\nissuer: 晋中市统计局\nregistry: {divisions: ["140724"]}\nstages:\n'
        "  - {id: a, name: 甲, window: {start: 2024-05-10, end: 2024-05-20}}\n"
        f"  - {stage}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert said in str(caught.value) and "t.yaml:" in str(caught.value)


def test_the_stage_order_is_in_the_published_schema():
    import jsonschema

    from duban.spec.source import read_source

    jsonschema.validate(read_source(SPEC).data, Campaign.model_json_schema())
