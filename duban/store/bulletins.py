"""The 通报 kept as records (table bulletin): each one `duban bulletin` drafted, numbered in its campaign (第N期).

Drafting the same stage at the same instant again redrafts that 通报: its row is updated and keeps its number.
期 follow their 截至: a new 通报 dated before the last-numbered one is refused (it would be a later 期 of an
earlier day, and the close-out report cites them by number).
Numbers are given in turn: on PostgreSQL two drafts at once wait for each other (the campaign row is locked), on
SQLite the writer's transaction queues them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, insert, select, update

from duban.errors import StoreError
from duban.instants import utc
from duban.store.core import core_table
from duban.store.db import reading, unit_of_work
from duban.store.engine import is_postgres
from duban.store.tables import Assignment, BulletinRow, CampaignRow, OutboxMessage

if TYPE_CHECKING:
    from sqlalchemy import Engine

_B = core_table(BulletinRow)
_C = core_table(CampaignRow)
_A = core_table(Assignment)
_O = core_table(OutboxMessage)
# an outbox row still to go, or gone without the channel's word that it arrived (duban.services.dispatch)
WAITING = ("pending", "limited", "sending", "failed", "unconfirmed")


@dataclass(frozen=True)
class KeptBulletin:
    """One stored 通报."""

    id: int
    number: int
    stage_id: str
    as_of: datetime
    title: str
    units_named: int
    late: int
    missing: int
    file: str
    sent: int  # units its short text was queued to (`--send`), whether or not the dispatcher has sent it since
    delivered: int = 0  # of those, the units the outbox records it sent to
    waiting: int = 0  # and those whose message is still to go (pending, held, retried, unconfirmed)

    @property
    def delivery(self) -> str:
        """已发送 when the outbox records it sent to some unit and none of its messages is still to go, 待发送
        while one is, else 未发送 (only drafted, or every message of it dead or dropped)."""
        if self.waiting:
            return "待发送"
        return "已发送" if self.delivered else "未发送"


def keep_bulletin(
    engine: Engine,
    campaign_id: str,
    *,
    stage_id: str | None,
    as_of: datetime,
    title: str,
    units_named: int,
    late: int,
    missing: int,
    file: str,
    drafted_at: datetime,
    actor: str = "cli",
) -> KeptBulletin:
    """Store a drafted 通报 (a new number), or redraft the one of the same stage and instant (its number kept)."""
    stage = stage_id or ""
    as_of, drafted_at = utc(as_of), utc(drafted_at)
    values = dict(
        title=title, units_named=units_named, late=late, missing=missing, file=file, drafted_at=drafted_at, actor=actor
    )
    with unit_of_work(engine) as conn:
        if is_postgres(conn):  # numbers in turn: the campaign row is the campaign's lock
            conn.execute(select(_C.c.id).where(_C.c.id == campaign_id).with_for_update())
        same = (_B.c.campaign_id == campaign_id) & (_B.c.stage_id == stage) & (_B.c.as_of == as_of)
        found = conn.execute(select(_B.c.id).where(same)).scalar()
        if found is None and (last := _last(conn, campaign_id)) is not None and last.as_of > as_of:
            raise StoreError(
                f"第{last.number}期通报 is dated after this one: a new 通报 may not be dated before the last one"
            )
        if found is not None:
            conn.execute(update(_B).where(_B.c.id == found).values(**values))
        else:
            number = (
                conn.execute(
                    select(func.coalesce(func.max(_B.c.number), 0)).where(_B.c.campaign_id == campaign_id)
                ).scalar_one()
                + 1
            )
            found = conn.execute(
                insert(_B).returning(_B.c.id),
                [dict(campaign_id=campaign_id, number=number, stage_id=stage, as_of=as_of, sent=0, **values)],
            ).scalar_one()
        return _kept(conn.execute(select(_B).where(_B.c.id == found)).one())


def _last(conn: Connection, campaign_id: str) -> KeptBulletin | None:
    row = conn.execute(
        select(_B).where(_B.c.campaign_id == campaign_id).order_by(_B.c.number.desc()).limit(1)
    ).one_or_none()
    return None if row is None else _kept(row)


def dated_after(engine: Engine, campaign_id: str, stage_id: str | None, as_of: datetime) -> KeptBulletin | None:
    """The campaign's last-numbered 通报 when a new one as of `as_of` would be dated before it (None when it may be
    drafted: no 通报 yet, one as of `as_of` or earlier, or the same stage and instant, which is a redraft)."""
    as_of = utc(as_of)
    with reading(engine) as conn:
        same = (_B.c.campaign_id == campaign_id) & (_B.c.stage_id == (stage_id or "")) & (_B.c.as_of == as_of)
        if conn.execute(select(_B.c.id).where(same)).scalar() is not None:
            return None
        last = _last(conn, campaign_id)
    return last if last is not None and last.as_of > as_of else None


def duty_holders(engine: Engine, campaign_id: str, stage_id: str | None = None) -> set[str]:
    """The units that hold a duty in the campaign (in `stage_id`, when given): whom a 通报 of it concerns."""
    query = select(_A.c.unit_code).where(_A.c.campaign_id == campaign_id)
    if stage_id:
        query = query.where(_A.c.stage_id == stage_id)
    with reading(engine) as conn:
        return set(conn.execute(query.distinct()).scalars())


def bulletin_sent(engine: Engine, bulletin_id: int, units: int) -> None:
    """Record how many units the 通报's short text was queued to (added to earlier sends of it)."""
    with unit_of_work(engine) as conn:
        conn.execute(update(_B).where(_B.c.id == bulletin_id).values(sent=_B.c.sent + units))


