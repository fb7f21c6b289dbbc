"""Messages over real channels: local servers that answer like WeCom, DingTalk, Feishu and SMTP.

Success means the channel said success: a 200 with an errcode is not, and is recorded with the service's own
words. A final refusal is dead at once, a server error is retried with backoff and dead-lettered after the
configured tries, no answer is unconfirmed. Keys never reach a record.
"""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from duban.notify.channels import notifier_for
from duban.services.dispatch import Dispatcher
from duban.settings import get_settings
from duban.store.tables import Delivery, OutboxMessage
from tests.integration.fake_bots import BotServer, smtp_server
from tests.integration.helpers import at, plan_jinzhong, tick

OPEN = at("2024-05-10 08:30")


@pytest.fixture
def bots():
    with BotServer(latency=0.05, hang=3.0, dingtalk_secrets={"okding": "SECd1ngta1kse3ret"}) as server:
        yield server


def _dispatcher(engine, channels, **kwargs):
    return Dispatcher(engine, notifier_for(get_settings()), channels, **kwargs)


def _rows(engine, model):
    with engine.connect() as conn:
        return [model.model_validate(r._mapping) for r in conn.execute(select(model).order_by(model.id))]


def _open(engine):
    plan_jinzhong(engine)
    tick(engine, OPEN)


def test_a_wecom_bot_gets_the_chinese_text_intact(engine, bots, monkeypatch):
    monkeypatch.setenv("XY_WECOM", f"wecombot://okxiyang0001?base={bots.base}")
    _open(engine)
    result = _dispatcher(engine, ["env:XY_WECOM"]).run(OPEN, limit=3)
    assert (result.sent, result.failed) == (3, 0)
    texts = bots.received["okxiyang0001"]
    assert len(texts) == 3 and all("截止：5月25日 周六 24:00前（还有15天15小时）" in t for t in texts)
    assert all(d.ok and d.detail == "errcode 0: ok" for d in _rows(engine, Delivery))


def test_a_server_error_is_a_failure_retried_with_backoff_then_dead_lettered(engine, bots, monkeypatch):
    """HTTP 500 from the bot's host: worth another try after a pause; dead after the configured tries."""
    monkeypatch.setenv("XY_WECOM", f"wecombot://boomxy0001?base={bots.base}")
    monkeypatch.setenv("DUBAN_RATE_LIMITS", "{}")  # 130 messages to one bot: this test is about failures
    get_settings.cache_clear()
    _open(engine)
    dispatcher = _dispatcher(engine, ["env:XY_WECOM"], max_attempts=2)
    first = dispatcher.run(OPEN)
    assert (first.sent, first.failed) == (0, 130)
    message = _rows(engine, OutboxMessage)[0]
    assert message.status == "failed" and "HTTP 500" in message.last_error
    assert message.not_before == OPEN + timedelta(minutes=1)  # backoff before the retry
    assert dispatcher.run(OPEN + timedelta(seconds=30)).claimed == 0
    again = dispatcher.run(OPEN + timedelta(minutes=1))
    assert again.dead == 130
    dead = next(m for m in _rows(engine, OutboxMessage) if m.id == message.id)
    assert dead.status == "dead" and dead.attempts == 2
    assert [d.outcome for d in _rows(engine, Delivery) if d.message_id == message.id] == ["failed", "failed"]
    assert "boomxy0001" not in (dead.last_error or "") and bots.received["boomxy0001"] == []


def test_a_bot_that_hangs_is_unconfirmed_at_the_timeout(engine, bots, monkeypatch):
    """No answer after the post: it may have arrived, so it is not a failure to repeat at once."""
    monkeypatch.setenv("XY_WECOM", f"wecombot://hangxy0001?base={bots.base}&rto=0.5")
    _open(engine)
    started = time.monotonic()
    result = _dispatcher(engine, ["env:XY_WECOM"]).run(OPEN, limit=1)
    assert result.unconfirmed == 1 and result.failed == 0 and time.monotonic() - started < 2.5
    assert "no reply within 0.5 s" in _rows(engine, Delivery)[0].detail
    assert _rows(engine, OutboxMessage)[0].not_before == OPEN + timedelta(minutes=10)


