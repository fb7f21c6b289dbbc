"""The audit log's statements (table `audit`): an entry appended, a refusal folded into a recent one, and the reads
(entries newest first, counts). What is logged, cut to which width and folded when, is duban.services.audit's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, or_, select, update

from duban.instants import utc
from duban.store.core import core_table
from duban.store.db import reading, unit_of_work
from duban.store.tables import AuditEntry

_T = core_table(AuditEntry)


def append_entry(engine: Engine, row: dict[str, Any]) -> None:
    """Append one entry, in a transaction of its own."""
    with unit_of_work(engine) as conn:
        conn.execute(insert(AuditEntry), [row])


def fold_refusal(engine: Engine, row: dict[str, Any], *, since: datetime, fold_rows: int) -> None:
    """Append a refusal (`row`, ok false), or add one to the `repeats` of the newest refusal of its action since
    `since` with the same client, campaign, unit and detail; past `fold_rows` such refusals (of any address) in
    the window, of the newest of them. One transaction."""
    recent = (_T.c.action == row["action"]) & (_T.c.at >= since) & (_T.c.ok.is_(False))
    same = (
        recent
        & _same(_T.c.client, row["client"])
        & _same(_T.c.campaign_id, row["campaign_id"])
        & _same(_T.c.unit_code, row["unit_code"])
        & _same(_T.c.detail, row["detail"])
    )
    with unit_of_work(engine) as conn:
        into = conn.execute(select(func.max(_T.c.id)).where(same)).scalar()
        if into is None and conn.execute(select(func.count()).where(recent)).scalar_one() >= fold_rows:
            into = conn.execute(select(func.max(_T.c.id)).where(recent)).scalar()  # a flood from many addresses
        if into is not None:
            conn.execute(update(_T).where(_T.c.id == into).values(repeats=_T.c.repeats + 1))
            return
        conn.execute(insert(AuditEntry), [row])


def _same(column, value):  # noqa: ANN001, ANN202
    return column.is_(None) if value is None else column == value


def entries(
    engine: Engine,
    *,
    campaign_id: str | None = None,
    unit_code: str | None = None,
    action: str | None = None,
    limit: int = 200,
    before_id: int | None = None,
    with_logins: bool = False,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """The entries' columns, newest first (at most `limit`, older than `before_id`, at or before `until`);
    `with_logins` adds the entries of no campaign to a campaign's."""
    query = select(_T).order_by(_T.c.id.desc()).limit(limit)
    if campaign_id is not None:
        mine = _T.c.campaign_id == campaign_id
        query = query.where(or_(mine, _T.c.campaign_id.is_(None)) if with_logins else mine)
    if unit_code is not None:
        query = query.where(_T.c.unit_code == unit_code)
    if action is not None:
        query = query.where(_T.c.action == action)
    if before_id is not None:
        query = query.where(_T.c.id < before_id)
    if until is not None:
        query = query.where(_T.c.at <= utc(until))
    with reading(engine) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def count_entries(
    engine: Engine,
    *,
    action: str,
    actor: str | None = None,
    client: str | None = None,
    since: datetime | None = None,
    ok: bool | None = None,
) -> int:
    """How many entries of `action` (by `actor`, from `client`, at or after `since`, with outcome `ok`)."""
    query = select(func.count()).select_from(_T).where(_T.c.action == action)
    if actor is not None:
        query = query.where(_T.c.actor == actor)
    if client is not None:
        query = query.where(_T.c.client == client)
    if since is not None:
        query = query.where(_T.c.at >= utc(since))
    if ok is not None:
        query = query.where(_T.c.ok == ok)
    with reading(engine) as conn:
        return conn.execute(query).scalar_one()
