"""Delivery over Apprise: WeCom, DingTalk and Feishu group bots that read the reply, and e-mail.

Apprise's own wecombot, dingtalk and feishu plugins count any HTTP 200 as sent; their servers answer 200 with
`{"errcode": 45009, "errmsg": "api freq out of limit"}` when they refuse. duban registers plugins for the same
URL schemes that post the same payloads and succeed only on errcode 0 (Feishu: code 0), keeping the
server's error text for the delivery record and reading what the code means (duban.notify.vendor_replies): the bot's
rate limit, a final refusal, or a failure worth retrying. A post that went out and got no reply in time is
"unknown", not failed: it may have arrived. They do not sleep between sends (`request_rate_per_sec = 0`):
duban's per-bot limits, kept in the database, hold across processes instead.

`?base=http://gateway:port` on a bot URL sends through an intranet gateway (or a local test server) instead
of the public host. Every detail is masked: no key or password leaves this module in a text.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import apprise
import orjson
import requests
from apprise import NotifyFormat
from apprise.manager_plugins import NotificationManager
from apprise.plugins.dingtalk import NotifyDingTalk
from apprise.plugins.email import NotifyEmail
from apprise.plugins.feishu import NotifyFeishu
from apprise.plugins.wecombot import NotifyWeComBot
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from duban.domain.messages import render_html, split_text
from duban.notify.notifier import Envelope, SendResult
from duban.notify.secrets import MASKER, UnknownChannel
from duban.notify.vendor_replies import classify_code, classify_http, classify_smtp, penalty, smtp_code
from duban.store.ratelimit import Limit, channel_digest

if TYPE_CHECKING:  # the mixin is only ever mixed into an Apprise plugin: let mypy see the plugin's attributes
    from apprise.plugins.base import NotifyBase as _Plugin
else:
    _Plugin = object

# What one message may hold per channel, in UTF-8 bytes (WeCom: "最长不超过2048个字节").
BYTE_LIMITS = {"wecombot": 2048, "dingtalk": 18000, "feishu": 18000}
_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive HTTP session per dispatcher thread.

    The proxy and CA settings of the environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE — an intranet's
    way out to WeCom) are read once per bot host, not by requests on every post (it walks the whole
    environment twice per request: a third of a send's CPU).
    """
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
    return session


@functools.lru_cache(maxsize=1024)
def _proxies(origin: str) -> dict[str, str]:
    """The environment's proxies for one scheme://host (NO_PROXY honoured), as requests would find them."""
    return requests.utils.get_environ_proxies(origin)


class _ReplyChecked(_Plugin):
    """Mixin: post JSON, then believe only the reply's error code (duban.notify.vendor_replies says what it means)."""

    request_rate_per_sec: float = 0  # duban's database-kept limits govern; Apprise must not sleep as well
    body_maxlen = 1_000_000  # duban splits long messages itself and marks the parts; never truncate
    code_fields: tuple[str, ...] = ("errcode",)
    path = ""

    def __init__(self, *args, base: str | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.base = base.rstrip("/") if base else None

    def endpoint(self, public: str) -> str:
        if not self.base:
            return public
        split = urlsplit(public)
        return self.base + split.path + (f"?{split.query}" if split.query else "")

    def post_checked(self, url: str, payload: dict, params: dict | None = None) -> bool:
        """POST and keep what the bot answered (thread-local `_local.result`); True only on its success code."""
        _local.result = result = self._post(url, payload, params)
        return result.ok

    def _post(self, url: str, payload: dict, params: dict | None) -> SendResult:
        service = cast(str, self.secure_protocol)  # each bot plugin names one scheme (Apprise leaves it untyped)
        try:
            split = urlsplit(url)
            reply = _session().post(
                url,
                data=orjson.dumps(payload),
                params=params,
                timeout=(self.socket_connect_timeout, self.socket_read_timeout),
                proxies=_proxies(f"{split.scheme}://{split.netloc}"),
                headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "duban"},
            )
        except requests.ConnectTimeout:
            return SendResult.failed(f"could not connect within {self.socket_connect_timeout:g} s (not posted)")
        except requests.ReadTimeout:
            return SendResult.unknown(
                f"no reply within {self.socket_read_timeout:g} s after posting: it may have arrived"
            )
        except requests.ConnectionError as exc:
            if _never_sent(exc):
                return SendResult.failed(f"connection failed: {_reason(exc)} (not posted)")
            return SendResult.unknown(f"the connection broke after posting ({_reason(exc)}): it may have arrived")
        except requests.RequestException as exc:
            return SendResult.failed(f"{type(exc).__name__}: {exc}")
        if reply.status_code != 200:
            words = f"HTTP {reply.status_code}: {reply.text[:200]}"
            outcome = classify_http(reply.status_code)
            if outcome == "limited":
                return SendResult.limited(words, _retry_after(reply) or penalty(service, 1))
            return SendResult(False, words, outcome)
        try:
            body = reply.json()
        except ValueError:
            return SendResult.failed(f"HTTP 200 but the reply is not JSON: {reply.text[:200]!r}")
        code = next((body[f] for f in self.code_fields if isinstance(body, dict) and f in body), None)
        message = (
            (body.get("errmsg") or body.get("msg") or body.get("StatusMessage") or "") if isinstance(body, dict) else ""
        )
        if code is None:
            return SendResult.failed(f"reply without errcode: {body!r}"[:300])
        words = f"errcode {code}: {message}" if code != 0 else f"errcode 0: {message or 'ok'}"
        outcome = classify_code(service, code if isinstance(code, int) else None)
        if outcome == "limited":
            return SendResult.limited(words, penalty(service, 1))
        return SendResult(outcome == "ok", words, outcome)

    @classmethod
    def with_base(cls, results: dict | None) -> dict | None:
        if results and results.get("qsd", {}).get("base"):
            results["base"] = results["qsd"]["base"]
        return results


