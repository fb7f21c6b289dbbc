"""HEAD answered as GET, without the body, on every page: link checkers, monitors and chat clients' previews ask
with HEAD, and FastAPI's routes answer only the methods they name (a GET page said 405 to a HEAD).

A HEAD goes to the page's GET handler and gets its status and headers (Content-Type, Content-Length, a download's
name); the body is dropped here. A route that names HEAD itself (/u/<token>) and the static files keep their own
answer; a POST-only route answers 405 to a HEAD as to a GET. Nobody has seen a page asked for with HEAD: `seen`
writes no 查看, 下载 or 导出 to the audit log for it (a refused link is still recorded, as for a GET).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from duban.services import audit
from duban.web.context import Portal, client_of

HEAD_ONLY = "duban.head_only"  # the scope's mark of a HEAD answered by a GET handler


class HeadAsGet:
    """Runs a HEAD through the GET route of its path (when no route takes HEAD itself) and sends no body."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or self._takes_head(scope):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET", HEAD_ONLY: True}, receive, headers_only)

    def _takes_head(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] is Match.FULL for route in self.router.routes)


def seen(request: Request, p: Portal, action: str, **entry: Any) -> None:
    """Audit a page shown, a file handed out or an export made (查看、下载、导出) now, by the request's client —
    unless it was asked for with HEAD, which shows nobody anything."""
    if not request.scope.get(HEAD_ONLY):
        audit.record(p.engine, p.now(), action, client=client_of(request), **entry)
