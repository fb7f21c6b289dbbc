"""Division sets by date: the packaged 2025-12-31 set, a bureau's own year beside its specs, and a day with none."""

from __future__ import annotations

import json

import pytest

from duban.domain.calendar import WorkCalendar
from duban.domain.plan import build_plan
from duban.errors import SpecError
from duban.spec.load import load_spec

SPEC = """\
id: x
title: 旧年通知
issuer: 衡阳市统计局
registry:
  divisions: ["430400"]
  as_of: {day}
stages:
  - {{id: s, name: 阶段, window: {{start: 2021-12-01, end: 2021-12-20}},
     items: [{{id: a, name: 甲, units: {{level: county}}}}]}}
"""


def _plan(tmp_path, day):
    path = tmp_path / "s.yaml"
    path.write_text(SPEC.format(day=day), encoding="utf-8")
    return build_plan(load_spec(path), WorkCalendar())


def test_the_packaged_set_is_2025_12_31(tmp_path):
    plan = _plan(tmp_path, "2025-12-31")
    assert len({a.unit_code for a in plan.assignments}) == 12


def test_a_day_without_a_set_says_what_there_is_and_how_to_add_one(tmp_path):
    with pytest.raises(SpecError) as caught:
        _plan(tmp_path, "2021-12-31")
    text = str(caught.value)
    assert "s.yaml:6 registry.as_of" in text and "there are: 2025-12-31" in text
    assert "divisions/2021-12-31.json" in text


def test_a_bureau_adds_its_own_year(tmp_path):
    (tmp_path / "divisions").mkdir()
    rows = [
        [1, "430000", "", "湖南省"],
        [2, "430400", "430000", "衡阳市"],
        [3, "430405", "430400", "珠晖区"],
        [3, "430499", "430400", "旧县"],
    ]
    (tmp_path / "divisions" / "2021-12-31.json").write_text(
        json.dumps({"divisions": rows}, ensure_ascii=False), encoding="utf-8"
    )
    plan = _plan(tmp_path, "2021-12-31")
    assert sorted(plan.registry.get(a.unit_code).display for a in plan.assignments) == ["旧县统计局", "珠晖区统计局"]
    (tmp_path / "divisions" / "2021-12-31.json").write_text('{"divisions": [[9, "x", "", 1]]}', encoding="utf-8")
    with pytest.raises(SpecError, match="is not \\[level 1–4, code, parent code, name\\]"):
        _plan(tmp_path, "2021-12-31")
