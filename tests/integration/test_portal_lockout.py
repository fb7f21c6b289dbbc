"""The operators' lockout under a real attack (issue 20): guesses sent at the same moment, to one portal or to two
portal processes over one database, are counted before any password is looked at, so at most five are checked;
and a forwarded address is believed only from a proxy named in DUBAN_TRUSTED_PROXIES."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlalchemy import select

from duban.services.operators import save_operator
from duban.settings import Settings
from duban.store.tables import AuditEntry
from duban.web import create_app
from duban.web.server import running
from tests.conftest import ROOT
from tests.integration.helpers import plan_jinzhong

NAME, PASSWORD = "duban", "晋中督办-2024"
WRONG, LOCKED = "用户名或密码不对", "失败次数过多"


def _login_form(client: httpx.Client, base: str) -> str:
    page = client.get(f"{base}/ops/login")
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def _attack(bases: list[str], passwords: list[str], headers: dict | None = None) -> list[str]:
    """Send every password at the same moment (one browser each, spread over the portals); each answer's kind."""
    clients = [httpx.Client(timeout=60, headers=headers or {}) for _ in passwords]
    forms = [_login_form(c, bases[i % len(bases)]) for i, c in enumerate(clients)]
    start = threading.Barrier(len(passwords))
    answers: list[str] = [""] * len(passwords)

    def send(index: int) -> None:
        start.wait()
        base = bases[index % len(bases)]
        got = clients[index].post(
            f"{base}/ops/login",
            follow_redirects=False,
            data={"csrf": forms[index], "name": NAME, "password": passwords[index]},
        )
        answers[index] = (
            "in"
            if got.status_code == 303
            else "locked"
            if LOCKED in got.text
            else "wrong"
            if WRONG in got.text
            else f"? {got.status_code}"
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(passwords))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for client in clients:
        client.close()
    return answers


def _portal(engine, home) -> Settings:
    settings = Settings(home=home)
    plan_jinzhong(engine)
    save_operator(settings.operators_file, NAME, PASSWORD)
    return settings


def test_guesses_sent_together_are_counted_before_any_is_checked(engine, tmp_path):
    settings = _portal(engine, tmp_path / "home")
    passwords = ["guess-%02d" % n for n in range(29)] + [PASSWORD]
    with running(create_app(settings, engine=engine)) as base:
        answers = _attack([base], passwords)
        assert not [a for a in answers if a.startswith("?")], answers
        checked = [a for a in answers if a in ("in", "wrong")]
        assert len(checked) <= 5 and answers.count("locked") >= 25, answers
        # once the five are spent, even the right password is refused unchecked
        again = _attack([base], [PASSWORD])
        assert again == ["locked"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(env: dict) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "duban.cli.main", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}"


def _wait(process: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/", timeout=2)
            return
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, "duban serve did not start"
            time.sleep(0.2)


def test_two_portal_processes_over_one_database_share_the_count(engine, tmp_path):
    home = tmp_path / "home"
    _portal(engine, home)
    env = {
        **os.environ,
        "DUBAN_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
        "DUBAN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
    }
    started = [_serve(env), _serve(env)]
    try:
        for process, base in started:
            _wait(process, base)
        answers = _attack([base for _p, base in started], ["guess-%02d" % n for n in range(29)] + [PASSWORD])
    finally:
        for process, _base in started:
            process.terminate()
        for process, _base in started:
            process.wait(timeout=20)
    assert not [a for a in answers if a.startswith("?")], answers
    assert len([a for a in answers if a in ("in", "wrong")]) <= 5 and answers.count("locked") >= 25, answers


def _clients(engine) -> list[str | None]:
    with engine.connect() as conn:
        return list(conn.execute(select(AuditEntry.client).where(AuditEntry.action == "login")).scalars())


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(sqlite_engine, tmp_path):
    settings = _portal(sqlite_engine, tmp_path / "home")
    with running(create_app(settings, engine=sqlite_engine)) as base, httpx.Client() as browser:
        answers = []
        for n in range(7):  # a guesser on the portal's own machine, rotating the header
            form = _login_form(browser, base)
            got = browser.post(
                f"{base}/ops/login",
                data={"csrf": form, "name": NAME, "password": f"guess-{n}"},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
            answers.append("locked" if LOCKED in got.text else "wrong")
    assert answers == ["wrong"] * 5 + ["locked"] * 2
    assert set(_clients(sqlite_engine)) == {"127.0.0.1"}  # no made-up address in the audit log


def test_behind_a_trusted_proxy_the_client_is_the_rightmost_address_it_did_not_add(sqlite_engine, tmp_path):
    settings = _portal(sqlite_engine, tmp_path / "home")
    settings = settings.model_copy(update={"trusted_proxies": "127.0.0.1, 10.0.0.0/24"})
    with running(create_app(settings, engine=sqlite_engine)) as base, httpx.Client() as browser:
        answers = []
        for n in range(7):  # the client writes its own header; the proxies append what they saw
            form = _login_form(browser, base)
            got = browser.post(
                f"{base}/ops/login",
                data={"csrf": form, "name": NAME, "password": f"guess-{n}"},
                headers={"X-Forwarded-For": f"192.0.2.{n}, 203.0.113.9, 10.0.0.5"},
            )
            answers.append("locked" if LOCKED in got.text else "wrong")
    assert answers == ["wrong"] * 5 + ["locked"] * 2
    assert set(_clients(sqlite_engine)) == {"203.0.113.9"}


def test_a_setting_that_is_no_address_is_refused():
    with pytest.raises(ValueError, match="DUBAN_TRUSTED_PROXIES: 'nginx' is not an address"):
        Settings(trusted_proxies="127.0.0.1,nginx")
