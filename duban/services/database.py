"""The database as the entry points open it (CLI, portal, Prefect flows and tasks), and the upkeep of its schema.

Entry points do not reach into duban.store: they ask here for the engine of the configured database (one per URL
per process, its schema current) and run `duban db …` through the functions below.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from duban.errors import StoreError
from duban.settings import get_settings
from duban.store import migrate
from duban.store.db import engine_for
from duban.store.engine import make_engine, shown_url

if TYPE_CHECKING:
    from sqlalchemy import Engine


def open_database(url: str | None = None) -> Engine:
    """The engine of `url` (default: the settings' DUBAN_DATABASE_URL or the embedded SQLite file), schema current.

    An empty database is created at the newest revision; the embedded SQLite file is upgraded in place; a
    Postgres database that lags is refused with the command that upgrades it (`duban db upgrade`).
    """
    url = url or get_settings().resolved_database_url
    _refuse_a_file_as_folder(url)
    return engine_for(url)


def _refuse_a_file_as_folder(url: str) -> None:
    """DUBAN_HOME=/tmp/afile (a file): said as such, not as a database missing or unable to open."""
    if not url.startswith("sqlite") or "///" not in url:
        return
    path = url.split("///", 1)[1].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    for folder in Path(path).parents:
        if folder.exists():
            if not folder.is_dir():
                raise StoreError(
                    f"{folder} is a file, not a folder: DUBAN_HOME (or the path in DUBAN_DATABASE_URL) must name "
                    "the folder that holds duban.db — check the path"
                )
            return


def missing_file(url: str | None = None) -> Path | None:
    """The file a SQLite `url` (default: the settings') names when there is none yet; None otherwise."""
    url = url or get_settings().resolved_database_url
    if not url.startswith("sqlite") or "///" not in url:
        return None
    path = url.split("///", 1)[1].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return None if Path(path).exists() else Path(path)


def existing_database(url: str | None = None) -> Engine:
    """open_database for a command that only looks at what is stored (an outbox listing, a list's history, a
    通报): a SQLite file that is not there is refused rather than made, so a mistyped DUBAN_DATABASE_URL or
    DUBAN_HOME shows as such and not as a database with nothing in it."""
    _refuse_a_file_as_folder(url or get_settings().resolved_database_url)
    if (path := missing_file(url)) is not None:
        raise StoreError(
            f"no database at {path} (DUBAN_DATABASE_URL, or DUBAN_HOME's duban.db): duban makes it when it first "
            "plans a campaign (duban tick with a spec) or imports a list — check the path"
        )
    if (where := migrate.without_duban(url or get_settings().resolved_database_url)) is not None:
        raise StoreError(
            f"the database {where} has no duban tables (DUBAN_DATABASE_URL): this command only reads, and makes "
            "none in another application's database — check the URL; `duban db upgrade` creates them"
        )
    return open_database(url)


def _where(engine: Engine) -> str:
    return shown_url(engine)


def upgrade_schema(revision: str = "head") -> tuple[str, str, str]:
    """Bring the configured database to `revision`: (where, revision before, revision after)."""
    engine = make_engine(get_settings().resolved_database_url)
    try:
        before, after = migrate.upgrade(engine, revision)
    finally:
        engine.dispose()
    return _where(engine), before, after


def downgrade_schema(revision: str) -> tuple[str, str, str]:
    """Take the configured database back to `revision` ('base' drops every table): (where, before, after)."""
    engine = make_engine(get_settings().resolved_database_url)
    try:
        before, after = migrate.downgrade(engine, revision)
    finally:
        engine.dispose()
    return _where(engine), before, after


def schema_revision() -> tuple[str, str | None, str]:
    """(where, the configured database's revision, the newest revision this duban knows); the revision is None
    where a SQLite file is not there yet (none is made to find out)."""
    url = get_settings().resolved_database_url
    if (path := missing_file(url)) is not None:
        return f"sqlite:///{path}", None, migrate.head_revision()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revision = migrate.describe_revision(conn)
    finally:
        engine.dispose()
    return _where(engine), revision, migrate.head_revision()


def new_schema_revision(message: str) -> Path:
    """Write the next numbered revision from what the tables hold beyond the newest one (for developers)."""
    return migrate.new_revision(message)
