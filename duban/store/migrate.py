"""The database schema's version (Alembic): create it fresh, upgrade it, and refuse a database that lags.

Revisions live in duban/store/migrations/versions/ and travel with the package, so an installed duban migrates
its own database (`duban db upgrade`). An empty database is created from the tables in one step and stamped
with the newest revision (the migration test holds that this equals upgrading from base), which keeps the
embedded default and the test suite fast. The embedded SQLite file is upgraded in place when duban opens it;
a Postgres database is only upgraded when the administrator runs `duban db upgrade`, so a new release's
workers never change a shared schema on their own.

Adding a table: add it to duban/store/tables.py, then `uv run duban db revision -m "what changed"` writes the next
numbered revision by comparing a scratch database at the current head with the tables; read it, commit it.
"""

from __future__ import annotations

import re
import tempfile
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from duban.errors import StoreError
from duban.store.engine import close_engine, make_engine, shown_url, writing

MIGRATIONS = Path(__file__).with_name("migrations")
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"
BEFORE_MIGRATIONS = "0001"  # databases made before duban had migrations hold exactly this revision's tables
UNVERSIONED = "tables without a revision (made before duban had migrations)"
_PG_LOCK = 0x6475_6261_6E  # advisory lock key ("duban"): one upgrade at a time on a shared server
_REVISION_RE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:['\"]([^'\"]+)['\"]|None)", re.MULTILINE)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision in duban/store/migrations/versions (read from the files, without importing Alembic)."""
    revisions, parents = set(), set()
    for path in VERSIONS.glob("*.py"):
        found = dict(_REVISION_RE.findall(path.read_text(encoding="utf-8")))
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    if len(heads) != 1:
        raise StoreError(f"duban/store/migrations/versions must have exactly one head revision, found {sorted(heads)}")
    return heads.pop()


def current_revision(conn: Connection) -> str | None:
    """The revision the database is stamped with, or None."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def describe_revision(conn: Connection) -> str:
    """The database's revision in words: the revision, 'empty', or tables made before migrations."""
    revision = current_revision(conn)
    if revision is not None:
        return revision
    return UNVERSIONED if _duban_tables(conn) else "empty"


def create_fresh(engine: Engine) -> None:
    """Create every table of an empty database at once and stamp it with the head revision."""
    with writing(engine) as conn:
        _create_and_stamp(conn)


def ensure_schema(engine: Engine, *, upgrade: bool) -> None:
    """Make sure the database holds duban's newest schema before anything else touches it.

    Empty: created and stamped. Behind: upgraded when `upgrade`, else refused with the command to run.
    """
    head = head_revision()
    with writing(engine) as conn:  # on SQLite an IMMEDIATE transaction: two processes starting at once wait
        if current_revision(conn) == head:
            return
        _lock(conn)
        revision = current_revision(conn)  # again, now that no other process is creating or upgrading
        if revision == head:
            return
        if revision is None and not _duban_tables(conn):
            _create_and_stamp(conn)
            return
        if not upgrade:
            raise StoreError(
                f"the database {_where(engine)} holds duban's schema at revision {revision or 'none (empty)'}, "
                f"this duban needs {head}: run `duban db upgrade` with the same DUBAN_DATABASE_URL, then start again"
            )
        _upgrade(conn, head)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str, str]:
    """Upgrade the database to `revision` (an empty database goes through every revision); (before, after)."""
    with writing(engine) as conn:
        _lock(conn)
        before = describe_revision(conn)
        _upgrade(conn, revision)
        return before, describe_revision(conn)


def downgrade(engine: Engine, revision: str) -> tuple[str, str]:
    """Downgrade the database to `revision` ('base' drops every table); (before, after)."""
    with writing(engine) as conn:
        _lock(conn)
        before = describe_revision(conn)
        _alembic(conn, "downgrade", revision)
        return before, describe_revision(conn)


def new_revision(message: str) -> Path:
    """Write the next numbered revision: what the tables hold beyond a scratch database at the head."""
    number = max((int(p.name[:4]) for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py")), default=0) + 1
    with tempfile.TemporaryDirectory(prefix="duban-revision-") as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'head.db'}")
        try:
            with writing(engine) as conn:
                _alembic(conn, "upgrade", "head")
                script = _alembic(conn, "revision", message, autogenerate=True, rev_id=f"{number:04d}")
        finally:
            close_engine(engine)
    head_revision.cache_clear()
    return Path(script.path)


def _upgrade(conn: Connection, revision: str) -> None:
    _lock(conn)
    if current_revision(conn) is None and _duban_tables(conn):
        _alembic(conn, "stamp", BEFORE_MIGRATIONS)
    _alembic(conn, "upgrade", revision)


def _create_and_stamp(conn: Connection) -> None:
    SQLModel.metadata.create_all(conn)
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
    conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
    conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:head)"), {"head": head_revision()})


def _duban_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) & set(SQLModel.metadata.tables)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})


def _alembic(conn: Connection, command: str, *args, **kwargs):
    """Run an Alembic command on `conn` (already in a transaction, which the caller commits)."""
    from alembic import command as commands

    return getattr(commands, command)(_alembic_config(conn), *args, **kwargs)


def _alembic_config(conn: Connection | None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = conn
    return config


def _where(engine: Engine) -> str:
    return shown_url(engine)


def compare(engine: Engine) -> list:
    """Differences between the database and the tables (empty when the schema is exactly duban's)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def without_duban(url: str) -> str | None:
    """A PostgreSQL database that answers and holds no duban tables, as messages show it; None otherwise (SQLite,
    or one that does not answer: opening it says why). A listing pointed at another application's database
    created duban's 28 tables there (an outside tester's finding)."""
    if url.startswith("sqlite"):
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return None if inspect(conn).has_table("alembic_version") else shown_url(engine)
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
