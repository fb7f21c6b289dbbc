"""Operator logins (督办工作人员): scrypt password hashes, and the sessions operators log in with.

Only hashes are kept (DUBAN_OPERATORS or home/operators.json, written 0600); a password is never stored,
logged or echoed. A session is a row in the database (portal replicas share it) named by a random id in a
signed cookie: logging out ends it, a new password (`duban portal password`, or a changed hash in
DUBAN_OPERATORS) ends every session of that login, and it expires after SESSION_HOURS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.signing import sign, unsign
from duban.errors import DubanError
from duban.instants import utc
from duban.store.sessions import end_operator_sessions, end_session_row, keep_session, session_row

if TYPE_CHECKING:
    from sqlalchemy import Engine

SESSION_PURPOSE = "duban-operator-session-v2"
SESSION_HOURS = 12
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash` for a password of at least 8 characters."""
    if len(password) < 8:
        raise DubanError("an operator password needs at least 8 characters")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` matches the stored hash (constant-time; a malformed hash matches nothing)."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def save_operator(path: Path, name: str, password: str) -> None:
    """Add or change an operator's login in the file kept under home (created 0600)."""
    if not name or len(name) > 40 or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise DubanError(f"operator name {name!r}: use letters, digits, _ - . (at most 40)")
    kept = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    kept[name] = hash_password(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(kept, handle, ensure_ascii=False, indent=1)
    os.replace(path.with_suffix(".tmp"), path)


def authenticate(hashes: dict[str, str], name: str, password: str) -> bool:
    """Whether name and password match a login; an unknown name costs the same time as a wrong password."""
    encoded = hashes.get(name)
    if encoded is None:
        verify_password(password, _dummy())
        return False
    return verify_password(password, encoded)


@lru_cache(maxsize=1)
def _dummy() -> str:
    return hash_password("not-a-real-password", salt=b"\0" * 16)


def open_session(
    engine: Engine, key: bytes, name: str, encoded: str, now: datetime, *, client: str | None = None
) -> str:
    """A new session for operator `name` (logged in with the hash `encoded`), valid SESSION_HOURS: its row and
    the signed cookie value that names it."""
    issued = utc(now)
    session_id = secrets.token_urlsafe(24)
    keep_session(
        engine,
        dict(
            id_sha256=_digest(session_id),
            operator=name,
            login_tag=_digest(encoded)[:32],
            created_at=issued,
            expires_at=issued + session_lifetime(),
            client=(client or "")[:64] or None,
        ),
    )
    return sign(key, SESSION_PURPOSE, [name, session_id, int(issued.timestamp())])


def session_user(engine: Engine, key: bytes, token: str | None, now: datetime, hashes: dict[str, str]) -> str | None:
    """The operator a session belongs to, if it is genuine, open (not ended, not expired) and its login's
    password is still the one it was opened with."""
    payload = unsign(key, SESSION_PURPOSE, token or "")
    if payload is None or len(payload) != 3 or not isinstance(payload[1], str):
        return None
    name, session_id, _issued = payload
    encoded = hashes.get(name)
    if encoded is None:
        return None
    row = session_row(engine, _digest(session_id))
    if row is None or row.revoked_at is not None or row.operator != name or utc(now) >= row.expires_at:
        return None
    return name if hmac.compare_digest(row.login_tag, _digest(encoded)[:32]) else None


def end_session(engine: Engine, key: bytes, token: str | None, now: datetime, *, by: str = "logout") -> bool:
    """End the session a cookie names (logout); True when there was one to end."""
    payload = unsign(key, SESSION_PURPOSE, token or "")
    if payload is None or len(payload) != 3 or not isinstance(payload[1], str):
        return False
    return end_session_row(engine, _digest(payload[1]), utc(now), by[:80]) > 0


def end_sessions(engine: Engine, name: str, now: datetime, *, by: str) -> int:
    """End every session of operator `name` not ended yet (a new password, a departure); how many."""
    return end_operator_sessions(engine, name, utc(now), by[:80])


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def session_lifetime() -> timedelta:
    return timedelta(hours=SESSION_HOURS)
