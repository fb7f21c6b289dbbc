"""Alembic environment of duban's database: the target is SQLModel.metadata (duban/store/tables.py).

duban runs migrations through `duban db upgrade` (duban/store/migrate.py), which hands this script a connection
already inside a transaction; `alembic` itself is not needed. Types are written into revisions as plain
SQLAlchemy types (a revision must not change when tables.py's Python types do).
"""

from __future__ import annotations

from typing import cast

from alembic import context
from sqlalchemy import String
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import duban.store.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from duban.store.tables import UTCDateTime

config = context.config


def render_item(type_: str, obj, autogen_context):
    """Render duban's column types as the SQLAlchemy types they store."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, AutoString):
        impl = cast(String, obj.impl)  # the instance TypeDecorator made of the class `impl` names
        return f"sa.String(length={impl.length})" if impl.length else "sa.String()"
    return False


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run duban's migrations with `duban db upgrade`, which supplies the connection")
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
