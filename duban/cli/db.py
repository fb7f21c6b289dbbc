"""`duban db …`: the database schema — upgrade a production database, see its revision, add a revision."""

from __future__ import annotations

from typing import Annotated

import typer

from duban.cli.common import console, fail as _fail
from duban.errors import DubanError

app = typer.Typer(help="The database schema (Alembic migrations shipped with duban).", no_args_is_help=True)


@app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Bring the database (DUBAN_DATABASE_URL) to the newest schema; run it after installing a new duban."""
    from duban.services.database import upgrade_schema

    try:
        where, before, after = upgrade_schema(revision)
    except DubanError as exc:
        _fail(exc)
    change = "already at" if before == after else f"{before} →"
    console.print(f"database {where}: {change} {after}", highlight=False, soft_wrap=True)


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="target revision; 'base' drops every table")]) -> None:
    """Take the schema back to an earlier revision (to roll back a release)."""
    from duban.services.database import downgrade_schema

    where, before, after = downgrade_schema(revision)
    console.print(f"database {where}: {before} → {after}", highlight=False, soft_wrap=True)


@app.command()
def current() -> None:
    """Print the database's revision and the newest one this duban knows."""
    from duban.services.database import schema_revision

    where, revision, head = schema_revision()
    if revision is None:
        console.print(
            f"database {where}: no file there yet (newest revision {head}; duban makes it when it first plans a "
            "campaign or imports a list — check DUBAN_DATABASE_URL or DUBAN_HOME if one should be there)",
            highlight=False,
            soft_wrap=True,
        )
        return
    note = "up to date" if revision == head else "run `duban db upgrade`"
    console.print(f"database {where}: {revision} (newest {head}, {note})", highlight=False, soft_wrap=True)


@app.command()
def revision(message: Annotated[str, typer.Option("-m", "--message", help="what the revision changes")]) -> None:
    """Write the next revision from what duban/store/tables.py holds beyond the newest one (for developers)."""
    from duban.services.database import new_schema_revision

    path = new_schema_revision(message)
    console.print(f"wrote {path} — read it, adjust it if needed, and commit it", highlight=False, soft_wrap=True)