def test_dingtalk_messages_are_signed_with_the_bots_secret(engine, bots, monkeypatch):
    monkeypatch.setenv("XY_DING", f"dingtalk://SECd1ngta1kse3ret@okding?base={bots.base}")
    monkeypatch.setenv("XY_DING_WRONG", f"dingtalk://SECwr0ngsecret@okding?base={bots.base}")
    _open(engine)
    assert _dispatcher(engine, ["env:XY_DING"]).run(OPEN, limit=1).sent == 1
    assert "乐平镇" in "".join(bots.received["okding"]) or len(bots.received["okding"]) == 1
    wrong = _dispatcher(engine, ["env:XY_DING_WRONG"]).run(OPEN, limit=1)
    assert wrong.dead == 1  # a wrong secret is wrong every time
    assert "errcode 310000: sign not match" in _rows(engine, Delivery)[-1].detail
    assert "SECwr0ngsecret" not in _rows(engine, Delivery)[-1].detail


def test_feishu_replies_are_read_by_their_code(engine, bots, monkeypatch):
    monkeypatch.setenv("XY_FEISHU", f"feishu://okfeishu01?base={bots.base}")
    monkeypatch.setenv("XY_FEISHU_BAD", f"feishu://badkeyfs01?base={bots.base}")
    _open(engine)
    assert _dispatcher(engine, ["env:XY_FEISHU"]).run(OPEN, limit=1).sent == 1
    assert _dispatcher(engine, ["env:XY_FEISHU_BAD"]).run(OPEN, limit=1).dead == 1
    assert "code 19001" in _rows(engine, Delivery)[-1].detail


def test_a_long_message_arrives_whole_in_marked_parts_under_2048_bytes(engine, bots, monkeypatch):
    """A county's escalation can list dozens of townships: WeCom takes 2,048 bytes per message."""
    from duban.domain.messages import Rendered
    from duban.notify.apprise_notifier import AppriseNotifier
    from duban.notify.notifier import Envelope
    from duban.notify.secrets import resolver

    lines = [
        f"{n}. 昔阳县乐平镇第{n}村统计员 — 【县级检查】检查评分表 截止：6月10日 周一 24:00（已逾期2天）"
        for n in range(1, 61)
    ]
    text = "【督办】统计基层基础工作规范化建设\n" + "\n".join(lines) + "\n晋中市统计局 · 编号 abc\n"
    notifier = AppriseNotifier(resolver(lambda name: f"wecombot://oklong0001?base={bots.base}", lambda name: None))
    envelope = Envelope(
        "9f3c2a71b0e4d5c6", "140724", "昔阳县统计局", "escalation", Rendered("s", text), "2024-06-12T00:00:00+00:00"
    )
    outcome = notifier.send("env:X", envelope)
    parts = bots.received["oklong0001"]
    assert outcome.ok and len(parts) >= 3 and all(len(p.encode()) <= 2048 for p in parts)
    assert [p.split("\n", 1)[0] for p in parts] == [
        f"（第{k}/{len(parts)}条·编号 9f3c2a71b0e4）" for k in range(1, len(parts) + 1)
    ]
    joined = "".join(parts)
    assert all(line in joined for line in lines)


def test_email_carries_subject_text_and_html(engine, monkeypatch):
    with smtp_server() as (port, received):
        monkeypatch.setenv(
            "XY_MAIL", f"mailto://127.0.0.1:{port}?from=duban@tjj.jz.gov.cn&to=xytj@xiyang.gov.cn&mode=insecure"
        )
        _open(engine)
        result = _dispatcher(engine, ["env:XY_MAIL"]).run(OPEN, limit=1)
        assert result.sent == 1, _rows(engine, Delivery)
        rcpt, message = received[0]
    assert rcpt == ["xytj@xiyang.gov.cn"]
    assert message["Subject"].startswith("【督办】") and "开始办理" in message["Subject"]
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "以下事项已开始办理" in plain and "<ol" in html and "24:00前" in html


