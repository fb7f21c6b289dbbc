"""The queries behind an amendment (调整通知, duban.services.amend): the amendments kept for a campaign, the last
instant its record runs to, the stages a tick has already opened, the assignments of the items an amendment
re-plans (locked on Postgres), and the writes that re-plan them and keep the amendment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select

from duban.domain.state import State
from duban.instants import utc
from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.engine import is_postgres
from duban.store.tables import AcknowledgementRow, AmendmentRow, Assignment, ExtensionRequest, TransitionRow

_A = core_table(Assignment)
_M = core_table(AmendmentRow)
_T = core_table(TransitionRow)
_ACK = core_table(AcknowledgementRow)
_EXT = core_table(ExtensionRequest)

# what re-planning an assignment writes, in the order of the values `replan_assignments` is given (its id last)
REPLAN_COLUMNS = (
    "open_at",
    "due_at",
    "reminders",
    "escalations",
    "state",
    "reminders_done",
    "escalations_done",
    "next_event_at",
    "updated_at",
)


def stored_amendments(engine: Engine | Connection, campaign_id: str) -> list[AmendmentRow]:
    """The campaign's amendments in the order they were applied, read on `engine`'s own connection or on `engine`
    itself when it is a connection."""
    if isinstance(engine, Connection):
        return _amendments(engine, campaign_id)
    with reading(engine) as conn:
        return _amendments(conn, campaign_id)


def _amendments(conn: Connection, campaign_id: str) -> list[AmendmentRow]:
    rows = conn.execute(select(_M).where(_M.c.campaign_id == campaign_id).order_by(_M.c.seq))
    return [AmendmentRow.model_validate(r._mapping) for r in rows]


def last_recorded(conn: Connection, campaign_id: str) -> datetime | None:
    """The latest instant a transition of the campaign was recorded for; None before any."""
    return conn.execute(select(func.max(_T.c.recorded_at)).where(_T.c.campaign_id == campaign_id)).scalar()


def last_act(conn: Connection, campaign_id: str) -> datetime | None:
    """The latest instant anything of the campaign was recorded for: a transition (a tick, a submission, a review,
    an extension decided), a 签收 given, an extension asked for; None before any."""
    found = [last_recorded(conn, campaign_id)]
    for table, column in ((_ACK, "acknowledged_at"), (_EXT, "requested_at"), (_EXT, "decided_at")):
        found.append(conn.execute(select(func.max(table.c[column])).where(table.c.campaign_id == campaign_id)).scalar())
    known = [utc(moment) for moment in found if moment is not None]
    return max(known) if known else None


def simulated(conn: Connection, campaign_id: str) -> bool:
    """Whether the campaign's record holds acts of simulated units (actor 'simulated': `duban demo`, the synthetic
    behaviour of duban.simulation), i.e. it runs on a simulated clock."""
    query = select(_T.c.id).where(_T.c.campaign_id == campaign_id, _T.c.actor == "simulated").limit(1)
    return conn.execute(query).first() is not None


def opened_stages(conn: Connection, campaign_id: str, stages: list[str]) -> dict[str, datetime]:
    """The stages among `stages` the record has already opened (a tick opened one of their assignments), each
    with its earliest opening, in the order given."""
    if not stages:
        return {}
    rows = conn.execute(
        select(_A.c.stage_id, _A.c.open_at).where(
            _A.c.campaign_id == campaign_id, _A.c.stage_id.in_(stages), _A.c.state != State.pending.value
        )
    ).all()
    first: dict[str, datetime] = {}
    for stage_id, open_at in rows:
        when = utc(open_at)
        if stage_id not in first or when < first[stage_id]:
            first[stage_id] = when
    return {s: first[s] for s in stages if s in first}


def items_assignments(conn: Connection, campaign_id: str, items: set[str]) -> Sequence[Row[Any]]:
    """Every stored assignment of the campaign's `items`, by id; on Postgres locked until the transaction ends."""
    query = select(_A).where(_A.c.campaign_id == campaign_id, _A.c.item_id.in_(sorted(items))).order_by(_A.c.id)
    return conn.execute(query.with_for_update() if is_postgres(conn) else query).all()


def replan_assignments(codec: Codec, updates: list[tuple[Any, ...]]) -> None:
    """Write re-planned assignments: each update the values of REPLAN_COLUMNS, then the assignment's id."""
    codec.update("assignment", REPLAN_COLUMNS, updates)


def record_amendment(conn: Connection, values: dict[str, Any]) -> None:
    """Keep an applied amendment (its AmendmentRow's columns but the id)."""
    conn.execute(insert(_M), [values])
