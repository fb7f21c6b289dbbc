"""Samples left open by their notice (issue 25): 抽取部分 (the operator gives the number when drawing) and 由上级指定
(each county names a township, the rest at random) — planned without them, drawn while the campaign runs, their
items then assigned and ticked like any other."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from duban.errors import DubanError
from duban.instants import fmt
from duban.services.lifecycle import ensure_planned
from duban.services.sample_draws import draw_open_sample
from duban.services.tick import tick_stage
from duban.simulation.preview import simulate_spec
from duban.store.tables import Assignment
from tests.conftest import ROOT
from tests.integration.helpers import at

TZ = "Asia/Shanghai"
SPEC = ROOT / "tests" / "specs" / "jinzhong-2024-open-samples.yaml"
CAMPAIGN = "jinzhong-2024-open-samples"


def _units(engine, item):
    with engine.connect() as conn:
        return sorted(
            r.unit_code
            for r in conn.execute(
                select(Assignment.unit_code).where(Assignment.campaign_id == CAMPAIGN, Assignment.item_id == item)
            )
        )


def test_the_operators_number_is_drawn_at_draw_time_and_its_items_assigned(sqlite_engine):
    planned = ensure_planned(sqlite_engine, SPEC, now=at("2024-05-20 09:00"))
    assert planned.plan.undrawn == {
        "city_check": "数量由督办人员抽取时确定",
        "county_models": "每个上级单位指定1个，其余随机抽取",
    }
    assert _units(sqlite_engine, "binder") == []
    assert (
        tick_stage(sqlite_engine, CAMPAIGN, "checks", at("2024-06-01 08:30")).events["opened"] == 2
    )  # the counties' plans
    with pytest.raises(DubanError, match="give it"):
        draw_open_sample(sqlite_engine, CAMPAIGN, "city_check", at=at("2024-06-03 09:00"))
    result, made = draw_open_sample(sqlite_engine, CAMPAIGN, "city_check", count=5, at=at("2024-06-03 09:00"))
    assert len(result.members) == 5 and made == 5 and _units(sqlite_engine, "binder") == sorted(result.members)
    with pytest.raises(DubanError, match="was drawn 2024-06-03 周一 09:00: a draw is recorded once"):  # not UTC
        draw_open_sample(sqlite_engine, CAMPAIGN, "city_check", count=5, at=at("2024-06-03 10:00"))
    # the next tick opens them (the stage opened on 6/1) and they are due 6月中旬, on the 20th
    opened = tick_stage(sqlite_engine, CAMPAIGN, "checks", at("2024-06-03 09:10"))
    assert opened.events["opened"] == 5
    with sqlite_engine.connect() as conn:
        dues = {
            fmt(r.due_at, TZ) for r in conn.execute(select(Assignment.due_at).where(Assignment.item_id == "binder"))
        }
    assert dues == {"2024-06-20 周四 24:00"}


def test_each_county_names_one_township_and_the_rest_are_drawn(sqlite_engine):
    ensure_planned(sqlite_engine, SPEC, now=at("2024-05-20 09:00"))
    with pytest.raises(DubanError, match="1 of 2 have not: still to name: 寿阳县统计局 "):
        draw_open_sample(sqlite_engine, CAMPAIGN, "county_models", named=("140724100",), at=at("2024-06-03 09:00"))
    with pytest.raises(DubanError) as caught:  # every parent still to name, not only the first
        draw_open_sample(sqlite_engine, CAMPAIGN, "county_models", at=at("2024-06-03 09:00"))
    assert "2 of 2 have not: still to name: 昔阳县统计局、寿阳县统计局" in str(caught.value)
    assert "samples[1].named_by_parent" in str(caught.value)
    result, made = draw_open_sample(
        sqlite_engine, CAMPAIGN, "county_models", named=("140724100", "140725100"), at=at("2024-06-03 09:00")
    )
    assert {"140724100", "140725100"} <= set(result.members) and len(result.members) == 4 and made == 4
    assert "2 designated + 2 at random" in result.draws[0].rule


def test_the_cli_draws_an_open_sample(tmp_path, monkeypatch):
    from duban.cli.main import app

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    from duban.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(
        app, ["sample", "draw", str(SPEC), "--sample", "city_check", "--count", "3", "--at", "2024-06-03 09:00"]
    )
    assert result.exit_code == 0, result.output
    assert "3 个单位" in result.output and "3 assignment(s) made" in result.output


def test_sample_show_shows_a_drawn_open_sample_as_drawn(tmp_path, monkeypatch):
    """After `duban sample draw --count 4` the record is the draw: not "differs — only in the record: …"."""
    from duban.cli.main import app

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    from duban.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    drawn = runner.invoke(
        app, ["sample", "draw", str(SPEC), "--sample", "city_check", "--count", "4", "--at", "2024-06-03 09:00"]
    )
    assert drawn.exit_code == 0, drawn.output
    shown = runner.invoke(app, ["sample", "show", str(SPEC), "--sample", "city_check"])
    assert shown.exit_code == 0, shown.output
    assert "市级抽查 (city_check) seed 20240610 · 4 个单位" in shown.output
    assert "drawn 2024-06-03 周一 09:00 with seed 20240610" in shown.output
    assert "differs" not in shown.output and "only in the record" not in shown.output


def test_sample_notes_are_labelled_notes_not_shortfalls(tmp_path):
    """A proportional share and a floor below the target are met in full: they are notes."""
    from duban.cli.main import app

    spec = tmp_path / "notes.yaml"
    spec.write_text(
        'id: notes\ntitle: 抽样\nissuer: 昔阳县统计局\nissued_on: 2024-03-05\nregistry: {divisions: ["140724"]}\n'
        "groups: {townships: {level: township}}\n"
        "samples:\n  - {id: floor, name: 底线, draws: [{from: townships, count: 5, percent: 3%, base: 200}], seed: 1}\n"
        "stages:\n  - {id: s, name: 检查, window: 7月份, items: [{id: a, name: 台账, units: {sample: floor}}]}\n",
        encoding="utf-8",
    )
    shown = CliRunner().invoke(app, ["sample", "show", str(spec)], env={"DUBAN_HOME": str(tmp_path / "home")})
    assert shown.exit_code == 0, shown.output
    assert "note: the fixed target 5 is below the floor" in shown.output
    assert "not met in full" not in shown.output


def test_a_campaign_with_open_samples_simulates():
    preview = simulate_spec(SPEC, seed=2)
    items = {e.rendered.text for e in preview.messages if e.kind == "opened"}
    assert any("抽查台账" in text for text in items) and any("示范点材料" in text for text in items)
