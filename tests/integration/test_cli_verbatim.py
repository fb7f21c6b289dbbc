"""What people type — a reason, a unit's name, a notice's title — is printed as typed: `[red]`, `[/x]` or
`[link=…]` in it are text, never Rich markup that styles, swallows or crashes the command. Settings that would
leak a bot's key or break later are refused at start in one line."""

import shutil
import subprocess
import sys

from typer.testing import CliRunner

from duban.cli.main import app
from duban.settings import get_settings
from tests.conftest import JINZHONG, ROOT, SPECS

runner = CliRunner()
MARKUP = "[red]已并入[/red] [/x] [bold]城关[/] [link=http://x]点此[/link]"


def _run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_an_excuse_whose_reason_holds_markup_is_recorded_and_printed_as_typed():
    result = _run(
        "excuse",
        JINZHONG,
        "--unit",
        "140724100",
        "--item",
        "self_report",
        "--reason",
        MARKUP,
        "--at",
        "2024-05-21 09:00",
    )
    assert result.exit_code == 0, result.output
    assert f"（{MARKUP}）" in result.output


def _xiyang_with_markup_names(tmp_path):
    shutil.copytree(SPECS / "units", tmp_path / "units")
    shutil.copytree(SPECS / "calendar", tmp_path / "calendar")
    shutil.copy(JINZHONG, tmp_path / JINZHONG.name)  # the notice it forwards
    units = tmp_path / "units" / "xiyang.yaml"
    units.write_text(
        units.read_text(encoding="utf-8").replace(
            "name: 城区社会事务服务中心", 'name: "城区[/x]社会[bold]事务[/]中心"', 1
        ),
        encoding="utf-8",
    )
    spec = tmp_path / "xiyang.yaml"
    text = (SPECS / "xiyang-2024-lookback.yaml").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("title: 转发晋中市统计局"))
    spec.write_text(
        text.replace(line, "title: '[bold]转发[/x]" + line.removeprefix("title: 转发") + "'", 1), encoding="utf-8"
    )
    return spec


def test_plan_and_status_print_names_and_titles_with_brackets_as_they_are(tmp_path):
    spec = _xiyang_with_markup_names(tmp_path)
    checked = _run("validate", spec)
    assert checked.exit_code == 0, checked.output
    plan = _run("plan", spec, "--all")
    assert plan.exit_code == 0, plan.output
    assert "城区[/x]社会[bold]事务[/]中心" in plan.output and "[bold]转发[/x]晋中市统计局" in plan.output
    from duban.services.lifecycle import ensure_planned
    from duban.store.db import engine_for
    from tests.integration.helpers import at

    settings = get_settings()
    ensure_planned(engine_for(settings.resolved_database_url), spec, now=at("2024-05-20 09:00"))  # as a tick would
    status = _run("status", spec, "--as-of", "2024-05-20 09:00")
    assert status.exit_code == 0, status.output
    assert "[bold]转发[/x]晋中市统计局" in status.output


def test_a_piped_outbox_message_has_short_dividers():
    from duban.store.db import engine_for
    from tests.integration.helpers import at, plan_jinzhong, tick

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    shown = _run("outbox", "show", "1")
    assert shown.exit_code == 0, shown.output
    dividers = [line for line in shown.output.splitlines() if line.startswith("──")]
    assert len(dividers) == 2 and all(len(line) <= 72 for line in dividers), dividers


def test_a_message_of_a_past_campaign_reads_as_it_went_not_as_of_todays_clock():
    """`outbox show` rendered a 2024 message's time left against the operator's clock: 已逾期888天 in a text that
    had said 还有15天."""
    from duban.store.db import engine_for
    from tests.integration.helpers import at, plan_jinzhong, tick

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    shown = _run("outbox", "show", "1")
    assert shown.exit_code == 0, shown.output
    assert "as read at 2024-05-10 周五 08:30" in shown.output, shown.output
    assert "还有15天15小时" in shown.output and "已逾期" not in shown.output, shown.output


