"""CSRF tokens, operator sessions and response headers.

CSRF: a signed double-submit. The page sets a random nonce in an HttpOnly, SameSite=Strict cookie and puts
HMAC(nonce, scope) in the form; a POST must bring both and they must match. A forged form from another
site has neither the cookie (SameSite) nor the means to compute the token (the key).
"""

from __future__ import annotations

import secrets

from fastapi import Request
from starlette.responses import Response

from duban.domain.signing import mac, same
from duban.services.operators import end_session as close_session, open_session, session_lifetime, session_user
from duban.web.context import Portal

CSRF_COOKIE = "duban_csrf"
SESSION_COOKIE = "duban_ops"
_CSRF_PURPOSE = "duban-csrf-v1"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a unit's link is its key: never hand it to another site
}


class CsrfError(Exception):
    """A POST without a matching CSRF token."""


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_for(request: Request, portal: Portal, scope: str) -> tuple[str, str | None]:
    """(form token, new cookie nonce or None when the browser already has one)."""
    nonce = request.cookies.get(CSRF_COOKIE)
    fresh = None
    if not nonce or len(nonce) > 64:
        nonce = fresh = secrets.token_urlsafe(18)
    return mac(portal.key, _CSRF_PURPOSE, f"{scope}|{nonce}"), fresh


def set_csrf_cookie(request: Request, response: Response, nonce: str | None) -> None:
    if nonce:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", secure=_secure(request), path="/")


def check_csrf(request: Request, portal: Portal, scope: str, given: object) -> None:
    """Refuse a POST whose form token does not match its cookie for `scope`."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not isinstance(given, str) or not given:
        raise CsrfError
    if not same(given, mac(portal.key, _CSRF_PURPOSE, f"{scope}|{nonce}")):
        raise CsrfError


def operator_of(request: Request, portal: Portal) -> str | None:
    """The logged-in operator (an open session in the database), or None."""
    return session_user(
        portal.engine, portal.key, request.cookies.get(SESSION_COOKIE), portal.now(), portal.settings.operator_hashes()
    )


def start_session(request: Request, response: Response, portal: Portal, name: str, encoded: str) -> None:
    """Open a session for `name` (logged in with the hash `encoded`) and give the browser its cookie."""
    token = open_session(
        portal.engine, portal.key, name, encoded, portal.now(), client=request.client.host if request.client else None
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
        max_age=int(session_lifetime().total_seconds()),
    )


def end_session(request: Request, response: Response, portal: Portal) -> None:
    """End the session in the database (the cookie no longer opens anything, even if kept) and drop the cookie."""
    close_session(portal.engine, portal.key, request.cookies.get(SESSION_COOKIE), portal.now())
    response.delete_cookie(SESSION_COOKIE, path="/")


def masked_path(path: str) -> str:
    """A path with any unit token cut to its first 8 characters, for logs (a token is a key)."""
    parts = path.split("/")
    for index in range(len(parts) - 1):
        if parts[index] == "u" and len(parts[index + 1]) > 12:
            parts[index + 1] = parts[index + 1][:8] + "…"
    return "/".join(parts)
