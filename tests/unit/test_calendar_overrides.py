"""The calendar overrides file (campaign_specs/calendar/overrides.yaml) as an administrator edits it each November:
every mistake is an error naming file and line, never a traceback or a year silently counted Monday to Friday."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from duban.domain.calendar import load_calendar
from duban.domain.plan import build_plan, load_calendar_for
from duban.errors import SpecError
from duban.spec.load import load_spec


def _overrides(tmp_path, text: str) -> Path:
    path = tmp_path / "overrides.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _refused(path) -> str:
    with pytest.raises(SpecError) as caught:
        load_calendar(path)
    return str(caught.value)


def test_a_date_that_does_not_exist_names_file_and_line(tmp_path):
    path = _overrides(
        tmp_path,
        """
        years:
          2027:
            holidays:
              - {from: 2027-01-01, to: 2027-01-03, name: 元旦}
              - {from: 2027-02-30, to: 2027-03-02, name: 春节}
        """,
    )
    said = _refused(path)
    assert "overrides.yaml:5 years.2027.holidays[1].from" in said and "does not exist" in said


def test_an_empty_year_is_refused_rather_than_counted_monday_to_friday(tmp_path):
    said = _refused(_overrides(tmp_path, "years:\n  2027: {}\n"))
    assert "overrides.yaml:2 years.2027" in said and "lists no holidays" in said and "Monday to Friday" in said


def test_a_date_filed_under_the_wrong_year_is_refused_at_its_line(tmp_path):
    path = _overrides(
        tmp_path,
        """
        years:
          2027:
            holidays:
              - {from: 2027-01-01, to: 2027-01-03, name: 元旦}
            workdays: [2026-02-14]
        """,
    )
    said = _refused(path)
    assert "overrides.yaml:5 years.2027.workdays[0]" in said and "2026-02-14 is filed under 2027" in said
    path = _overrides(
        tmp_path, "years:\n  2027:\n    holidays:\n      - {from: 2028-01-01, to: 2028-01-03, name: 元旦}\n"
    )
    assert "overrides.yaml:4" in _refused(path) and "move it under `2028:`" in _refused(path)


def test_a_holiday_running_in_from_the_year_before_counts_in_both_years(tmp_path):
    path = _overrides(
        tmp_path,
        """
        years:
          2027:
            holidays: [{from: 2026-12-31, to: 2027-01-02, name: 元旦}]
          2026:
            holidays: [{from: 2026-10-01, to: 2026-10-07, name: 国庆节}]
        """,
    )
    cal = load_calendar(path)
    assert cal.holiday_name(date(2026, 12, 31)) == "元旦" and cal.holiday_name(date(2027, 1, 2)) == "元旦"


def test_a_missing_file_named_by_duban_calendar_file_is_an_error(tmp_path):
    spec = tmp_path / "t.yaml"
    spec.write_text(
        'id: t\ntitle: 测试\nissuer: 昔阳县统计局\nregistry: {divisions: ["140724"]}\n'
        "stages: [{id: s, name: 阶段, window: {start: 2024-05-10, end: 2024-05-25}}]\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        load_calendar_for(load_spec(spec), tmp_path / "missing.yaml")
    assert "missing.yaml" in str(caught.value) and "DUBAN_CALENDAR_FILE" in str(caught.value)
    assert load_calendar_for(load_spec(spec)).overrides == {}  # none beside the spec: the library alone, as before


def test_the_cli_shows_a_bad_override_as_a_one_line_error(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from duban.cli.main import app
    from tests.conftest import JINZHONG

    path = _overrides(tmp_path, "years:\n  2027:\n    holidays: [2027-13-01]\n")
    monkeypatch.setenv("DUBAN_CALENDAR_FILE", str(path))
    result = CliRunner().invoke(app, ["plan", str(JINZHONG)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "overrides.yaml:3 years.2027.holidays[0]" in result.output


def test_the_refusal_for_a_year_without_data_names_the_item(tmp_path):
    spec = tmp_path / "t.yaml"
    spec.write_text(
        textwrap.dedent("""\
        id: t
        title: 测试
        issuer: 昔阳县统计局
        registry: {divisions: ["140724"]}
        stages:
          - id: s
            name: 阶段
            window: {start: 2027-03-01, end: 2027-03-31}
            items:
              - {id: a, name: 报表, units: "140724", reminders: []}
              - {id: b, name: 总结, units: "140724", due: {after: item:a, offset: 3 working days}}
        """),
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        build_plan(load_spec(spec), load_calendar_for(load_spec(spec)))
    assert "t.yaml:11 stages[0].items[1]: item 'b' (总结): no working-day calendar for 2027" in str(caught.value)
