"""Dues written every way the notices write them: dates, times, relative to events and items, 顺延, periods."""

import textwrap

import pytest

from duban.domain.calendar import WorkCalendar
from duban.domain.plan import build_plan
from duban.instants import fmt
from duban.spec.load import load_spec

TZ = "Asia/Shanghai"
HEAD = """\
id: t
title: 测试
issuer: 昔阳县统计局
registry: {divisions: ["140724"]}
"""


def _plan(tmp_path, body: str):
    path = tmp_path / "t.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return build_plan(load_spec(path), WorkCalendar())


def _due(plan, item_id):
    return {fmt(a.due_at, TZ) for a in plan.assignments if a.item_id == item_id}


def test_date_time_and_explicit_offset(tmp_path):
    plan = _plan(
        tmp_path,
        """
        stages:
          - id: s
            name: 阶段
            window: {start: 2021-12-01, end: 2021-12-31}
            items:
              - {id: noon, name: 署名文章, units: "140724", due: "2021-12-05 12:00"}
              - {id: utc, name: 报表, units: "140724", due: "2021-12-05T04:00Z"}
              - {id: plain, name: 总结, units: "140724"}
        """,
    )
    assert _due(plan, "noon") == {"2021-12-05 周日 12:00"}
    assert _due(plan, "utc") == {"2021-12-05 周日 12:00"}
    assert _due(plan, "plain") == {"2021-12-31 周五 24:00"}


def test_relative_to_an_event_in_working_days_across_a_holiday(tmp_path):
    # 2024 国庆: 10/1–10/7 off, 9/29 (Sun) and 10/12 (Sat) worked
    plan = _plan(
        tmp_path,
        """
        window: {start: 2024-09-20, end: 2024-10-31}
        events:
          - {id: open_day, name: 统计开放日, at: 2024-09-27, kind: event}
        stages:
          - id: s
            name: 总结
            items:
              - {id: summary, name: 活动总结, units: "140724", due: {after: event:open_day, offset: 3 working days}}
              - {id: early, name: 预告, units: "140724", due: {before: event:open_day, offset: 2 days, at: "17:00"}}
              - {id: next, name: 跟进, units: "140724", due: {after: item:summary, offset: 12 hours}}
        """,
    )
    # after Fri 9/27: Sun 9/29 (worked), Mon 9/30, then 10/8
    assert _due(plan, "summary") == {"2024-10-08 周二 24:00"}
    assert _due(plan, "early") == {"2024-09-25 周三 17:00"}
    assert _due(plan, "next") == {"2024-10-09 周三 11:59"}


def test_postpone_moves_a_holiday_due_to_the_next_working_day(tmp_path):
    plan = _plan(
        tmp_path,
        """
        stages:
          - id: s
            name: 检查
            window: {start: 2024-05-25, end: 2024-06-10}
            items:
              - {id: kept, name: 评分表, units: "140724"}
              - {id: moved, name: 总结, units: "140724", postpone: holidays}
              - {id: weekend, name: 问卷, units: "140724", due: 2024-06-15, postpone: holidays_and_weekends}
        """,
    )
    assert _due(plan, "kept") == {"2024-06-10 周一 24:00"}
    assert _due(plan, "moved") == {"2024-06-11 周二 24:00"}
    assert _due(plan, "weekend") == {"2024-06-17 周一 24:00"}


