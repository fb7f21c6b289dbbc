"""A refused request on the portal: the audit entry that records it, then the answer that shows why.

Every form that refuses something (a submission, a 延期申请, a review, a score, a login) does the same three things:
it has the refusal's Chinese message, writes one audit entry under the actor (not ok, the message as its detail),
and answers with the page or redirect that shows the message where it concerns, with its status. `refused` is that
pattern once; the caller says what to audit and how to answer.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

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


def back_with(p: Portal, base: str, message: str, anchor: str = "") -> str:
    """Where a refused operator's form sends the browser back: `base` with the message and its seal (an HMAC with
    the portal's key), so that the page shows only messages duban itself wrote there. A link crafted with its own
    `?error=` text (系统升级，请将密码发给…) is not shown to an operator as the portal's word."""
    return f"{base}?error={quote(message)}&seal={_seal(p, message)}{anchor}"


def message_shown(request: Request, p: Portal) -> str | None:
    """The refusal message a page was sent back with (`back_with`), when its seal is the portal's; else none."""
    message, seal = request.query_params.get("error"), request.query_params.get("seal")
    if not message or not seal or len(message) > 2000:
        return None
    return message if hmac.compare_digest(seal, _seal(p, message)) else None


def _seal(p: Portal, message: str) -> str:
    return hmac.new(p.key, b"refusal\x00" + message.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
