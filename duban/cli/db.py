"""`duban db …`: the database schema — upgrade a production database, see its revision, add a revision."""

from __future__ import annotations

from typing import Annotated

import typer

from duban.cli.common import console, fail as _fail
from duban.errors import DubanError
from duban.settings import get_settings

app = typer.Typer(help="The database schema (Alembic migrations shipped with duban).", no_args_is_help=True)


def _engine():
    from duban.store.engine import make_engine

    return make_engine(get_settings().resolved_database_url)


def _where(engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Bring the database (DUBAN_DATABASE_URL) to the newest schema; run it after installing a new duban."""
    from duban.store.migrate import upgrade as run

    engine = _engine()
    try:
        before, after = run(engine, revision)
    except DubanError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    change = "already at" if before == after else f"{before} →"
    console.print(f"database {_where(engine)}: {change} {after}", highlight=False, soft_wrap=True)


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="target revision; 'base' drops every table")]) -> None:
    """Take the schema back to an earlier revision (to roll back a release)."""
    from duban.store.migrate import downgrade as run

    engine = _engine()
    try:
        before, after = run(engine, revision)
    finally:
        engine.dispose()
    console.print(f"database {_where(engine)}: {before} → {after}", highlight=False, soft_wrap=True)


@app.command()
def current() -> None:
    """Print the database's revision and the newest one this duban knows."""
    from duban.store.migrate import describe_revision, head_revision

    engine = _engine()
    try:
        with engine.connect() as conn:
            revision = describe_revision(conn)
    finally:
        engine.dispose()
    head = head_revision()
    note = "up to date" if revision == head else "run `duban db upgrade`"
    console.print(f"database {_where(engine)}: {revision} (newest {head}, {note})", highlight=False, soft_wrap=True)


@app.command()
def revision(message: Annotated[str, typer.Option("-m", "--message", help="what the revision changes")]) -> None:
    """Write the next revision from what duban/store/tables.py holds beyond the newest one (for developers)."""
    from duban.store.migrate import new_revision

    path = new_revision(message)
    console.print(f"wrote {path} — read it, adjust it if needed, and commit it", highlight=False, soft_wrap=True)
