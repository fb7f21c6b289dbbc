"""Emulators of the channels as their vendors document them, independent of duban's own code.

One HTTP server answers the three custom-bot webhooks on their documented paths, with their documented payloads
and replies — HTTP 200 and an error code, whether the post was taken or not:

- 企业微信群机器人 `POST /cgi-bin/webhook/send?key=KEY`, `{"msgtype": "text", "text": {"content": …}}`:
  `{"errcode": 0, "errmsg": "ok"}`; at most 20 messages in any 60 s per bot, beyond that errcode 45009
  "api freq out of limit"; a key that is no bot's, errcode 93000 "invalid webhook url"; content over 2,048
  bytes, errcode 40058.
- 钉钉自定义机器人 `POST /robot/send?access_token=TOKEN[&timestamp=…&sign=…]`: 20 messages a minute; past that
  errcode 130101 "send too fast, exceed 20 times per minute" and the bot is throttled for 10 minutes; an unknown
  token 300001 "token is not exist"; a wrong 加签 signature 310000 "sign not match"; a message without the bot's
  keyword 310000 "keywords not in content".
- 飞书自定义机器人 `POST /open-apis/bot/v2/hook/TOKEN`, `{"msg_type": "text", "content": {"text": …}}`:
  `{"code": 0, "msg": "success"}`; 100 a minute and 5 a second, beyond that code 11232 "frequency limited";
  an unknown token 19001 "param invalid: incoming webhook access token invalid"; a wrong signature 19021.

Each bot can be told to misbehave as real ones do: answer only after the client has given up (having posted
to the group: `slow_s`), or refuse with its rate-limit code until some instant (`limited_until`). The server's
clock is injectable, so a test can run an hour of a bot's life in a second. The group's record (`group`)
holds every text the group shows, and `posts` every post that reached the bot, taken or not.

The SMTP server (aiosmtpd) answers as mail servers do: 535 "5.7.8 Authentication credentials invalid" for a
wrong password, 550 "5.1.1 mailbox unavailable" for an unknown recipient.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

WINDOWS = {"wecom": [(20, 60.0)], "dingtalk": [(20, 60.0)], "feishu": [(100, 60.0), (5, 1.0)]}
TOO_FAST = {
    "wecom": {"errcode": 45009, "errmsg": "api freq out of limit"},
    "dingtalk": {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
    "feishu": {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"},
}
NO_SUCH_BOT = {
    "wecom": {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1733467200_7a1b]"},
    "dingtalk": {"errcode": 300001, "errmsg": "token is not exist"},
    "feishu": {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"},
}
BAD_SIGN = {
    "dingtalk": {
        "errcode": 310000,
        "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
    },
    "feishu": {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"},
}
OK = {
    "wecom": {"errcode": 0, "errmsg": "ok"},
    "dingtalk": {"errcode": 0, "errmsg": "ok"},
    "feishu": {"code": 0, "msg": "success", "data": {}},
}
DINGTALK_THROTTLE_S = 600.0


class Clock:
    """A clock a test moves by hand; both the emulator and duban's dispatcher read it."""

    def __init__(self, start: float) -> None:
        self.t = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def advance_to(self, t: float) -> None:
        with self._lock:
            self.t = max(self.t, t)

    def dt(self) -> datetime:
        """The same instant as an aware datetime (the dispatcher's clock)."""
        return datetime.fromtimestamp(self(), timezone.utc)


@dataclass
class Bot:
    service: str
    key: str
    secret: str | None = None
    keyword: str | None = None
    slow_s: float = 0.0  # post to the group, then answer this late (after the client's timeout)
    slow_when: str | None = None  # … only for posts whose text contains this (e.g. one part of a long message)
    limited_until: float | None = None  # answer "too fast" until this instant
    answer: dict | None = None  # answer this to every post (a refusal in the vendor's own words)
    group: list[str] = field(default_factory=list)  # what the group shows, in order
    posts: list[tuple[float, str]] = field(default_factory=list)  # (instant, answer) of every post that reached it
    throttled_until: float = 0.0  # DingTalk: 10 minutes after going past 20 a minute


