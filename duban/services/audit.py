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
from typing import TYPE_CHECKING, Any

from duban.instants import utc
from duban.services.written import visible
from duban.store.audit import append_entry, count_entries, entries, fold_refusal

if TYPE_CHECKING:
    from sqlalchemy import Engine

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
    append_entry(engine, _row(at, action, actor, campaign_id, unit_code, target, ok, detail, client))


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
    row = _row(at, action, actor, campaign_id, unit_code, target, False, detail, client)
    fold_refusal(engine, row, since=utc(at) - FOLD_WINDOW, fold_rows=FOLD_ROWS)


def _row(
    at: datetime,
    action: str,
    actor: str,
    campaign_id: str | None,
    unit_code: str | None,
    target: str | None,
    ok: bool,
    detail: str | None,
    client: str | None,
) -> dict[str, Any]:
    """An entry's columns, each cut to its column's width."""
    return dict(
        at=utc(at),
        action=action[:24],
        actor=visible(actor)[:80],
        campaign_id=_cut(campaign_id, 80),
        unit_code=_cut(unit_code, 64),
        target=_cut(target, 200),
        ok=ok,
        detail=_cut(detail, 500),
        client=_cut(client, 64),
    )


def _cut(text: str | None, width: int) -> str | None:
    return None if text is None else visible(str(text))[:width]


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
    found = entries(
        engine,
        campaign_id=campaign_id,
        unit_code=unit_code,
        action=action,
        limit=limit,
        before_id=before_id,
        with_logins=with_logins,
        until=until,  # a preview shows the log as it stood then
    )
    return [Entry(**row) for row in found]


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
    return count_entries(
        engine, action=action, actor=actor, client=None if client is None else client[:64], since=since, ok=ok
    )
