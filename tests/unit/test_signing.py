"""Unit links and operator sessions are signed: scoped, expiring, and any change makes them worthless."""

from datetime import datetime, timedelta, timezone

import pytest

from duban.domain.signing import sign
from duban.errors import DubanError, LinkError
from duban.services.links import issue, link_maker, read
from duban.services.operators import SESSION_PURPOSE, authenticate, hash_password, session_user, verify_password

KEY = b"k" * 16 + b"0123456789abcdefghij"
NOW = datetime(2024, 5, 25, 2, 0, tzinfo=timezone.utc)


def test_a_link_names_its_campaign_unit_and_lifetime():
    token = issue(KEY, "jinzhong-2024-lookback", "140724100", NOW, timedelta(days=45))
    link = read(KEY, token)
    assert (link.campaign_id, link.unit_code) == ("jinzhong-2024-lookback", "140724100")
    assert link.issued_at == NOW and link.expires_at == NOW + timedelta(days=45)
    assert len(token) < 130  # short enough for a WeCom message line


def _flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def test_any_change_to_a_link_makes_it_invalid():
    token = issue(KEY, "jinzhong-2024-lookback", "140724100", NOW, timedelta(days=45))
    other = issue(KEY, "jinzhong-2024-lookback", "140724101", NOW, timedelta(days=45))
    body, mac = token.split(".")
    forged = [
        _flip(token, 3),
        _flip(token, len(token) - 2),
        token[:-1],
        token + "A",
        f"{other.split('.')[0]}.{mac}",
        f"{body}.{other.split('.')[1]}",
        "",
        "not a token",
        "../../etc/passwd",
        "a" * 5000,
    ]
    for candidate in forged:
        with pytest.raises(LinkError) as refused:
            read(KEY, candidate)
        assert refused.value.reason == "tampered" and "链接无效" in refused.value.cn
    with pytest.raises(LinkError):
        read(b"another key of thirty-two bytes!!", token)


def test_a_session_cannot_pass_for_a_link_nor_a_link_for_a_session():
    session = sign(KEY, SESSION_PURPOSE, ["admin", "a-random-session-id", int(NOW.timestamp())])
    with pytest.raises(LinkError):
        read(KEY, session)
    token = issue(KEY, "c", "admin", NOW, timedelta(days=1))
    # refused by its signature, before any lookup (sessions themselves: tests/integration/test_portal_logins.py)
    assert session_user(None, KEY, token, NOW, {"admin": "x"}) is None


def test_leaders_and_operators_get_no_unit_link():
    link_for = link_maker("https://duban.tjj.example/", KEY, timedelta(days=45))
    assert link_for("c", "leader:leader_east", NOW) is None and link_for("c", "operators", NOW) is None
    link = link_for("c", "140724", NOW)
    assert link.startswith("https://duban.tjj.example/u/") and read(KEY, link.rsplit("/", 1)[1]).unit_code == "140724"


def test_passwords_are_kept_as_scrypt_hashes():
    stored = hash_password("晋中-督办-2024")
    assert stored.startswith("scrypt$") and "晋中" not in stored
    assert verify_password("晋中-督办-2024", stored) and not verify_password("晋中-督办-2025", stored)
    assert not verify_password("anything", "garbage") and not verify_password("anything", "scrypt$1$2$3$x$y")
    assert authenticate({"admin": stored}, "admin", "晋中-督办-2024")
    assert not authenticate({"admin": stored}, "nobody", "晋中-督办-2024")
    with pytest.raises(DubanError, match="at least 8"):
        hash_password("short")
