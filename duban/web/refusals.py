"""A refused request on the portal: the audit entry that records it, then the answer that shows why.

Every form that refuses something (a submission, a 延期申请, a review, a score, a login) does the same three things:
it has the refusal's Chinese message, writes one audit entry under the actor (not ok, the message as its detail),
and answers with the page or redirect that shows the message where it concerns, with its status. `refused` is that
pattern once; the caller says what to audit and how to answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Request
from fastapi.responses import Response

from duban.services import audit
from duban.web.context import Portal, client_of


def refused(
    request: Request,
    p: Portal,
    message: str,
    answer: Callable[[str], Response],
    *,
    actor: str,
    action: str = "refused",
    campaign_id: str | None = None,
    unit_code: str | None = None,
    target: str | None = None,
    at: datetime | None = None,
) -> Response:
    """Audit the refusal (`action` by `actor` at `at`, default now; not ok; `message` as its detail), then answer
    with `answer(message)`: the page or redirect that shows the message (built after the entry is written)."""
    audit.record(
        p.engine,
        at or p.now(),
        action,
        actor=actor,
        campaign_id=campaign_id,
        unit_code=unit_code,
        target=target,
        ok=False,
        detail=message,
        client=client_of(request),
    )
    return answer(message)
