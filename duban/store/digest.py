"""The queries of the operators' daily digest (duban.views.digest): the campaigns with open work, and, inside the
digest's unit of work, whether today's digest exists, the outbox by status, escalations and submissions of a day,
dead letters, items in review, and the digest's own outbox row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from duban.instants import utc
from duban.store.core import core_table
from duban.store.db import reading
from duban.store.tables import Assignment, OutboxMessage, Submission

_A = core_table(Assignment)
_O = core_table(OutboxMessage)
_S = core_table(Submission)


def campaigns_in_states(engine: Engine, states: tuple[str, ...]) -> list[str]:
    """The campaigns with an assignment in one of `states`, each once."""
    with reading(engine) as conn:
        return list(conn.execute(select(_A.c.campaign_id).where(_A.c.state.in_(states)).distinct()).scalars())


def last_dues(engine: Engine, campaign_ids: list[str]) -> dict[str, datetime]:
    """Each campaign's latest due (its duties' MAX(due_at))."""
    if not campaign_ids:
        return {}
    with reading(engine) as conn:
        query = (
            select(_A.c.campaign_id, func.max(_A.c.due_at))
            .where(_A.c.campaign_id.in_(campaign_ids))
            .group_by(_A.c.campaign_id)
        )
        return {campaign: utc(due) for campaign, due in conn.execute(query) if due is not None}


def message_with_key(conn: Connection, idempotency_key: str) -> int | None:
    """The id of the outbox message with this key, None when none was written."""
    return conn.execute(select(_O.c.id).where(_O.c.idempotency_key == idempotency_key)).scalar()


def message_exists(conn: Connection, idempotency_key: str) -> bool:
    """Whether an outbox message with this key was written."""
    return conn.execute(select(_O.c.id).where(_O.c.idempotency_key == idempotency_key)).first() is not None


def outbox_by_status(conn: Connection, campaign_id: str) -> dict[str, int]:
    """status → how many of the campaign's messages have it."""
    return dict(
        conn.execute(select(_O.c.status, func.count()).where(_O.c.campaign_id == campaign_id).group_by(_O.c.status))
        .tuples()
        .all()
    )


def messages_created(conn: Connection, campaign_id: str, kind: str, since: datetime, until: datetime) -> int:
    """How many of the campaign's messages of `kind` were created after `since`, up to `until`."""
    return conn.execute(
        select(func.count()).where(
            _O.c.campaign_id == campaign_id, _O.c.kind == kind, _O.c.created_at > since, _O.c.created_at <= until
        )
    ).scalar_one()


def submissions_between(conn: Connection, campaign_id: str, since: datetime, until: datetime) -> int:
    """How many versions were handed in after `since`, up to `until`."""
    return conn.execute(
        select(func.count()).where(
            _S.c.campaign_id == campaign_id, _S.c.submitted_at > since, _S.c.submitted_at <= until
        )
    ).scalar_one()


def dead_letters(conn: Connection, campaign_id: str) -> list[Any]:
    """(last_error, recipient) of the campaign's dead letters, oldest first."""
    return list(
        conn.execute(
            select(_O.c.last_error, _O.c.recipient)
            .where(_O.c.campaign_id == campaign_id, _O.c.status == "dead")
            .order_by(_O.c.id)
        ).all()
    )


def in_review(conn: Connection, campaign_id: str) -> tuple[int, datetime | None]:
    """How many assignments wait in review (待审核), and the earliest handed in among them."""
    found = conn.execute(
        select(func.count(), func.min(_A.c.submitted_at)).where(
            _A.c.campaign_id == campaign_id, _A.c.state == "in_review"
        )
    ).one()
    return found[0], found[1]


def add_message(conn: Connection, **values: Any) -> None:
    """Write one outbox row with these columns."""
    conn.execute(insert(_O).values(**values))
