"""Lists (名录) as stored (`duban units history`): the imports of a list, and who a listed party was when."""

from __future__ import annotations

from typing import TYPE_CHECKING

from duban.store.listed import Spell, history, imports
from duban.store.tables import UnitImport

if TYPE_CHECKING:
    from sqlalchemy import Engine


def list_imports(engine: Engine, list_name: str) -> list[UnitImport]:
    """The imports of a list, oldest first (none when no list of that name was imported)."""
    return imports(engine, list_name)


def spells(engine: Engine, list_name: str, code: str) -> list[Spell]:
    """Every spell of one listed party on the list, oldest first: its name and division, from when until when."""
    return history(engine, list_name, code)
