"""A roll-up adds up exactly the units below its unit; a unit with none below is an error at validate (a
直辖市's body once showed "已报 298/333", every city of the country)."""

from __future__ import annotations

import pytest

from duban.domain.calendar import WorkCalendar
from duban.domain.plan import build_plan
from duban.errors import SpecError
from duban.spec.load import load_spec

SPEC = """\
id: provinces
title: 省级汇总
issuer: 国家统计局
registry:
  divisions: ["110000", "140000"]
rollups:
  - id: up
    from: city_report
    into: province_summary
    sum: [count]
stages:
  - id: s
    name: 报送
    window: {start: 2025-03-03, end: 2025-03-21}
    items:
      - {id: city_report, name: 市级报告, units: {level: prefecture}, metrics: [{name: count, label: 数}]}
      - {id: province_summary, name: 省级汇总, units: {level: province}, due: 2025-03-28}
"""


def _plan(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return build_plan(load_spec(path), WorkCalendar())


def test_a_municipality_with_no_city_below_is_an_error_at_the_rollup_line(tmp_path):
    with pytest.raises(SpecError) as caught:
        _plan(tmp_path, SPEC)
    message = str(caught.value)
    assert "s.yaml:7 rollups[0]" in message
    assert "北京市统计局（110000）" in message and "no unit owing `from: city_report` is below it" in message
    assert "山西省统计局" not in message  # 山西 has its 11 cities below


def test_the_roll_up_validates_once_the_municipality_is_left_out(tmp_path):
    fixed = SPEC.replace("units: {level: province}", "units: {level: province, exclude: '110000'}")
    plan = _plan(tmp_path, fixed)
    assert {a.unit_code for a in plan.assignments if a.item_id == "province_summary"} == {"140000"}


def test_a_tally_for_a_unit_with_nothing_below_is_an_error_too(tmp_path):
    tally = SPEC.replace("    into: province_summary\n", "    unit: '110000'\n")
    with pytest.raises(SpecError) as caught:
        _plan(tmp_path, tally)
    assert "rollups[0]" in str(caught.value) and "holds the tally" in str(caught.value)


@pytest.mark.parametrize(
    ("unit", "said"),
    [
        ("'山西省统计厅'", "names 0 units; a tally is for one unit"),  # a typo
        ("provinces", "names 2 units; a tally is for one unit"),  # a group: 北京 and 山西
        ("山西省", "names 1 unit only by a place name: write its code 140000 or its full name 山西省统计局"),
    ],
)
def test_a_tally_whose_unit_names_no_single_unit_is_an_error_at_its_line(tmp_path, unit, said):
    """A tally for 上海市 (the place) or for a group of four validated, then added up nothing: 已报 0/0 (an outside
    tester's finding). Its `unit:` names one unit by code, full name or a group of one, or is an error."""
    tally = SPEC.replace("    into: province_summary\n", f"    unit: {unit}\n").replace(
        'divisions: ["110000", "140000"]', 'divisions: ["140000"]'
    )
    if unit == "provinces":
        tally = tally.replace('divisions: ["140000"]', 'divisions: ["110000", "140000"]').replace(
            "rollups:", "groups:\n  provinces: {level: province}\nrollups:"
        )
    with pytest.raises(SpecError) as caught:
        _plan(tmp_path, tally)
    message = " ".join(str(caught.value).split())
    assert "rollups[0].unit" in message and said in message, message


def test_a_tally_for_one_unit_by_its_code_or_full_name_plans(tmp_path):
    for unit in ("'140000'", "山西省统计局"):
        tally = SPEC.replace("    into: province_summary\n", f"    unit: {unit}\n").replace(
            'divisions: ["110000", "140000"]', 'divisions: ["140000"]'
        )
        assert _plan(tmp_path, tally).assignments