def test_a_failing_channel_falls_back_to_the_next(engine, bots, monkeypatch):
    monkeypatch.setenv("XY_WECOM", f"wecombot://badkeyxy02?base={bots.base}")
    monkeypatch.setenv("XY_FEISHU", f"feishu://okfeishu02?base={bots.base}")
    _open(engine)
    result = _dispatcher(engine, ["env:XY_WECOM", "env:XY_FEISHU"]).run(OPEN, limit=1)
    assert result.sent == 1
    assert [(d.channel, d.ok) for d in _rows(engine, Delivery)] == [("env:XY_WECOM", False), ("env:XY_FEISHU", True)]


def test_an_unset_channel_names_the_variable_not_a_value(engine, monkeypatch):
    monkeypatch.delenv("XY_NOWHERE", raising=False)
    _open(engine)
    result = _dispatcher(engine, ["env:XY_NOWHERE"]).run(OPEN, limit=1)
    assert result.misconfigured == 1 and result.failed == result.dead == 0  # held till it is set, no try counted
    [held] = [m for m in _rows(engine, OutboxMessage) if m.last_error]
    assert held.status == "pending" and held.attempts == 0
    assert "environment variable XY_NOWHERE is not set" in held.last_error
    assert _rows(engine, Delivery) == []  # nothing was posted


def test_a_bot_takes_20_a_minute_across_dispatchers(engine, bots, monkeypatch):
    """Two dispatchers share one bureau bot: together they send 20 in the minute, the rest wait, none fail."""
    monkeypatch.setenv("JZ_WECOM", f"wecombot://okjinzhong01?base={bots.base}")
    _open(engine)
    one, two = _dispatcher(engine, ["env:JZ_WECOM"]), _dispatcher(engine, ["env:JZ_WECOM"])
    first = one.run(OPEN, limit=15, worker="a")
    second = two.run(OPEN, limit=15, worker="b")
    assert first.sent + second.sent == 20 and first.deferred + second.deferred == 10
    assert first.failed + second.failed == 0 and len(bots.received["okjinzhong01"]) == 20
    waiting = [m for m in _rows(engine, OutboxMessage) if m.status == "limited" and m.not_before > OPEN]
    assert len(waiting) == 10 and all(m.attempts == 0 for m in waiting)
    later = one.run(OPEN + timedelta(seconds=62), limit=10)  # the window and its second of margin
    assert later.sent == 10


