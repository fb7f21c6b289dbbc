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
    with pytest.raises(SpecError, match="row 1: level 9 is not a number 1–4"):
        _plan(tmp_path, "2021-12-31")


def _set(tmp_path, rows) -> str:
    (tmp_path / "divisions").mkdir(exist_ok=True)
    (tmp_path / "divisions" / "2021-12-31.json").write_text(
        json.dumps({"divisions": rows}, ensure_ascii=False), encoding="utf-8"
    )
    with pytest.raises(SpecError) as caught:
        _plan(tmp_path, "2021-12-31")
    return str(caught.value)


def test_a_loop_of_parents_in_a_bureaus_set_is_an_error_not_a_validate_that_never_ends(tmp_path):
    """湖南省's parent typed as 衡阳市 (each the other's parent): `duban validate` ran for ever, its memory growing.
    The planning runs in a child process here so that a hang fails the test rather than the suite."""
    import subprocess
    import sys

    (tmp_path / "divisions").mkdir()
    rows = [[1, "430000", "430400", "湖南省"], [2, "430400", "430000", "衡阳市"], [3, "430405", "430400", "珠晖区"]]
    (tmp_path / "divisions" / "2021-12-31.json").write_text(json.dumps({"divisions": rows}), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(SPEC.format(day="2021-12-31"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "from duban.cli.main import app; app()", "validate", str(tmp_path / "s.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, said
    assert "row 1 (430000): a province (level 1) has no parent" in said, said
    assert "Traceback" not in said


def test_every_bad_row_of_a_bureaus_set_is_named_by_its_number(tmp_path):
    """A code given twice (the last row won without a word), a parent missing or the row itself (the row was
    dropped and the spec blamed for a unit not in the registry), a level written as text (\"not a division set
    (ValueError)\"), a parent below its child: each named with its row."""
    said = _set(
        tmp_path,
        [
            [1, "430000", "", "湖南省"],
            [2, "430400", "430000", "衡阳市"],
            [3, "430405", "430400", "珠晖区"],
            [3, "430405", "430000", "又一区"],
            [3, "430406", "999999", "无父县"],
            [3, "430407", "430407", "自指县"],
            ["县", "430408", "430400", "文字级"],
            [2, "430500", "430405", "倒挂市"],
            [3, "1234567", "430400", "七位"],
        ],
    )
    for expected in [
        "row 4: code 430405 is given twice (first in row 3)",
        "row 5 (430406): its parent '999999' is not in the file",
        "row 6 (430407): is its own parent",
        "row 7: level '县' is not a number 1–4",
        "row 8 (430500): its parent 430405 is of level 3, not above its own 2",
        "row 9: code '1234567' is not 6, 9 or 12 digits",
    ]:
        assert expected in said, said
    assert "s.yaml:6 registry.as_of" in said


def test_a_set_linked_from_outside_the_spec_folder_is_refused_unopened(tmp_path):
    """divisions/2021-12-31.json → /etc/passwd was opened and parsed (\"not a division set (JSONDecodeError)\"); a
    link to a valid set elsewhere was used."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = outside / "set.json"
    target.write_text(json.dumps({"divisions": [[1, "430000", "", "外部省"]]}), encoding="utf-8")
    spec_folder = tmp_path / "specs"
    (spec_folder / "divisions").mkdir(parents=True)
    (spec_folder / "divisions" / "2021-12-31.json").symlink_to(target)
    with pytest.raises(SpecError) as caught:
        _plan(spec_folder, "2021-12-31")
    said = str(caught.value)
    assert "is a link to a file outside the spec's folder" in said and "外部" not in said, said


def test_a_set_nested_too_deep_or_with_a_key_twice_is_named_as_the_set_s_fault(tmp_path):
    """Nesting 100,000 deep was blamed on the spec ("nested too deeply to be planned", no file named); a second
    "divisions" key emptied the set and said there was no list; a set over 4 MB was refused by the specs' limit."""
    (tmp_path / "divisions").mkdir()
    day = tmp_path / "divisions" / "2021-12-31.json"
    day.write_text('{"divisions": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        _plan(tmp_path, "2021-12-31")
    assert "2021-12-31.json: nested too deeply for a division set" in str(caught.value), str(caught.value)
    day.write_text('{"divisions": [[1, "430000", "", "湖南省"]], "divisions": []}', encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        _plan(tmp_path, "2021-12-31")
    assert "the key 'divisions' appears twice in one object" in str(caught.value), str(caught.value)
    rows = [[1, "430000", "", "湖南省"], [2, "430400", "430000", "衡阳市"], [3, "430405", "430400", "珠晖区"]]
    rows += [[4, f"430405{n:03d}", "430405", f"街道{n}"] for n in range(1, 900)] + [[3, "430499", "430400", "旧县"]]
    note = "民政部2021年县级以上行政区划变更情况及全部乡级区划。" * 80_000  # a set with its source's notes: 5 MB
    text = json.dumps({"metadata": {"source": note}, "divisions": rows}, ensure_ascii=False)
    assert len(text.encode()) > 4 * 2**20
    day.write_text(text, encoding="utf-8")
    assert len({a.unit_code for a in _plan(tmp_path, "2021-12-31").assignments}) == 2


def test_the_placeholder_rows_of_a_bureaus_set_are_no_units(tmp_path):
    """A set copied from the tables that list 市辖区 and 县 under a 直辖市 and 省直辖县级行政区划 under a province
    (统计用区划代码, the MCA's older tables) made each a 市级 unit: "省直辖县级行政区划住房和城乡建设局" was 仙桃市's
    上级单位 and heard its 催办, 渝中区 lost its city (渝中区住房和城乡建设局). Their counties are the province's."""
    (tmp_path / "divisions").mkdir()
    rows = [
        [1, "420000", "", "湖北省"],
        [2, "420100", "420000", "武汉市"],
        [3, "420102", "420100", "江岸区"],
        [2, "429000", "420000", "省直辖县级行政区划"],
        [3, "429004", "429000", "仙桃市"],
        [4, "429004001", "429004", "沙嘴街道"],
        [1, "500000", "", "重庆市"],
        [2, "500100", "500000", "市辖区"],
        [3, "500103", "500100", "渝中区"],
        [2, "500200", "500000", "县"],
        [3, "500229", "500200", "城口县"],
    ]
    (tmp_path / "divisions" / "2021-12-31.json").write_text(
        json.dumps({"divisions": rows}, ensure_ascii=False), encoding="utf-8"
    )
    path = tmp_path / "s.yaml"
    path.write_text(
        SPEC.format(day="2021-12-31").replace('["430400"]', '["420000", "500000"]\n  line: housing'), encoding="utf-8"
    )
    plan = build_plan(load_spec(path), WorkCalendar())
    registry = plan.registry
    assert not {"429000", "500100", "500200"} & set(registry.units)
    assert [
        (code, registry.get(code).parent, registry.get(code).display) for code in ("429004", "500103", "500229")
    ] == [
        ("429004", "420000", "仙桃市住房和城乡建设局"),
        ("500103", "500000", "重庆市渝中区住房和城乡建设委员会"),
        ("500229", "500000", "重庆市城口县住房和城乡建设委员会"),
    ]
    assert registry.get("429004001").parent == "429004"
    assert len({a.unit_code for a in plan.assignments}) == 4  # 江岸区, 仙桃市, 渝中区, 城口县
