"""`duban outbox show` shows the text as it was posted, the 办理入口 link line too (an outside tester's finding: a
clerk phones "the link doesn't open" and the operator saw no link at all) — with the unit's token cut short, as
the portal's logs have it (a unit link is its credential), and the why and the link's expiry said."""

from __future__ import annotations

from typer.testing import CliRunner

from duban.cli.main import app
from duban.settings import get_settings
from tests.conftest import JINZHONG

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_outbox_show_has_the_link_line_that_was_posted_with_its_token_masked(monkeypatch):
    monkeypatch.setenv("DUBAN_PORTAL_URL", "https://duban.example.gov.cn")
    get_settings.cache_clear()
    assert _run("tick", JINZHONG, "--as-of", "2024-05-10 08:30").exit_code == 0
    sent = _run("dispatch", "--as-of", "2024-05-10 08:31")
    assert sent.exit_code == 0, sent.output
    posted = (get_settings().home / "sink" / "messages.txt").read_text(encoding="utf-8")
    tokens = [line.split("/u/", 1)[1].strip() for line in posted.splitlines() if "办理入口：" in line]
    assert tokens, posted
    shown = _run("outbox", "show", "1")
    assert shown.exit_code == 0, shown.output
    assert "办理入口：https://duban.example.gov.cn/u/" in shown.output, shown.output
    assert not any(token in shown.output for token in tokens), shown.output  # a credential is never printed whole
    assert "masked" in shown.output and "valid until 2024-06-24" in shown.output, shown.output
