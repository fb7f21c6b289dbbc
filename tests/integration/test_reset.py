"""`duban reset` and a second `duban demo` remove a campaign's whole record, whatever the 督办 loop left in it.

An outside tester ran `duban demo` twice in one folder: the second run (and `duban reset`) stopped with
`FOREIGN KEY constraint failed … DELETE FROM campaign`, because the demo's 通报 (table bulletin) was not among the
tables a reset empties. These tests hold the reset against the schema itself: every table whose rows point at the
campaign, directly or through its assignments, messages or submissions, is emptied.
"""

from __future__ import annotations

from sqlmodel import SQLModel
from typer.testing import CliRunner

from duban.cli.main import app
from duban.settings import get_settings
from duban.store.db import engine_for
from duban.store.plans import CAMPAIGN_RECORD
from tests.conftest import JINZHONG
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick

_KEPT = {"audit_log", "link_revocation"}  # history and revoked links outlive a reset on purpose


def test_a_reset_empties_every_table_that_points_at_the_campaign():
    emptied = {model.__table__.name for model in CAMPAIGN_RECORD}
    tables = SQLModel.metadata.tables
    reaching = {"campaign"}
    grew = True
    while grew:  # the tables whose foreign keys lead, in one or more steps, to the campaign's row
        grew = False
        for name, table in tables.items():
            if name not in reaching and any(fk.column.table.name in reaching for fk in table.foreign_keys):
                reaching.add(name)
                grew = True
    with_campaign_id = {name for name, table in tables.items() if "campaign_id" in table.c and name != "campaign"}
    missing = (reaching | with_campaign_id) - emptied - {"campaign", "delivery"} - _KEPT
    assert not missing, f"a reset leaves rows pointing at the campaign in {sorted(missing)}"


def test_reset_and_replan_after_a_bulletin(tmp_path):
    """The demo's path: a campaign with a 通报 kept is reset (and planned again) without a foreign-key error."""
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-14 09:00"))
    runner = CliRunner()
    drafted = runner.invoke(
        app,
        [
            "bulletin",
            str(JINZHONG),
            "--stage",
            "county_check",
            "--as-of",
            "2024-06-14 09:00",
            "--out",
            str(tmp_path / "通报.docx"),
        ],
    )
    assert drafted.exit_code == 0, drafted.output
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM bulletin").scalar() == 1
    kept = runner.invoke(app, ["reset", CAMPAIGN], input="\n")  # asked, and the default is no
    assert kept.exit_code == 1 and "nothing deleted" in kept.output, kept.output
    assert "135 units, 324 assignments, 134 messages and 0 submitted versions will be deleted for good" in kept.output
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM assignment").scalar() > 0
    reset = runner.invoke(app, ["reset", CAMPAIGN], input="y\n")
    assert reset.exit_code == 0, reset.output
    assert "removed" in reset.output
    with engine.connect() as conn:
        for table in ("bulletin", "assignment", "outbox", "intent", "campaign"):
            assert conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar() == 0, table
    plan_jinzhong(engine)  # and the same campaign is planned afresh
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM campaign").scalar() == 1
    scripted = runner.invoke(app, ["reset", CAMPAIGN, "--yes"])  # a script says so and is not asked
    assert scripted.exit_code == 0 and "delete them?" not in scripted.output, scripted.output
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM campaign").scalar() == 0
