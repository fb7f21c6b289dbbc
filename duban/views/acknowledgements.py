"""签收 (acknowledgements) as the pages read them: a unit's still to give, the rates per stage, the ones missing.

The tick that advances them and the acknowledgement itself are duban.services.acknowledgements.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.domain.state import AckState
from duban.store import acknowledgements as store

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


def pending_acknowledgements(engine: Engine | Connection, campaign_id: str, unit_code: str, at: datetime) -> list[Any]:
    """The unit's 签收 asked by `at` and not yet given (for its page)."""
    return store.not_given(engine, campaign_id, unit_code, at, AckState.acknowledged.value)


def given_acknowledgements(engine: Engine, campaign_id: str, unit_code: str, at: datetime) -> list[Any]:
    """The unit's 签收 given by `at`: (stage, when, by whom), for its page to keep saying it signed."""
    return store.given(engine, campaign_id, unit_code, at)


def ack_rates(conn: Connection, campaign_id: str, as_of: datetime) -> dict[str, tuple[int, int]]:
    """签收率 per stage ('' for the notice): (acknowledged by `as_of`, asked by `as_of`)."""
    return store.rates(conn, campaign_id, as_of)


def missing_acknowledgements(conn: Connection, campaign_id: str, as_of: datetime, limit: int = 50) -> list[Any]:
    """(stage, unit, due) of the 签收 past their due and not given by `as_of`, the longest missing first."""
    return store.missing(conn, campaign_id, as_of, limit)