def test_operators_see_dead_letters_with_the_channels_words_and_put_them_back(bots, monkeypatch):
    """`duban outbox list --status dead`, `show`, `retry --dead`: the operator's loop after a bad bot key."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.store.db import engine_for

    monkeypatch.setenv("XY_WECOM", f"wecombot://badkeyxy09?base={bots.base}")
    monkeypatch.setenv("DUBAN_RATE_LIMITS", "{}")
    get_settings.cache_clear()
    engine = engine_for(get_settings().resolved_database_url)
    _open(engine)
    _dispatcher(engine, ["env:XY_WECOM"], max_attempts=1).run(OPEN)
    runner = CliRunner(env={"COLUMNS": "240"})
    listed = runner.invoke(app, ["outbox", "list", "--status", "dead", "--limit", "5"], catch_exceptions=False)
    assert listed.exit_code == 0 and "dead 130" in listed.output and "errcode 93000" in listed.output
    first = _rows(engine, OutboxMessage)[0]
    shown = runner.invoke(app, ["outbox", "show", str(first.id)], catch_exceptions=False)
    assert "env:XY_WECOM: refused errcode 93000: invalid webhook url" in shown.output
    assert "badkeyxy09" not in listed.output + shown.output
    retried = runner.invoke(app, ["outbox", "retry", "--dead"], catch_exceptions=False)
    assert "130 message(s)" in retried.output
    monkeypatch.setenv("XY_WECOM", f"wecombot://okxiyang0009?base={bots.base}")  # the bot key was fixed
    get_settings.cache_clear()
    with engine.begin() as conn:  # as if the operator had fixed the key and retried at 08:40 (the record's clock)
        conn.execute(OutboxMessage.__table__.update().values(not_before=OPEN + timedelta(minutes=10)))
    later = _dispatcher(engine, ["env:XY_WECOM"], max_attempts=1).run(OPEN + timedelta(minutes=10))
    assert later.sent == 130
    unknown = runner.invoke(app, ["outbox", "show", "999999"])
    assert unknown.exit_code == 1 and "no outbox message 999999" in unknown.output


def test_apprise_sends_through_dubans_bot_plugins_and_never_pauses_between_posts(bots):
    """Held across Apprise upgrades: wecombot://, dingtalk:// and feishu:// are duban's errcode-reading plugins,
    and neither they nor e-mail sleep between posts (Apprise pauses 5.5 s a plugin by default; duban's limits rule)."""
    from duban.domain.messages import Rendered
    from duban.notify.apprise_notifier import AppriseNotifier, DingTalkBot, FeishuBot, WeComBot
    from duban.notify.notifier import Envelope
    from duban.notify.secrets import resolver

    with smtp_server() as (port, received):
        urls = {
            "WECOM": f"wecombot://okxiyang0009?base={bots.base}",
            "DING": f"dingtalk://SECd1ngta1kse3ret@okding?base={bots.base}",
            "FEISHU": f"feishu://okfeishu09?base={bots.base}",
            "MAIL": f"mailto://127.0.0.1:{port}?from=duban@tjj.jz.gov.cn&to=xytj@xiyang.gov.cn&mode=insecure",
        }
        notifier = AppriseNotifier(resolver(urls.get, lambda name: None))
        for name, plugin in (("WECOM", WeComBot), ("DING", DingTalkBot), ("FEISHU", FeishuBot)):
            assert type(notifier._plugin(urls[name])) is plugin
        envelope = Envelope(
            "5b1e0c9d2f7a4e31",
            "140724",
            "昔阳县统计局",
            "reminder",
            Rendered("【督办】提醒", "请按时报送"),
            "2024-05-22T01:00:00+00:00",
        )
        started = time.monotonic()
        outcomes = [notifier.send(f"env:{name}", envelope) for name in urls for _ in range(3)]
        elapsed = time.monotonic() - started
    assert all(o.ok for o in outcomes), [o.detail for o in outcomes if not o.ok]
    assert len(received) == 3 and len(bots.received["okxiyang0009"]) == 3
    assert elapsed < 10, f"12 posts took {elapsed:.1f} s: Apprise paused between them (5.5 s a pause)"


def test_an_emails_plain_part_keeps_the_link_and_a_digest_keeps_its_lines(engine, monkeypatch):
    """A mail client showing the plain part (政务邮箱 clients, previews) read "进入办理页面" with no address, and the
    daily digest as one line (outside testers' findings): the plain part Apprise makes from the HTML now has the
    unit's link written out and every line of the digest."""
    from duban.domain.messages import Rendered
    from duban.notify.notifier import Envelope

    with smtp_server() as (port, received):
        monkeypatch.setenv(
            "XY_MAIL", f"mailto://127.0.0.1:{port}?from=duban@tjj.jz.gov.cn&to=xytj@xiyang.gov.cn&mode=insecure"
        )
        _open(engine)
        sent = _dispatcher(engine, ["env:XY_MAIL"], portal_url="https://duban.tjj.jz.gov.cn").run(OPEN, limit=1)
        assert sent.sent == 1
        digest = (
            "【督办简报】回头看\n晋中市统计局：\n逾期未报的单位（2个）：\n   昔阳县统计局\n   寿阳县统计局\n编号 abc\n"
        )
        notifier = notifier_for(get_settings())("env:XY_MAIL")
        envelope = Envelope("d1", "operators", "操作员", "digest", Rendered("简报", digest), OPEN.isoformat())
        assert notifier.send("env:XY_MAIL", envelope).ok
        (_rcpt, message), (_again, briefing) = received[:2]
    plain = message.get_body(("plain",)).get_content()
    assert "https://duban.tjj.jz.gov.cn" in plain, plain
    lines = [line.strip() for line in briefing.get_body(("plain",)).get_content().splitlines() if line.strip()]
    assert lines == [
        "【督办简报】回头看",
        "晋中市统计局：",
        "逾期未报的单位（2个）：",
        "昔阳县统计局",
        "寿阳县统计局",
        "编号 abc",
    ]


def test_apprises_debug_lines_do_not_reach_the_console_or_prefects_logs(engine, monkeypatch):
    """`duban dispatch` printed Apprise's DEBUG lines: 42 of 57, each loaded URL with its key's first and last
    characters, the SMTP login and every recipient (an outside tester's finding)."""
    import logging

    class Seen(logging.Handler):  # what the console's and Prefect's handlers on the root logger would be given
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    seen = Seen()
    logging.getLogger().addHandler(seen)
    try:
        with smtp_server() as (port, _received):
            monkeypatch.setenv(
                "XY_MAIL", f"mailto://127.0.0.1:{port}?from=duban@tjj.jz.gov.cn&to=xytj@xiyang.gov.cn&mode=insecure"
            )
            _open(engine)
            assert _dispatcher(engine, ["env:XY_MAIL"]).run(OPEN, limit=1).sent == 1, _rows(engine, Delivery)
    finally:
        logging.getLogger().removeHandler(seen)
    quiet = [r for r in seen.records if r.name.startswith("apprise") and r.levelno < logging.WARNING]
    assert quiet == [], [r.getMessage() for r in quiet[:3]]
    assert "xytj@xiyang.gov.cn" not in "\n".join(r.getMessage() for r in seen.records)


@pytest.mark.parametrize("broken", ["wecombot://", "notaurl"])
def test_a_channel_apprise_cannot_read_holds_the_message_until_it_is_fixed(engine, bots, monkeypatch, broken):
    """An outside tester's finding: a unit's channel whose URL Apprise cannot read (`wecombot://` with no key, or
    `notaurl`) made its message dead at once, and after fixing the variable the operator had to find and retry it.
    Now the message waits (no try counted) saying which channel is wrong, and the next dispatch after the fix sends
    it."""
    monkeypatch.setenv("XY_WECOM", broken)
    monkeypatch.setenv("DUBAN_RATE_LIMITS", "{}")
    get_settings.cache_clear()
    _open(engine)
    first = _dispatcher(engine, ["env:XY_WECOM"]).run(OPEN)
    assert first.dead == 0 and first.failed == 0 and first.misconfigured == 130, first
    held = _rows(engine, OutboxMessage)
    assert {(m.status, m.attempts) for m in held} == {("pending", 0)}
    said = held[0].last_error
    assert "通道配置有误" in said and "env:XY_WECOM" in said and "环境变量 XY_WECOM" in said, said
    assert "不计入重试次数" in said and "duban dispatch" in said, said
    again = _dispatcher(engine, ["env:XY_WECOM"]).run(OPEN + timedelta(minutes=5))  # not fixed yet: still waiting
    assert again.misconfigured == 130 and again.dead == 0 and _rows(engine, Delivery) == []
    monkeypatch.setenv("XY_WECOM", f"wecombot://okxiyang0011?base={bots.base}")  # the operator fixes the variable
    later = _dispatcher(engine, ["env:XY_WECOM"]).run(OPEN + timedelta(minutes=10))
    assert later.sent == 130 and len(bots.received["okxiyang0011"]) == 130
    assert {m.status for m in _rows(engine, OutboxMessage)} == {"sent"}
