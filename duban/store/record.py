"""The queries behind the close-out report's record (duban.report.record): a campaign's assignments, its
submissions and messages sent up to an instant, its samples, and the last instants its record holds."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from duban.store.core import core_table
from duban.store.tables import (
    AcknowledgementRow,
    Assignment,
    BulletinRow,
    ExtensionRequest,
    OutboxMessage,
    SampleDraw,
    ScoreRecord,
    Submission,
    TransitionRow,
)

_A = core_table(Assignment)
_S = core_table(Submission)
_O = core_table(OutboxMessage)
_D = core_table(SampleDraw)
_T = core_table(TransitionRow)
_SC = core_table(ScoreRecord)
_B = core_table(BulletinRow)
_ACK = core_table(AcknowledgementRow)
_EXT = core_table(ExtensionRequest)


def record_rows(conn: Connection, campaign_id: str) -> list[Any]:
    """Every assignment of the campaign (all its columns), by stage order and id."""
    return list(
        conn.execute(select(_A).where(_A.c.campaign_id == campaign_id).order_by(_A.c.stage_order, _A.c.id)).all()
    )


def submissions_until(conn: Connection, campaign_id: str, as_of: datetime) -> list[Any]:
    """Every version handed in for the campaign by `as_of` (all its columns), in the order recorded."""
    return list(
        conn.execute(
            select(_S).where(_S.c.campaign_id == campaign_id, _S.c.submitted_at <= as_of).order_by(_S.c.id)
        ).all()
    )


def sample_draws(conn: Connection, campaign_id: str) -> list[SampleDraw]:
    """The campaign's samples, by sample id."""
    rows = conn.execute(select(SampleDraw).where(_D.c.campaign_id == campaign_id).order_by(_D.c.sample_id))
    return [SampleDraw.model_validate(r._mapping) for r in rows]


def sent_until(conn: Connection, campaign_id: str, as_of: datetime) -> Counter[str]:
    """How many of the campaign's messages written by `as_of` were sent, per kind."""
    return Counter(
        dict(
            conn.execute(
                select(_O.c.kind, func.count())
                .where(_O.c.campaign_id == campaign_id, _O.c.status == "sent", _O.c.created_at <= as_of)
                .group_by(_O.c.kind)
            ).all()
        )
    )


def last_recorded(conn: Connection, campaign_id: str, now: datetime) -> dict[str, datetime | None]:
    """The campaign's last due, and the last instant of each kind of act recorded by `now` — a transition, a
    submission, a score, a 通报's 截至, a 签收, an extension asked or decided — by what it is (None: none)."""
    found: dict[str, datetime | None] = {
        "its last due": conn.execute(select(func.max(_A.c.due_at)).where(_A.c.campaign_id == campaign_id)).scalar()
    }
    for what, column, campaign_column in (
        ("its last recorded event", _T.c.event_at, _T.c.campaign_id),
        ("its last hand-in", _S.c.submitted_at, _S.c.campaign_id),
        ("its last score", _SC.c.recorded_at, _SC.c.campaign_id),
        ("its last 通报", _B.c.as_of, _B.c.campaign_id),  # a report drafted after a 通报 cites it
        ("its last 签收", _ACK.c.acknowledged_at, _ACK.c.campaign_id),
        ("its last extension request", _EXT.c.requested_at, _EXT.c.campaign_id),
        ("its last extension decided", _EXT.c.decided_at, _EXT.c.campaign_id),
    ):
        found[what] = conn.execute(
            select(func.max(column)).where(campaign_column == campaign_id, column <= now)
        ).scalar()
    return found
