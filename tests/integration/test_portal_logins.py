"""Operator logins: a stranger guessing cannot lock an operator out (the lockout is per name and address), a
spread-out attack slows every attempt, answers never tell whether a name exists; sessions live in the database,
so logging out, a new password (`duban portal password` or a changed hash) and expiry end them for good."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from duban.cli.main import app as cli
from duban.services.logins import slow_down
from duban.services.operators import save_operator
from duban.settings import get_settings
from tests.integration.helpers import CAMPAIGN
from tests.integration.portal_site import OPERATOR, make_site, text_of


@pytest.fixture
def site(sqlite_engine):
    return make_site(sqlite_engine, now="2024-05-27 10:00")


def browser(site, address: str) -> TestClient:
    """Another browser, from another address."""
    return TestClient(site.app, raise_server_exceptions=False, base_url="http://portal.test", client=(address, 40000))


def attempt(client: TestClient, name: str, password: str):
    page = client.get("/ops/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    return client.post("/ops/login", data={"csrf": csrf, "name": name, "password": password}, follow_redirects=False)


def alert(response) -> str:
    return (
        text_of(response.text.split('class="alert"')[1].split("</div>")[0]) if 'class="alert"' in response.text else ""
    )


def test_a_stranger_guessing_from_elsewhere_does_not_lock_the_operator_out(site):
    stranger = browser(site, "203.0.113.7")
    for _ in range(5):
        assert attempt(stranger, "duban", "guess-guess").status_code == 401
    locked = attempt(stranger, "duban", OPERATOR[1])  # even the right password: the pair is locked
    assert locked.status_code == 401 and "该用户名从您的地址登录失败次数过多，请 15 分钟后再试" in alert(locked)
    assert site.login().status_code == 303  # the operator, from the office, logs in as usual
    assert site.client.get(f"/ops/c/{CAMPAIGN}").status_code == 200
    site.now += timedelta(minutes=16)
    assert attempt(stranger, "duban", OPERATOR[1]).status_code == 303


def test_the_answers_never_tell_whether_a_name_exists(site):
    known, unknown = browser(site, "198.51.100.1"), browser(site, "198.51.100.2")
    for n in range(6):
        a, b = attempt(known, "duban", "wrong-password"), attempt(unknown, "nobody", "wrong-password")
        assert (a.status_code, alert(a)) == (b.status_code, alert(b)), n
    assert "失败次数过多" in alert(a)


def test_many_failures_everywhere_slow_every_attempt_down(site, monkeypatch):
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr("duban.web.ops_routes.login_pause", sleep)  # only the portal's wait, not asyncio's
    for index in range(22):  # a spread-out attack: one guess per address, so no pair is ever locked
        assert attempt(browser(site, f"192.0.2.{index}"), f"user{index % 3}", "guess-guess").status_code == 401
    assert waited == [slow_down(20), slow_down(21)] == [0.5, 1.0]  # the first twenty answered at once
    waited.clear()
    assert site.login().status_code == 303  # the operator still gets in, after waiting
    assert waited == [slow_down(22)] and slow_down(22) == 1.5
    assert [slow_down(n) for n in (0, 19, 20, 40, 10_000)] == [0, 0, 0.5, 10.0, 10.0]


def test_logging_out_ends_the_session_in_the_database(site):
    site.login()
    page = site.client.get(f"/ops/c/{CAMPAIGN}")
    cookie = site.client.cookies["duban_ops"]
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert site.client.post("/ops/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    kept = browser(site, "testclient")
    kept.cookies.set("duban_ops", cookie)  # someone who copied the cookie before the logout
    assert kept.get(f"/ops/c/{CAMPAIGN}", follow_redirects=False).headers["location"] == "/ops/login"
    assert kept.get("/api/campaigns").status_code == 401
    assert [e.actor for e in site.audit("logout")] == ["operator:duban"]


def test_a_new_password_ends_every_session_of_that_login(site, monkeypatch):
    other = browser(site, "10.1.1.2")
    site.login()
    assert attempt(other, *OPERATOR).status_code == 303
    assert other.get("/api/campaigns").status_code == 200
    monkeypatch.setenv("DUBAN_HOME", str(site.settings.home))
    monkeypatch.setenv("DUBAN_DATABASE_URL", site.engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    result = CliRunner().invoke(
        cli, ["portal", "password", "--name", "duban"], input="新密码-2024-06\n新密码-2024-06\n"
    )
    assert result.exit_code == 0 and "2 session(s) ended" in result.output
    for client in (site.client, other):
        assert client.get("/api/campaigns").status_code == 401
    assert site.login(password="新密码-2024-06").status_code == 303
    # a hash changed by hand (DUBAN_OPERATORS, or the file edited) ends the sessions opened with the old one too
    save_operator(site.settings.operators_file, "duban", "另一个密码-2024")
    assert site.client.get("/api/campaigns").status_code == 401


def test_a_session_expires_after_twelve_hours(site):
    site.login()
    site.now += timedelta(hours=11, minutes=59)
    assert site.client.get("/api/campaigns").status_code == 200
    site.now += timedelta(minutes=2)
    assert site.client.get("/api/campaigns").status_code == 401
