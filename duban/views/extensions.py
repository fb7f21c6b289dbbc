"""延期申请 (extension requests) as the pages and the CLI read them: one request, the campaign's requests.

Asking and deciding are duban.services.extension.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.domain.extension_rules import ExtensionStatus
from duban.errors import RequestError
from duban.store import extension_requests as store

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


@dataclass(frozen=True)
class Request:
    """One 延期申请 as the record keeps it."""

    id: int
    campaign_id: str
    unit_code: str
    item_id: str
    instance: str
    requested_at: datetime
    due_at: datetime
    until: datetime
    reason: str
    requested_by: str
    status: ExtensionStatus
    decided_at: datetime | None = None
    decided_by: str | None = None
    granted_until: datetime | None = None
    note: str | None = None
    due_in_force: datetime | None = None  # the unit's due now, when read with it (a 退回 may have moved it)

    @classmethod
    def of(cls, row: Any) -> Request:
        return cls(
            row.id,
            row.campaign_id,
            row.unit_code,
            row.item_id,
            row.instance,
            row.requested_at,
            row.due_at,
            row.until,
            row.reason,
            row.requested_by,
            ExtensionStatus(row.status),
            row.decided_at,
            row.decided_by,
            row.granted_until,
            row.note,
            getattr(row, "due_in_force", None),
        )


def get_request(engine: Engine, request_id: int) -> Request:
    row = store.request_row(engine, request_id) if 0 < request_id < 2**63 else None  # a 24-digit id: no such row
    if row is None:
        raise RequestError(f"no extension request {request_id}", cn=f"没有编号为{request_id}的延期申请")
    return Request.of(row)


def requests_of(
    engine: Engine | Connection, campaign_id: str, *, status: str | None = None, unit_code: str | None = None
) -> list[Request]:
    """The campaign's requests, oldest first (only those of one status or unit, when given)."""
    return [Request.of(r) for r in store.request_rows(engine, campaign_id, status=status, unit_code=unit_code)]
