"""Samples, score sheets and forwards as a spec writer meets them: errors at file, line and YAML path, hidden
samples that may not show early, and the chain of dues of a forwarded campaign (市 → 县 → 乡)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from duban.domain.plan import load_calendar_for
from duban.errors import SpecError
from duban.instants import fmt
from duban.services.lifecycle import plan_file
from duban.spec.checks import validate
from duban.spec.load import load_spec
from tests.conftest import JINZHONG, SPECS

TZ = "Asia/Shanghai"
XIYANG = SPECS / "xiyang-2024-lookback.yaml"


def _broken(tmp_path: Path, old: str, new: str, spec: Path = JINZHONG) -> tuple[Path, int]:
    """A copy of a spec (and its neighbours) with one change; its path and the changed line."""
    text = spec.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    shutil.copytree(SPECS / "units", tmp_path / "units")
    shutil.copy(JINZHONG, tmp_path / JINZHONG.name)
    path = tmp_path / f"broken-{spec.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path, text[: text.index(old)].count("\n") + 1


def _error(action) -> str:
    with pytest.raises(SpecError) as caught:
        action()
    return str(caught.value)


# samples --------------------------------------------------------------------------------------------------------


def test_a_backwards_percentage_range_is_an_error_at_its_line(tmp_path):
    path, line = _broken(tmp_path, "    min_per_parent: 6\n", "    percent: 20%-10%\n")
    text = _error(lambda: load_spec(path))
    assert f"broken-jinzhong-2024-lookback.yaml:{line} samples[0].percent:" in text
    assert "runs backwards" in text


def test_a_floor_per_parent_above_the_count_is_an_error_at_the_count(tmp_path):
    path, line = _broken(tmp_path, "    min_per_parent: 6\n", "    min_per_parent: 3\n    count: 20\n")
    text = _error(lambda: plan_file(path))
    assert f":{line + 1} samples[0].count:" in text
    assert "at least 3 under each of 11 parents makes 33 units, more than the count 20" in text


def test_designated_units_outside_the_base_are_an_error_at_designated(tmp_path):
    path, line = _broken(
        tmp_path,
        "      - {from: counties, count: 6}\n",
        '      - {from: counties, count: 6, designated: {units: ["140724100"]}}\n',
    )
    text = _error(lambda: plan_file(path))
    assert f":{line} samples[1].draws[0].designated:" in text and "乐平镇统计站 are not among the 11 units" in text


def test_a_nested_sample_larger_than_its_parent_is_an_error(tmp_path):
    path, _ = _broken(
        tmp_path,
        "    seed: 20240610\n    hidden: true\n",
        "    seed: 20240610\n    hidden: true\n  - id: recheck\n    name: 复查\n"
        "    from: {sample: city_check}\n    count: 40\n    seed: 1\n    hidden: true\n",
    )
    text = _error(lambda: plan_file(path))
    assert "samples[2].count" in text and "asks for 40 units but only 30" in text and "sub-sample" in text


def test_samples_drawn_from_each_other_name_the_cycle(tmp_path):
    path, _ = _broken(
        tmp_path, "    from: townships\n    min_per_parent: 6\n", "    from: {sample: other}\n    count: 2\n"
    )
    text = path.read_text(encoding="utf-8").replace(
        "    hidden: true\n",
        "    hidden: true\n  - {id: other, name: 另一个, from: {sample: county_checks}, count: 1, seed: 2}\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    assert "cycle: county_checks → other → county_checks" in _error(lambda: plan_file(path))


def test_a_sub_sample_of_a_hidden_sample_is_warned_to_be_hidden(tmp_path):
    path, _ = _broken(
        tmp_path,
        "    seed: 20240610\n    hidden: true\n",
        "    seed: 20240610\n    hidden: true\n"
        "  - {id: recheck, name: 复查, from: {sample: city_check}, count: 3, seed: 1}\n",
    )
    spec = load_spec(path)
    _plan, warnings = validate(spec, load_calendar_for(spec))
    assert any("drawn from the hidden sample 'city_check' but is not hidden" in w.message for w in warnings)


def test_the_hidden_city_sample_shows_when_the_city_check_opens():
    _spec, plan = plan_file(JINZHONG)
    assert fmt(plan.sample_reveals["city_check"], TZ) == "2024-06-10 周一 08:30"
    binders = [a for a in plan.assignments if a.item_id == "inspection_binder"]
    assert binders and min(a.open_at for a in binders) >= plan.sample_reveals["city_check"]


def test_an_item_that_would_show_a_hidden_sample_early_is_an_error(tmp_path):
    path, line = _broken(
        tmp_path,
        "        units: {sample: city_check}\n",
        "        units: {sample: city_check}\n        opens: 2024-05-20\n",
    )
    text = _error(lambda: plan_file(path))
    assert f":{line + 1} stages[2].items[1].opens:" in text
    assert "before the hidden sample 'city_check' may show (2024-06-10 周一 08:30)" in text


def test_an_explicit_reveal_later_than_the_item_is_an_error(tmp_path):
    path, _ = _broken(tmp_path, "    hidden: true\n", "    hidden: true\n    reveal: 2024-06-15\n")
    assert "opens 2024-06-10 周一 08:30, before the hidden sample" in _error(lambda: plan_file(path))


# score sheets ---------------------------------------------------------------------------------------------------


def test_the_lookback_score_sheet_has_the_notices_eight_areas():
    spec = load_spec(JINZHONG)
    [sheet] = spec.campaign.score_sheets
    assert [i.area for i in sheet.items if i.area] and {i.area for i in sheet.items} == {
        "工作任务",
        "人员配备",
        "制度管理",
        "业务流程",
        "统计服务",
        "信息化建设",
        "教育培训",
        "经费保障",
    }
    assert sheet.total == 100 and sheet.pass_mark == 80 and "示例" in sheet.note
    assert [s for s, item in spec.campaign.items() if item.id == "rectification"][0].id == "materials"


def test_a_pass_mark_above_the_total_is_an_error(tmp_path):
    path, line = _broken(tmp_path, "    pass_mark: 80\n", "    pass_mark: 120\n")
    text = _error(lambda: load_spec(path))
    assert "score_sheets[0]" in text and "the pass mark 120 is above the 100 points" in text


def test_a_score_sheet_naming_an_unknown_sample_is_an_error_at_its_line(tmp_path):
    path, line = _broken(
        tmp_path, "    samples: [county_checks, city_check]", "    samples: [county_checks, city_chek]"
    )
    text = _error(lambda: plan_file(path))
    assert f":{line} score_sheets[0].samples[1]: no sample 'city_chek'" in text


# forwarding -----------------------------------------------------------------------------------------------------


def test_township_dues_precede_the_countys_and_the_countys_precede_the_citys():
    _spec, plan = plan_file(XIYANG)
    [link] = plan.chain.links
    assert (plan.chain.upper_id, plan.chain.unit) == ("jinzhong-2024-lookback", "140724")
    assert fmt(link.upper_due, TZ) == "2024-07-01 周一 24:00"  # 市: 7月1日前 to 设管科
    assert fmt(link.into_due, TZ) == "2024-06-27 周四 24:00"  # 县: two working days earlier
    assert fmt(link.from_due, TZ) == "2024-06-25 周二 24:00"  # 乡: two more
    townships = [a for a in plan.assignments if a.item_id == "township_materials"]
    county = [a for a in plan.assignments if a.item_id == "materials_rollup"]
    assert len(townships) == 11 and [a.unit_code for a in county] == ["140724"]
    assert max(a.due_at for a in townships) < county[0].due_at < link.upper_due
    _upper_spec, upper = plan_file(JINZHONG)
    city = [a for a in upper.assignments if a.item_id == "materials_upload" and a.unit_code == "140724"]
    assert city[0].due_at == link.upper_due


def test_a_buffer_counts_working_days_not_calendar_days(tmp_path):
    # three working days before Monday 7/1 are 6/28, 6/27, 6/26; three more skip the weekend of 6/22–23.
    path, _ = _broken(tmp_path, "  buffer: 2 working days\n", "  buffer: 3 working days\n", spec=XIYANG)
    _spec, plan = plan_file(path)
    [link] = plan.chain.links
    assert fmt(link.into_due, TZ) == "2024-06-26 周三 24:00" and fmt(link.from_due, TZ) == "2024-06-21 周五 24:00"


def test_forwarding_an_item_the_unit_does_not_owe_is_an_error(tmp_path):
    path, line = _broken(tmp_path, "    - upper: materials_upload", "    - upper: city_inspection", spec=XIYANG)
    text = _error(lambda: plan_file(path))
    assert f":{line} forward.items[0].upper:" in text and "昔阳县统计局 owes: " in text


def test_a_rollup_due_after_the_upper_due_is_warned(tmp_path):
    path, _ = _broken(
        tmp_path,
        "        formats: [xlsx, docx, pdf, zip]\n",
        "        formats: [xlsx, docx, pdf, zip]\n        due: 2024-07-02\n",
        spec=XIYANG,
    )
    spec = load_spec(path)
    _plan, warnings = validate(spec, load_calendar_for(spec))
    assert any("not before the upper due 2024-07-01 周一 24:00" in w.message for w in warnings)


def test_a_rollup_naming_a_metric_its_source_lacks_is_an_error(tmp_path):
    path, _ = _broken(
        tmp_path,
        "    sum: [quiz_participants, law_talks, essays_submitted]",
        "    sum: [quiz_participants, law_talk]",
        spec=SPECS / "hengyang-2021-law-month.yaml",
    )
    assert "rollups[1].sum[1]: item 'activity_report' has no metric 'law_talk'" in _error(lambda: plan_file(path))


def test_hengyang_articles_roll_up_from_the_counties_noon_to_the_citys_afternoon():
    _spec, plan = plan_file(SPECS / "hengyang-2021-law-month.yaml")
    rollups = {r.id: r for r in plan.campaign.rollups}
    assert (rollups["articles_up"].from_, rollups["articles_up"].into) == ("signed_article", "articles_to_province")
    assert plan.item_dues["signed_article"] < plan.item_dues["articles_to_province"]  # 12:00 before 17:30
    assert rollups["county_counts"].sum == ["quiz_participants", "law_talks", "essays_submitted"]
