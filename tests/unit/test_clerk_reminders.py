"""Reminders (提醒) a spec sends on days off: validate says which items and which days, once per item, and what
moves them (2024: 端午节 Saturday 6/8 – Monday 6/10)."""

from __future__ import annotations

from duban.domain.calendar import WorkCalendar
from duban.spec.checks import validate
from duban.spec.load import load_spec
from tests.conftest import JINZHONG

SPEC = """\
id: t
title: 统计执法检查
issuer: 昔阳县统计局
registry: {divisions: ["140724"]}
window: {start: 2024-05-10, end: 2024-06-30}
defaults: {reminders: ["3 working days", "1 day"]}
stages:
  - id: self
    name: 自查阶段
    window: {start: 2024-05-10, end: 2024-06-30}
    items:
      - {id: report, name: 自查报告, units: "140724", due: 2024-06-11}
      - {id: sheet, name: 评分表, units: "140724", due: 2024-06-11}
      - {id: ledger, name: 台账, units: "140724", due: 2024-05-27, reminders: ["1 day", "2 days"]}
      - {id: plain, name: 工作方案, units: "140724", due: 2024-05-22}
"""


def _reminder_warnings(tmp_path, text: str = SPEC) -> list[tuple[str, str]]:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    _plan, warnings = validate(load_spec(path), WorkCalendar())
    return [(w.path, w.message) for w in warnings if "reminders on days off" in w.message]


def test_reminders_on_a_holiday_and_a_weekend_are_said_once_per_item_with_their_days(tmp_path):
    found = dict(_reminder_warnings(tmp_path))
    assert set(found) == {"defaults.reminders", "stages[0].items[2].reminders"}
    shared = found["defaults.reminders"]
    assert shared.startswith(
        "reminders on days off (they go out that day): 'report', 'sheet' 2024-06-10 周一 09:00（端午节）"
    )
    assert "'plain'" not in shared  # its reminders (5/17 周五, 5/21 周二) fall on working days
    own = found["stages[0].items[2].reminders"]
    assert "'ledger' 2024-05-25 周六 09:00（周末）、2024-05-26 周日 09:00（周末）." in own
    assert "`postpone: holidays_and_weekends`" in own and "working day before" in own


def test_postpone_moves_them_and_nothing_is_said(tmp_path):
    text = SPEC.replace(
        'defaults: {reminders: ["3 working days", "1 day"]}', "defaults: {postpone: holidays_and_weekends}"
    )
    assert _reminder_warnings(tmp_path, text) == []


def test_postpone_holidays_keeps_weekend_reminders_on_purpose_and_moves_holiday_ones(tmp_path):
    text = SPEC.replace(
        'defaults: {reminders: ["3 working days", "1 day"]}',
        'defaults: {reminders: ["3 working days", "1 day"], postpone: holidays}',
    )
    assert _reminder_warnings(tmp_path, text) == []


def test_the_jinzhong_lookback_is_told_of_its_reminders_in_the_dragon_boat_festival_and_on_weekends():
    """`duban plan` showed 提醒 2024-06-09 周日 09:00 (端午) and on weekends, and validate said nothing of them."""
    _plan, warnings = validate(load_spec(JINZHONG), WorkCalendar())
    [said] = [w for w in warnings if "reminders on days off" in w.message]
    assert said.path == "defaults.reminders"
    assert "'county_inspection', 'county_report' 2024-06-09 周日 09:00（周末）;" in said.message  # 端午 begins Saturday
    assert "'city_inspection', 'inspection_binder' 2024-06-29 周六 09:00（周末）;" in said.message
    assert "'materials_upload' 2024-06-30 周日 09:00（周末）." in said.message
    assert "'self_report'" not in said.message  # 5/22 周三, 5/24 周五
