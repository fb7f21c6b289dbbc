"""A listed enterprise's channel from its 名录 row (邮箱 / 通知渠道): checked at its line by `duban units import`,
kept with its spells, and used by the dispatcher — mail reaches the enterprise's own mailbox through the account
DUBAN_MAIL_SENDER names (a real SMTP server here), never a key in the list."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from duban.cli.main import app
from duban.simulation.synthetic_list import HEADER, credit_code
from duban.store.tables import ListedUnit, UnitImport
from tests.integration.fake_bots import smtp_server
from tests.integration.helpers import at

runner = CliRunner()
SPEC = """\
id: xiyang-2025-enterprise-records
title: 2025年昔阳县名录企业统计台账自查
issuer: 昔阳县统计局
doc_no: 昔统字〔2025〕（示例）号
issued_on: 2025-06-03
timezone: Asia/Shanghai
window: {start: 2025-06-16, end: 2025-07-04}
registry:
  divisions: ["140724"]
  lists: [xiyang-enterprises]
groups:
  enterprises: {kind: enterprise}
stages:
  - id: records
    name: 台账自查
    window: {start: 2025-06-16, end: 2025-07-04}
    items:
      - id: ledger
        name: 统计台账自查表
        units: enterprises
        formats: [pdf]
"""


def _row(n: int, mailbox: str) -> list[str]:
    return [
        credit_code(random.Random(n), "140724"),
        f"模拟企业{n}有限公司",
        "140724",
        "C30",
        "小型",
        "一般",
        "王芳",
        "0354-1",
        mailbox,
    ]


def _write(path, rows, header=(*HEADER, "电子邮箱")):
    path.write_text("\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def _import(path, *options):
    return runner.invoke(app, ["units", "import", str(path), "--list", "xiyang-enterprises", *options])


def _count(table) -> int:
    from duban.cli.common import engine

    with engine().connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_listed_enterprise_is_mailed_at_the_address_its_list_gives(tmp_path, monkeypatch):
    """Listed units had no channel: every enterprise's 开始办理 went to DUBAN_FALLBACK_CHANNELS (the local file),
    whatever its 名录 said. Now the import keeps each row's 邮箱 and the dispatcher mails it there; a row without
    one still goes to the fallback."""
    from duban.cli.common import engine as settings_engine
    from duban.notify.channels import notifier_for
    from duban.services.compose import compose_messages
    from duban.services.dispatch import dispatch
    from duban.services.lifecycle import ensure_planned
    from duban.services.tick import tick_stage
    from duban.settings import get_settings

    rows = [_row(1, "wangfang@xiyang.gov.cn"), _row(2, "ＬＩ＠XiYang.gov.cn"), _row(3, "无")]
    imported = _import(_write(tmp_path / "名录.csv", rows))
    assert imported.exit_code == 0, imported.output
    assert "渠道 (channels): 2 of 3 units, 2 by e-mail" in imported.output
    assert "DUBAN_MAIL_SENDER is not set" in imported.output  # said before the first message cannot go
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    opening = at("2025-06-16 09:00")
    with smtp_server() as (port, received):
        monkeypatch.setenv("XY_SMTP", f"mailto://127.0.0.1:{port}?from=duban@tjj.xiyang.gov.cn&mode=insecure")
        monkeypatch.setenv("DUBAN_MAIL_SENDER", "env:XY_SMTP")
        get_settings.cache_clear()
        engine = settings_engine()
        planned = ensure_planned(engine, spec, now=at("2025-06-10 12:00"))
        tick_stage(engine, planned.campaign_id, "records", opening)
        compose_messages(engine, planned.campaign_id, opening)
        result = dispatch(engine, opening, notifier_for(get_settings()), fallback_channels=["sink"])
    assert (result.sent, result.failed) == (3, 0)
    mailed = {tuple(rcpt): message for rcpt, message in received}
    assert set(mailed) == {("wangfang@xiyang.gov.cn",), ("LI@xiyang.gov.cn",)}
    plain = mailed[("wangfang@xiyang.gov.cn",)].get_body(("plain",)).get_content()
    assert "模拟企业1有限公司" in plain and "统计台账自查表" in plain
    sink = (get_settings().sink_dir / "messages.txt").read_text(encoding="utf-8")
    assert "模拟企业3有限公司" in sink and "模拟企业1有限公司" not in sink


def test_a_bad_address_or_a_key_in_the_list_is_an_error_at_its_line_and_nothing_is_stored(tmp_path):
    """A mistyped address would have every message to that enterprise die at the SMTP server weeks later; a bot's
    URL pasted into the column would copy its key into the database. Each is said at its line, the key never
    echoed, and nothing is stored."""
    key = "693a91f6-7d4c-4b1e-9c2a-1f0e8d7c6b5a"
    rows = [
        _row(1, "wangfang@xiyang.gov.cn"),
        _row(2, "wangfang@xiyang"),
        _row(3, f"wecombot://{key}"),
        _row(4, key),
        _row(5, "env:XY_WECOM; boss@qq.com"),
    ]
    path = _write(tmp_path / "名录.csv", rows)
    result = _import(path)
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "Traceback" not in said, result.output
    assert "3 problems" in said and "nothing was stored" in said
    assert f"{path}:3 模拟企业2有限公司: 渠道 'wangfang@xiyang' is not an e-mail address" in said
    assert f"{path}:4 模拟企业3有限公司: 渠道 holds a URL (with its key?)" in said
    assert f"{path}:5 模拟企业4有限公司: 渠道 is neither an e-mail address" in said
    assert f"{path}:2 " not in said and f"{path}:6 " not in said
    assert key not in result.output
    assert _count(UnitImport) == 0 and _count(ListedUnit) == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_changed_address_is_a_new_spell_and_a_reimport_without_the_column_keeps_them_unless_dropping(
    backend, tmp_path, monkeypatch, request
):
    """The channel is kept like the other attributes: a new 邮箱 opens a spell (`duban units history` shows it), and
    an export without the column is refused rather than sending every enterprise back to the fallback channels."""
    from duban.settings import get_settings

    if backend == "postgres":
        monkeypatch.setenv("DUBAN_DATABASE_URL", request.getfixturevalue("pg_database")("listed_channels"))
        get_settings.cache_clear()
    first = [_row(1, "wangfang@xiyang.gov.cn"), _row(2, "env:XY_KEY_FIRMS")]
    assert _import(_write(tmp_path / "a.csv", first)).exit_code == 0
    moved = [_row(1, "lifang@xiyang.gov.cn"), first[1]]
    again = _import(_write(tmp_path / "b.csv", moved))
    assert "1 changed" in again.output and "1 unchanged" in again.output, again.output
    shown = runner.invoke(app, ["units", "history", "xiyang-enterprises", first[0][0]]).output.splitlines()
    assert len(shown) == 2 and "渠道 wangfang@xiyang.gov.cn" in shown[0] and "渠道 lifang@xiyang.gov.cn" in shown[1]
    other = runner.invoke(app, ["units", "history", "xiyang-enterprises", first[1][0]]).output
    assert "渠道 env:XY_KEY_FIRMS" in other
    without = _write(tmp_path / "c.csv", [r[:8] for r in moved], header=HEADER)
    refused = _import(without)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "no row gives 渠道 (channels, held by 2)" in said, refused.output
    assert "DUBAN_FALLBACK_CHANNELS" in said and "--dropping" in said and "nothing was stored" in said
    assert _count(UnitImport) == 2
    dropped = _import(without, "--dropping")
    assert dropped.exit_code == 0 and "2 changed" in dropped.output, dropped.output


def test_mail_without_a_sender_account_says_which_setting_and_a_sender_written_as_a_url_is_refused(
    tmp_path, monkeypatch
):
    """Mail to a listed unit's address needs the SMTP account DUBAN_MAIL_SENDER names: without it the message waits
    saying so, without a try counted (and goes once it is set); the setting written as a URL stops the command at its
    start, never echoing the password."""
    from duban.cli.common import engine as settings_engine
    from duban.notify.channels import notifier_for
    from duban.services.compose import compose_messages
    from duban.services.dispatch import dispatch
    from duban.services.lifecycle import ensure_planned
    from duban.services.tick import tick_stage
    from duban.settings import get_settings
    from duban.store.tables import Delivery, OutboxMessage

    assert _import(_write(tmp_path / "名录.csv", [_row(1, "wangfang@xiyang.gov.cn")])).exit_code == 0
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    opening = at("2025-06-16 09:00")
    engine = settings_engine()
    planned = ensure_planned(engine, spec, now=at("2025-06-10 12:00"))
    tick_stage(engine, planned.campaign_id, "records", opening)
    compose_messages(engine, planned.campaign_id, opening)
    result = dispatch(engine, opening, notifier_for(get_settings()), fallback_channels=["sink"])
    assert (result.sent, result.failed, result.misconfigured) == (0, 0, 1)  # waits for the setting, no try counted
    with engine.connect() as conn:
        assert conn.execute(select(Delivery.__table__)).all() == []  # nothing was posted
        [held] = conn.execute(select(OutboxMessage.__table__)).all()
    assert (held.status, held.attempts) == ("pending", 0)
    assert "mail:wangfang@xiyang.gov.cn" in held.last_error
    assert "DUBAN_MAIL_SENDER, which is not set" in held.last_error
    monkeypatch.setenv("XY_SENDER", "mailtos://")  # named now, but with no account in it
    monkeypatch.setenv("DUBAN_MAIL_SENDER", "env:XY_SENDER")
    get_settings.cache_clear()
    again = dispatch(engine, opening + timedelta(minutes=2), notifier_for(get_settings()), fallback_channels=["sink"])
    assert (again.sent, again.failed, again.dead, again.misconfigured) == (0, 0, 0, 1)
    with engine.connect() as conn:
        [held] = conn.execute(select(OutboxMessage.__table__)).all()
        assert conn.execute(select(Delivery.__table__)).all() == []
    assert (held.status, held.attempts) == ("pending", 0) and "DUBAN_MAIL_SENDER 所指的" in held.last_error

    monkeypatch.setenv("DUBAN_MAIL_SENDER", "mailtos://tongji:S3cretPassw0rd@mail.jz.gov.cn")
    get_settings.cache_clear()
    refused = runner.invoke(app, ["units", "history", "xiyang-enterprises"])
    assert refused.exit_code == 1 and "DUBAN_MAIL_SENDER is not env:NAME or secret:NAME" in refused.output
    assert "S3cretPassw0rd" not in refused.output


def test_a_reimport_corrects_the_mailboxes_a_running_campaign_sends_to_and_says_so(tmp_path, monkeypatch):
    """A corrected 邮箱 re-imported while a campaign ran over the list never reached it (an outside tester's finding;
    the import then only said the campaign keeps the list as planned): the campaign now sends to the new address —
    its messages already waiting too — and the import says so; a name changed in the list stays as planned."""
    from duban.cli.common import engine as settings_engine
    from duban.notify.channels import notifier_for
    from duban.services.compose import compose_messages
    from duban.services.dispatch import dispatch
    from duban.services.lifecycle import ensure_planned
    from duban.services.tick import tick_stage
    from duban.settings import get_settings

    first = [_row(1, "wangfang@xiyang.gov.cn"), _row(2, "li@xiyang.gov.cn"), _row(3, "zhao@xiyang.gov.cn")]
    assert _import(_write(tmp_path / "a.csv", first)).exit_code == 0
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    opening = at("2025-06-16 09:00")
    with smtp_server() as (port, received):
        monkeypatch.setenv("XY_SMTP", f"mailto://127.0.0.1:{port}?from=duban@tjj.xiyang.gov.cn&mode=insecure")
        monkeypatch.setenv("DUBAN_MAIL_SENDER", "env:XY_SMTP")
        get_settings.cache_clear()
        engine = settings_engine()
        planned = ensure_planned(engine, spec, now=at("2025-06-10 12:00"))
        tick_stage(engine, planned.campaign_id, "records", opening)
        compose_messages(engine, planned.campaign_id, opening)  # written for the old addresses, not sent yet
        renamed = [*first[1][:1], "模拟企业2（昔阳）有限公司", *first[1][2:]]
        again = _import(_write(tmp_path / "b.csv", [_row(1, "lifang@xiyang.gov.cn"), renamed, first[2]]))
        said = " ".join(again.output.split())
        assert again.exit_code == 0 and "2 changed" in said, said
        assert (
            "xiyang-2025-enterprise-records was planned over this list: it now sends to the new 邮箱/渠道 of 1 unit "
            "(its messages waiting to go out too)" in said
        ), said
        assert "names and other columns stay as they were when it was planned" in said, said
        result = dispatch(engine, opening, notifier_for(get_settings()), fallback_channels=["sink"])
    assert (result.sent, result.failed) == (3, 0)
    mailed = {tuple(rcpt) for rcpt, _message in received}
    assert mailed == {("lifang@xiyang.gov.cn",), ("li@xiyang.gov.cn",), ("zhao@xiyang.gov.cn",)}, mailed
    unchanged = _import(_write(tmp_path / "c.csv", [_row(1, "lifang@xiyang.gov.cn"), renamed, first[2]]))
    assert "planned over this list" not in unchanged.output  # nothing changed: nothing to tell


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_reimport_corrects_only_the_channels_the_campaign_took_from_the_list(backend, tmp_path, monkeypatch, request):
    """The campaign's copy of a listed unit is corrected where it still holds the list's old channels; a unit
    gone from the file keeps its own, and the campaign's units stay as many as planned."""
    from duban.cli.common import engine as settings_engine
    from duban.services.lifecycle import ensure_planned
    from duban.settings import get_settings
    from duban.views.campaigns import load_campaign

    if backend == "postgres":
        monkeypatch.setenv("DUBAN_DATABASE_URL", request.getfixturevalue("pg_database")("listed_reach"))
        get_settings.cache_clear()
    first = [_row(1, "wangfang@xiyang.gov.cn"), _row(2, "env:XY_KEY_FIRMS"), _row(3, "zhao@xiyang.gov.cn")]
    assert _import(_write(tmp_path / "a.csv", first)).exit_code == 0
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    engine = settings_engine()
    planned = ensure_planned(engine, spec, now=at("2025-06-10 12:00"))
    again = _import(_write(tmp_path / "b.csv", [_row(1, "lifang@xiyang.gov.cn"), _row(2, "无")]))
    said = " ".join(again.output.split())
    assert again.exit_code == 0 and "now sends to the new 邮箱/渠道 of 2 units" in said, said
    units = load_campaign(engine, planned.campaign_id).units
    one, two, three = (units[row[0]] for row in first)
    assert one.channels == ("mail:lifang@xiyang.gov.cn",) and not two.channels  # 无: the fallback channels now
    assert three.channels == ("mail:zhao@xiyang.gov.cn",)  # no longer listed: the campaign keeps it as planned
