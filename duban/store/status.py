"""The queries behind the status report (duban.views.status): a campaign's assignments as the state machine reads
them, and the 延期申请 and reviews counted by status and decision up to an instant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from duban.store.core import core_table
from duban.store.tables import Assignment, CampaignRow, CampaignUnit, ExtensionRequest, ReviewRow, TransitionRow

_A = core_table(Assignment)
_C = core_table(CampaignRow)
_T = core_table(TransitionRow)
_U = core_table(CampaignUnit)
_R = core_table(ExtensionRequest)
_V = core_table(ReviewRow)


def status_rows(conn: Connection, campaign_id: str) -> list[Any]:
    """The campaign's assignments by stage order and id: unit, stage, item, state and what decides it later, the
    unit's role (牵头, 配合), the instance and the hand-in."""
    return list(
        conn.execute(
            select(
                _A.c.unit_code,
                _A.c.stage_id,
                _A.c.item_id,
                _A.c.state,
                _A.c.open_at,
                _A.c.due_at,
                _A.c.reminders,
                _A.c.escalations,
                _A.c.reminders_done,
                _A.c.escalations_done,
                _A.c.next_event_at,
                _A.c.role,
                _A.c.instance,
                _A.c.submitted_at,
            )
            .where(_A.c.campaign_id == campaign_id)
            .order_by(_A.c.stage_order, _A.c.id)
        ).all()
    )


def extensions_by_status(conn: Connection, campaign_id: str, as_of: datetime) -> list[tuple[str, int]]:
    """(status, how many) of the campaign's 延期申请 requested by `as_of`."""
    return list(
        conn.execute(
            select(_R.c.status, func.count())
            .where(_R.c.campaign_id == campaign_id, _R.c.requested_at <= as_of)
            .group_by(_R.c.status)
        ).all()
    )


def reviews_by_decision(conn: Connection, campaign_id: str, as_of: datetime) -> list[tuple[str, int]]:
    """(decision, how many) of the campaign's reviews recorded by `as_of`."""
    return list(
        conn.execute(
            select(_V.c.decision, func.count())
            .where(_V.c.campaign_id == campaign_id, _V.c.at <= as_of)
            .group_by(_V.c.decision)
        ).all()
    )


def record_begins(conn: Connection, campaign_id: str) -> tuple[datetime | None, datetime | None]:
    """When the campaign was planned into the database, and the earliest instant an event of it is recorded for
    (a campaign planned by `duban serve` today may hold ticks replayed at the notice's instants); None: none."""
    planned = conn.execute(select(_C.c.planned_at).where(_C.c.id == campaign_id)).scalar()
    first = conn.execute(select(func.min(_T.c.event_at)).where(_T.c.campaign_id == campaign_id)).scalar()
    return planned, first


def first_opening(conn: Connection, campaign_id: str) -> datetime | None:
    """The earliest planned opening (open_at) of any of the campaign's assignments; None: none planned yet."""
    return conn.execute(select(func.min(_A.c.open_at)).where(_A.c.campaign_id == campaign_id)).scalar()


# what a status of a past instant reads as it stands now (the row keeps no instant for them)
SETTLED_SINCE = ("excused", "extended", "amended", "accepted", "returned")


def settled_since(conn: Connection, campaign_id: str, as_of: datetime) -> list[tuple[str, int]]:
    """(event, how many assignments) of the 免报, 延期, 调整 and review decisions recorded for after `as_of`."""
    return list(
        conn.execute(
            select(_T.c.event, func.count(func.distinct(_T.c.assignment_id)))
            .where(_T.c.campaign_id == campaign_id, _T.c.event.in_(SETTLED_SINCE), _T.c.event_at > as_of)
            .group_by(_T.c.event)
        ).all()
    )


def division_names(conn: Connection, campaign_id: str, codes: list[str]) -> dict[str, str]:
    """code → the place name of the campaign's unit (阳泉市 for 140300 and 140300@stats), 900 codes at a time."""
    names: dict[str, str] = {}
    wanted = sorted(set(codes))
    for start in range(0, len(wanted), 900):
        part = wanted[start : start + 900]
        query = select(_U.c.code, _U.c.name).where(_U.c.campaign_id == campaign_id, _U.c.code.in_(part))
        names.update({code: name for code, name in conn.execute(query) if name})
    return names
