"""The issue's three new shapes plan and simulate, on SQLite and PostgreSQL: a 住建 line over 山西's counties
with the 统计局 beside it, 3% of 晋中's listed enterprises by risk class, a ministry to every province."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from duban.cli.main import app
from duban.services.lifecycle import plan_file
from duban.simulation.preview import simulate_spec
from tests.conftest import SPECS

HOUSING = SPECS / "shanxi-2025-housing-safety.yaml"
ENTERPRISES = SPECS / "jinzhong-2025-enterprise-checks.yaml"
MINISTRY = SPECS / "national-2025-housing-ministry.yaml"


def test_the_housing_line_plans_its_bodies_with_the_statistics_bureaus_beside_them():
    _spec, plan = plan_file(HOUSING)
    ledger = [a for a in plan.assignments if a.item_id == "county_ledger"]
    roles = Counter(a.role for a in ledger)
    assert roles == {"lead": 117, "cooperating": 117}  # 山西's 117 counties, each its 住建局 and its 统计局
    names = {plan.registry.get(a.unit_code).display for a in ledger}
    assert {"昔阳县住房和城乡建设局", "昔阳县统计局"} <= names
    xiyang = next(a for a in ledger if a.unit_code == "140724")
    assert xiyang.escalations[0][1] == ("140700",)  # its city's 住建局
    assert plan.registry.get("140700").display == "晋中市住房和城乡建设局"
    assert plan.registry.get("140724@stats").channels == ["env:DUBAN_XIYANG_WECOM"]


def test_the_enterprise_sample_draws_three_per_cent_of_each_risk_class():
    _spec, plan = plan_file(ENTERPRISES)
    enterprises = [u for u in plan.registry if u.kind == "enterprise"]
    drawn = plan.samples["enterprise_checks"]
    by_class = Counter(u.attributes["risk"] for u in enterprises)
    drawn_by_class = Counter(plan.registry.get(c).attributes["risk"] for c in drawn.members)
    assert drawn_by_class == {risk: -(-n * 3 // 100) for risk, n in by_class.items()}
    pledges = {a.unit_code for a in plan.assignments if a.item_id == "risk_pledge"}
    assert pledges == {u.code for u in enterprises if u.attributes["risk"] in ("高", "较高")}
    record = next(a for a in plan.assignments if a.item_id == "records")
    county = plan.registry.get(record.unit_code).parent
    assert plan.registry.get(county).level.value in ("county", "township")


def test_the_ministry_addresses_every_province_department():
    _spec, plan = plan_file(MINISTRY)
    units = {a.unit_code for a in plan.assignments if a.item_id == "city_checkup"}
    assert len(units) == 31 and "810000" not in units and "110000" in units
    assert plan.registry.get("000000").display == "住房和城乡建设部"
    assert plan.registry.get("110000").display == "北京市住房和城乡建设委员会"
    assert plan.submit_to["city_checkup"] == "000000"
    assert plan.assignments[0].escalations[0][1] == ("000000",)


@pytest.mark.parametrize("spec", [HOUSING, ENTERPRISES, MINISTRY], ids=["housing", "enterprises", "ministry"])
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_each_new_shape_simulates(spec, backend, request):
    url = request.getfixturevalue("pg_database")("shapes") if backend == "postgres" else None
    preview = simulate_spec(spec, seed=2, database_url=url)
    kinds = preview.by_kind()
    assert kinds["opened"] > 0 and kinds["reminder"] > 0
    texts = "\n".join(e.rendered.text for e in preview.messages[:2000])
    if spec is HOUSING:
        assert "住房和城乡建设局" in texts and "统计局" in texts
    if spec is MINISTRY:
        assert "住房和城乡建设厅" in texts
    if spec is ENTERPRISES:  # the city's tally of the drawn enterprises' figures, per risk class
        [tally] = [s for s in preview.rollups if s.rollup.id == "records_by_risk"]
        by_risk = tally.sums_by
        assert set(by_risk) <= {"高", "较高", "一般", "低"} and len(by_risk) >= 2
        assert sum(t["employees"] for t in by_risk.values()) == tally.sums["employees"] > 0


def test_units_messages_would_address_by_one_name_are_a_warning_with_the_way_out():
    """山西's 住建 campaign addresses 阳泉's and 晋城's district bodies alike (城区住房和城乡建设局): a message
    beginning with that name could be either's, and validate said nothing."""
    result = CliRunner().invoke(app, ["validate", str(HOUSING)])
    said = " ".join(result.output.split())
    assert result.exit_code == 0, said
    assert "城区住房和城乡建设局: 140302, 140502" in said and "give them their full titles in the overlay" in said


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_lead_and_the_cooperating_unit_read_what_each_is_to_do(backend, request):
    """昔阳县's 住建局 leads the 排查台账 and its 统计局 cooperates: both were told "以下事项已开始办理，请按时报送"
    word for word alike (an outside tester's finding), so the 统计局 took it for its own report to hand in.
    Each now reads its role, at the opening, in its reminders and its overdue notice; a unit that is simply
    responsible (the 整治报告) reads neither."""
    url = request.getfixturevalue("pg_database")("roles") if backend == "postgres" else None
    preview = simulate_spec(HOUSING, seed=2, database_url=url, keep=lambda m: m.recipient.startswith("1407"))
    told = Counter()
    for message in preview.messages:
        kinds = {(item["item_id"], item["kind"]) for item in json.loads(message.payload_json)["items"]}
        own = {item for item, kind in kinds if kind in ("opened", "reminder", "overdue")}
        text = message.rendered.text
        if own == {"county_ledger"}:
            cooperating = message.recipient.endswith("@stats")
            county = message.campaign.display(message.recipient.partition("@")[0])  # 昔阳县住房和城乡建设局
            stats = message.campaign.display(message.recipient.partition("@")[0] + "@stats")  # 昔阳县统计局
            assert (f"本单位为配合单位：请配合牵头单位（{county}）办理" in text) is cooperating, text
            assert (f"本单位为牵头单位：请组织配合单位（{stats}）共同办理" in text) is not cooperating, text
            told[(cooperating, sorted(kinds)[0][1])] += 1
        elif own:
            assert "本单位为" not in text, text
    assert told[(True, "opened")] == told[(False, "opened")] == 11  # 晋中's eleven counties, each both bodies
    assert told[(True, "reminder")] + told[(True, "overdue")] > 0
