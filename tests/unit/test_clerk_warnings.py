"""What a careful clerk says about a spec that plans (issue 25): each warning here is checked against the 2024
schedule (劳动节 5/1–5/5, 端午节 Monday 6/10) and is absent when the spec does not call for it."""

from __future__ import annotations

import textwrap

import pytest

from duban.domain.calendar import WorkCalendar
from duban.spec.checks import validate
from duban.spec.load import load_spec

SPEC = """\
id: t
title: 统计执法检查
issuer: 昔阳县统计局
registry: {divisions: ["140724"]}
window: {start: 2024-05-06, end: 2024-06-30}
forwarded_by: [{issuer: 乐平镇人民政府, doc_no: 乐政发〔2024〕3号, issued_on: 2024-05-13}]
events: [{id: day, name: 统计法宣传日, at: 2024-05-12, kind: key_day}]
groups:
  乐平镇: {units: ["140724100", "140724101"]}
stages:
  - id: self
    name: 自查阶段
    window: {start: 2024-05-10, end: 2024-05-31}
    items:
      - {id: monthly, name: 月报, units: "140724", every: {every: month, days: [20]}}
      - {id: report, name: 自查报告, units: "140724", due: 2024-05-20, submit_to: 乐平镇}
      - {id: weekend, name: 周末报表, units: "140724", due: 2024-05-26, postpone: holidays}
  - id: city
    name: 市级抽查
    window: {start: 2024-06-10, end: 2024-07-05}
    items:
      - {id: binder, name: 检查台账, units: 乐平镇}
"""


def _warnings(tmp_path, text: str = SPEC):
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    _plan, warnings = validate(load_spec(path), WorkCalendar())
    return {(w.path, w.message) for w in warnings}, [str(w) for w in warnings]


def _at(found, path: str) -> list[str]:
    return [message for where, message in found if where == path]


@pytest.fixture
def found(tmp_path):
    return _warnings(tmp_path)[0]


def test_the_window_opening_before_its_first_stage(found):
    [said] = _at(found, "window.start")
    assert "opens 2024-05-06 周一 08:30, 4 day(s) before its first stage 自查阶段 (2024-05-10 周五 08:30)" in said


def test_a_stage_ending_after_the_window(found):
    [said] = [m for m in _at(found, "stages[1].window.end") if "window closes" in m]
    assert "市级抽查 ends 2024-07-05 周五 24:00, after the campaign's window closes (2024-06-30 周日 24:00)" in said


def test_a_forwarding_notice_issued_after_the_window_opened_and_after_a_key_day(found):
    said = _at(found, "forwarded_by[0].issued_on")
    assert any(
        "乐政发〔2024〕3号 forwarded the notice on 2024-05-13 周一, 7 day(s) after the window opened" in m for m in said
    )
    assert any("after the key day 统计法宣传日 (2024-05-12 周日)" in m for m in said)


def test_a_stage_opening_on_a_holiday_says_its_messages_go_out_that_day(found):
    [said] = _at(found, "stages[1].window.start")
    assert "opens 2024-06-10 周一 08:30, on the statutory holiday 端午节: its 开始办理 messages go out that day" in said
    assert "next working day (2024-06-11 周二)" in said
    assert not _at(found, "stages[0].window.start")  # Friday 5/10 is a working day


def test_periods_of_a_recurring_report_opening_on_days_off_are_said(tmp_path):
    """每月 台账 over 2025-12 to 2026-03: periods opened on 元旦 and two Sundays, and nothing said so."""
    text = SPEC.replace(
        '      - {id: monthly, name: 月报, units: "140724", every: {every: month, days: [20]}}\n', ""
    ).replace(
        "  - id: city\n",
        "  - id: ledger\n    name: 台账\n    window: {start: 2025-12-01, end: 2026-03-31}\n    items:\n"
        '      - {id: ledger, name: 隐患排查台账, units: "140724", every: {every: month}}\n  - id: city\n',
    )
    found, _ = _warnings(tmp_path, text)
    [said] = [m for m in _at(found, "stages[1].items[0].every") if "open on a day off" in m]
    assert said.startswith("item 'ledger': 3 of its 4 periods open on a day off (2026-01-01 周四 08:30（元旦）"), said
    assert "2026-02-01 周日 08:30（周末）、2026-03-01 周日 08:30（周末）" in said


def test_a_periodic_and_a_one_off_report_due_the_same_day(found):
    [said] = _at(found, "stages[0].items[1].due")
    assert "item 'report' falls due on 2024-05-20 周一 with 月报 [2024-05-20] (1 unit(s) owe both that day)" in said


