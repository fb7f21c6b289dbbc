"""Working days in mainland China: 调休, statutory holidays, 顺延, and years without data."""

from datetime import date

import pytest

from duban.domain.calendar import Postpone, WorkCalendar, load_calendar
from duban.errors import CalendarGapError, SpecError


@pytest.fixture
def cal():
    return WorkCalendar()


def test_adjusted_weekend_days_are_working_days(cal):
    # 2024-02-04 (Sunday) and 2024-05-11 (Saturday) were 调休 working days
    assert cal.is_working_day(date(2024, 2, 4))
    assert cal.is_working_day(date(2024, 5, 11))
    assert not cal.is_working_day(date(2024, 5, 25))  # an ordinary Saturday


def test_statutory_holidays_have_chinese_names(cal):
    assert cal.holiday_name(date(2024, 6, 10)) == "端午节"
    assert cal.holiday_name(date(2021, 10, 1)) == "国庆节"
    assert cal.holiday_name(date(2024, 5, 25)) is None  # a weekend is not a holiday


def test_working_days_skip_the_spring_festival(cal):
    # 2024-02-09 (Fri) is the last working day before 春节; the holiday runs 2/10–2/17, 2/18 (Sun) is worked
    assert cal.add_working_days(date(2024, 2, 8), 1) == date(2024, 2, 9)
    assert cal.add_working_days(date(2024, 2, 9), 1) == date(2024, 2, 18)
    assert cal.add_working_days(date(2024, 2, 18), -1) == date(2024, 2, 9)
    assert cal.add_working_days(date(2024, 6, 10), 0) == date(2024, 6, 10)


def test_postpone_policies(cal):
    dragon_boat = date(2024, 6, 10)  # Monday, 端午节
    saturday = date(2024, 5, 25)
    assert cal.postpone(dragon_boat, Postpone.none) == dragon_boat
    assert cal.postpone(dragon_boat, Postpone.holidays) == date(2024, 6, 11)
    assert cal.postpone(saturday, Postpone.holidays) == saturday
    assert cal.postpone(saturday, Postpone.holidays_and_weekends) == date(2024, 5, 27)


def test_a_year_without_data_is_an_error_naming_it_and_the_fix(cal):
    with pytest.raises(CalendarGapError) as caught:
        cal.add_working_days(date(2026, 12, 30), 3)
    assert caught.value.year == 2027
    assert "2027" in str(caught.value) and "overrides.yaml" in str(caught.value)
    assert not cal.covers(2027) and cal.covers(2026)


def test_overrides_file_adds_a_new_year_without_a_release(tmp_path):
    path = tmp_path / "calendar.yaml"
    path.write_text(
        "years:\n"
        "  2027:\n"
        "    source: 国务院办公厅关于2027年部分节假日安排的通知（示例）\n"
        "    holidays:\n"
        "      - {from: 2027-01-01, to: 2027-01-03, name: 元旦}\n"
        "    workdays: [2027-01-09]\n",
        encoding="utf-8",
    )
    cal = load_calendar(path)
    assert cal.covers(2027)
    assert not cal.is_working_day(date(2027, 1, 1))
    assert cal.holiday_name(date(2027, 1, 2)) == "元旦"
    assert cal.is_working_day(date(2027, 1, 9))  # a Saturday made a working day
    assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)


def test_malformed_overrides_name_file_and_path(tmp_path):
    path = tmp_path / "calendar.yaml"
    path.write_text("years:\n  2027:\n    holidays:\n      - {from: 2027-01-03, to: 2027-01-01}\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_calendar(path)
    assert "calendar.yaml" in str(caught.value) and "years.2027.holidays[0]" in str(caught.value)
