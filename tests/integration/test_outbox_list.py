"""`duban outbox list` as an operator reads it: who each message went to, by name, and one unit's messages."""

from __future__ import annotations

from typer.testing import CliRunner

from duban.cli.main import app
from duban.settings import get_settings
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick

runner = CliRunner(env={"COLUMNS": "240"})


def _listed(engine, monkeypatch, *args: str):
    monkeypatch.setenv("DUBAN_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    return runner.invoke(app, ["outbox", "list", *args])


def test_the_list_names_each_recipient_beside_its_code(sqlite_engine, monkeypatch):
    """The list showed only codes (140724, leader:leader_east): an operator asked "did 昔阳 get it?" could not tell."""
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    tick(sqlite_engine, at("2024-07-03 09:00"))
    listed = _listed(sqlite_engine, monkeypatch, "--limit", "400")
    assert listed.exit_code == 0, listed.output
    assert "140724 昔阳县统计局" in listed.output
    assert "140724100 乐平镇统计站" in listed.output
    assert "leader:leader_east 市局包县区领导（东片）" in listed.output


def test_the_list_keeps_to_one_unit_named_by_its_code_or_its_name(sqlite_engine, monkeypatch):
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    for unit in ("昔阳县统计局", "140724", " 140724 "):
        listed = _listed(sqlite_engine, monkeypatch, "--unit", unit)
        assert listed.exit_code == 0, listed.output
        rows = [line for line in listed.output.splitlines() if CAMPAIGN in line]
        assert rows and all("140724 昔阳县统计局" in row for row in rows), unit
    everyone = _listed(sqlite_engine, monkeypatch).output.splitlines()[0]
    assert everyone.startswith("pending 130 ")  # the opening's messages, to every unit
    assert listed.output.splitlines()[0].startswith("pending 1 "), listed.output  # the counts keep to 昔阳 too
    by_campaign = _listed(sqlite_engine, monkeypatch, "--unit", "乐平镇统计站", "--campaign", CAMPAIGN)
    rows = [line for line in by_campaign.output.splitlines() if CAMPAIGN in line]
    assert by_campaign.exit_code == 0 and rows and all("140724100 乐平镇统计站" in row for row in rows)


def test_a_unit_no_campaign_has_is_said_so_not_listed_as_nothing(sqlite_engine, monkeypatch):
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    wrong = _listed(sqlite_engine, monkeypatch, "--unit", "昔阳县教育局")
    assert wrong.exit_code == 1 and f"--unit '昔阳县教育局' is no unit of campaign '{CAMPAIGN}'" in wrong.output
    assert "Traceback" not in wrong.output


def test_a_unit_among_several_campaigns_asks_which(sqlite_engine, monkeypatch):
    from duban.services.lifecycle import ensure_planned
    from tests.conftest import SPECS

    plan_jinzhong(sqlite_engine)
    ensure_planned(sqlite_engine, SPECS / "jinzhong-2025-enterprise-checks.yaml", now=at("2025-03-01 12:00"))
    asked = _listed(sqlite_engine, monkeypatch, "--unit", "140724")
    assert asked.exit_code == 1 and "--unit needs --campaign: the database holds 2 campaigns" in asked.output
    assert _listed(sqlite_engine, monkeypatch, "--unit", "140724", "--campaign", CAMPAIGN).exit_code == 0