def test_escalation_after_working_days_says_exactly_when_it_fires(found, tmp_path):
    [said] = [m for m in _at(found, "stages[0]") if "催办" in m]  # no `defaults:`: said where the default applies
    assert said.startswith("duban's default 催办 after 2个工作日 fires at 09:00 as the 2nd working day after the due")
    assert "due 2024-05-20 周一 24:00 → 2024-05-22 周三 09:00" in said
    assert "`defaults: {escalation: {after: 3 working days}}`" in said
    from rich.console import Console

    from duban.cli.show import print_plan
    from duban.domain.plan import build_plan

    path = tmp_path / "t.yaml"
    path.write_text(SPEC, encoding="utf-8")
    console = Console(record=True, width=220)
    print_plan(console, load_spec(path), build_plan(load_spec(path), WorkCalendar()), every=False)
    assert "催办 2024-05-22 周三 09:00（截止后第2个工作日 09:00）" in console.export_text()


def test_postpone_holidays_chosen_on_purpose_is_not_warned_again_on_a_weekend(tmp_path, found):
    assert not _at(found, "stages[0].items[2].due")  # Sunday 5/26 kept on purpose
    again, _text = _warnings(tmp_path, SPEC.replace("due: 2024-05-26, postpone: holidays", "due: 2024-05-26"))
    assert any("on a weekend day" in m for m in _at(again, "stages[0].items[2].due"))


def test_a_name_that_is_both_a_group_and_a_unit_is_named_the_same_way_under_every_key(found):
    words = "'乐平镇' is both a group (2 unit(s)) and a unit of the registry (140724100 乐平镇"
    [submit_to] = _at(found, "stages[0].items[1].submit_to")
    [units] = _at(found, "stages[1].items[0].units")
    assert words in submit_to and words in units and "write its code (140724100)" in units
    assert submit_to == f"submit_to: {units}; messages show it as written"


def test_a_spec_that_calls_for_none_of_them_gets_none(tmp_path):
    quiet = textwrap.dedent("""\
        id: t
        title: 统计执法检查
        issuer: 昔阳县统计局
        registry: {divisions: ["140724"]}
        window: {start: 2024-05-10, end: 2024-05-31}
        defaults: {escalation: {after: 3 days}}
        stages:
          - id: self
            name: 自查阶段
            window: {start: 2024-05-10, end: 2024-05-31}
            items:
              - {id: report, name: 自查报告, units: "140724", due: 2024-05-22}
        """)
    _found, text = _warnings(tmp_path, quiet)
    assert text == []


def test_a_monthly_report_due_early_in_each_month_says_how_it_was_read(tmp_path):
    """`every: 每月5日前` over 12月–次年3月 made the first 台账 due 12/5, four days after opening, and none for March's
    (due 4/5): the notice's 每月5日前报送上月台账 reads the other way, and nothing said which was taken."""
    text = SPEC.replace("every: {every: month, days: [20]}", "every: 每月5日前").replace(
        "window: {start: 2024-05-10, end: 2024-05-31}", "window: {start: 2024-05-01, end: 2024-06-30}"
    )
    found, _ = _warnings(tmp_path, text)
    [said] = [m for m in _at(found, "stages[0].items[0].every") if "read as due" in m]
    assert said.startswith("item 'monthly' is read as due on day 5 of each month (2024-05-05 周日、2024-06-05"), said
    assert "write `every: {every: month, due_after_period: 5 days}` (月后5日)" in said
    assert not [m for m in _at(_warnings(tmp_path)[0], "stages[0].items[0].every") if "read as due" in m]  # day 20


def test_a_department_line_tasking_hong_kong_and_macao_is_said(tmp_path):
    """`departments: {level: province}` with no exclusion tasked a 香港特别行政区住房和城乡建设厅 and a 澳门 one
    (33 units) without a word (an outside tester's finding); the shipped ministry spec excludes them."""
    from tests.conftest import SPECS

    spec = """\
id: m
title: 城市体检
issuer: 住房和城乡建设部
registry: {divisions: [全国], levels: [nation, province], line: housing}
groups:
  departments: {level: province}
stages:
  - id: plan
    name: 工作方案
    window: {start: 2025-04-15, end: 2025-05-15}
    items:
      - {id: plan_doc, name: 工作方案, units: departments}
"""
    found, _ = _warnings(tmp_path, spec)
    [said] = [m for _where, m in found if "special administrative regions" in m]
    assert "810000 香港特别行政区住房和城乡建设厅" in said and "820000 澳门特别行政区住房和城乡建设厅" in said
    assert "exclude: {units: ['810000', '820000']}" in said
    _plan, shipped = validate(load_spec(SPECS / "national-2025-housing-ministry.yaml"), WorkCalendar())
    assert not any("special administrative regions" in w.message for w in shipped)
