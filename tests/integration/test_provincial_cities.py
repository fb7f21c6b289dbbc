"""省直管 county-level cities (河北's 辛集市 and 定州市, filed by the Ministry of Civil Affairs under 石家庄 and 保定)
re-parented to their province by the overlay's `patch: {code: {parent: …}}`: their slips are escalated to the
province, the 汇总表 names it as their 上级单位, and a body named after its parent follows."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from typer.testing import CliRunner

from duban.cli.main import app
from duban.services.lifecycle import ensure_planned
from duban.simulation.preview import simulate_spec
from duban.simulation.synthetic import Behaviour
from duban.views.summary_table import summary_workbook
from tests.integration.helpers import at

SILENT = Behaviour(on_time=0, late=0)
"""No unit reports: every one slips and is escalated."""


def _hebei(tmp_path, overlay: str | None, more: str = ""):
    """A 住建厅's campaign over 河北's counties: 长安区 (石家庄's), 辛集市 and 定州市 (省直管), 催办 to the parent
    (`more`: further items of its stage)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    registry = "{divisions: ['130000'], line: housing, levels: [province, prefecture, county]"
    if overlay is not None:
        (tmp_path / "units").mkdir()
        (tmp_path / "units" / "hebei.yaml").write_text(overlay, encoding="utf-8")
        registry += ", overlay: units/hebei.yaml"
    spec = tmp_path / "hebei-gas.yaml"
    spec.write_text(
        "id: hebei-gas\ntitle: 城镇燃气安全排查整治\nissuer: 河北省住房和城乡建设厅\nissued_on: 2025-03-03\n"
        f"registry: {registry}}}\n"
        "defaults:\n  escalation: {after: 1 working day, to: [parent]}\n"
        "stages:\n  - id: check\n    name: 排查阶段\n    window: {start: 2025-03-10, end: 2025-03-21}\n"
        "    items:\n      - {id: ledger, name: 排查台账, units: {units: ['130102', '130181', '130682']}}\n" + more,
        encoding="utf-8",
    )
    return spec


REPARENTED = "patch:\n  '130181': {parent: 河北省}\n  130682: {parent: 130000}\n"


def _escalated(spec) -> dict[str, str]:
    """Who hears of the slips (as messages address them) → the text they get."""
    preview = simulate_spec(spec, behaviour=SILENT)
    return {m.recipient_display: m.rendered.text for m in preview.messages if m.kind == "escalation"}


def test_a_provincially_administered_city_is_escalated_to_its_province(tmp_path):
    """辛集市's slip went to 石家庄市住房和城乡建设局, 定州市's to 保定's: the province they answer to never heard."""
    escalated = _escalated(_hebei(tmp_path, REPARENTED))
    assert set(escalated) == {"河北省住房和城乡建设厅", "石家庄市住房和城乡建设局"}
    province, shijiazhuang = escalated["河北省住房和城乡建设厅"], escalated["石家庄市住房和城乡建设局"]
    assert province.startswith("【督办】城镇燃气安全排查整治\n河北省住房和城乡建设厅：")
    assert "辛集市住房和城乡建设局" in province and "定州市住房和城乡建设局" in province
    assert "长安区住房和城乡建设局" in shijiazhuang and "辛集市" not in shijiazhuang


def test_without_the_overlay_the_divisions_own_parent_is_kept(tmp_path):
    escalated = _escalated(_hebei(tmp_path, None))
    assert set(escalated) == {"石家庄市住房和城乡建设局", "保定市住房和城乡建设局"}
    assert "辛集市住房和城乡建设局" in escalated["石家庄市住房和城乡建设局"]


def test_the_summary_table_names_the_province_as_their_parent(sqlite_engine, tmp_path):
    campaign = ensure_planned(sqlite_engine, _hebei(tmp_path, REPARENTED), now=at("2025-03-05 12:00")).campaign_id
    book = load_workbook(io.BytesIO(summary_workbook(sqlite_engine, campaign, at("2025-03-24 12:00"))))
    sheet = book[book.sheetnames[1]]
    rows = {row[0]: row[1:4] for row in sheet.iter_rows(min_row=3, values_only=True) if row[0]}
    assert rows["130181"] == ("辛集市住房和城乡建设局", "县级", "河北省住房和城乡建设厅")
    assert rows["130682"] == ("定州市住房和城乡建设局", "县级", "河北省住房和城乡建设厅")
    assert rows["130102"] == ("长安区住房和城乡建设局", "县级", "石家庄市住房和城乡建设局")


def test_a_city_adds_up_only_the_counties_still_below_it(tmp_path):
    """保定's 汇总 of its counties' 台账: with 定州市 the province's, 保定 has none of them below it, and validate
    says so at the roll-up; 石家庄 keeps 长安区."""
    more = (
        "      - {id: city_sum, name: 全市汇总表, units: {units: ['130100', '130600']}}\n"
        "rollups: [{id: city_counts, name: 全市汇总, from: ledger, into: city_sum}]\n"
    )
    said = CliRunner().invoke(app, ["validate", str(_hebei(tmp_path / "a", None, more))], catch_exceptions=False)
    assert said.exit_code == 0, said.output
    spec = _hebei(tmp_path / "b", REPARENTED, more)
    said = CliRunner().invoke(app, ["validate", str(spec)], catch_exceptions=False)
    assert said.exit_code == 1
    assert (
        f"{spec}:15 rollups[0]: roll-up 'city_counts': 保定市住房和城乡建设局（130600） holds `into: city_sum` but "
        in (said.output.replace("\n", ""))
    )
    assert "石家庄" not in said.output


def test_validate_warns_of_a_county_whose_figures_no_roll_up_adds_up(tmp_path):
    """山西's 住建 campaign copied over 河南 (no overlay): 济源市 (419001, 省直管) hands in its 台账 and sits under no
    city holding the 全市汇总, so its figures were added up nowhere and validate said nothing (an outside tester's
    finding). The shipped 山西 spec, whose counties all have a city, says nothing of it."""
    from tests.conftest import SPECS

    shipped = SPECS / "shanxi-2025-housing-safety.yaml"
    spec = tmp_path / "henan-housing.yaml"
    spec.write_text(
        shipped.read_text(encoding="utf-8")
        .replace('divisions: ["140000"]', 'divisions: ["410000"]')
        .replace("  overlay: units/shanxi-housing.yaml\n", ""),
        encoding="utf-8",
    )
    said = " ".join(CliRunner().invoke(app, ["validate", str(spec)]).output.split())
    assert "roll-up 'city_counts': 济源市住房和城乡建设局（419001） hands in `county_ledger`" in said, said
    assert "added up nowhere" in said
    shipped_said = " ".join(CliRunner().invoke(app, ["validate", str(shipped)]).output.split())
    assert "added up nowhere" not in shipped_said and "holds no duty" not in shipped_said


def test_validate_warns_of_a_催办_that_skips_the_unit_adding_the_figures_up(tmp_path):
    """Townships feed the city's roll-up; their 催办 goes to their county 住建局, which owes nothing here, and the
    city adding them up hears of none (enterprises listed at a township's code met this: an outside tester's
    finding)."""
    spec = tmp_path / "townships.yaml"
    spec.write_text(
        "id: townships\ntitle: 乡镇燃气排查\nissuer: 山西省住房和城乡建设厅\nissued_on: 2025-03-03\n"
        "registry: {divisions: ['140700'], line: housing}\n"
        "defaults:\n  escalation: {after: 1 working day, to: [parent]}\n"
        "rollups:\n  - {id: city_sum, from: ledger, into: city_sum, sum: [n]}\n"
        "stages:\n  - id: check\n    name: 排查阶段\n    window: {start: 2025-03-10, end: 2025-03-28}\n"
        "    items:\n      - {id: ledger, name: 排查台账, units: {level: township}, "
        "metrics: [{name: n, label: 户数}]}\n"
        "      - {id: city_sum, name: 汇总, units: ['140700'], due: 2025-03-28, metrics: [{name: n, label: 户数}]}\n",
        encoding="utf-8",
    )
    said = " ".join(CliRunner().invoke(app, ["validate", str(spec)]).output.split())
    assert "holds no duty in this campaign (榆次区住房和城乡建设局（140702）、" in said and " and 6 more)" in said, said
    assert "while the unit adding their figures up sits above it and hears nothing" in said, said
