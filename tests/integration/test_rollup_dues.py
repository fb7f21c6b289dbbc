"""A roll-up's holders due before the units below them (an outside tester's finding): an amendment moved the
counties' 台账 of 山西's 住建 campaign past the cities' 汇总 due and nothing said that each city would be asked to
add up figures its counties had not handed in yet. validate and `duban amend` now say so at the roll-up."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from duban.cli.main import app
from tests.conftest import SPECS

SHIPPED = SPECS / "shanxi-2025-housing-safety.yaml"


def _said(*args: str) -> str:
    return " ".join(CliRunner().invoke(app, list(args), catch_exceptions=False).output.split())


def _copy(tmp_path, text: str):
    (tmp_path / "units").mkdir()
    shutil.copy(SPECS / "units" / "shanxi-housing.yaml", tmp_path / "units" / "shanxi-housing.yaml")
    spec = tmp_path / SHIPPED.name
    spec.write_text(text, encoding="utf-8")
    return spec


def test_validate_warns_of_a_summary_due_before_the_counties_it_adds_up(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8")
    assert "        due: 2025-05-23\n" in text
    spec = _copy(tmp_path, text.replace("        due: 2025-05-23\n", "        due: 2025-05-09\n"))
    said = _said("validate", str(spec))
    assert f"{spec.name}:31 rollups[0]: roll-up 'city_counts': " in said, said
    assert "are due to hand in `city_summary` before 117 units below hand in `county_ledger`" in said, said
    assert "`city_summary` due 2025-05-09 周五 24:00, `county_ledger` due 2025-05-16 周五 24:00" in said
    assert "would add up figures not yet in" not in _said("validate", str(SHIPPED))


def test_an_amendment_moving_the_counties_past_the_summary_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    amendment = tmp_path / "move.yaml"
    amendment.write_text(
        "campaign: shanxi-2025-housing-safety\nissuer: 山西省住房和城乡建设厅\ntitle: 关于延长排查建账时间的通知\n"
        "issued_on: 2025-05-06\nreason: 排查延至5月30日\nchanges:\n  - item: county_ledger\n    due: 2025-05-30\n",
        encoding="utf-8",
    )
    said = _said("amend", str(SHIPPED), str(amendment), "--dry-run")
    assert "warning roll-up 'city_counts': " in said, said
    assert "`city_summary` due 2025-05-23 周五 24:00, `county_ledger` due 2025-05-30 周五 24:00" in said, said
    kept = tmp_path / "keep.yaml"
    kept.write_text(amendment.read_text(encoding="utf-8").replace("2025-05-30", "2025-05-21"), encoding="utf-8")
    assert "would add up figures not yet in" not in _said("amend", str(SHIPPED), str(kept), "--dry-run")