def bulletins_of(conn: Connection, campaign_id: str, until: datetime | None = None) -> list[KeptBulletin]:
    """The campaign's 通报 in number order (those as of `until` or earlier, when given)."""
    query = select(_B).where(_B.c.campaign_id == campaign_id)
    if until is not None:
        query = query.where(_B.c.as_of <= utc(until))
    kept = [_kept(row) for row in conn.execute(query.order_by(_B.c.number))]
    if not any(b.sent for b in kept):
        return kept
    title = _O.c.payload["title"].as_string()
    counts: dict[tuple[datetime, str], dict[str, int]] = {}
    for created_at, named, status, count in conn.execute(  # a 通报's messages: written at its 截至, under its title
        select(_O.c.created_at, title, _O.c.status, func.count())
        .where(_O.c.campaign_id == campaign_id, _O.c.kind == "bulletin")
        .group_by(_O.c.created_at, title, _O.c.status)
    ):
        counts.setdefault((utc(created_at), named), {})[status] = count
    return [_delivered(b, counts.get((utc(b.as_of), b.title), {})) for b in kept]


def _delivered(bulletin: KeptBulletin, statuses: dict[str, int]) -> KeptBulletin:
    return replace(
        bulletin,
        delivered=statuses.get("sent", 0),
        waiting=sum(statuses.get(status, 0) for status in WAITING),
    )


def bulletin_files(engine: Engine, campaign_id: str | None = None, among: set[str] | None = None) -> set[str]:
    """The files the kept 通报 name: of one campaign, or (`among`) those of these paths that any 通报 still names."""
    query = select(_B.c.file).distinct()
    if campaign_id is not None:
        query = query.where(_B.c.campaign_id == campaign_id)
    if among is not None:
        query = query.where(_B.c.file.in_(sorted(among)))
    with reading(engine) as conn:
        return set(conn.execute(query).scalars())


def _kept(row) -> KeptBulletin:  # noqa: ANN001
    return KeptBulletin(
        row.id,
        row.number,
        row.stage_id,
        row.as_of,
        row.title,
        row.units_named,
        row.late,
        row.missing,
        row.file,
        row.sent,
    )
