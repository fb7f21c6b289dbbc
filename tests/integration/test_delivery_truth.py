"""A message reaches its group once, at a decent hour, and says what is true when it is read — under every fault.

Against emulators of the WeCom, DingTalk and Feishu custom-bot webhooks and an SMTP server, written from the
vendors' documentation (tests/integration/vendors.py): HTTP 200 with an error code, answers after the client's
timeout, a 20-per-60-s sliding window, SMTP 535/550. Where time matters the emulator and the dispatcher share a
clock the test moves, so half an hour of a bot's life takes a second.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from duban.cli.main import app
from duban.domain.message_keys import message_number
from duban.notify.channels import notifier_for
from duban.notify.notifier import RecordingNotifier
from duban.services import outbox
from duban.services.dispatch import Dispatcher
from duban.services.submit import record_submission
from duban.settings import get_settings
from duban.store.tables import Delivery, OutboxMessage
from duban.views.digest import compose_digest
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.integration.vendors import Clock, VendorBots, mail_server
from tests.samples import pdf_bytes

OPEN = at("2024-05-10 08:30")
O = OutboxMessage.__table__
PART = re.compile(r"^（第(\d+)/(\d+)条·编号 (\w{12})）\n")
runner = CliRunner(env={"COLUMNS": "200"})


def _open(engine, keep: int | None = None) -> None:
    """The 晋中 self-assessment opens (130 messages); `keep`: only the first few stay to send, the rest are set
    aside (marked sent) so a test follows those few."""
    plan_jinzhong(engine)
    tick(engine, OPEN)
    if keep is not None:
        with engine.begin() as conn:
            first = conn.execute(select(O.c.id).order_by(O.c.id).limit(keep)).scalars().all()
            conn.execute(update(O).where(O.c.id.not_in(first)).values(status="sent"))


def _messages(engine, status: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if status:
        query = query.where(OutboxMessage.status == status)
    with engine.connect() as conn:
        return [OutboxMessage.model_validate(r._mapping) for r in conn.execute(query)]


def _deliveries(engine, message_id: int | None = None) -> list[Delivery]:
    query = select(Delivery).order_by(Delivery.id)
    if message_id is not None:
        query = query.where(Delivery.message_id == message_id)
    with engine.connect() as conn:
        return [Delivery.model_validate(r._mapping) for r in conn.execute(query)]


def _dispatcher(engine, channels, **kwargs) -> Dispatcher:
    settings = get_settings()
    return Dispatcher(engine, notifier_for(settings), channels, quiet=settings.quiet(), **kwargs)


def _cli_on(engine, monkeypatch) -> None:
    """Point `duban` at the test's database (SQLite file or Postgres)."""
    monkeypatch.setenv("DUBAN_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()


def _waiting(engine) -> list[OutboxMessage]:
    return [
        m
        for m in _messages(engine)
        if m.status in ("pending", "failed", "limited") or (m.status == "unconfirmed" and m.unknown_posts < 2)
    ]


def _drive(engine, clock: Clock, run, *, hours: float, each=None) -> int:  # noqa: ANN001
    """Dispatch, then move the clock to the next message's time, until nothing waits (or `hours` have passed)."""
    end, passes = clock() + hours * 3600, 0
    while clock() < end:
        run(clock.dt())
        passes += 1
        if each:
            each()
        waiting = _waiting(engine)
        if not waiting:
            break
        clock.advance_to(min(m.not_before for m in waiting).timestamp())
    return passes


# --- 1. a bot that answers after the timeout ----------------------------------------------------------------
def test_a_bot_answering_after_the_timeout_gets_the_message_at_most_twice_and_it_is_never_dead(engine, monkeypatch):
    """Posted, no answer within the client's timeout (0.3 s; the bot answers after 1 s): unknown, not failed."""
    with VendorBots() as vendor:
        bot = vendor.bot("wecom", "xiyangslow001", slow_s=1.0)
        monkeypatch.setenv("XY_WECOM", vendor.url(bot, rto="0.3"))
        _open(engine, keep=1)
        dispatcher = _dispatcher(engine, ["env:XY_WECOM"])
        for minutes in (0, 1, 3, 7, 10, 15, 31, 63, 240):  # the old backoff would have posted at 0, 1, 3, 7, 15
            dispatcher.run(OPEN + timedelta(minutes=minutes))
            assert [m.status for m in _messages(engine) if m.status != "sent"] == ["unconfirmed"]
        message = _messages(engine, "unconfirmed")[0]
        assert len(bot.group) == 2 and message.unknown_posts == 2
        assert [d.outcome for d in _deliveries(engine, message.id)] == ["unknown", "unknown"]
        assert "may have arrived" in message.last_error and "不再自动重发" in message.last_error

        _cli_on(engine, monkeypatch)
        listed = runner.invoke(app, ["outbox", "list", "--status", "unconfirmed"], catch_exceptions=False)
        assert listed.exit_code == 0 and "unconfirmed 1" in listed.output and "no reply within 0.3 s" in listed.output
        again = runner.invoke(app, ["outbox", "retry", "--dead"], catch_exceptions=False)
        assert "0 message(s) will be sent" in again.output
        dispatcher.run(OPEN + timedelta(hours=5))
        assert len(bot.group) == 2  # `retry --dead` did not repeat it silently
        without = runner.invoke(app, ["outbox", "retry", str(message.id)], catch_exceptions=False)
        assert "0 message(s) will be sent" in without.output and "--unconfirmed` sends it again" in without.output
        asked = outbox.retry(engine, OPEN + timedelta(hours=6), ids=[message.id], unconfirmed=True)  # as the CLI's flag
        assert asked.queued == 1
        dispatcher.run(OPEN + timedelta(hours=6))
        assert len(bot.group) == 3  # the operator asked for it


# --- 2. a bot at its rate limit --------------------------------------------------------------------------------
@pytest.mark.parametrize("service", ["wecom", "dingtalk", "feishu"])
def test_a_bot_saying_too_fast_for_half_an_hour_gets_every_message_after_and_none_dies(engine, monkeypatch, service):
    clock = Clock(OPEN.timestamp())
    with VendorBots(clock) as vendor:
        bot = vendor.bot(service, f"{service}busy01", limited_until=OPEN.timestamp() + 1800)
        monkeypatch.setenv("XY_BOT", vendor.url(bot))
        _open(engine, keep=3)
        dispatcher = _dispatcher(engine, ["env:XY_BOT"], clock=clock.dt)
        seen = set()
        _drive(engine, clock, dispatcher.run, hours=3, each=lambda: seen.update(m.status for m in _messages(engine)))
    assert "dead" not in seen and "failed" not in seen and "limited" in seen
    assert {m.status for m in _messages(engine)} == {"sent"}
    assert len(bot.group) == 3 and len(set(bot.group)) == 3
    refused = [t for t, answer in bot.posts if answer != "ok"]
    assert refused and max(refused) < OPEN.timestamp() + 1800
    assert len(refused) <= 8  # it waits longer each time the bot says "too fast", instead of hammering it
    assert all(d.outcome in ("ok", "limited") for d in _deliveries(engine))


# --- 3. final refusals -----------------------------------------------------------------------------------------
BAD_BOTS = {  # what was set up wrong: (service, key, the bot as the vendor knows it or None, duban's URL secret, words)
    "wecom unknown key": ("wecom", "nosuchbot01", None, None, "errcode 93000: invalid webhook url"),
    "dingtalk unknown token": ("dingtalk", "nosuchbot02", None, None, "errcode 300001: token is not exist"),
    "dingtalk wrong secret": (
        "dingtalk",
        "xiyangding01",
        {"secret": "SECright000000000001"},
        "SECwrong000000000001",
        "errcode 310000: sign not match",
    ),
    "dingtalk keyword": (
        "dingtalk",
        "xiyangding02",
        {"keyword": "【统计】"},
        None,
        "errcode 310000: keywords not in content",
    ),
    "feishu unknown token": (
        "feishu",
        "nosuchbot03",
        None,
        None,
        "code 19001: param invalid: incoming webhook access token invalid",
    ),
    "feishu signed bot": (
        "feishu",
        "xiyangfs01",
        {"secret": "signed-but-duban-has-no-secret"},
        None,
        "19021: sign match fail",
    ),
}


@pytest.mark.parametrize("case", list(BAD_BOTS))
def test_a_bot_that_refuses_for_good_makes_the_message_dead_at_once_with_its_words(engine, monkeypatch, case):
    service, key, known, secret, words = BAD_BOTS[case]
    scheme = {"wecom": "wecombot", "dingtalk": "dingtalk", "feishu": "feishu"}[service]
    with VendorBots() as vendor:
        if known is not None:
            vendor.bot(service, key, **known)
        monkeypatch.setenv("XY_BOT", f"{scheme}://{secret + '@' if secret else ''}{key}?base={vendor.base}")
        _open(engine, keep=3)
        dispatcher = _dispatcher(engine, ["env:XY_BOT"])
        first = dispatcher.run(OPEN)
        assert first.dead == 3 and first.failed == 0
        for minutes in (1, 3, 7, 15, 31):
            assert dispatcher.run(OPEN + timedelta(minutes=minutes)).claimed == 0
    for message in _messages(engine, "dead"):
        assert words in message.last_error
        assert len(_deliveries(engine, message.id)) <= 2
    _see_dead_letters(engine, monkeypatch, words, dead=3)


@pytest.mark.parametrize("case", ["535 wrong password", "550 unknown mailbox"])
def test_a_mail_server_that_refuses_makes_the_message_dead_at_once_with_its_reply(engine, monkeypatch, case):
    with mail_server(password="Jz2024-right", mailboxes=("xytj@xiyang.gov.cn",)) as (port, received):
        password, to = (
            ("Jz2024-wrong", "xytj@xiyang.gov.cn")
            if case.startswith("535")
            else ("Jz2024-right", "nobody@xiyang.gov.cn")
        )
        monkeypatch.setenv(
            "XY_MAIL", f"mailto://duban:{password}@127.0.0.1:{port}?from=duban@tjj.jz.gov.cn&to={to}&mode=insecure"
        )
        _open(engine, keep=2)
        first = _dispatcher(engine, ["env:XY_MAIL"]).run(OPEN)
        assert first.dead == 2 and received == []
    words = (
        ("SMTP 535", "Authentication credentials invalid") if case.startswith("535") else ("SMTP 550", "User unknown")
    )
    for message in _messages(engine, "dead"):
        assert all(w in message.last_error for w in words), message.last_error
        assert "Jz2024" not in message.last_error  # the password never reaches the record
    _see_dead_letters(engine, monkeypatch, words[1], dead=2)


def test_a_channel_fixed_after_it_refused_is_tried_again_at_the_next_pass(engine, monkeypatch):
    """A mail channel with an URL Apprise cannot send to (no from=) and the fallback bot down: the message waits. The
    operator fixed the URL and dropped the bot; the next pass skipped the mail channel as refused before and sent
    the message dead untried, "the recipient has no channel" (an outside tester's finding). It goes by mail."""
    with mail_server(password="Jz2024-right", mailboxes=("xytj@xiyang.gov.cn",)) as (port, received):
        address = f"mailto://duban:Jz2024-right@127.0.0.1:{port}?to=xytj@xiyang.gov.cn&mode=insecure"
        monkeypatch.setenv("XY_MAIL", address)  # no from=: refused
        monkeypatch.setenv("XY_BOT", "json://127.0.0.1:9/hook")  # nobody listens: failed
        _open(engine, keep=1)
        first = _dispatcher(engine, ["env:XY_MAIL", "env:XY_BOT"]).run(OPEN)
        assert first.misconfigured == 1 and first.dead == 0, first  # waits for the mail URL's fix, no try counted
        monkeypatch.setenv("XY_MAIL", address + "&from=duban@tjj.jz.gov.cn")
        second = _dispatcher(engine, ["env:XY_MAIL"]).run(OPEN + timedelta(minutes=2))
        assert second.sent == 1 and second.dead == 0, second
        assert len(received) == 1
    assert _messages(engine, "dead") == []


def _flat(text: str) -> str:
    """Text without spaces, line breaks and table rules: what a wrapped table column says."""
    return re.sub(r"[\s│┃]", "", text)


def _see_dead_letters(engine, monkeypatch, words: str, *, dead: int) -> None:
    """`duban outbox list --status dead` and the next morning's digest show them, with the channel's words."""
    _cli_on(engine, monkeypatch)
    listed = runner.invoke(app, ["outbox", "list", "--status", "dead"], catch_exceptions=False)
    assert listed.exit_code == 0 and f"dead {dead}" in listed.output and _flat(words) in _flat(listed.output)
    assert compose_digest(engine, CAMPAIGN, OPEN + timedelta(hours=1))
    operators = RecordingNotifier()
    Dispatcher(engine, lambda _ref: operators, ["sink"], ["env:OPS"]).run(OPEN + timedelta(hours=1))
    digest = operators.sent["env:OPS"][0].rendered.text
    assert f"消息投递：{dead}条未能送达（死信）" in digest and words in digest


# --- 4, 5, 6. long messages on a limited bot ------------------------------------------------------------------
def _long_messages(engine, units: int, items: int) -> list[int]:
    """`units` messages of `items` items each (a county's 40 townships' worth), waiting for the city's bot."""
    plan_jinzhong(engine)
    townships = [
        "140724100",
        "140724101",
        "140724102",
        "140724103",
        "140724104",
        "140724200",
        "140724201",
        "140724202",
        "140724203",
        "140724204",
    ][:units]
    rows = []
    for unit in townships:
        entries = [
            {
                "kind": "opened",
                "step": 0,
                "item_id": "self_report",
                "instance": f"第{n}批·乡村振兴示范村统计台账",
                "unit": unit,
                "due_at": "2024-05-25T15:59:59.999999+00:00",
                "event_at": OPEN.isoformat(),
            }
            for n in range(1, items + 1)
        ]
        rows.append(
            dict(
                campaign_id=CAMPAIGN,
                recipient=unit,
                kind="opened",
                idempotency_key=f"{unit}longmsg",
                payload={"recipient": unit, "kind": "opened", "as_of": OPEN.isoformat(), "items": entries},
                created_at=OPEN,
                not_before=OPEN,
                status="pending",
                attempts=0,
            )
        )
    with engine.begin() as conn:
        conn.execute(O.insert(), rows)
        return conn.execute(select(O.c.id).order_by(O.c.id)).scalars().all()


def _whole_and_in_order(group: list[str]) -> dict[str, int]:
    """Each message's parts arrived once, in order, together: {编号: parts}. Fails on any interleaving."""
    seen: dict[str, int] = {}
    current, expected = None, 0
    for text in group:
        head = PART.match(text)
        assert head, f"a part without its 编号 and place: {text[:40]!r}"
        k, n, key = int(head.group(1)), int(head.group(2)), head.group(3)
        if current is not None and current != key:
            assert expected == seen[current] + 1, f"{current} was cut off at part {expected - 1} by {key}"
        if k == 1:
            assert key not in seen, f"{key} began twice"
            current, expected = key, 1
        assert key == current and k == expected, (
            f"part {k}/{n} of {key} out of order (expected {expected} of {current})"
        )
        seen[key] = n
        expected += 1
    return seen


def test_long_messages_on_one_limited_bot_arrive_whole_in_order_and_never_past_its_limit(engine, monkeypatch):
    """10 units × 40 items to the city's one WeCom bot, two dispatchers at once: every part once, in order,
    each message's parts together, and never more than 20 posts in any 60 s at the bot."""
    clock = Clock(OPEN.timestamp())
    with VendorBots(clock) as vendor:
        bot = vendor.bot("wecom", "jinzhongcity1")
        monkeypatch.setenv("JZ_WECOM", vendor.url(bot))
        ids = _long_messages(engine, units=10, items=40)
        first, second = (_dispatcher(engine, ["env:JZ_WECOM"], clock=clock.dt, concurrency=4) for _ in range(2))

        def both(now):  # noqa: ANN001, ANN202
            threads = [threading.Thread(target=d.run, args=(now,)) for d in (first, second)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        _drive(engine, clock, both, hours=2)
    assert {m.status for m in _messages(engine)} == {"sent"} and len(ids) == 10
    parts = _whole_and_in_order(bot.group)
    assert len(parts) == 10 and all(n >= 3 for n in parts.values()), parts
    assert len(bot.group) == sum(parts.values())  # each part once
    assert all(answer == "ok" for _, answer in bot.posts)  # the bot never had to say "too fast"
    assert vendor.most_in_any_window(bot, 60.0) <= 20
    assert all(len(p.encode()) <= 2048 for p in bot.group)


def test_a_retry_sends_only_the_parts_that_did_not_arrive(engine, monkeypatch):
    """Another system shares the city's bot and has posted 18 times this minute: the bot takes two parts, then
    says "too fast". The rest follows when it is free again; no part is posted twice."""
    clock = Clock(OPEN.timestamp())
    with VendorBots(clock) as vendor:
        bot = vendor.bot("wecom", "jinzhongcity2")
        bot.posts.extend([(OPEN.timestamp() - 1, "ok")] * 18)
        monkeypatch.setenv("JZ_WECOM", vendor.url(bot))
        (mid,) = _long_messages(engine, units=1, items=40)
        dispatcher = _dispatcher(engine, ["env:JZ_WECOM"], clock=clock.dt)
        dispatcher.run(clock.dt())
        (message,) = _messages(engine)
        assert len(bot.group) == 2 and message.status == "limited" and message.progress["done"] == 2
        assert "errcode 45009" in message.last_error
        _drive(engine, clock, dispatcher.run, hours=1)
    (parts,) = _whole_and_in_order(bot.group).values()
    assert len(bot.group) == parts >= 3 and _messages(engine)[0].status == "sent"
    posts = [(d.part, d.outcome) for d in _deliveries(engine, mid)]
    assert posts == [(1, "ok"), (2, "ok"), (3, "limited")] + [(k, "ok") for k in range(3, parts + 1)]


def test_a_part_that_gets_no_answer_twice_is_followed_by_the_rest_and_a_retry_posts_only_it(engine, monkeypatch):
    """Part 1 of a long message reaches the group but its answer comes after the timeout, twice. The group must not
    be left holding half a message: parts 2… follow in order, and the record says which part may have arrived
    (not the whole message). An operator's `retry --unconfirmed` posts that part alone."""
    clock = Clock(OPEN.timestamp())
    with VendorBots(clock) as vendor:
        bot = vendor.bot("wecom", "xiyangslowpart", slow_s=1.0, slow_when="（第1/")
        monkeypatch.setenv("XY_WECOM", vendor.url(bot, rto="0.3"))
        (mid,) = _long_messages(engine, units=1, items=40)
        dispatcher = _dispatcher(engine, ["env:XY_WECOM"], clock=clock.dt)
        _drive(engine, clock, dispatcher.run, hours=2)
        (message,) = _messages(engine)
        parts = int(PART.match(bot.group[-1]).group(2))
        numbers = [int(PART.match(t).group(1)) for t in bot.group]
        assert parts >= 2 and numbers == [1, 1, *range(2, parts + 1)]  # part 1 at most twice, then the rest
        assert message.status == "unconfirmed" and "第1条两次发出均无答复" in message.last_error
        assert "其余各条已送达" in message.last_error
        assert [(d.part, d.outcome) for d in _deliveries(engine, mid)] == (
            [(1, "unknown"), (1, "unknown")] + [(k, "ok") for k in range(2, parts + 1)]
        )
        bot.slow_when = "never slow again"
        asked = outbox.retry(engine, clock.dt(), ids=[mid], unconfirmed=True)
        assert asked.queued == 1
        _drive(engine, clock, dispatcher.run, hours=1)
        assert [int(PART.match(t).group(1)) for t in bot.group[len(numbers) :]] == [1]  # that part alone
        assert _messages(engine)[0].status == "sent"


# --- 8. quiet hours and urgency --------------------------------------------------------------------------------
def test_messages_composed_before_quiet_hours_and_dispatched_in_them_wait_for_the_morning(engine):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 21:00"))  # the opening, caught up by an evening tick: composed before 22:00
    sink = RecordingNotifier()
    held = Dispatcher(engine, lambda _ref: sink, ["sink"]).run(at("2024-05-10 23:10"))
    assert held.sent == 0 and held.held == 130 and sink.sent == {}
    assert {m.not_before for m in _messages(engine)} == {at("2024-05-11 07:30")}
    assert Dispatcher(engine, lambda _ref: sink, ["sink"]).run(at("2024-05-11 07:29")).claimed == 0
    assert Dispatcher(engine, lambda _ref: sink, ["sink"]).run(at("2024-05-11 07:30")).sent == 130


def test_a_retry_falling_in_quiet_hours_waits_too(engine):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 21:59"))
    down = RecordingNotifier(refuse={"sink"})
    assert Dispatcher(engine, lambda _ref: down, ["sink"]).run(at("2024-05-10 21:59")).failed == 130
    up = RecordingNotifier()
    retry = Dispatcher(engine, lambda _ref: up, ["sink"]).run(at("2024-05-10 22:01"))  # the backoff's minute is up
    assert retry.sent == 0 and retry.held == 130


@pytest.mark.parametrize("value", ["", "off"])
def test_quiet_hours_set_empty_or_off_are_none_and_a_tick_at_night_is_sent_at_once(engine, monkeypatch, value):
    """DUBAN_QUIET_HOURS= (empty, as a .env unsets a value) stopped every command with "must be HH:MM-HH:MM", and
    the README said no way to have no quiet hours."""
    monkeypatch.setenv("DUBAN_QUIET_HOURS", value)
    get_settings.cache_clear()
    checked = CliRunner().invoke(app, ["validate", "campaign_specs/jinzhong-2024-lookback.yaml"])
    assert checked.exit_code == 0 and "DUBAN_QUIET_HOURS" not in checked.output, checked.output
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 23:10"))
    assert {m.not_before for m in _messages(engine)} == {at("2024-05-10 23:10")}
    sink = RecordingNotifier()
    assert Dispatcher(engine, lambda _ref: sink, ["sink"]).run(at("2024-05-10 23:10")).sent == 130


@pytest.mark.prefect
def test_an_urgent_kind_is_sent_at_once_by_a_tick_at_night(prefect_harness, monkeypatch):
    """DUBAN_URGENT_KINDS=["overdue"]: the campaign-tick flow at 00:00 writes overdue messages that go at 00:00."""
    from duban.store.db import engine_for
    from flows.campaign_tick import campaign_tick
    from tests.conftest import JINZHONG

    monkeypatch.setenv("DUBAN_URGENT_KINDS", '["overdue"]')
    get_settings.cache_clear()
    campaign_tick(spec=str(JINZHONG), as_of=OPEN)
    campaign_tick(spec=str(JINZHONG), as_of=at("2024-05-26 00:00"))  # the self-assessment was due 5/25 24:00
    engine = engine_for(get_settings().resolved_database_url)
    overdue = [m for m in _messages(engine) if m.kind == "overdue"]
    assert len(overdue) == 130 and {m.not_before for m in overdue} == {at("2024-05-26 00:00")}
    sink = RecordingNotifier()
    sent = Dispatcher(engine, lambda _ref: sink, ["sink"], quiet=get_settings().quiet()).run(at("2024-05-26 00:00"))
    assert sent.by_kind.get("overdue") == 130


def test_at_night_an_urgent_message_goes_without_its_other_items_and_they_follow_in_the_morning(engine):
    """A county's message from a day tick holds its overdue self-assessment (urgent) and the county check that
    opened (not urgent). Reaching the dispatcher at 23:00, only the overdue part goes; the opening is written
    again by the next tick, for 07:30, and goes then."""
    from duban.domain.quiet import QuietHours
    from duban.services.compose import compose_messages
    from duban.services.tick import tick_stage
    from tests.integration.helpers import STAGES

    quiet = QuietHours.parse("22:00-07:30", ["overdue"])
    plan_jinzhong(engine)

    def tick_at(moment):
        for stage in STAGES:
            tick_stage(engine, CAMPAIGN, stage, moment)
        compose_messages(engine, CAMPAIGN, moment, quiet=quiet)

    def dispatch_at(moment) -> RecordingNotifier:
        sink = RecordingNotifier()
        Dispatcher(engine, lambda _ref: sink, ["sink"], quiet=quiet).run(moment)
        return sink

    tick_at(OPEN)
    dispatch_at(OPEN)
    tick_at(at("2024-05-26 09:00"))  # a day tick: a county's message holds both
    mixed = [m for m in _messages(engine, "pending") if len({i["kind"] for i in m.payload["items"]}) > 1]
    assert mixed and all(m.recipient.startswith("1407") and len(m.recipient) == 6 for m in mixed)
    night = dispatch_at(at("2024-05-26 23:00"))  # the dispatcher was down all day
    texts = [e.rendered.text for e in night.sent["sink"] if e.recipient == mixed[0].recipient]
    assert texts and all("逾期" in t and "县级检查阶段" not in t for t in texts)
    assert all(e.kind == "overdue" for e in night.sent["sink"])  # nothing but the urgent went out at night
    trimmed = {m.id: m for m in _messages(engine)}[mixed[0].id]
    assert trimmed.status == "sent" and {i["kind"] for i in trimmed.payload["items"]} == {"overdue"}
    assert any("静默时段" in d["why"] for d in trimmed.payload["dropped"])
    tick_at(at("2024-05-26 23:10"))
    morning = [m for m in _messages(engine, "pending") if m.recipient == mixed[0].recipient]
    assert [m.kind for m in morning] == ["opened"] and morning[0].not_before == at("2024-05-27 07:30")
    assert dispatch_at(at("2024-05-27 07:29")).sent == {}
    sent = dispatch_at(at("2024-05-27 07:30")).sent["sink"]
    assert any(e.recipient == mixed[0].recipient and "县级检查阶段" in e.rendered.text for e in sent)


def test_a_tick_at_night_writes_the_urgent_and_the_rest_as_two_messages(engine):
    from duban.domain.quiet import QuietHours
    from duban.services.compose import compose_messages
    from duban.services.tick import tick_stage
    from tests.integration.helpers import STAGES

    quiet = QuietHours.parse("22:00-07:30", ["overdue"])
    plan_jinzhong(engine)
    for moment in (OPEN, at("2024-05-26 00:00")):
        for stage in STAGES:
            tick_stage(engine, CAMPAIGN, stage, moment)
        compose_messages(engine, CAMPAIGN, moment, quiet=quiet)
    county = [m for m in _messages(engine) if m.recipient == "140724" and m.created_at == at("2024-05-26 00:00")]
    assert sorted((m.kind, m.not_before) for m in county) == [
        ("opened", at("2024-05-26 07:30")),
        ("overdue", at("2024-05-26 00:00")),
    ]
    assert all(len({i["kind"] for i in m.payload["items"]}) == 1 for m in county)


def test_simulate_sends_urgent_kinds_at_night_too(monkeypatch):
    from duban.simulation.preview import simulate_spec
    from tests.conftest import JINZHONG

    monkeypatch.setenv("DUBAN_URGENT_KINDS", '["overdue"]')
    get_settings.cache_clear()
    preview = simulate_spec(JINZHONG, seed=1, end=at("2024-05-26 06:00"))
    overdue = [m for m in preview.messages if m.kind == "overdue"]
    assert overdue and {m.at[:16] for m in overdue} == {
        "2024-05-25T15:59"
    }  # at the due, 23:59:59 in Shanghai, not 07:30


@pytest.mark.parametrize("value", ["22:00-24:00", "ab:cd-07:30", "22:00", "22:00-07:60"])
def test_a_malformed_quiet_hours_setting_is_refused_at_start(monkeypatch, value):
    monkeypatch.setenv("DUBAN_QUIET_HOURS", value)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["outbox", "list"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "DUBAN_QUIET_HOURS" in result.output and "HH:MM-HH:MM" in result.output


@pytest.mark.parametrize("zone", ["Mars/Base", "../../etc/localtime", ""])
def test_an_unknown_time_zone_setting_is_refused_at_start(monkeypatch, zone):
    """DUBAN_TIMEZONE=Mars/Base: `outbox list` was a 92-line traceback, `tick --as-of` said the instant was "not a date
    or time", and `status` took it silently."""
    monkeypatch.setenv("DUBAN_TIMEZONE", zone)
    get_settings.cache_clear()
    for command in (["outbox", "list"], ["status", "campaign_specs/jinzhong-2024-lookback.yaml"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert "DUBAN_TIMEZONE must be a time zone of the IANA database" in result.output


@pytest.mark.parametrize("url", ["postgres://duban@127.0.0.1/duban", "mysql://duban@127.0.0.1/duban"])
def test_a_database_address_of_another_kind_is_told_not_a_traceback(monkeypatch, url):
    """DUBAN_DATABASE_URL=postgres://… (the form many tools print) was a 58-line NoSuchModuleError traceback."""
    monkeypatch.setenv("DUBAN_DATABASE_URL", url)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["outbox", "list"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "DUBAN_DATABASE_URL must be sqlite:///PATH or postgresql+psycopg://" in result.output


# --- 9. only what is still true ---------------------------------------------------------------------------------
def test_an_item_handed_in_before_a_delayed_dispatch_is_not_asked_for(engine, tmp_path):
    _open(engine)
    report = tmp_path / "自查评分表.pdf"
    report.write_bytes(pdf_bytes("self assessment"))
    record_submission(
        engine,
        CAMPAIGN,
        "140724100",
        "self_score_sheet",
        at("2024-05-10 09:00"),
        files=[report],
        files_dir=tmp_path / "files",
    )
    for item in ("self_score_sheet", "self_report"):  # 沾尚镇 hands in both
        record_submission(
            engine, CAMPAIGN, "140724101", item, at("2024-05-10 09:10"), files=[report], files_dir=tmp_path / "files"
        )
    sink = RecordingNotifier()
    Dispatcher(engine, lambda _ref: sink, ["sink"]).run(at("2024-05-10 10:00"))  # the dispatcher was down until 10:00
    by_unit = defaultdict(list)
    for envelope in sink.sent["sink"]:
        by_unit[envelope.recipient].append(envelope)
    leping = by_unit["140724100"][0].rendered.text
    assert "本单位统计基层基础规范化建设总结报告" in leping and "自查评分表" not in leping
    assert "140724101" not in by_unit  # nothing left to ask 沾尚镇 for
    zhanshang = next(m for m in _messages(engine) if m.recipient == "140724101" and m.kind == "opened")
    assert zhanshang.status == "dropped" and "已报送" in zhanshang.last_error
    assert len(by_unit) == 129


def test_after_an_outage_a_unit_gets_only_what_is_true_now(engine):
    """The dispatcher was down from the opening to 5/26 08:00: the opening and the reminders are stale, each
    township gets the overdue notice alone (not "已开始办理……已逾期" beside it)."""
    plan_jinzhong(engine)
    for moment in ("2024-05-10 08:30", "2024-05-22 09:00", "2024-05-24 23:59", "2024-05-26 00:00"):
        tick(engine, at(moment))
    sink = RecordingNotifier()
    result = Dispatcher(engine, lambda _ref: sink, ["sink"]).run(at("2024-05-26 08:00"))
    kinds = Counter((e.recipient, e.kind) for e in sink.sent["sink"])
    townships = {r for r, _ in kinds if len(r) == 9}
    assert townships and all(
        kinds[(t, "overdue")] == 1 and sum(n for (r, _), n in kinds.items() if r == t) == 1 for t in townships
    )
    to_townships = [e.rendered.text for e in sink.sent["sink"] if e.recipient in townships]
    assert result.dropped > 0 and not any("已开始办理" in text or "即将截止" in text for text in to_townships)
    assert all("以下事项已逾期未报" in text for text in to_townships)


# --- 10. verbatim for operators --------------------------------------------------------------------------------
def test_outbox_list_and_show_print_the_vendors_words_and_the_text_verbatim(engine, monkeypatch):
    hint = "invalid webhook url, hint: [/cgi-bin/webhook/send] [bold]see[/bold] [1733467200_7a1b]"
    with VendorBots() as vendor:
        bot = vendor.bot("wecom", "xiyangodd01", answer={"errcode": 93000, "errmsg": hint})
        monkeypatch.setenv("XY_WECOM", vendor.url(bot))
        _open(engine, keep=1)
        _dispatcher(engine, ["env:XY_WECOM"], max_attempts=1).run(OPEN)
    _cli_on(engine, monkeypatch)
    listed = runner.invoke(app, ["outbox", "list", "--status", "dead"])
    assert listed.exit_code == 0, listed.output
    assert _flat(f"errcode 93000: {hint}") in _flat(listed.output)
    (message,) = _messages(engine, "dead")
    shown = runner.invoke(app, ["outbox", "show", str(message.id)])
    assert shown.exit_code == 0, shown.output
    assert _flat(hint) in _flat(shown.output)
    assert "以下事项已开始办理，请按时报送：" in shown.output
    assert f"编号 {message_number(message.idempotency_key)}" in shown.output


def test_an_operator_finds_a_message_by_the_number_staff_quote(engine, monkeypatch, jinzhong):
    """Staff on the phone quote the 编号 at the foot of a message; `duban outbox show` takes it as well as an id,
    for a one-intent message (its key no longer begins with its 编号) and for one of several items."""
    from duban.domain.schedules import tick_instants

    plan_jinzhong(engine)
    for moment in tick_instants(jinzhong[1]).instants:
        tick(engine, moment)
    messages = _messages(engine)
    single = next(m for m in messages if m.idempotency_key.startswith("s"))
    several = next(m for m in messages if not m.idempotency_key.startswith("s"))
    _cli_on(engine, monkeypatch)
    for message in (single, several):
        number = message_number(message.idempotency_key)
        shown = runner.invoke(app, ["outbox", "show", f" {number.upper()} "])
        assert shown.exit_code == 0, shown.output
        assert shown.output.startswith(f"#{message.id} ") and f"编号 {number}" in shown.output
    number = message_number(single.idempotency_key)
    dictated = f"编号：{number[:4].upper()} {number[4:8]}-{number[8:]}"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)  # typed with a Chinese input method
    for quoted in (dictated, full_width):
        assert runner.invoke(app, ["outbox", "show", quoted]).output.startswith(f"#{single.id} "), quoted
    missing = runner.invoke(app, ["outbox", "show", "0123456789ab"])
    assert missing.exit_code != 0 and "no message has the 编号 0123456789ab" in missing.output
    wrong = runner.invoke(app, ["outbox", "show", "编号 5bd1e995"])  # eight of its twelve characters
    assert wrong.exit_code != 0 and "neither an outbox id nor a 编号" in wrong.output
    assert runner.invoke(app, ["outbox", "show", str(single.id)]).output.startswith(f"#{single.id} ")
    negative = runner.invoke(app, ["outbox", "show", "--", f"-{single.id}"])  # showed message #id
    assert negative.exit_code != 0 and "neither an outbox id nor a 编号" in negative.output


def test_the_portals_receipt_number_finds_the_receipt_message_not_the_message_of_that_id(
    sqlite_engine, tmp_path, monkeypatch
):
    """A clerk quotes the portal's 回执编号 (000013 then, R000013 now): `duban outbox show 000013` showed outbox
    message #13, another unit's 开始办理 (an outside tester's finding). It shows the hand-in's 回执 message."""
    from duban.domain.message_keys import receipt_number

    _open(sqlite_engine)
    report = tmp_path / "自查评分表.pdf"
    report.write_bytes(pdf_bytes("self assessment"))
    handed = record_submission(
        sqlite_engine,
        CAMPAIGN,
        "140724100",
        "self_score_sheet",
        at("2024-05-10 09:00"),
        files=[report],
        files_dir=tmp_path / "files",
    )
    tick(sqlite_engine, at("2024-05-10 09:10"))  # composes the receipt
    _cli_on(sqlite_engine, monkeypatch)
    number = receipt_number(handed.submission_id)
    assert number == f"R{handed.submission_id:06d}"
    [receipt] = [m for m in _messages(sqlite_engine) if m.kind == "receipt" and m.recipient == "140724100"]
    for quoted in (number, number.lower(), number[1:]):  # 000013 as the receipt page printed it before
        shown = runner.invoke(app, ["outbox", "show", quoted])
        assert shown.exit_code == 0 and shown.output.startswith(f"#{receipt.id} "), (quoted, shown.output)
    other = runner.invoke(app, ["outbox", "show", str(handed.submission_id)])  # a plain id is still an id
    assert other.exit_code == 0 and other.output.startswith(f"#{handed.submission_id} ")
    missing = runner.invoke(app, ["outbox", "show", "R999999"])
    assert missing.exit_code != 0 and "no hand-in has the 回执编号 R999999" in missing.output


def test_outbox_counts_and_ids_out_of_range_are_told_not_a_traceback(sqlite_engine, monkeypatch):
    """--limit past any integer was an OverflowError traceback, 0 or -1 listed nothing without a word, and a retry of
    an id no message has said "0 message(s) will be sent" with success."""
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    (first, *_rest) = _messages(sqlite_engine)
    _cli_on(sqlite_engine, monkeypatch)
    for limit in ("99999999999999999999", "0", "-1"):
        listed = runner.invoke(app, ["outbox", "list", "--limit", limit])
        assert listed.exit_code != 0 and "--limit is how many messages to list" in listed.output, limit
        assert "Traceback" not in listed.output
    assert runner.invoke(app, ["outbox", "list", "--limit", "3"]).exit_code == 0
    missing = runner.invoke(app, ["outbox", "retry", "999999", str(first.id)])
    assert missing.exit_code != 0 and "there is no outbox message 999999" in missing.output
    waiting = runner.invoke(app, ["outbox", "retry", str(first.id)])
    assert waiting.exit_code == 0 and f"message {first.id} is pending: it waits for no retry" in waiting.output
    assert "0 message(s) will be sent" in waiting.output


def test_a_mistyped_campaign_is_said_so_not_listed_as_an_empty_outbox(sqlite_engine, monkeypatch):
    """`outbox list --campaign` of a campaign the database has not listed an empty table with success."""
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    _cli_on(sqlite_engine, monkeypatch)
    wrong = runner.invoke(app, ["outbox", "list", "--campaign", "jinzhong-2042-lookback"])
    assert wrong.exit_code != 0 and "campaign 'jinzhong-2042-lookback' is not in the database" in wrong.output
    assert "Traceback" not in wrong.output
    right = runner.invoke(app, ["outbox", "list", "--campaign", CAMPAIGN, "--limit", "3"])
    assert right.exit_code == 0 and right.output.count(CAMPAIGN) == 3


def test_a_dead_message_is_retried_by_the_number_staff_quote(sqlite_engine, monkeypatch):
    """Staff report "编号 xxxx 没收到": `outbox show` found it by that 编号, `outbox retry` took ids only."""
    from duban.domain.message_keys import message_number

    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    (first, *_rest) = _messages(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE outbox SET status = 'dead', attempts = 5 WHERE id = ?", (first.id,))
    number = message_number(first.idempotency_key)
    _cli_on(sqlite_engine, monkeypatch)
    quoted = f"编号：{number[:4]} {number[4:8]}-{number[8:]}"
    retried = runner.invoke(app, ["outbox", "retry", quoted])
    assert retried.exit_code == 0 and "1 message(s) will be sent" in retried.output, retried.output
    back = next(m for m in _messages(sqlite_engine) if m.id == first.id)
    assert (back.status, back.attempts) == ("pending", 0)
    wrong = runner.invoke(app, ["outbox", "retry", "编号 5bd1e995"])
    assert wrong.exit_code != 0 and "neither an outbox id nor a 编号" in wrong.output
