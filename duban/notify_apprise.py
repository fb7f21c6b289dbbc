"""Delivery over Apprise: WeCom, DingTalk and Feishu group bots that read the reply, and e-mail.

Apprise's own wecombot, dingtalk and feishu plugins count any HTTP 200 as sent; their servers answer 200 with
`{"errcode": 45009, "errmsg": "api freq out of limit"}` when they refuse. duban registers plugins for the same
URL schemes that post the same payloads and succeed only on errcode 0 (Feishu: code 0), keeping the
server's error text for the delivery record. They do not sleep between sends (`request_rate_per_sec = 0`):
duban's per-bot limits, kept in the database, hold across processes instead.

`?base=http://gateway:port` on a bot URL sends through an intranet gateway (or a local test server) instead
of the public host. Every detail is masked: no key or password leaves this module in a text.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
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

from duban.messages import render_html, split_text
from duban.notify import Envelope, SendResult
from duban.ratelimit import Limit
from duban.secrets import MASKER, UnknownChannel

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


class _ReplyChecked:
    """Mixin: post JSON, then believe only the reply's error code."""

    request_rate_per_sec = 0  # duban's database-kept limits govern; Apprise must not sleep as well
    body_maxlen = 1_000_000  # duban splits long messages itself and marks the parts; never truncate
    code_fields = ("errcode",)
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
        _local.detail = ""
        try:
            split = urlsplit(url)
            reply = _session().post(
                url, data=orjson.dumps(payload), params=params, timeout=self.request_timeout,
                proxies=_proxies(f"{split.scheme}://{split.netloc}"),
                headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "duban"},
            )  # fmt: skip
        except requests.Timeout:
            _local.detail = f"no reply within {self.socket_read_timeout:g} s (timeout)"
            return False
        except requests.RequestException as exc:
            _local.detail = f"connection failed: {type(exc).__name__}: {exc}"
            return False
        if reply.status_code != 200:
            _local.detail = f"HTTP {reply.status_code}: {reply.text[:200]}"
            return False
        try:
            body = reply.json()
        except ValueError:
            _local.detail = f"HTTP 200 but the reply is not JSON: {reply.text[:200]!r}"
            return False
        code = next((body[f] for f in self.code_fields if isinstance(body, dict) and f in body), None)
        message = body.get("errmsg") or body.get("msg") or body.get("StatusMessage") or "" if isinstance(body, dict) else ""
        if code != 0:
            _local.detail = f"errcode {code}: {message}" if code is not None else f"reply without errcode: {body!r}"[:300]
            return False
        _local.detail = f"errcode 0: {message or 'ok'}"
        return True

    @classmethod
    def with_base(cls, results: dict | None) -> dict | None:
        if results and results.get("qsd", {}).get("base"):
            results["base"] = results["qsd"]["base"]
        return results


class WeComBot(_ReplyChecked, NotifyWeComBot):
    """企业微信群机器人 (`wecombot://KEY`), text messages."""

    def send(self, body, title="", notify_type=None, **kwargs) -> bool:  # noqa: ANN001, ANN003
        payload = {"msgtype": "text", "text": {"content": body}}
        return self.post_checked(self.endpoint(self.api_url), payload)

    @staticmethod
    def parse_url(url):  # noqa: ANN001, ANN205
        return WeComBot.with_base(NotifyWeComBot.parse_url(url))


class DingTalkBot(_ReplyChecked, NotifyDingTalk):
    """钉钉群机器人 (`dingtalk://SECRET@TOKEN`), signed with its secret (加签) when one is given."""

    def send(self, body, title="", notify_type=None, **kwargs) -> bool:  # noqa: ANN001, ANN003
        payload = {"msgtype": "text", "text": {"content": body}, "at": {"atMobiles": self.targets, "isAtAll": False}}
        params = None
        if self.secret:
            timestamp, signature = self.get_signature()
            params = {"timestamp": timestamp, "sign": requests.utils.unquote(signature)}
        return self.post_checked(self.endpoint(self.notify_url.format(token=self.token)), payload, params)

    @staticmethod
    def parse_url(url):  # noqa: ANN001, ANN205
        return DingTalkBot.with_base(NotifyDingTalk.parse_url(url))


