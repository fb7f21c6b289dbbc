"""The Core table behind a SQLModel table class, typed: SQLModel sets `__table__` on each but does not declare it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlmodel import SQLModel


def core_table(model: type[SQLModel]) -> Table:
    """`model.__table__` as the Table it is, for Core queries (`.c`, `.insert()`, `.update()`)."""
    return model.__table__  # type: ignore[attr-defined]
