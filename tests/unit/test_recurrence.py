"""Recurring items on real calendars: 2020's quarters around 国庆·中秋 (10/1–10/8, 调休 9/27 and 10/10 worked),
元旦 2021, per-period dues, a time of day, exempt periods and the item's 顺延 policy."""

import textwrap

import pytest

from duban.domain.calendar import WorkCalendar
from duban.domain.plan import build_plan
from duban.errors import SpecError
from duban.instants import fmt
from duban.spec.load import load_spec

TZ = "Asia/Shanghai"
HEAD = """\
id: t
title: 政务公开
issuer: 山东省统计局办公室
registry: {divisions: ["140724"]}
window: {start: 2020-07-08, end: 2020-12-31}
"""


def _plan(tmp_path, every: str, extra: str = ""):
    path = tmp_path / "t.yaml"
    body = f"""
        stages:
          - id: year
            name: 全年
            items:
              - id: press
                name: 参加省政府新闻发布会
                units: "140724"
                every: {every}
                {extra}
        """
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return build_plan(load_spec(path), WorkCalendar())


def _instances(plan):
    return sorted((a.instance, fmt(a.due_at, TZ)) for a in plan.assignments)


def test_a_due_on_national_day_waits_for_the_end_of_the_holiday_under_postpone_holidays(tmp_path):
    # Q3 ends Wed 9/30; one day later is Thu 10/1 (国庆·中秋 10/1–10/8); Q4 + 1 day is 元旦 2021 (1/1–1/3)
    kept = _plan(tmp_path, "{every: quarter, due_after_period: 1 day}", "postpone: none")
    assert _instances(kept) == [("2020Q3", "2020-10-01 周四 24:00"), ("2020Q4", "2021-01-01 周五 24:00")]
    moved = _plan(tmp_path, "{every: quarter, due_after_period: 1 day}", "postpone: holidays")
    assert _instances(moved) == [("2020Q3", "2020-10-09 周五 24:00"), ("2020Q4", "2021-01-04 周一 24:00")]


def test_postpone_holidays_keeps_a_due_on_a_plain_weekend_and_the_other_policy_moves_it(tmp_path):
    # Q3 + 11 days is Sun 10/11: not a statutory holiday (国庆 ended 10/8), only a weekend
    holidays = _plan(tmp_path, "{every: quarter, due_after_period: 11 days}", "postpone: holidays")
    weekends = _plan(tmp_path, "{every: quarter, due_after_period: 11 days}", "postpone: holidays_and_weekends")
    assert _instances(holidays)[0] == ("2020Q3", "2020-10-11 周日 24:00")
    assert _instances(weekends)[0] == ("2020Q3", "2020-10-12 周一 24:00")
    # Q3 + 10 days is Sat 10/10, a 调休 working day: no policy moves it
    tiaoxiu = _plan(tmp_path, "{every: quarter, due_after_period: 10 days}", "postpone: holidays_and_weekends")
    assert _instances(tiaoxiu)[0] == ("2020Q3", "2020-10-10 周六 24:00")


def test_working_days_after_a_quarter_skip_the_golden_week_and_count_the_tiaoxiu_saturday(tmp_path):
    # from 9/30: 10/9 (1), Sat 10/10 worked (2), 10/12 … 10/16 (3–7), 10/19, 10/20, 10/21 (8–10)
    plan = _plan(tmp_path, '{every: quarter, due_after_period: 10 working days, at: "17:00"}')
    assert _instances(plan)[0] == ("2020Q3", "2020-10-21 周三 17:00")


def test_each_period_can_have_its_own_due_and_the_full_label_wins(tmp_path):
    plan = _plan(
        tmp_path, '{every: quarter, due_after_period: 10 days, at: "17:30", periods: {Q4: {due_after_period: 20 days}}}'
    )
    # Q3: Sat 10/10 17:30; Q4 (年报 takes longer): 2021-01-20 17:30
    assert _instances(plan) == [("2020Q3", "2020-10-10 周六 17:30"), ("2020Q4", "2021-01-20 周三 17:30")]
    written = _plan(
        tmp_path,
        "{every: quarter, due_after_period: 10 days, "
        "periods: {2020Q4: {due: 2021-01-15}, Q4: {due_after_period: 20 days}}}",
    )
    assert _instances(written) == [("2020Q3", "2020-10-10 周六 24:00"), ("2020Q4", "2021-01-15 周五 24:00")]
    clocked = _plan(tmp_path, '{every: quarter, periods: {Q3: {at: "12:00"}}}')
    assert _instances(clocked) == [("2020Q3", "2020-09-30 周三 12:00"), ("2020Q4", "2020-12-31 周四 24:00")]


def test_exempt_periods_owe_nothing(tmp_path):
    plan = _plan(tmp_path, "{every: quarter, exempt: [Q4]}")  # 四季度并入年报
    assert _instances(plan) == [("2020Q3", "2020-09-30 周三 24:00")]
    monthly = _plan(tmp_path, "{every: month, due_after_period: 5 working days, exempt: [M8, 2020-12]}")
    # July starts on 7/8 (the window); 9/30 + 5 working days crosses 国庆: 10/9, 10/10, 10/12, 10/13, 10/14
    assert _instances(monthly) == [
        ("2020-07", "2020-08-07 周五 24:00"),
        ("2020-09", "2020-10-14 周三 24:00"),
        ("2020-10", "2020-11-06 周五 24:00"),
        ("2020-11", "2020-12-07 周一 24:00"),
    ]
    assert min(a.open_at for a in monthly.assignments if a.instance == "2020-07").day == 8


def test_half_year_periods(tmp_path):
    plan = _plan(tmp_path, "{every: half_year, due_after_period: 15 days}")
    assert _instances(plan) == [("2020H2", "2021-01-15 周五 24:00")]


@pytest.mark.parametrize(
    ("every", "wrong"),
    [
        ("{every: quarter, exempt: [Q5]}", "'Q5' is not a quarter period; write 2020Q4 or Q4"),
        (
            "{every: month, periods: {Q4: {due_after_period: 3 days}}}",
            "'Q4' is not a month period; write 2020-07 or M7",
        ),
        ("{every: half_year, exempt: [2020]}", "'2020' is not a half-year period"),
    ],
)
def test_a_period_name_that_cannot_be_is_an_error_at_its_line(tmp_path, every, wrong):
    with pytest.raises(SpecError) as caught:
        _plan(tmp_path, every)
    text = str(caught.value)
    assert wrong in text and "t.yaml:" in text and "stages[0].items[0].every" in text


def test_every_period_exempt_is_an_error(tmp_path):
    with pytest.raises(SpecError) as caught:
        _plan(tmp_path, "{every: quarter, exempt: [Q3, Q4]}")
    assert "every quarter of its window is exempt" in str(caught.value)