def _duban(env_extra: dict) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "duban.cli.main", "validate", str(JINZHONG)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_an_operator_channel_written_as_a_url_is_refused_at_start_without_its_key():
    done = _duban({"DUBAN_OPERATOR_CHANNELS": '["wecombot://okOPSkey0012"]'})
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert "DUBAN_OPERATOR_CHANNELS: entry 1 is not a channel reference" in said
    assert "okOPSkey0012" not in said and "Traceback" not in said
    fallback = _duban({"DUBAN_FALLBACK_CHANNELS": '["sink", "dingtalk://SECRETTOKEN99"]'})
    assert fallback.returncode == 1 and "DUBAN_FALLBACK_CHANNELS: entry 2" in fallback.stderr
    assert "SECRETTOKEN99" not in fallback.stdout + fallback.stderr


def test_rate_limits_that_are_not_json_are_one_line_not_a_traceback():
    done = _duban({"DUBAN_RATE_LIMITS": "{wecombot: 20"})
    assert done.returncode == 1
    assert "DUBAN_RATE_LIMITS: not valid JSON" in done.stderr and "Traceback" not in done.stderr


def test_outbox_retry_takes_the_simulated_clock(monkeypatch):
    """On a simulated clock (`dispatch --as-of 2024-…`) a retried message must be due by then, not at today's date."""
    from datetime import timezone

    from sqlalchemy import update

    from duban.store.db import engine_for
    from duban.store.tables import OutboxMessage
    from tests.integration.helpers import at, plan_jinzhong, tick

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    with engine.begin() as conn:
        conn.execute(update(OutboxMessage).where(OutboxMessage.id == 1).values(status="dead", last_error="test"))
    done = _run("outbox", "retry", "1", "--as-of", "2024-05-10 09:00")
    assert done.exit_code == 0 and "1 message(s) will be sent" in done.output, done.output
    with engine.connect() as conn:
        row = conn.execute(OutboxMessage.__table__.select().where(OutboxMessage.id == 1)).first()
    stored = row.not_before if row.not_before.tzinfo else row.not_before.replace(tzinfo=timezone.utc)
    assert row.status == "pending" and stored == at("2024-05-10 09:00")


def test_channel_settings_that_can_never_deliver_are_refused_at_start(monkeypatch):
    """An outside tester's finding: DUBAN_FALLBACK_CHANNELS='[]' was taken at start (every unit without its own
    channel then had its messages dead), and a fallback whose variable held a URL Apprise cannot read was found
    only message by message. Both now stop the command at its start, naming the setting and the variable."""
    empty = _duban({"DUBAN_FALLBACK_CHANNELS": "[]"})
    assert empty.returncode == 1 and "Traceback" not in empty.stderr
    assert "DUBAN_FALLBACK_CHANNELS: empty" in empty.stderr, empty.stderr
    assert "DUBAN_OPERATOR_CHANNELS: empty" in _duban({"DUBAN_OPERATOR_CHANNELS": "[]"}).stderr

    from duban.settings import get_settings

    monkeypatch.setenv("XY_BROKEN", "wecombot://")
    monkeypatch.setenv("XY_KEYED", "wecombot://s3cret key0042")
    monkeypatch.setenv("DUBAN_FALLBACK_CHANNELS", '["env:XY_BROKEN", "env:XY_UNSET_HERE"]')
    monkeypatch.delenv("XY_UNSET_HERE", raising=False)
    get_settings.cache_clear()
    refused = _run("dispatch", "--as-of", "2024-05-10 08:31")  # before Prefect starts: no harness needed
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1, said
    assert "DUBAN_FALLBACK_CHANNELS can deliver nothing" in said, said
    assert "环境变量 XY_BROKEN 中的 wecombot:// 地址不完整" in said and "XY_UNSET_HERE is not set" in said, said
    monkeypatch.setenv("DUBAN_FALLBACK_CHANNELS", '["sink"]')
    monkeypatch.setenv("DUBAN_OPERATOR_CHANNELS", '["env:XY_KEYED"]')
    get_settings.cache_clear()
    keyed = _run("dispatch", "--as-of", "2024-05-10 08:31")
    said = " ".join(keyed.output.split())
    assert keyed.exit_code == 1 and "DUBAN_OPERATOR_CHANNELS can deliver nothing" in said, said
    assert "s3cret" not in said and "key0042" not in said