def _never_sent(exc: requests.ConnectionError) -> bool:
    """Whether a connection error happened before the request left (refused, no route, DNS): then nothing arrived."""
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(inner, (NewConnectionError, NameResolutionError, ConnectTimeoutError))


def _reason(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else exc
    inner = getattr(reason, "reason", reason)
    return f"{type(inner).__name__}"


_LOG_PREFIX = re.compile(r"^\S+ \S+ - [A-Z]+ - ")  # Apprise's "2026-12-05 23:30:27,426 - WARNING - "
# Apprise says at DEBUG each URL it loads (a key's first and last characters, an SMTP login, each recipient) and
# each step of a post: 42 of a dispatch's 57 console lines, in Prefect's flow-run logs too (an outside tester's
# finding). Its warnings still show; what a failed post's server said is kept with the post (see _send_other).
APPRISE_LOG = logging.getLogger("apprise")
APPRISE_LOG.setLevel(logging.WARNING)
_SMTP_REPLY = re.compile(r"\((\d{3}), b(['\"])(.*?)\2\)")


def _smtp_words(text: str) -> str:
    """smtplib's `(535, b'5.7.8 Authentication credentials invalid')` as the server said it: `535 5.7.8 …`;
    a refused recipient keeps its address: `nobody@…: 550 5.1.1 …`."""
    text = _LOG_PREFIX.sub("", text.strip())
    text = _SMTP_REPLY.sub(lambda m: f"{m.group(1)} {m.group(3)}", text)
    return re.sub(r"^\{'([^']+)': (.*)\}$", r"\1: \2", text)


def _retry_after(reply: requests.Response) -> float | None:
    try:
        return max(float(reply.headers.get("Retry-After", "")), 1.0)
    except ValueError:
        return None


class WeComBot(_ReplyChecked, NotifyWeComBot):
    """企业微信群机器人 (`wecombot://KEY`), text messages."""

    def send(self, body, title="", notify_type=None, **kwargs) -> bool:  # noqa: ANN001, ANN003
        payload = {"msgtype": "text", "text": {"content": body}}
        return self.post_checked(self.endpoint(self.api_url), payload)

    @staticmethod
    def parse_url(url: Any, *args: Any, **kwargs: Any) -> Any:
        return WeComBot.with_base(NotifyWeComBot.parse_url(url, *args, **kwargs))


class DingTalkBot(_ReplyChecked, NotifyDingTalk):
    """钉钉群机器人 (`dingtalk://SECRET@TOKEN`), signed with its secret (加签) when one is given."""

    def send(self, body, title="", notify_type=None, body_format=None, **kwargs) -> bool:  # noqa: ANN001, ANN003
        payload = {"msgtype": "text", "text": {"content": body}, "at": {"atMobiles": self.targets, "isAtAll": False}}
        params = None
        if self.secret:
            timestamp, signature = self.get_signature()
            params = {"timestamp": timestamp, "sign": requests.utils.unquote(signature)}
        return self.post_checked(self.endpoint(self.notify_url.format(token=self.token)), payload, params)

    @staticmethod
    def parse_url(url: Any, *args: Any, **kwargs: Any) -> Any:
        return DingTalkBot.with_base(NotifyDingTalk.parse_url(url, *args, **kwargs))


class FeishuBot(_ReplyChecked, NotifyFeishu):
    """飞书群机器人 (`feishu://TOKEN`); its replies carry `code` (newer) or `StatusCode` (older)."""

    code_fields = ("code", "StatusCode")

    def send(self, body, title="", notify_type=None, **kwargs) -> bool:  # noqa: ANN001, ANN003
        payload = {"msg_type": "text", "content": {"text": body}}
        return self.post_checked(self.endpoint(self.notify_url.format(token=self.token)), payload)

    @staticmethod
    def parse_url(url: Any, *args: Any, **kwargs: Any) -> Any:
        return FeishuBot.with_base(NotifyFeishu.parse_url(url, *args, **kwargs))


N_MGR = NotificationManager()  # a singleton: the same manager Apprise resolves schemas with
_registered = False
_register_lock = threading.Lock()


def register_plugins() -> None:
    """Make Apprise use duban's reply-checking plugins for wecombot://, dingtalk:// and feishu://."""
    global _registered
    with _register_lock:
        if _registered:
            return
        for plugin, schema in ((WeComBot, "wecombot"), (DingTalkBot, "dingtalk"), (FeishuBot, "feishu")):
            N_MGR.remove(schema)
            N_MGR.add(plugin, schemas=schema, force=True)
        _registered = True


@dataclass(frozen=True)
class Gate:
    """A rate-limited bot: its name in the database (a digest of its URL), its limit and its service."""

    bot: str
    limit: Limit
    service: str


class AppriseNotifier:
    """Sends an envelope to the channel a reference resolves to; says what the channel answered."""

    def __init__(self, resolve, limits: dict[str, Limit] | None = None) -> None:  # noqa: ANN001
        register_plugins()
        self.resolve = resolve
        self.limits = limits or {}
        self._plugins: dict[str, object] = {}
        self._lock = threading.Lock()
        self._capture_lock = threading.Lock()

    def gate(self, channel: str) -> Gate | None:
        """The bot behind a channel and its rate limit, when it is a rate-limited bot (wecombot, dingtalk …)."""
        try:
            url = self.resolve(channel)
        except UnknownChannel:
            return None
        service = url.partition("://")[0].lower()
        limit = self.limits.get(service)
        return Gate(channel_digest(url), limit, service) if limit else None

    def misconfigured(self, channel: str) -> str | None:
        """What keeps duban from sending on `channel` at all (its reference unset, its URL unreadable), or None."""
        try:
            url = self.resolve(channel)
        except UnknownChannel as exc:
            return MASKER.mask(str(exc))
        if channel.startswith("mail:"):  # a mailbox's plugin is made once, at its post (which says if it cannot be)
            return None
        if self._plugin(url) is None:
            return unreadable(channel, url)
        return None

    def split(self, channel: str, envelope: Envelope) -> list[str]:
        """The posts a message takes: bots take it in parts within their byte limit, e-mail whole."""
        try:
            service = self.resolve(channel).partition("://")[0].lower()
        except UnknownChannel:
            return [envelope.rendered.text]
        if service not in BYTE_LIMITS:
            return [envelope.rendered.text]
        return split_text(envelope.rendered.text, BYTE_LIMITS[service], envelope.key)

    def post(self, channel: str, envelope: Envelope, part: int, parts: list[str]) -> SendResult:
        """Post part `part` (1-based) of `parts` to a bot, or the whole message to e-mail and other channels."""
        try:
            url = self.resolve(channel)
        except UnknownChannel as exc:  # duban's configuration, not the channel's answer: fixed, the message goes
            return SendResult.misconfigured(MASKER.mask(str(exc)))
        plugin = self._plugin(url, keep=not channel.startswith("mail:"))  # one listed unit's mailbox: used once
        if plugin is None:
            return SendResult.misconfigured(unreadable(channel, url))
        try:
            if isinstance(plugin, _ReplyChecked):
                _local.result = None
                plugin.notify(body=parts[part - 1], title="", body_format=NotifyFormat.TEXT)
                result = _local.result or SendResult.failed("the bot plugin did not post (Apprise refused the body)")
                return SendResult(result.ok, MASKER.mask(result.detail)[:500], result.outcome, result.wait_s)
            return self._send_other(plugin, envelope)
        except Exception as exc:  # a plugin bug is a failed attempt, recorded and retried, never a lost message
            return SendResult.failed(MASKER.mask(f"{type(exc).__name__}: {exc}")[:500])

    def send(self, channel: str, envelope: Envelope) -> SendResult:
        """Every part in order, stopping at the first that does not go (for one-off sends and tests)."""
        parts = self.split(channel, envelope)
        details = []
        for number in range(1, len(parts) + 1):
            result = self.post(channel, envelope, number, parts)
            details.append((f"part {number}/{len(parts)}: " if len(parts) > 1 else "") + result.detail)
            if not result.ok:
                return SendResult(False, "; ".join(details)[:500], result.outcome, result.wait_s)
        return SendResult(True, "; ".join(details)[:500])

    def _send_other(self, plugin, envelope: Envelope) -> SendResult:  # noqa: ANN001
        """E-mail and any other Apprise URL: subject, text and HTML; the detail is the server's own reply.

        Apprise logs only "Sending email … failed" as a warning and the SMTP server's answer (`(535, b'5.7.8
        Authentication credentials invalid')`) at debug level: duban keeps the server's words and reads its code.
        """
        html = isinstance(plugin, NotifyEmail)
        body = render_html(envelope.rendered) if html else envelope.rendered.text
        with self._capture_lock, _kept_here(), apprise.LogCapture(level=logging.DEBUG) as captured:
            ok = plugin.notify(
                body=body, title=envelope.rendered.subject, body_format=NotifyFormat.HTML if html else NotifyFormat.TEXT
            )
            logged = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
        if ok:
            return SendResult(True, "accepted")
        raw = [line.split("Socket Exception:", 1)[1] for line in logged if "Socket Exception:" in line]
        answers = [_smtp_words(text) for text in raw]
        warnings = [
            _LOG_PREFIX.sub("", line)
            for line in logged
            if "Socket Exception:" not in line and " - DEBUG - " not in line
        ]
        detail = MASKER.mask("; ".join(answers + warnings[:2]) or "refused (Apprise logged no reason)")[:500]
        if html and answers:
            code = smtp_code(raw[0])
            if code is None and "timed out" in answers[0]:
                return SendResult.unknown(f"SMTP: {detail}: it may have been accepted")
            return SendResult(False, f"SMTP {code}: {detail}" if code else f"SMTP: {detail}", classify_smtp(code))
        return SendResult.failed(detail)

    def _plugin(self, url: str, keep: bool = True):  # noqa: ANN202
        """The Apprise plugin of `url`, kept for the next post unless `keep` is False (a mailbox of a 名录's
        million, which would otherwise each keep one for the dispatcher's life)."""
        if not keep:
            return _instance(url)
        with self._lock:
            if url not in self._plugins:
                self._plugins[url] = _instance(url)
            return self._plugins[url]


def unreadable(channel: str, url: str) -> str:
    """Why Apprise cannot send to the URL behind `channel`, naming where the URL is kept and only its scheme (the
    rest may be a key): `env:XY_WECOM：环境变量 XY_WECOM 中的 wecombot:// 地址不完整或格式不对（如缺少机器人密钥）`."""
    kind, _, name = channel.partition(":")
    where = {
        "env": f"环境变量 {name} 中的",
        "secret": f"Prefect Secret {name!r} 中的",
        "mail": "DUBAN_MAIL_SENDER 所指的",
    }.get(kind, "")
    scheme, sep, _rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,31}", scheme):
        return f"{channel}：{where}值不是 Apprise 地址（应形如 wecombot://KEY、dingtalk://TOKEN、mailtos://…）"
    if scheme.lower() not in N_MGR:
        return f"{channel}：{where}地址以 {scheme}:// 开头，Apprise 不支持这种渠道"
    return f"{channel}：{where} {scheme.lower()}:// 地址不完整或格式不对（如缺少机器人密钥）".replace("： ", "：")


def _instance(url: str):  # noqa: ANN202
    """A new Apprise plugin for `url` (None if Apprise cannot send to it), never pausing between posts."""
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is not None and getattr(plugin, "request_rate_per_sec", None):
        plugin.request_rate_per_sec = 0  # duban's rate limits govern (see module docstring)
    return plugin


@contextlib.contextmanager
def _kept_here():
    """Apprise's records of one e-mail post, DEBUG included, go to duban's capture only (not to the console and
    Prefect's logs, where they repeat the SMTP login and the recipient); its level and propagation come back after."""
    level, propagate = APPRISE_LOG.level, APPRISE_LOG.propagate
    APPRISE_LOG.propagate = False
    try:
        yield
    finally:
        APPRISE_LOG.setLevel(level)
        APPRISE_LOG.propagate = propagate
