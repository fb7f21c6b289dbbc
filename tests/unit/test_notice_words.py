"""Dates in a notice's own words (7月份, 5月中旬, 6月底前, 3月至10月, 每月10日、20日前, 季后10日, 次年1月) in windows,
dues and recurrences, planned to absolute instants checked by hand against the State Council's 2024 schedule
(国办发明电〔2023〕7号: 劳动节 5/1–5/5 with Saturday 5/11 worked, 端午节 Monday 6/10, 国庆节 10/1–10/7) and 2025's
(元旦 1/1)."""

from __future__ import annotations

import textwrap
from datetime import date, time

import pytest

from duban.domain.calendar import WorkCalendar
from duban.domain.plan import build_plan
from duban.errors import SpecError
from duban.instants import fmt
from duban.spec.checks import validate
from duban.spec.load import load_spec
from duban.spec.models import Campaign, Recurrence, Window
from duban.spec.words import WordDate
from tests.conftest import ROOT

TZ = "Asia/Shanghai"
WORDS_SPEC = ROOT / "tests" / "specs" / "xiyang-2024-words.yaml"
HEAD = """\
id: t
title: 测试
issuer: 昔阳县统计局
registry: {divisions: ["140724"]}
"""


@pytest.mark.parametrize(
    ("words", "first", "last"),
    [
        ("7月份", date(2024, 7, 1), date(2024, 7, 31)),
        ("7月", date(2024, 7, 1), date(2024, 7, 31)),
        ("七月份", date(2024, 7, 1), date(2024, 7, 31)),
        ("5月上旬", date(2024, 5, 1), date(2024, 5, 10)),
        ("5月中旬", date(2024, 5, 11), date(2024, 5, 20)),
        ("2月下旬", date(2024, 2, 21), date(2024, 2, 29)),  # 2024 is a leap year
        ("6月底前", date(2024, 6, 30), date(2024, 6, 30)),
        ("6月末", date(2024, 6, 30), date(2024, 6, 30)),
        ("7月15日前", date(2024, 7, 15), date(2024, 7, 15)),
        ("十月十五日", date(2024, 10, 15), date(2024, 10, 15)),
        ("次年1月", date(2025, 1, 1), date(2025, 1, 31)),
        ("2023年12月", date(2023, 12, 1), date(2023, 12, 31)),
    ],
)
def test_a_date_in_words_is_a_span_of_days_in_the_spec_year(words, first, last):
    found = WordDate.parse(words)
    assert found is not None and found.span(2024) == (first, last)


def test_a_time_of_day_in_words_is_kept():
    assert WordDate.parse("7月15日 17:00前").clock == time(17, 0)


@pytest.mark.parametrize(
    ("words", "said"),
    [("13月份", "no month 13"), ("2月30日", "has no day 30"), ("6月31日", "has no day 31")],
)
def test_an_impossible_date_in_words_is_refused(words, said):
    with pytest.raises(ValueError, match=said):
        WordDate.parse(words)


def test_29_february_in_words_is_checked_against_the_spec_year():
    with pytest.raises(ValueError, match="2025 has no 2月29日"):
        WordDate.parse("2月29日").span(2025)


@pytest.mark.parametrize(
    ("words", "start", "end"),
    [
        ("3月至10月", "3月", "10月"),
        ("5月中旬至6月底", "5月中旬", "6月底"),
        ("10月至次年3月", "10月", "次年3月"),
        ("5月10日至20日", "5月10日", "5月20日"),
        ("3至10月", "3月", "10月"),
        ("2024年3月至10月", "2024年3月", "2024年10月"),
    ],
)
def test_a_window_in_words(words, start, end):
    window = Window.model_validate(words)
    assert (str(window.start), str(window.end)) == (start, end)


def test_a_window_running_into_the_next_year_must_say_so():
    with pytest.raises(ValueError, match="11月至次年2月"):
        Window.model_validate("11月至2月")


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("每月", {"every": "month"}),
        ("每季度", {"every": "quarter"}),
        ("每半年", {"every": "half_year"}),
        ("每年", {"every": "year"}),
        ("季后10日", {"every": "quarter", "due_after_period": "10天"}),
        ("月后5个工作日", {"every": "month", "due_after_period": "5个工作日"}),
        ("每月10日、20日前", {"every": "month", "days": [10, 20]}),
        ("每月5日前", {"every": "month", "days": [5]}),
    ],
)
def test_recurrences_in_words(words, expected):
    rule = Recurrence.model_validate(words).model_dump(exclude_defaults=True, exclude={"said"})
    assert rule == expected


def test_a_recurrence_duban_cannot_read_says_what_to_write():
    with pytest.raises(ValueError, match="每月10日、20日前"):
        Recurrence.model_validate("每旬")


def _spec(tmp_path, body: str):
    path = tmp_path / "t.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_span_given_as_a_due_is_an_error_at_its_line(tmp_path):
    path = _spec(
        tmp_path,
        """
        year: 2024
        stages:
          - id: s
            name: 阶段
            window: 3月至10月
            items:
              - {id: a, name: 报表, units: "140724", due: 3月至10月}
        """,
    )
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert (
        "t.yaml:12 stages[0].items[0].due" in str(caught.value)
        and "is a span of time" in str(caught.value)
        and "window" in str(caught.value)
    )


def test_a_date_in_words_without_the_notices_year_is_an_error_naming_its_place(tmp_path):
    path = _spec(
        tmp_path,
        """
        stages:
          - id: s
            name: 阶段
            window: 3月至10月
            items:
              - {id: a, name: 报表, units: "140724"}
        """,
    )
    with pytest.raises(SpecError) as caught:
        build_plan(load_spec(path), WorkCalendar())
    assert "t.yaml:9 stages[0].window" in str(caught.value) and "year: 2024" in str(caught.value)


