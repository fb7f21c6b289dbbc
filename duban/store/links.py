"""Revoked unit links (table `link_revocation`): one link by its token id, or every link of a unit issued up to an
instant. Signing and reading the links is duban.domain.signing's and duban.services.links'."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, or_, select

from duban.store.core import core_table
from duban.store.db import reading, unit_of_work
from duban.store.tables import LinkRevocation

_R = core_table(LinkRevocation)


@dataclass(frozen=True)
class Revocation:
    """When a link stopped opening, and whether every link of the unit issued until then went with it."""

    revoked_at: datetime
    every_link: bool


def revocation_of(
    engine: Engine, campaign_id: str, unit_code: str, token_id: str, issued_at: datetime
) -> Revocation | None:
    """The first revocation of the unit's link `token_id` (issued at `issued_at`), by itself or with the unit's
    links; None while it opens."""
    with reading(engine) as conn:
        row = conn.execute(
            select(_R.c.revoked_at, _R.c.token_id)
            .where(
                _R.c.campaign_id == campaign_id,
                _R.c.unit_code == unit_code,
                or_(_R.c.token_id == token_id, _R.c.issued_before >= issued_at),
            )
            .order_by(_R.c.revoked_at, _R.c.id)
            .limit(1)
        ).first()
    return None if row is None else Revocation(row.revoked_at, every_link=row.token_id is None)


def record_revocation(
    engine: Engine,
    campaign_id: str,
    unit_code: str,
    token_id: str | None,
    issued_before: datetime | None,
    revoked_at: datetime,
    actor: str,
    reason: str,
) -> None:
    """Keep a revocation, in a transaction of its own."""
    with unit_of_work(engine) as conn:
        conn.execute(
            insert(LinkRevocation),
            [
                dict(
                    campaign_id=campaign_id,
                    unit_code=unit_code,
                    token_id=token_id,
                    issued_before=issued_before,
                    revoked_at=revoked_at,
                    actor=actor,
                    reason=reason,
                )
            ],
        )
