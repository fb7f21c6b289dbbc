"""Signed values (HMAC-SHA256) for unit links, operator sessions and CSRF tokens: stateless and tamper-evident.

A signed value is `base64url(JSON list).base64url(MAC)`. The MAC covers a purpose string as well as the
body, so a session cookie can never be replayed as a unit link or the other way round. MACs are truncated
to 128 bits (still far beyond guessing) to keep links short in a WeCom message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

_SHAPE = re.compile(r"^[A-Za-z0-9_-]{4,600}\.[A-Za-z0-9_-]{22}$")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mac(key: bytes, purpose: str, text: str) -> str:
    """The 22-character MAC of `text` for `purpose`."""
    return b64(hmac.new(key, f"{purpose}|{text}".encode(), hashlib.sha256).digest()[:16])


def sign(key: bytes, purpose: str, payload: list[Any]) -> str:
    """`payload` (a JSON list) signed for `purpose`."""
    body = b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{body}.{mac(key, purpose, body)}"


def unsign(key: bytes, purpose: str, token: str) -> list[Any] | None:
    """The payload of a value signed for `purpose`, or None when it is malformed or its MAC does not match."""
    if not isinstance(token, str) or not _SHAPE.match(token):
        return None
    body, _, given = token.partition(".")
    if not hmac.compare_digest(given, mac(key, purpose, body)):
        return None
    try:
        value = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, list) else None


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of two texts."""
    return hmac.compare_digest(given.encode(), expected.encode())
