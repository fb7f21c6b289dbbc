"""Shared fixtures. The whole suite runs with the machine's zone set far from Shanghai, so any code that
leans on the local zone instead of the campaign's fails here rather than in a bureau."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

os.environ["TZ"] = "America/Los_Angeles"
time.tzset()
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parent.parent


def run_bench(*args: str, timeout: int = 600) -> dict:
    """Run a bench script (its path and options) from the repository's root: the last line it prints, as JSON."""
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


SPECS = ROOT / "campaign_specs"
JINZHONG = SPECS / "jinzhong-2024-lookback.yaml"
PG_ADMIN_URL = os.environ.get("DUBAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Each test gets its own DUBAN_HOME (database, sink, files)."""
    from duban.settings import get_settings

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DUBAN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def jinzhong():
    """Seed 004 loaded and planned (spec, plan)."""
    from duban.services.lifecycle import plan_file

    return plan_file(JINZHONG)


@pytest.fixture
def sqlite_engine(tmp_path):
    from duban.store.db import init_db
    from duban.store.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'duban.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


def _pg_available() -> bool:
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url():
    """A fresh Postgres database for this test session (127.0.0.1:5432), dropped afterwards."""
    import sqlalchemy

    if not _pg_available():
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: the production path must be tested")
    name = f"duban_test_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(
            sqlalchemy.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
        )
        conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def pg_engine(pg_url):
    from sqlmodel import SQLModel

    from duban.store.db import init_db
    from duban.store.engine import make_engine

    engine = make_engine(pg_url)
    SQLModel.metadata.drop_all(engine)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request):
    """The same test on SQLite (the embedded default) and Postgres (production)."""
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    import flows  # noqa: F401  (sets duban's embedded-server defaults before the server starts)

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def pg_database():
    """A factory of fresh, empty Postgres databases (URL by driver: 'psycopg' or 'asyncpg'), dropped at the end."""
    import sqlalchemy

    if not _pg_available():
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: the production path must be tested")
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    made = []

    def make(purpose: str, driver: str = "psycopg") -> str:
        name = f"duban_{purpose}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("+psycopg", f"+{driver}")
        return f"{base}/{name}"

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(
                sqlalchemy.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
            )
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()