# the notice of tests/specs: validates, plans to the instants the 2024 schedule gives, and simulates -------------


@pytest.fixture(scope="module")
def words_plan():
    return build_plan(load_spec(WORDS_SPEC), WorkCalendar())


def _dues(plan, item_id):
    return {a.instance: fmt(a.due_at, TZ) for a in plan.assignments if a.item_id == item_id}


def test_windows_in_words_open_on_their_first_day_and_close_on_their_last(words_plan):
    windows = {k: (fmt(v[0], TZ), fmt(v[1], TZ)) for k, v in words_plan.stage_windows.items()}
    assert windows == {
        "routine": ("2024-03-01 周五 08:30", "2024-12-31 周二 24:00"),  # 3月至12月
        "self_check": (
            "2024-05-11 周六 08:30",
            "2024-06-30 周日 24:00",
        ),  # 5月中旬至6月底; 5/11 a 调休 working Saturday
        "review": ("2024-07-01 周一 08:30", "2024-07-31 周三 24:00"),  # 7月份
    }


def test_dues_in_words(words_plan):
    assert _dues(words_plan, "self_report") == {"": "2024-07-01 周一 24:00"}  # 6月底前 = Sunday 6/30, 顺延 to Monday
    assert _dues(words_plan, "ledger") == {"": "2024-06-30 周日 24:00"}  # 6月下旬: its last day
    opens = {fmt(a.open_at, TZ) for a in words_plan.assignments if a.item_id == "ledger"}
    assert opens == {"2024-06-01 周六 08:30"}  # opens: 6月份, its first day
    assert _dues(words_plan, "annual_summary") == {"": "2025-01-15 周三 24:00"}  # 次年1月15日前


def test_a_quarter_due_ten_days_after_it_ends(words_plan):
    assert _dues(words_plan, "quarter_analysis") == {  # 季后10日
        "2024Q1": "2024-04-10 周三 24:00",
        "2024Q2": "2024-07-10 周三 24:00",
        "2024Q3": "2024-10-10 周四 24:00",
        "2024Q4": "2025-01-10 周五 24:00",
    }


def test_twice_a_month_on_the_10th_and_20th_with_weekends_and_holidays_postponed(words_plan):
    dues = _dues(words_plan, "dekad_report")  # 每月10日、20日前, 3月至12月
    assert len(dues) == 20
    assert dues["2024-03-10"] == "2024-03-11 周一 24:00"  # Sunday → Monday
    assert dues["2024-04-20"] == "2024-04-22 周一 24:00"  # Saturday → Monday
    assert dues["2024-06-10"] == "2024-06-11 周二 24:00"  # 端午节 → Tuesday
    assert dues["2024-10-10"] == "2024-10-10 周四 24:00"
    opens = {a.instance: fmt(a.open_at, TZ) for a in words_plan.assignments if a.item_id == "dekad_report"}
    assert opens["2024-03-10"] == "2024-03-01 周五 08:30" and opens["2024-03-20"] == "2024-03-11 周一 08:30"


def test_a_recurring_item_without_a_due_day_takes_the_spec_wide_default_and_validate_says_so(words_plan):
    assert _dues(words_plan, "half_year_summary") == {
        "2024H1": "2024-07-05 周五 24:00",
        "2024H2": "2025-01-05 周日 24:00",
    }
    _plan, warnings = validate(load_spec(WORDS_SPEC), WorkCalendar())
    said = [w for w in warnings if "gives no due day" in w.message]
    assert (
        len(said) == 1 and said[0].path == "stages[0].items[2].every" and "defaults.due_after_period" in said[0].message
    )
    assert "2024H1 due 2024-07-05 周五 24:00" in said[0].message


def test_without_a_default_the_period_is_due_on_its_last_day_and_validate_says_so(tmp_path):
    path = _spec(
        tmp_path,
        """
        year: 2024
        stages:
          - id: s
            name: 阶段
            window: 1月至12月
            items:
              - {id: a, name: 季报, units: "140724", every: 每季度}
        """,
    )
    plan, warnings = validate(load_spec(path), WorkCalendar())
    assert _dues(plan, "a")["2024Q1"] == "2024-03-31 周日 24:00"
    assert any("on the last day of each period" in w.message for w in warnings)


def test_a_date_in_words_read_before_the_notice_was_issued_is_warned(tmp_path):
    path = _spec(
        tmp_path,
        """
        issued_on: 2023-12-28
        stages:
          - id: s
            name: 阶段
            window: 1月至3月
            items:
              - {id: a, name: 报表, units: "140724", due: 3月底前}
        """,
    )
    _plan, warnings = validate(load_spec(path), WorkCalendar())
    assert any("before the notice was issued" in w.message and "year: 2024" in w.message for w in warnings)


def test_the_words_are_in_the_published_schema():
    import jsonschema

    from duban.spec.source import read_source

    jsonschema.validate(read_source(WORDS_SPEC).data, Campaign.model_json_schema())


def test_plan_prints_the_instants_beside_the_notices_words(words_plan):
    from rich.console import Console

    from duban.cli.show import print_plan

    console = Console(record=True, width=200)
    print_plan(console, load_spec(WORDS_SPEC), words_plan, every=False)
    text = console.export_text()
    assert "2024-05-11 周六 08:30 — 2024-06-30 周日 24:00（5月中旬至6月底）" in text
    assert "截止 2024-07-01 周一 24:00（6月底前）" in text
    assert "周期 季后10日" in text
