"""Migrations: from an empty SQLite or Postgres database to exactly duban's tables, and back to nothing.

What an administrator meets: `duban db upgrade` on an empty production database, a database made before
duban had migrations, and a worker that refuses to run against a schema that lags behind its code.
"""

import pytest
from sqlalchemy import func, inspect, select, text
from sqlmodel import SQLModel
from typer.testing import CliRunner

from duban.cli.main import app
from duban.errors import StoreError
from duban.store.db import engine_for
from duban.store.engine import make_engine
from duban.store.migrate import (
    BEFORE_MIGRATIONS,
    compare,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    upgrade,
)
from duban.store.tables import Assignment
from tests.integration.helpers import plan_jinzhong

runner = CliRunner()
STALE = (
    'duban/store/tables.py and the migrations differ: run `uv run duban db revision -m "what changed"` and commit it'
)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path):
    """The URL of an empty database (nothing in it, not even Alembic's version table)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("pg_database")("migrations")


def _tables(engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _revision(engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


def test_the_revisions_have_one_head_and_duban_reads_it_like_alembic():
    from alembic.script import ScriptDirectory

    from duban.store.migrate import _alembic_config

    assert ScriptDirectory.from_config(_alembic_config(None)).get_heads() == [head_revision()]


def test_upgrading_an_empty_database_gives_exactly_the_tables_and_downgrade_removes_them(empty_url):
    engine = make_engine(empty_url)
    try:
        assert upgrade(engine) == ("empty", head_revision())
        assert compare(engine) == [], STALE
        assert set(SQLModel.metadata.tables) <= _tables(engine)
        plan_jinzhong(engine)  # the migrated schema takes a real campaign
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Assignment)).scalar() == 324
        with engine.begin() as conn:
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())
        assert downgrade(engine, "base") == (head_revision(), "empty")
        assert _tables(engine) <= {"alembic_version"}
        upgrade(engine)
        assert compare(engine) == [] and _revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_a_fresh_database_is_created_at_the_head_in_one_step(empty_url):
    engine = make_engine(empty_url)
    try:
        ensure_schema(engine, upgrade=False)
        assert _revision(engine) == head_revision()
        assert compare(engine) == []
    finally:
        engine.dispose()


def _legacy(url: str, folder):
    """A database as duban made it before migrations: the first release's tables, no version, a planned campaign
    (晋中 as it was then: its 材料上报 stage did not yet ask 签收, which the first release had no table for)."""
    import shutil

    from duban.services.lifecycle import ensure_planned
    from tests.conftest import JINZHONG, SPECS
    from tests.integration.helpers import at

    shutil.copytree(SPECS / "units", folder / "units")
    shutil.copytree(SPECS / "calendar", folder / "calendar")
    lines = JINZHONG.read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / JINZHONG.name).write_text(
        "".join(line for line in lines if not line.lstrip().startswith("acknowledge:")), encoding="utf-8"
    )
    engine = make_engine(url)
    upgrade(engine, BEFORE_MIGRATIONS)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    ensure_planned(engine, folder / JINZHONG.name, now=at("2024-05-09 12:00"))
    return engine


def test_the_embedded_sqlite_database_of_an_earlier_duban_is_adopted_and_kept(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _legacy(url, tmp_path / "specs").dispose()
    engine = engine_for(url)
    assert _revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Assignment)).scalar() == 324


def test_a_lagging_postgres_database_is_refused_until_the_administrator_upgrades_it(pg_database, monkeypatch, tmp_path):
    url = pg_database("lagging")
    old = _legacy(url, tmp_path / "specs")
    with pytest.raises(StoreError, match="run `duban db upgrade`"):
        ensure_schema(make_engine(url), upgrade=False)
    monkeypatch.setenv("DUBAN_DATABASE_URL", url)
    from duban.settings import get_settings

    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "current"])
    assert "made before duban had migrations" in result.output and "run `duban db upgrade`" in result.output
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"migrations) → {head_revision()}" in result.output
    assert compare(old) == []
    ensure_schema(make_engine(url), upgrade=False)  # accepted now
    with old.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM assignment")).scalar() == 324
    old.dispose()


def test_two_workers_opening_one_empty_postgres_database_at_once_create_it_once(pg_database):
    import threading

    url = pg_database("race")
    errors = []
    barrier = threading.Barrier(4)

    def open_it():
        engine = make_engine(url)
        try:
            barrier.wait()
            ensure_schema(engine, upgrade=False)
        except Exception as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = make_engine(url)
    assert _revision(engine) == head_revision() and compare(engine) == []
    engine.dispose()


def test_upgrading_a_database_with_a_running_campaign_fills_its_tally_and_keeps_it(empty_url):
    """0014 counts the assignments already there, and its triggers keep the counts from then on."""
    from duban.store.tally import read_tally, recount
    from tests.integration.helpers import CAMPAIGN, at, tick

    engine = make_engine(empty_url)
    try:
        upgrade(engine, "0013")
        plan_jinzhong(engine)
        upgrade(engine)
        tick(engine, at("2024-05-20 09:00"))
        with engine.connect() as conn:
            kept, counted = read_tally(conn, CAMPAIGN), recount(conn, CAMPAIGN)
        assert kept == counted and kept.units == 131 and ("self_assessment", "self_report", "open") in kept.counts
        downgrade(engine, "0013")
        assert "assignment_tally" not in _tables(engine)
        with engine.begin() as conn:  # no trigger left behind writes into a table that is gone
            conn.execute(text("UPDATE assignment SET state = 'submitted'"))
    finally:
        engine.dispose()