class FeishuBot(_ReplyChecked, NotifyFeishu):
    """飞书群机器人 (`feishu://TOKEN`); its replies carry `code` (newer) or `StatusCode` (older)."""

    code_fields = ("code", "StatusCode")

    def send(self, body, title="", notify_type=None, **kwargs) -> bool:  # noqa: ANN001, ANN003
        payload = {"msg_type": "text", "content": {"text": body}}
        return self.post_checked(self.endpoint(self.notify_url.format(token=self.token)), payload)

    @staticmethod
    def parse_url(url):  # noqa: ANN001, ANN205
        return FeishuBot.with_base(NotifyFeishu.parse_url(url))


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


class AppriseNotifier:
    """Sends an envelope to the channel a reference resolves to; says what the channel answered."""

    def __init__(self, resolve, limits: dict[str, Limit] | None = None) -> None:  # noqa: ANN001
        register_plugins()
        self.resolve = resolve
        self.limits = limits or {}
        self._plugins: dict[str, object] = {}
        self._lock = threading.Lock()
        self._capture_lock = threading.Lock()

    def limit_for(self, channel: str) -> tuple[str, Limit] | None:
        """The bot's URL and its rate limit when the channel is a rate-limited bot (wecombot, dingtalk …)."""
        try:
            url = self.resolve(channel)
        except UnknownChannel:
            return None
        limit = self.limits.get(url.partition("://")[0].lower())
        return (url, limit) if limit else None

    def send(self, channel: str, envelope: Envelope) -> SendResult:
        try:
            url = self.resolve(channel)
        except UnknownChannel as exc:
            return SendResult(False, MASKER.mask(str(exc)))
        plugin = self._plugin(url)
        if plugin is None:
            return SendResult(False, f"channel {channel}: its URL is not one Apprise can send to")
        try:
            if isinstance(plugin, _ReplyChecked):
                return self._send_bot(plugin, envelope)
            return self._send_other(plugin, envelope)
        except Exception as exc:  # a plugin bug is a failed attempt, recorded and retried, never a lost message
            return SendResult(False, MASKER.mask(f"{type(exc).__name__}: {exc}")[:500])

    def _send_bot(self, plugin: _ReplyChecked, envelope: Envelope) -> SendResult:
        parts = split_text(envelope.rendered.text, BYTE_LIMITS.get(plugin.secure_protocol, 18000))
        details = []
        for number, part in enumerate(parts, 1):
            ok = plugin.notify(body=part, title="", body_format=NotifyFormat.TEXT)
            detail = MASKER.mask(getattr(_local, "detail", "") or "")
            label = f"part {number}/{len(parts)}: " if len(parts) > 1 else ""
            details.append(label + detail)
            if not ok:
                return SendResult(False, "; ".join(details)[:500])
        return SendResult(True, "; ".join(details)[:500])

    def _send_other(self, plugin, envelope: Envelope) -> SendResult:  # noqa: ANN001
        """E-mail and any other Apprise URL: subject, text and HTML; the detail is what Apprise logged."""
        html = isinstance(plugin, NotifyEmail)
        body = render_html(envelope.rendered) if html else envelope.rendered.text
        with self._capture_lock, apprise.LogCapture(level=logging.WARNING) as captured:
            ok = plugin.notify(body=body, title=envelope.rendered.subject,
                               body_format=NotifyFormat.HTML if html else NotifyFormat.TEXT)  # fmt: skip
            logged = captured.getvalue().strip().replace("\n", " | ")
        detail = logged or ("accepted" if ok else "refused (Apprise logged no reason)")
        return SendResult(ok, MASKER.mask(detail)[:500])

    def _plugin(self, url: str):  # noqa: ANN202
        with self._lock:
            if url not in self._plugins:
                plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
                if plugin is not None and getattr(plugin, "request_rate_per_sec", 0):
                    plugin.request_rate_per_sec = 0  # duban's rate limits govern (see module docstring)
                self._plugins[url] = plugin
            return self._plugins[url]
