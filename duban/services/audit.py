"""The portal's audit log (审计日志): every view, upload, download, export and login, with who, when and from where.

Writes are small and separate from the work they record, so a refused upload is logged even though
nothing else was stored. Texts are cut to their columns' widths (Postgres enforces them).

Refusals that anyone can cause without a login (a bad, expired or revoked link) are folded: the same refusal
from the same address within FOLD_WINDOW adds to one entry's `repeats` instead of writing a row each time, and past
FOLD_ROWS such entries in the window every further one folds into the newest, whatever its address. A scanner
sending thousands of forged links leaves a handful of rows that say how many it sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, or_, select, update

from duban.instants import utc
from duban.store.core import core_table
from duban.store.db import unit_of_work
from duban.store.tables import AuditEntry

_T = core_table(AuditEntry)
FOLD_WINDOW, FOLD_ROWS = timedelta(minutes=10), 200


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    action: str
    campaign_id: str | None
    unit_code: str | None
    target: str | None
    ok: bool
    detail: str | None
    client: str | None
    repeats: int = 1  # the same refusal from the same address, folded into this entry


def record(
    engine: Engine,
    at: datetime,
    action: str,
    *,
    actor: str,
    campaign_id: str | None = None,
    unit_code: str | None = None,
    target: str | None = None,
    ok: bool = True,
    detail: str | None = None,
    client: str | None = None,
) -> None:
    """Append one entry."""
    row = dict(
        at=utc(at),
        action=action[:24],
        actor=actor[:80],
        campaign_id=_cut(campaign_id, 80),
        unit_code=_cut(unit_code, 64),
        target=_cut(target, 200),
        ok=ok,
        detail=_cut(detail, 500),
        client=_cut(client, 64),
    )
    with unit_of_work(engine) as conn:
        conn.execute(insert(AuditEntry), [row])


def record_refusal(
    engine: Engine,
    at: datetime,
    action: str,
    *,
    actor: str,
    campaign_id: str | None = None,
    unit_code: str | None = None,
    target: str | None = None,
    detail: str | None = None,
    client: str | None = None,
) -> None:
    """Append a refusal anyone can cause, folded into a recent entry of the same refusal from the same address."""
    since = utc(at) - FOLD_WINDOW
    recent = (_T.c.action == action[:24]) & (_T.c.at >= since) & (_T.c.ok.is_(False))
    same = (
        recent
        & _same(_T.c.client, _cut(client, 64))
        & _same(_T.c.campaign_id, _cut(campaign_id, 80))
        & _same(_T.c.unit_code, _cut(unit_code, 64))
        & _same(_T.c.detail, _cut(detail, 500))
    )
    with unit_of_work(engine) as conn:
        into = conn.execute(select(func.max(_T.c.id)).where(same)).scalar()
        if into is None and conn.execute(select(func.count()).where(recent)).scalar_one() >= FOLD_ROWS:
            into = conn.execute(select(func.max(_T.c.id)).where(recent)).scalar()  # a flood from many addresses
        if into is not None:
            conn.execute(update(_T).where(_T.c.id == into).values(repeats=_T.c.repeats + 1))
            return
        conn.execute(
            insert(AuditEntry),
            [
                dict(
                    at=utc(at),
                    action=action[:24],
                    actor=actor[:80],
                    campaign_id=_cut(campaign_id, 80),
                    unit_code=_cut(unit_code, 64),
                    target=_cut(target, 200),
                    ok=False,
                    detail=_cut(detail, 500),
                    client=_cut(client, 64),
                )
            ],
        )


def _same(column, value):  # noqa: ANN001, ANN202
    return column.is_(None) if value is None else column == value


def _cut(text: str | None, width: int) -> str | None:
    return None if text is None else str(text)[:width]


def recent(
    engine: Engine,
    *,
    campaign_id: str | None = None,
    unit_code: str | None = None,
    action: str | None = None,
    limit: int = 200,
    before_id: int | None = None,
    with_logins: bool = False,
    until: datetime | None = None,
) -> list[Entry]:
    """Entries newest first (at most `limit`, older than `before_id` to page back); `with_logins` adds the
    entries that belong to no campaign (operators' logins) to a campaign's."""
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
    if until is not None:  # a preview shows the log as it stood then
        query = query.where(_T.c.at <= utc(until))
    with engine.connect() as conn:
        return [Entry(**row._mapping) for row in conn.execute(query)]


def count(
    engine: Engine,
    *,
    action: str,
    actor: str | None = None,
    client: str | None = None,
    since: datetime | None = None,
    ok: bool | None = None,
) -> int:
    """How many entries of `action` (by `actor`, from `client`, since an instant, with an outcome)."""
    query = select(func.count()).select_from(_T).where(_T.c.action == action)
    if actor is not None:
        query = query.where(_T.c.actor == actor)
    if client is not None:
        query = query.where(_T.c.client == client[:64])
    if since is not None:
        query = query.where(_T.c.at >= utc(since))
    if ok is not None:
        query = query.where(_T.c.ok == ok)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()