class VendorBots:
    """A loopback server answering the WeCom, DingTalk and Feishu custom-bot webhooks as documented."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.bots: dict[tuple[str, str], Bot] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                if len(data) < length:
                    self.close_connection = True
                    return
                try:
                    body = json.loads(data or b"{}")
                except ValueError:
                    body = {}
                reply, delay = server.answer(self.path, body)
                if delay:
                    time.sleep(delay)  # the post is in the group already; the answer comes too late
                out = json.dumps(reply, ensure_ascii=False).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:  # the client gave up waiting
                    self.close_connection = True

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:  # noqa: ANN001
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def bot(self, service: str, key: str, **behaviour) -> Bot:  # noqa: ANN003
        bot = Bot(service, key, **behaviour)
        self.bots[(service, key)] = bot
        return bot

    def url(self, bot: Bot, **query: str) -> str:
        """The Apprise URL of a bot, through this server (`?base=`)."""
        scheme = {"wecom": "wecombot", "dingtalk": "dingtalk", "feishu": "feishu"}[bot.service]
        who = f"{bot.secret}@{bot.key}" if bot.secret and bot.service == "dingtalk" else bot.key
        extra = "".join(f"&{k}={v}" for k, v in query.items())
        return f"{scheme}://{who}?base={self.base}{extra}"

    def answer(self, path: str, body: dict) -> tuple[dict, float]:
        split = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if split.path == "/cgi-bin/webhook/send":
            service, key = "wecom", query.get("key", "")
            text = (body.get("text") or {}).get("content", "")
        elif split.path == "/robot/send":
            service, key = "dingtalk", query.get("access_token", "")
            text = (body.get("text") or {}).get("content", "")
        elif split.path.startswith("/open-apis/bot/v2/hook/"):
            service, key = "feishu", split.path.rstrip("/").rsplit("/", 1)[-1]
            text = (body.get("content") or {}).get("text", "")
        else:
            return {"errcode": 404, "errmsg": "not found"}, 0.0
        now = self.clock()
        with self._lock:
            bot = self.bots.get((service, key))
            if bot is None:
                return NO_SUCH_BOT[service], 0.0
            reply = self._judge(bot, query, body, text, now)
            bot.posts.append((now, "ok" if reply is OK[service] else json.dumps(reply, ensure_ascii=False)))
            if reply is OK[service]:
                bot.group.append(text)
                return reply, bot.slow_s if bot.slow_when is None or bot.slow_when in text else 0.0
            return reply, 0.0

    def _judge(self, bot: Bot, query: dict, body: dict, text: str, now: float) -> dict:
        service = bot.service
        if bot.answer is not None:
            return bot.answer
        if service == "dingtalk" and bot.secret and not _dingtalk_signed(bot.secret, query):
            return BAD_SIGN[service]
        if service == "feishu" and bot.secret and not _feishu_signed(bot.secret, body):
            return BAD_SIGN[service]
        if bot.limited_until is not None and now < bot.limited_until:
            return TOO_FAST[service]
        if service == "dingtalk" and now < bot.throttled_until:
            return TOO_FAST[service]
        for count, seconds in WINDOWS[service]:
            recent = [t for t, _ in bot.posts if t > now - seconds]
            if len(recent) >= count:
                if service == "dingtalk":
                    bot.throttled_until = now + DINGTALK_THROTTLE_S
                return TOO_FAST[service]
        if service == "wecom" and len(text.encode()) > 2048:
            return {"errcode": 40058, "errmsg": "content exceed max length 2048"}
        if service == "dingtalk" and bot.keyword and bot.keyword not in text:
            return {
                "errcode": 310000,
                "errmsg": "keywords not in content, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
            }
        return OK[service]

    def most_in_any_window(self, bot: Bot, seconds: float = 60.0) -> int:
        """The most posts that reached the bot within any `seconds` (a sliding window over its log)."""
        times = sorted(t for t, _ in bot.posts)
        best, first = 0, 0
        for last, t in enumerate(times):
            while t - times[first] >= seconds:
                first += 1
            best = max(best, last - first + 1)
        return best

    def __enter__(self) -> VendorBots:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.httpd.shutdown()
        self.httpd.server_close()


def _dingtalk_signed(secret: str, query: dict) -> bool:
    timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest())
    return bool(timestamp) and hmac.compare_digest(expected.decode(), sign)


def _feishu_signed(secret: str, body: dict) -> bool:
    timestamp, sign = str(body.get("timestamp", "")), body.get("sign", "")
    expected = base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest())
    return bool(timestamp) and hmac.compare_digest(expected.decode(), sign)


@contextmanager
def mail_server(password: str = "right-password", mailboxes: tuple[str, ...] = ()):
    """A real SMTP server that authenticates (535 on a wrong password) and knows its mailboxes (550 otherwise).

    Yields (port, received) where received holds (recipients, message) for every accepted mail."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ANN001, ANN201
            if mailboxes and address not in mailboxes:
                return "550 5.1.1 <%s>: Recipient address rejected: User unknown in local recipient table" % address
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
            received.append((envelope.rcpt_tos, message_from_bytes(envelope.original_content, policy=policy.default)))
            return "250 OK"

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=False,
    )
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()