def test_a_reminder_on_a_day_off_goes_out_on_the_working_day_before_under_postpone(tmp_path):
    """`postpone: holidays_and_weekends` moved the due off a Sunday but its reminders still fell on Sundays and in
    国庆 (an outside tester's finding). 2024: 10/1–10/7 off; 9/29 (Sun) and 10/12 (Sat) worked (调休)."""
    plan = _plan(
        tmp_path,
        """
        window: {start: 2024-09-20, end: 2024-10-31}
        defaults:
          postpone: holidays_and_weekends
        stages:
          - id: s
            name: 国庆前后
            items:
              - id: after_holiday
                name: 快报
                units: "140724"
                due: 2024-10-08
                reminders: ["3 working days", "1 day"]
              - {id: sunday, name: 周报, units: "140724", due: 2024-10-14, reminders: ["3 days", "1 day"]}
              - {id: kept, name: 月报, units: "140724", due: 2024-10-14, reminders: ["1 day"], postpone: none}
              - {id: holidays_only, name: 旬, units: 140724, due: 2024-10-21, reminders: [1 day], postpone: holidays}
              - {id: late_open, name: 专, units: "140724", opens: 2024-10-18 10:00, due: 2024-10-21, reminders: [1 day]}
        """,
    )
    reminders = {a.item_id: [fmt(t, TZ) for t in a.reminders] for a in plan.assignments}
    assert reminders["after_holiday"] == ["2024-09-27 周五 09:00", "2024-09-30 周一 09:00"]  # 10/7 is 国庆
    assert reminders["sunday"] == ["2024-10-11 周五 09:00", "2024-10-12 周六 09:00"]  # 10/13 Sun; 10/12 调休上班
    assert reminders["kept"] == ["2024-10-13 周日 09:00"]  # no 顺延: as written
    assert reminders["holidays_only"] == ["2024-10-20 周日 09:00"]  # statutory holidays only: a Sunday stays
    assert reminders["late_open"] == ["2024-10-21 周一 09:00"]  # Friday 09:00 comes before it opens: Monday


def test_quarterly_items_get_one_instance_per_quarter(tmp_path):
    plan = _plan(
        tmp_path,
        """
        window: {start: 2020-07-08, end: 2020-12-31}
        stages:
          - id: year
            name: 全年
            items:
              - id: press
                name: 新闻发布会
                units: "140724"
                every: {every: quarter, due_after_period: 10 days}
        """,
    )
    instances = sorted((a.instance, fmt(a.open_at, TZ), fmt(a.due_at, TZ)) for a in plan.assignments)
    assert instances == [
        ("2020Q3", "2020-07-08 周三 08:30", "2020-10-10 周六 24:00"),
        ("2020Q4", "2020-10-01 周四 08:30", "2021-01-10 周日 24:00"),
    ]


def test_lead_and_cooperating_units(tmp_path):
    plan = _plan(
        tmp_path,
        """
        stages:
          - id: s
            name: 活动
            window: {start: 2018-09-10, end: 2018-09-20}
            items:
              - id: talk
                name: 座谈会
                lead: "140724"
                cooperating: {level: township, under: "140724", exclude: {units: [乐平镇]}}
        """,
    )
    roles = {(a.unit_code, a.role) for a in plan.assignments}
    assert ("140724", "lead") in roles
    assert ("140724101", "cooperating") in roles  # 皋落镇
    assert not any(code == "140724100" for code, _ in roles)  # 乐平镇 excluded
    assert len(roles) == 1 + 9


def test_reminders_before_the_opening_are_dropped(tmp_path):
    plan = _plan(
        tmp_path,
        """
        defaults:
          reminders: ["5 working days", "1 day", "2 hours"]
        stages:
          - id: s
            name: 短期
            window: {start: 2024-06-27, end: 2024-06-28}
            items:
              - {id: quick, name: 快报, units: "140724"}
        """,
    )
    [a] = plan.assignments
    assert [fmt(t, TZ) for t in a.reminders] == ["2024-06-27 周四 09:00", "2024-06-28 周五 21:59"]


def test_uncovered_year_stops_the_plan(tmp_path):
    from duban.errors import SpecError

    with pytest.raises(SpecError, match="no working-day calendar for 2027"):
        _plan(
            tmp_path,
            """
            stages:
              - id: s
                name: 跨年
                window: {start: 2026-12-20, end: 2027-01-05}
                items:
                  - {id: x, name: 年报, units: "140724"}
            """,
        )


