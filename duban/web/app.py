"""The portal app: routes, error pages that show no internals, security headers, the upload cap.

`create_app(settings, engine=…, clock=…)` builds it; `duban serve` runs it with uvicorn. Pages are Chinese,
server-rendered, with no script and nothing fetched from outside (bureau intranets are offline).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from duban.errors import CalendarGapError, LinkError
from duban.services.database import open_database
from duban.settings import Settings, get_settings
from duban.web.context import Portal, make_templates
from duban.web.head import HeadAsGet
from duban.web.proxies import TrustedProxies
from duban.web.security import HEADERS, CsrfError, masked_path
from duban.web.uploads import MAX_FILES, BodyLimit, BodyTooLarge

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("duban.web")
STATUS_CN = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持这种请求方式",
    409: "预览模式",
    413: "上传内容过大",
    422: "请求参数有误",
    429: "操作过于频繁",
    500: "系统出错了",
}


def _wall_clock() -> datetime:
    return datetime.now(timezone.utc)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] | None = None,
    preview_at: datetime | None = None,
) -> FastAPI:
    """The portal over `engine` (default: the settings' database). `clock` stands in for the wall clock (tests);
    `preview_at` shows the record as it stood at that instant, read-only (`duban serve --as-of`)."""
    from duban.web import api, loop_routes, ops_routes, sample_routes, score_routes, unit_routes

    settings = settings or get_settings()
    engine = engine or open_database(settings.resolved_database_url)
    app = FastAPI(
        title="duban 报送平台 API",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        description="督办报送平台的只读 JSON 接口："
        "单位的报送事项（凭单位专属链接的令牌）和运营人员的红黄绿矩阵（凭登录会话）。",
    )
    app.state.portal = Portal(
        settings, engine, settings.portal_key(), clock or _wall_clock, preview_at, make_templates()
    )
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    app.include_router(unit_routes.router)
    app.include_router(loop_routes.router)
    app.include_router(ops_routes.router)
    app.include_router(score_routes.router)
    app.include_router(sample_routes.router)
    app.include_router(api.router)
    _handlers(app)
    app.router.redirect_slashes = False  # Starlette's redirect names the Host header's host: TrailingSlash instead
    app.add_middleware(HeadAsGet, router=app.router)  # innermost: the error pages' bodies are dropped too
    app.add_middleware(TrailingSlash)
    app.add_middleware(BodyLimit, limit=settings.upload_max_bytes * 3 + 1024 * 1024)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedProxies, networks=settings.proxy_networks)  # outermost: every layer sees the client
    return app


class TrailingSlash:
    """`/u/<token>/` (a link pasted with a slash after it) is sent on to `/u/<token>` by a relative Location: the
    address a unit's staff follow never takes its host from the request's Host header, which a client or a badly
    set proxy may write (Starlette's own redirect builds it from there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path != "/" and path.endswith("/") and scope["method"] in ("GET", "HEAD"):
            target = "/" + path.strip("/")  # one leading slash: //evil.example/ must not become a host
            query = scope.get("query_string", b"").decode("latin-1")
            location = quote(target, safe="/%:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")
            await RedirectResponse(location, status_code=307)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds the security headers to every response, and no-store to every page that is not static."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(request: Request, status: int, message: str, *, headers: dict | None = None, title: str | None = None):
    """A Chinese error page (or JSON for the API) that says what to do and nothing about the server's insides."""
    if status >= 500:  # answered outside the middleware stack: add the security headers here
        headers = {**HEADERS, "Cache-Control": "no-store", **(headers or {})}
    if _api(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    portal: Portal = request.app.state.portal
    return portal.templates.TemplateResponse(
        request,
        "error.html.j2",
        {"title": title or STATUS_CN.get(status, "出错了"), "message": message, "status": status},
        status_code=status,
        headers=headers,
    )


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        text = detail or {
            404: "没有找到这个页面。请检查链接是否完整，或从督办消息中重新打开。",
            405: "不支持这种请求方式。",
        }.get(exc.status_code, STATUS_CN.get(exc.status_code, "请求有误。"))
        return error_page(request, exc.status_code, text, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()[:3]
        if any(e.get("loc", ("",))[0] == "path" for e in errors):  # a clerk read 请求参数有误：submission_id
            return error_page(request, 422, "请求参数有误：链接不完整或有误，请检查链接是否完整。")
        where = "、".join(".".join(str(p) for p in e.get("loc", ())[1:]) or "请求" for e in errors)
        return error_page(request, 422, f"请求参数有误：{where}")

    @app.exception_handler(LinkError)
    async def link_refused(request: Request, exc: LinkError):
        return error_page(request, 403, exc.cn)

    @app.exception_handler(CalendarGapError)
    async def no_calendar(request: Request, exc: CalendarGapError):  # a date chosen in a year without 节假日 data
        return error_page(request, 409, exc.cn, title="缺少这一年的节假日安排")

    @app.exception_handler(CsrfError)
    async def csrf_refused(request: Request, exc: CsrfError):
        upload = request.headers.get("content-type", "").startswith("multipart/form-data")
        kept = "文件未保存" if upload else "本次操作未生效"  # a revoke or a decision carries no file
        return error_page(request, 403, f"页面已过期或来源不明，请返回并刷新页面后重新提交（{kept}）。")

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge):
        limit = exc.limit // 1024 // 1024
        return error_page(
            request,
            413,
            f"上传内容过大（一次不超过 {limit} MB，最多 {MAX_FILES} 个文件），文件未保存。请压缩或分次上传。",
            headers={"Connection": "close"},
        )

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        ref = secrets.token_hex(4)
        log.error("error %s on %s %s", ref, request.method, masked_path(request.url.path), exc_info=exc)
        return error_page(
            request,
            500,
            f"系统出错了，您的操作可能没有完成。请稍后再试；如仍出错，请联系督办工作人员并告知错误编号 {ref}。",
        )
