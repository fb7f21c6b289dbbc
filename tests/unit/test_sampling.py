"""Sample rules (抽查样本) over the real 晋中 registry: counts, minimums, shares, designated units, nested
samples and strata; the same seed draws the same units and another seed other units."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError

from duban.domain.overlay import build_registry
from duban.domain.sampling.draw import SampleRuleError, draw_sample
from duban.domain.select import Resolver
from duban.domain.units import Level
from duban.spec.models import Sample, Selector
from tests.conftest import SPECS

GROUPS = {
    "counties": Selector(level=Level.county, kind="division"),
    "townships": Selector(level=Level.township),
    "xiyang_townships": Selector(level=Level.township, under="140724"),
}


@pytest.fixture(scope="module")
def registry():
    """晋中市 (11 counties, 118 townships) with an `area` attribute: 街道 are 城区, the rest 农村."""
    reg = build_registry(["140700"], SPECS / "units" / "jinzhong.yaml")
    for unit in reg:
        if unit.level is Level.township:
            unit.attributes["area"] = "城区" if unit.name.endswith("街道") else "农村"
    return reg


def draw(registry, seed: int = 20240610, samples: dict | None = None, **rule):
    """Draw one sample whose single rule is `rule`; `samples` are other samples it may draw from."""
    drawn: dict[str, list[str]] = {}
    specs = {
        sid: Sample.model_validate({"id": sid, "name": sid, "seed": 1, **body}) for sid, body in (samples or {}).items()
    }

    def members(sid: str) -> list[str]:
        if sid not in drawn:
            drawn[sid] = draw_sample(specs[sid], resolver, registry).members
        return drawn[sid]

    resolver = Resolver(registry, GROUPS, members)
    sample = Sample.model_validate({"id": "check", "name": "市级抽查", "seed": seed, **rule})
    return draw_sample(sample, resolver, registry)


def parents(registry, codes):
    return Counter(registry.units[c].parent for c in codes)


# counts and minimums ------------------------------------------------------------------------------------------


def test_a_count_draws_exactly_that_many_from_its_base(registry):
    result = draw(registry, **{"from": "townships", "count": 24})
    assert len(result.members) == 24 == len(set(result.members))
    assert all(registry.units[c].level is Level.township for c in result.members)
    assert result.draws[0].rule == "24 of 118" and result.draws[0].base == 118


def test_the_same_seed_draws_the_same_units_and_another_seed_others(registry):
    rule = {"from": "townships", "count": 24}
    first = draw(registry, seed=20240610, **rule).members
    assert draw(registry, seed=20240610, **rule).members == first
    assert draw(registry, seed=20240611, **rule).members != first


def test_a_count_per_level_comes_from_one_draw_per_level(registry):
    result = draw(registry, draws=[{"from": "counties", "count": 6}, {"from": "townships", "count": 24}])
    assert Counter(registry.units[c].level for c in result.members) == {Level.county: 6, Level.township: 24}


def test_a_count_per_level_by_strata(registry):
    result = draw(registry, **{"from": ["counties", "townships"], "strata": "level", "counts": {"县": 6, "乡": 24}})
    assert Counter(registry.units[c].level for c in result.members) == {Level.county: 6, Level.township: 24}
    assert result.draws[0].strata == {"county": 6, "township": 24}


def test_min_per_parent_reaches_every_parent_and_says_where_it_falls_short(registry):
    result = draw(registry, **{"from": "townships", "min_per_parent": 12})
    per_county = parents(registry, result.members)
    sizes = Counter(registry.units[c].parent for c in registry.units if registry.units[c].level is Level.township)
    assert len(per_county) == 11
    for county, size in sizes.items():
        assert per_county[county] == min(12, size)
    short = {county for county, size in sizes.items() if size < 12}
    assert set(result.draws[0].short) == short and short  # 昔阳县 has 10
    assert any("昔阳县统计局 has only 10 unit(s), fewer than 12" in note for note in result.notes)


def test_a_total_with_a_floor_per_parent(registry):
    result = draw(registry, **{"from": "townships", "count": 40, "min_per_parent": 2})
    assert len(result.members) == 40
    assert min(parents(registry, result.members).values()) >= 2


def test_a_floor_per_parent_above_the_total_contradicts_it(registry):
    with pytest.raises(
        SampleRuleError, match="at least 3 under each of 11 parents makes 33 units, more than the count 24"
    ) as caught:
        draw(registry, **{"from": "townships", "count": 24, "min_per_parent": 3})
    assert caught.value.subpath == ("draws", 0, "count")


def test_a_count_above_the_base_is_an_error(registry):
    with pytest.raises(SampleRuleError, match="asks for 16 units but only 11"):
        draw(registry, **{"from": "counties", "count": 16})


# percentages ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rounding", "expected", "words"),
    [
        ("up", 12, "10% of 118 = 11.8 → 12 (rounded up)"),
        ("down", 11, "→ 11 (rounded down)"),
        ("nearest", 12, "→ 12 (rounded)"),
    ],
)
def test_a_percentage_is_rounded_as_the_rule_says(registry, rounding, expected, words):
    result = draw(registry, **{"from": "townships", "percent": "10%", "rounding": rounding})
    assert len(result.members) == expected
    assert words in result.draws[0].rule


def test_a_percentage_range_takes_its_low_end_its_high_end_or_a_seeded_count(registry):
    low = draw(registry, **{"from": "townships", "percent": [10, 20]})
    high = draw(registry, **{"from": "townships", "percent": "10%-20%", "take": "high"})
    assert (len(low.members), len(high.members)) == (12, 24)
    counts = {
        len(draw(registry, seed=seed, **{"from": "townships", "percent": [10, 20], "take": "random"}).members)
        for seed in range(40)
    }
    assert counts <= set(range(12, 25)) and len(counts) > 3
    again = draw(registry, seed=7, **{"from": "townships", "percent": [10, 20], "take": "random"})
    assert (
        again.members == draw(registry, seed=7, **{"from": "townships", "percent": [10, 20], "take": "random"}).members
    )


def test_a_minimum_count_raises_a_small_share(registry):
    result = draw(registry, **{"from": "townships", "percent": 1, "min_count": 5})
    assert len(result.members) == 5  # 1% of 118 = 1.18 → 2, raised to 5
    assert "raised to the minimum 5" in result.draws[0].rule and not result.notes


def test_all_units_are_drawn_when_there_are_fewer_than_the_minimum(registry):
    result = draw(registry, **{"from": "xiyang_townships", "percent": 30, "min_count": 12})
    assert sorted(result.members) == sorted(c for c in registry.units if registry.units[c].parent == "140724")
    assert result.notes == ["only 10 units, fewer than the minimum 12: all of them are drawn"]


def test_a_maximum_count_caps_a_large_share(registry):
    assert len(draw(registry, **{"from": "townships", "percent": 50, "max_count": 20}).members) == 20


# designated, nested, strata -------------------------------------------------------------------------------------


def test_designated_units_are_always_drawn_and_the_rest_at_random(registry):
    designated = ["140724100", "140724104"]  # 乐平镇, 大寨镇
    for seed in (1, 2, 3):
        result = draw(registry, seed=seed, **{"from": "townships", "count": 6, "designated": {"units": designated}})
        assert set(designated) <= set(result.members) and len(result.members) == 6
    assert "2 designated + 4 at random" in result.draws[0].rule


def test_designated_units_outside_the_base_contradict_it(registry):
    with pytest.raises(SampleRuleError, match="designated units 榆次区统计局 are not among the 118 units") as caught:
        draw(registry, **{"from": "townships", "count": 6, "designated": {"units": ["140702"]}})
    assert caught.value.subpath == ("draws", 0, "designated")
    with pytest.raises(SampleRuleError, match="designates 3 units, more than the 2 it draws"):
        draw(
            registry,
            **{"from": "townships", "count": 2, "designated": {"units": ["140724100", "140724101", "140724102"]}},
        )


def test_a_nested_sample_is_drawn_from_its_parent_sample(registry):
    parent = {"city": {"from": "townships", "count": 24}}
    result = draw(registry, samples=parent, **{"from": {"sample": "city"}, "count": 8})
    city = draw(registry, seed=1, **parent["city"]).members
    assert len(result.members) == 8 and set(result.members) <= set(city)
    with pytest.raises(SampleRuleError, match="a sub-sample cannot be larger than the sample it is drawn from"):
        draw(registry, samples=parent, **{"from": {"sample": "city"}, "count": 30})


def test_strata_by_a_unit_attribute(registry):
    each = draw(registry, **{"from": "townships", "strata": "area", "count": 3, "allocation": "each"})
    areas = Counter(registry.units[c].attributes["area"] for c in each.members)
    assert areas == {"城区": 3, "农村": 3}
    counts = draw(registry, **{"from": "townships", "strata": "area", "counts": {"城区": 2, "农村": 10}})
    assert Counter(registry.units[c].attributes["area"] for c in counts.members) == {"城区": 2, "农村": 10}


def test_each_stratum_shows_its_own_arithmetic_and_a_stratum_counts_leave_out_is_said(registry):
    """`sample show` printed only how many each stratum gave: an auditor could not check 3% of 一般 against its size,
    and a value the notice never named (风险等级 极高) became a stratum, or drew nothing, without a word."""
    sizes = Counter(u.attributes["area"] for u in registry if u.level is Level.township)
    each = draw(registry, **{"from": "townships", "strata": "area", "percent": 10, "allocation": "each"}).draws[0]
    assert each.sizes == dict(sizes)
    n = sizes["农村"]
    assert each.arithmetic["农村"].startswith(f"10% of {n} = {n / 10:g} → {-(-n // 10)}"), each.arithmetic
    shared = draw(registry, **{"from": "townships", "strata": "area", "count": 24, "allocation": "proportional"}).draws[
        0
    ]
    assert shared.arithmetic["城区"].startswith(
        f"{shared.strata['城区']} of {sizes['城区']} (24 × {sizes['城区']}/118"
    ), shared.arithmetic
    counted = draw(registry, **{"from": "townships", "strata": "area", "counts": {"农村": 3}}).draws[0]
    assert counted.arithmetic["城区"] == f"0 of {sizes['城区']}"
    assert f"stratum 城区 ({sizes['城区']} unit(s)) has no number in `counts:`: none of it is drawn" in counted.notes


def test_proportional_allocation_shares_a_total_by_stratum_size(registry):
    sizes = Counter(u.attributes["area"] for u in registry if u.level is Level.township)
    result = draw(registry, **{"from": "townships", "strata": "area", "count": 24, "allocation": "proportional"})
    drawn = Counter(registry.units[c].attributes["area"] for c in result.members)
    assert sum(drawn.values()) == 24
    for area, size in sizes.items():
        assert abs(drawn[area] - 24 * size / 118) < 1


def test_units_without_the_attribute_are_left_out_and_said_so(registry):
    result = draw(registry, **{"from": ["counties", "townships"], "strata": "area", "count": 2, "allocation": "each"})
    assert all(registry.units[c].level is Level.township for c in result.members)
    assert "11 unit(s) carry no 'area' attribute" in result.notes[0]


def test_a_stratum_no_unit_is_in_is_an_error(registry):
    with pytest.raises(SampleRuleError, match="no unit of the draw is in stratum '山区'"):
        draw(registry, **{"from": "townships", "strata": "area", "counts": {"山区": 2}})


# rules that contradict each other are refused when the spec is read ---------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"percent": [20, 10]}, "the percentage range 20%–10% runs backwards"),
        ({"percent": 10, "min_count": 5, "max_count": 3}, "min_count 5 is above max_count 3"),
        ({"percent": "10%-20%", "count": 5}, "`percent:` is a floor"),
        ({"count": 5, "base": 100}, "`base:` is what a percentage floor is of"),
        ({"count": 5, "min_count": 3}, "`min_count:` bounds a percentage"),
        ({"counts": {"城区": 2}}, "say which with `strata:`"),
        ({"count": 4, "min_per_parent": 6}, "min_per_parent 6 is above the count 4"),
        ({"percent": 120}, "must lie between 0 and 100"),
        ({"percent": "ten"}, "is not a percentage"),
        ({}, "a draw says how many"),
    ],
)
def test_contradicting_rules_are_refused(rule, message):
    with pytest.raises(ValidationError, match=message):
        Sample.model_validate({"id": "check", "name": "抽查", "seed": 1, "from": "townships", **rule})


# samples as notices leave them (issue 25) ------------------------------------------------------------------------


def test_strata_without_ratios_share_the_count_in_proportion_and_say_so(registry):
    sizes = Counter(u.attributes["area"] for u in registry if u.level is Level.township)
    result = draw(registry, **{"from": "townships", "strata": "area", "count": 24})
    drawn = Counter(registry.units[c].attributes["area"] for c in result.members)
    assert sum(drawn.values()) == 24 and all(abs(drawn[a] - 24 * n / 118) < 1 for a, n in sizes.items())
    [note] = result.notes
    assert "strata by area without ratios" in note and f"城区 {drawn['城区']} of {sizes['城区']}" in note
    assert "`allocation: each`" in note
    assert (
        draw(registry, **{"from": "townships", "strata": "area", "count": 24, "allocation": "proportional"}).notes == []
    )


def test_a_percentage_floor_above_a_fixed_target_shows_the_arithmetic(registry):
    # 不低于3% of 52,000 households is 1,560, against 抽查1,500户: the target is drawn, the conflict said
    result = draw(registry, **{"from": "townships", "count": 20, "percent": "3%", "base": 52000})
    assert len(result.members) == 20
    [note] = result.notes
    assert "the fixed target 20 is below the floor 不低于3%: 3% of 52,000 = 1,560 → 1,560 (rounded up)" in note
    assert draw(registry, **{"from": "townships", "count": 20, "percent": "3%", "base": 500}).notes == []  # 15 ≤ 20


def test_the_sample_warnings_reach_validate_at_the_rule(tmp_path):
    from duban.domain.calendar import WorkCalendar
    from duban.spec.checks import validate
    from duban.spec.load import load_spec

    path = tmp_path / "t.yaml"
    path.write_text(
        'id: t\ntitle: 住户调查抽查\nissuer: 晋中市统计局\nregistry: {divisions: ["140724"]}\n'
        "samples:\n"
        "  - {id: households, name: 抽查, from: {level: township}, count: 3, percent: 3%, base: 52000, seed: 7}\n"
        "stages:\n  - id: s\n    name: 抽查\n    window: {start: 2024-05-10, end: 2024-05-24}\n"
        "    items: [{id: a, name: 台账, units: {sample: households}}]\n",
        encoding="utf-8",
    )
    _plan, warnings = validate(load_spec(path), WorkCalendar())
    [said] = [w for w in warnings if "fixed target" in w.message]
    assert said.line == 6 and "3% of 52,000 = 1,560" in said.message


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        ({"count": "待定", "percent": 10}, "leaves the number to the operator"),
        ({"count": 3, "named_by_parent": 1, "strata": "area"}, "already draws per parent"),
    ],
)
def test_open_rules_that_contradict_themselves_are_refused(rule, said):
    with pytest.raises(ValidationError, match=said):
        Sample.model_validate({"id": "s", "name": "s", "seed": 1, "from": "townships", **rule})


def test_an_open_sample_spec_is_in_the_published_schema():
    import jsonschema

    from duban.spec.models import Campaign
    from duban.spec.source import read_source
    from tests.conftest import ROOT

    jsonschema.validate(
        read_source(ROOT / "tests" / "specs" / "jinzhong-2024-open-samples.yaml").data, Campaign.model_json_schema()
    )


def test_a_stratum_or_a_sample_the_arithmetic_leaves_empty_is_said(registry):
    """3% of each 风险等级, rounded down, gave 高 (1 enterprise) and 较高 (5) none, without a word at validate or in
    `sample show`: a 双随机 notice means every class is inspected (an outside tester's finding)."""
    sizes = Counter(u.attributes["area"] for u in registry if u.level is Level.township)
    each = draw(
        registry, **{"from": "townships", "strata": "area", "percent": 3, "rounding": "down", "allocation": "each"}
    )
    assert each.draws[0].strata["城区"] == 0 < sizes["城区"] < 34  # 3% of fewer than 34 rounds down to 0
    [note] = [n for n in each.draws[0].notes if "城区" in n]
    assert note.startswith(f"stratum 城区: 3% of {sizes['城区']}") and f"none of the {sizes['城区']} unit(s)" in note
    assert "`rounding: up` or `min_count: 1`" in note
    assert not any("农村" in n for n in each.draws[0].notes)  # 3% of the rural ones is at least one: nothing said

    shared = draw(registry, **{"from": "townships", "strata": "area", "count": 2, "allocation": "proportional"})
    assert shared.draws[0].strata["城区"] == 0
    assert any(f"stratum 城区 ({sizes['城区']} unit(s)): none drawn" in n for n in shared.draws[0].notes)

    whole = draw(registry, **{"from": "townships", "percent": "0.5%", "rounding": "down"})
    assert whole.members == [] and any("none of the 118 unit(s) is drawn" in n for n in whole.draws[0].notes)
    up = draw(registry, **{"from": "townships", "percent": "0.5%", "rounding": "up"})
    assert len(up.members) == 1 and not any("none of" in n for n in up.draws[0].notes)