def test_escalation_can_name_a_unit_besides_parent_and_leader(tmp_path):
    plan = _plan(
        tmp_path,
        """
        groups:
          coordinator: "140724100"
        defaults:
          escalation: {after: 1 working day, to: [parent, coordinator]}
        stages:
          - id: s
            name: 阶段
            window: {start: 2024-05-06, end: 2024-05-10}
            items:
              - {id: x, name: 报表, units: {level: township}}
        """,
    )
    targets = {a.unit_code: a.escalations[0][1] for a in plan.assignments}
    assert targets["140724101"] == ("140724", "140724100")  # 皋落镇 → 昔阳县 and the coordinator 乐平镇
    assert targets["140724100"] == ("140724",)  # the coordinator is not told of its own slip


def test_the_issuer_and_its_own_office_are_not_escalated_to_each_other(tmp_path):
    """昔阳县统计局 issues the notice and its 综合股 chases the slips (`to: [parent, 综合股]`); both hold a duty. The
    bureau's slip went to its own 综合股 and the 综合股's to the bureau: one body told to 督促 itself. A township's
    slip still goes to both."""
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "xiyang.yaml").write_text(
        "units:\n  - {code: 140724-zhg, name: 综合股, title: 昔阳县统计局综合股, level: county, kind: office,\n"
        "     parent: '140724'}\n",
        encoding="utf-8",
    )
    path = tmp_path / "t.yaml"
    path.write_text(
        HEAD.replace("registry: {divisions: [", "registry: {overlay: units/xiyang.yaml, divisions: [")
        + textwrap.dedent(
            """
            groups:
              office: 140724-zhg
            defaults:
              escalation: {after: 1 working day, to: [parent, office]}
            stages:
              - id: s
                name: 阶段
                window: {start: 2024-05-06, end: 2024-05-10}
                items:
                  - {id: x, name: 报表, units: ["140724", 140724-zhg, "140724100"]}
            """
        ),
        encoding="utf-8",
    )
    plan = build_plan(load_spec(path), WorkCalendar())
    targets = {a.unit_code: a.escalations[0][1] for a in plan.assignments}
    assert targets["140724100"] == ("140724", "140724-zhg")  # 乐平镇 → 昔阳县统计局 and its 综合股
    assert targets["140724"] == ()  # not its own 综合股
    assert targets["140724-zhg"] == ()  # not the bureau it is the office of (nor itself)


def test_an_unknown_escalation_unit_is_an_error_at_its_path(tmp_path):
    from duban.errors import SpecError

    with pytest.raises(SpecError, match=r"defaults|escalation"):
        _plan(
            tmp_path,
            """
            defaults:
              escalation: {after: 1 working day, to: [parent, 不存在的科室]}
            stages:
              - id: s
                name: 阶段
                window: {start: 2024-05-06, end: 2024-05-10}
                items:
                  - {id: x, name: 报表, units: "140724"}
            """,
        )


def test_validate_warns_about_recurring_dues_and_free_text_recipients(tmp_path):
    from duban.spec.checks import validate
    from duban.spec.load import load_spec

    path = tmp_path / "t.yaml"
    path.write_text(
        HEAD
        + textwrap.dedent("""
        window: {start: 2020-07-08, end: 2020-12-31}
        stages:
          - id: year
            name: 全年
            items:
              - {id: press, name: 发布会, units: "140724", every: {every: quarter}, submit_to: 省政府新闻办}
        """),
        encoding="utf-8",
    )
    _plan_, warnings = validate(load_spec(path), WorkCalendar())
    texts = [w.message for w in warnings]
    dues = [t for t in texts if "open on a day off" not in t]  # Q4 opens on 国庆: that warning is another's
    assert not any("weekend" in t or "holiday" in t for t in dues)  # 9/30 and 12/31/2020 were working days
    assert any(
        "submit_to: no unit '省政府新闻办' in the registry" in t and "messages show it as written" in t for t in texts
    )
    # 2020Q4 ends Thursday 12/31, a working day; move the period end onto a weekend to see the warning
    path.write_text(
        path.read_text(encoding="utf-8").replace("every: quarter}", "every: quarter, due_after_period: 3 days}"),
        encoding="utf-8",
    )
    _plan_, warnings = validate(load_spec(path), WorkCalendar())
    assert any("2021-01-03 周日 24:00" in w.message and w.path.endswith("every") for w in warnings)
