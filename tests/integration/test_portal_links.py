"""Every unit message carries the unit's own link, the link opens that unit's page, and the portal's settings,
commands and server behave as an administrator expects."""

import json
import os
import re
import socket
import stat
import subprocess
import sys
import time

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from duban.cli.main import app as cli
from duban.notify.notifier import SinkNotifier
from duban.services.dispatch import Dispatcher
from duban.services.links import unit_links
from duban.settings import Settings, get_settings
from tests.conftest import JINZHONG, ROOT
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.integration.portal_site import Site

BASE = "https://duban.tjj.example.cn"


def _messages(settings) -> list[dict]:
    lines = (settings.sink_dir / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_each_unit_message_carries_its_own_link_to_its_own_page(engine, monkeypatch):
    monkeypatch.setenv("DUBAN_PORTAL_URL", BASE)
    get_settings.cache_clear()
    settings = get_settings()
    plan_jinzhong(engine)
    tick(engine, at("2024-05-28 09:00"))  # opened, reminded, overdue and escalated to counties and leaders
    sink = SinkNotifier(settings.sink_dir)
    Dispatcher(engine, lambda _ref: sink, ["sink"], portal_url=settings.portal_url, link_for=unit_links(settings)).run(
        at("2024-05-28 09:05")
    )
    messages = _messages(settings)
    links = {m["to"]: re.search(r"办理入口：(\S+)", m["text"]).group(1) for m in messages}
    units = [m["to"] for m in messages if not m["to"].startswith("leader:")]
    assert len(set(links[u] for u in units)) == len(units) > 100  # one link per unit, each its own
    assert all(links[u].startswith(f"{BASE}/u/") for u in units)
    assert links["leader:leader_east"] == BASE  # a leader has no unit page: the portal's address
    site = Site(settings, engine, at("2024-05-28 09:10"))
    for unit in ("140724100", "140724"):
        page = site.page(links[unit].removeprefix(BASE + "/u/"))
        assert page.status_code == 200 and unit_name(unit) in page.text


def unit_name(code: str) -> str:
    return {"140724100": "乐平镇统计站", "140724": "昔阳县统计局"}[code]


def test_without_a_portal_address_messages_carry_no_link(sqlite_engine):
    assert unit_links(get_settings()) is None
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    sink = SinkNotifier(get_settings().sink_dir)
    Dispatcher(sqlite_engine, lambda _ref: sink, ["sink"], link_for=unit_links(get_settings())).run(
        at("2024-05-10 08:31")
    )
    assert not any("办理入口" in m["text"] for m in _messages(get_settings()))


@pytest.mark.prefect
def test_the_dispatch_flow_puts_unit_links_in_messages(prefect_harness, monkeypatch):
    from duban.store.db import engine_for
    from flows.dispatch_outbox import dispatch_outbox

    monkeypatch.setenv("DUBAN_PORTAL_URL", BASE)
    get_settings.cache_clear()
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    dispatch_outbox(as_of=at("2024-05-10 08:31"), campaign=CAMPAIGN)
    texts = [m["text"] for m in _messages(get_settings())]
    assert len(texts) == 130 and all(f"办理入口：{BASE}/u/" in t for t in texts)


def test_placeholder_secrets_are_refused_without_being_echoed(monkeypatch):
    for weak in ("changeme", "change-me-to-a-long-random-string-please", "x" * 40, "short-but-random-9f3K"):
        monkeypatch.setenv("DUBAN_PORTAL_SECRET", weak)
        with pytest.raises(ValidationError) as refused:
            Settings()
        assert weak not in str(refused.value) and "DUBAN_PORTAL_SECRET" in str(refused.value)
    strong = "tQ7w3Jk0Zp9vR2sLxE5mB8nC1dF4gH6y"
    monkeypatch.setenv("DUBAN_PORTAL_SECRET", strong)
    assert Settings().portal_key() == strong.encode() and strong not in repr(Settings())


def test_the_embedded_default_keeps_a_generated_key_readable_only_by_its_owner(tmp_path):
    settings = Settings(home=tmp_path / "home")
    key = settings.portal_key()
    path = tmp_path / "home" / "portal_secret"
    assert len(key) >= 48 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(home=tmp_path / "home").portal_key() == key  # kept: links stay valid across restarts
    path.chmod(0o644)
    assert Settings(home=tmp_path / "home").portal_key() == key and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_portal_commands_hand_out_withdraw_and_set_logins(sqlite_engine, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("DUBAN_PORTAL_URL", BASE)
    get_settings.cache_clear()
    link = runner.invoke(cli, ["portal", "link", str(JINZHONG), "--unit", "140724100"])
    assert link.exit_code == 0, link.output
    assert link.output.strip().startswith(f"{BASE}/u/")
    unknown = runner.invoke(cli, ["portal", "link", str(JINZHONG), "--unit", "999999"])
    assert unknown.exit_code == 1 and "'999999' is no unit of campaign" in " ".join(unknown.output.split())
    named = runner.invoke(cli, ["portal", "link", str(JINZHONG), "--unit", "乐平镇统计站"])  # as messages name it
    assert named.exit_code == 0 and named.output.strip().startswith(f"{BASE}/u/"), named.output
    revoked = runner.invoke(cli, ["portal", "revoke", CAMPAIGN, "--unit", "140724100", "--reason", "换人"])
    assert revoked.exit_code == 0, revoked.output
    password = runner.invoke(cli, ["portal", "password", "--name", "zhangsan"], input="晋中督办-2024\n晋中督办-2024\n")
    assert password.exit_code == 0 and "晋中督办" not in password.output
    kept = get_settings().operators_file
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and "zhangsan" in json.loads(kept.read_text())
    assert "晋中督办" not in kept.read_text()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_duban_serve_runs_the_portal_and_keeps_tokens_out_of_its_log(tmp_path):
    port = _free_port()
    env = {**os.environ, "DUBAN_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    env.pop("DUBAN_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "duban.cli.main", "serve", "--port", str(port), "--as-of", "2024-05-20 10:00"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "duban serve did not start"
                time.sleep(0.2)
        assert home.status_code == 200 and "督办报送平台" in home.text and "server" not in home.headers
        token = "WzEsImppbnpob25nIiwiMTQwNzI0IiwxLDJd.AAAAAAAAAAAAAAAAAAAAAA"
        assert httpx.get(f"http://127.0.0.1:{port}/u/{token}").status_code == 403
        assert httpx.get(f"http://127.0.0.1:{port}/static/portal.css").status_code == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    assert (
        "preview: the record as it stood at 2024-05-20 10:00, read-only" in output
        and "GET /u/WzEsImpp…" in output
        and token not in output
    )


@pytest.mark.parametrize(
    "base",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://duban.example.cn",
        "https://",
        "duban.tjj.example.cn",
        "https://duban.tjj.example.cn/?next=evil",
        "https://admin:S3cretPassw0rd@duban.tjj.example.cn",
        "https://duban.example.cn/a b",
        "https://duban.example.cn/\u202egpj",
        "https://duban\u200b.example.cn",
        "https://duban.example.cn/x/../u",
    ],
)
def test_a_portal_address_that_is_no_web_address_is_refused_at_every_door(sqlite_engine, monkeypatch, base):
    """`portal link --base` took any scheme and printed a link staff would tap (javascript:, file:); the same
    text in DUBAN_PORTAL_URL would have gone into every message's link."""
    runner = CliRunner()
    get_settings.cache_clear()
    link = runner.invoke(cli, ["portal", "link", str(JINZHONG), "--unit", "140724100", "--base", base])
    assert link.exit_code == 1 and "--base must be the portal's address, http:// or https://" in link.output
    assert "/u/" not in link.output and "Traceback" not in link.output
    monkeypatch.setenv("DUBAN_PORTAL_URL", base)
    get_settings.cache_clear()
    started = runner.invoke(cli, ["portal", "link", str(JINZHONG), "--unit", "140724100"])
    assert started.exit_code == 1 and "DUBAN_PORTAL_URL must be the portal's address" in started.output
    assert "/u/" not in started.output and "Traceback" not in started.output
    assert "S3cretPassw0rd" not in link.output + started.output  # not echoed: it may hold a password
    monkeypatch.setenv("DUBAN_PORTAL_URL", BASE + "/")
    get_settings.cache_clear()
    fine = runner.invoke(cli, ["portal", "link", str(JINZHONG), "--unit", "140724100"])
    assert fine.exit_code == 0 and fine.output.startswith(f"{BASE}/u/"), fine.output
