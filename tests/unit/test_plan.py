"""Planning seed 004 over the real 晋中 units: absolute instants, reminders, escalation targets."""

from collections import Counter

import pytest

from duban.domain.units import Level
from duban.instants import fmt

TZ = "Asia/Shanghai"


def _one(plan, item_id, unit_code):
    found = [a for a in plan.assignments if a.item_id == item_id and a.unit_code == unit_code]
    assert len(found) == 1
    return found[0]


def test_units_and_assignments_per_stage(jinzhong):
    _spec, plan = jinzhong
    levels = Counter(u.level for u in plan.registry if u.kind == "division")
    assert levels[Level.county] == 11 and levels[Level.township] == 118
    per_stage = Counter(a.stage_id for a in plan.assignments)
    # self-assessment: 2 items × (11 counties + 开发区 + 118 townships)
    assert per_stage["self_assessment"] == 2 * 130
    assert per_stage["county_check"] == 2 * 11
    assert per_stage["city_check"] == 1 + 30
    assert per_stage["materials"] == 11


def test_absolute_instants_of_乐平镇(jinzhong):
    _spec, plan = jinzhong
    a = _one(plan, "self_score_sheet", "140724100")  # 昔阳县 乐平镇
    assert fmt(a.open_at, TZ) == "2024-05-10 周五 08:30"
    assert fmt(a.due_at, TZ) == "2024-05-25 周六 24:00"
    # 3 working days before 5/25 is Wed 5/22; 1 day before is Fri 5/24, both at 09:00
    assert [fmt(t, TZ) for t in a.reminders] == ["2024-05-22 周三 09:00", "2024-05-24 周五 09:00"]
    # 2 working days after Saturday 5/25 is Tuesday 5/28; the parent is 昔阳县, the leader the east group
    [(when, targets)] = a.escalations
    assert fmt(when, TZ) == "2024-05-28 周二 09:00"
    assert targets == ("140724", "leader:leader_east")


def test_materials_are_due_at_the_end_of_july_first(jinzhong):
    _spec, plan = jinzhong
    a = _one(plan, "materials_upload", "140724")
    assert fmt(a.due_at, TZ) == "2024-07-01 周一 24:00"
    assert a.due_at.isoformat() == "2024-07-01T23:59:59.999999+08:00"


def test_county_escalation_goes_to_the_city_and_its_leader(jinzhong):
    _spec, plan = jinzhong
    a = _one(plan, "county_report", "140702")  # 榆次区
    [(when, targets)] = a.escalations
    # due Monday 6/10 (端午节); two working days later is Wednesday 6/12
    assert fmt(when, TZ) == "2024-06-12 周三 09:00"
    assert targets == ("140700", "leader:leader_west")


def test_the_issuers_own_office_is_not_escalated_to_the_issuer(jinzhong):
    """The 设管科 runs the campaign for 晋中市统计局, the issuer: its own 市级现场检查 slipping was escalated to
    晋中市统计局 (its parent), telling the bureau to 督促 its own office (an outside tester's finding). The slip
    is not escalated to the issuer; a county's still is, to the city and its leader."""
    _spec, plan = jinzhong
    [(when, targets)] = _one(plan, "city_inspection", "140700-sgk").escalations
    assert fmt(when, TZ) == "2024-07-02 周二 09:00" and targets == ()
    [(_when, county)] = _one(plan, "county_report", "140702").escalations
    assert county == ("140700", "leader:leader_west")


def test_the_city_sample_holds_six_counties_and_24_townships(jinzhong):
    _spec, plan = jinzhong
    sample = plan.samples["city_check"]
    levels = Counter(plan.registry.units[c].level for c in sample.members)
    assert levels == {Level.county: 6, Level.township: 24}
    binders = {a.unit_code for a in plan.assignments if a.item_id == "inspection_binder"}
    assert binders == set(sample.members)


def test_every_county_has_at_least_six_townships_drawn(jinzhong):
    _spec, plan = jinzhong
    per_county = Counter(plan.registry.units[c].parent for c in plan.samples["county_checks"].members)
    counties = [u.code for u in plan.registry if u.level is Level.county and u.kind == "division"]
    assert all(per_county[c] >= 6 for c in counties)


def test_plan_is_the_same_under_any_machine_zone(jinzhong, monkeypatch):
    import time

    from duban.services.lifecycle import plan_file
    from tests.conftest import JINZHONG

    _spec, plan = jinzhong
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        _again, replanned = plan_file(JINZHONG)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert [(a.unit_code, a.item_id, a.open_at, a.due_at, a.reminders) for a in replanned.assignments] == [
        (a.unit_code, a.item_id, a.open_at, a.due_at, a.reminders) for a in plan.assignments
    ]


@pytest.mark.parametrize("seed", [20240610, 1])
def test_samples_are_reproducible(jinzhong, seed):
    from duban.domain.sampling.draw import draw_sample
    from duban.domain.select import Resolver

    spec, plan = jinzhong
    sample = next(s for s in spec.campaign.samples if s.id == "city_check").model_copy(update={"seed": seed})
    resolver = Resolver(plan.registry, spec.campaign.groups)
    first = draw_sample(sample, resolver, plan.registry).members
    assert first == draw_sample(sample, resolver, plan.registry).members
    other = draw_sample(sample.model_copy(update={"seed": seed + 1}), resolver, plan.registry).members
    assert first != other


def test_show_all_lists_every_assignment_past_the_list_limit(jinzhong, monkeypatch):
    """`duban show --all` lists each assignment of a plan longer than the list limit; without it, only the count."""
    from rich.console import Console

    from duban.cli import show

    spec, plan = jinzhong
    monkeypatch.setattr(show, "LIST_LIMIT", 100)  # the plan holds 324 assignments
    for every, listed in ((True, True), (False, False)):
        console = Console(record=True, width=240)
        show.print_plan(console, spec, plan, every=every)
        assert ("list them with --all" not in console.export_text()) is listed
