"""Channel secrets: resolve a reference to its Apprise URL and keep the URL out of every text duban writes.

A spec or overlay names a channel (`env:DUBAN_XIYANG_WECOM`, `secret:xiyang-wecom`); the URL with the bot
key lives only in the environment or a Prefect Secret block. Each URL resolved is registered with the masker,
which replaces the URL and its secret parts (keys, tokens, passwords) by `***` in log records, delivery
details, exceptions and artifacts. Unresolvable references fail with the reference's name, never a value.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET = 6  # shorter fragments (ports, "json") would mask ordinary words
_SECRET_ARGS = {"key", "token", "access_token", "secret", "pass", "password", "sign", "user"}


class Masker:
    """Remembers secret strings and blanks them out of any text.

    The secrets sit in a character trie, so registering one costs its length and masking costs the text's
    length (times the few characters a false start walks): a national campaign registers tens of thousands
    of bot URLs, one at a time as the dispatcher first meets them, and a regular expression recompiled on
    each would cost quadratic time. At each position the longest registered secret wins.
    """

    _END = ""  # the trie key that marks the end of a secret (secrets are never empty)

    def __init__(self) -> None:
        self._trie: dict[str, dict] = {}
        self._lock = threading.Lock()

    def register_url(self, url: str) -> None:
        """Register a channel URL: the whole URL and each credential-like part of it."""
        parts = {url}
        try:
            split = urlsplit(url)
        except ValueError:
            split = None
        if split is not None and split.scheme and not (split.netloc or split.path or split.query):
            return  # a scheme alone (`wecombot://`, a variable left unfinished) holds no secret: masking it would
            # blank the scheme of every URL and message that names one
        if split is not None:
            parts |= {split.password or ""}
            host = split.netloc.rpartition("@")[2]
            if split.scheme in ("http", "https"):  # a webhook's host is public; its path holds the token
                parts |= {unquote(segment) for segment in split.path.split("/")}
            elif split.scheme not in ("mailto", "mailtos"):  # bot schemes: wecombot://KEY, dingtalk://SECRET@TOKEN
                parts |= {split.netloc, host, split.username or ""}
                parts |= {unquote(segment) for segment in split.path.split("/")}
            parts |= {value for name, value in parse_qsl(split.query) if name.lower() in _SECRET_ARGS}
            # and as written (s%26cret): a URL built from this one (mail:ADDRESS) carries the query undecoded
            raw = (p.partition("=") for p in split.query.split("&"))
            parts |= {value for name, _eq, value in raw if unquote(name).lower() in _SECRET_ARGS}
        self.register(*parts)

    def register(self, *secrets: str) -> None:
        with self._lock:
            for secret in secrets:
                if not secret or len(secret) < _MIN_SECRET:
                    continue
                node = self._trie
                for char in secret:
                    node = node.setdefault(char, {})
                node[self._END] = {}

    def _match_end(self, text: str, start: int) -> int:
        """The end of the longest secret starting at `start`, or 0."""
        node, end, at = self._trie.get(text[start]), 0, start
        while node is not None:
            at += 1
            if self._END in node:
                end = at
            if at == len(text):
                break
            node = node.get(text[at])
        return end

    def mask(self, text: str) -> str:
        """`text` with every registered secret replaced by ***."""
        if not self._trie or not text:
            return text
        out, start, at, trie = [], 0, 0, self._trie
        while at < len(text):
            end = self._match_end(text, at) if text[at] in trie else 0
            if end:
                out += [text[start:at], MASK]
                start = at = end
            else:
                at += 1
        if not out:
            return text
        out.append(text[start:])
        return "".join(out)

    def __contains__(self, text: str) -> bool:
        trie = self._trie
        return any(text[at] in trie and self._match_end(text, at) for at in range(len(text)))


MASKER = Masker()


class MaskingFilter(logging.Filter):
    """A logging filter that renders each record's message once, masked, so no handler sees the secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error path
            return True
        masked = MASKER.mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if MASKER.mask(text) != text:
                record.exc_text = MASKER.mask(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


_installed = False


def install_log_masking() -> None:
    """Mask secrets in every record of the root logger's handlers and of Apprise's and Prefect's loggers."""
    global _installed
    if _installed:
        return
    _installed = True
    masking = MaskingFilter()
    for name in ("", "apprise", "prefect", "urllib3", "requests", "duban"):
        logger = logging.getLogger(name)
        logger.addFilter(masking)
        for handler in logger.handlers:
            handler.addFilter(masking)
    # Records of child loggers skip their parents' logger filters: patch the factory so all pass through.
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):  # noqa: ANN002, ANN003
        record = previous(*args, **kwargs)
        masking.filter(record)
        return record

    logging.setLogRecordFactory(factory)


class UnknownChannel(LookupError):
    """A channel reference that does not resolve: says which reference and where to define it."""


def resolver(
    lookup_env: Callable[[str], str | None],
    lookup_secret: Callable[[str], str | None],
    mail_sender: str | None = None,
):
    """A function from a reference (env:NAME, secret:NAME, mail:ADDRESS) to its URL, registering the URL for
    masking. `mail:ADDRESS` is the URL of `mail_sender` (a reference to an SMTP account, DUBAN_MAIL_SENDER) sent to
    that address."""

    cache: dict[str, str] = {}

    def resolve(ref: str) -> str:
        if ref in cache:
            return cache[ref]
        kind, _, name = ref.partition(":")
        if kind == "mail":  # not cached: a 名录 names a mailbox per enterprise, a million of them
            return _mailed(ref, name, mail_sender, resolve)
        if kind == "env":
            url = lookup_env(name)
            where = f"the environment variable {name}"
        elif kind == "secret":
            url = lookup_secret(name)
            where = f"the Prefect Secret block {name!r}"
        else:
            raise UnknownChannel(f"channel {ref}: not a reference (write env:NAME or secret:NAME)")
        if not url:
            raise UnknownChannel(f"channel {ref}: {where} is not set; put the channel's Apprise URL there")
        url = url.strip()
        MASKER.register_url(url)
        cache[ref] = url
        return url

    return resolve


def _mailed(ref: str, address: str, sender: str | None, resolve: Callable[[str], str]) -> str:
    """The sender account's mailto(s):// URL with `address` as its only recipient; the URL itself is registered
    with the masker already (as the sender's), and its password is all of it that is secret."""
    if not sender:
        raise UnknownChannel(
            f"channel {ref}: e-mail to a unit's own address goes out through DUBAN_MAIL_SENDER, which is not set; "
            "name the SMTP account there (env:NAME or secret:NAME holding its mailtos://user:pass@host?from=… URL)"
        )
    url = resolve(sender)
    split = urlsplit(url)
    if split.scheme.lower() not in ("mailto", "mailtos"):
        raise UnknownChannel(f"channel {ref}: DUBAN_MAIL_SENDER ({sender}) is not a mailto:// or mailtos:// URL")
    # the sender's own query kept as written (a password in it stays the text the masker knows), its recipients not
    kept = [p for p in split.query.split("&") if p and unquote(p.partition("=")[0]).lower() not in ("to", "cc", "bcc")]
    return urlunsplit(split._replace(query="&".join([*kept, f"to={quote(address, safe='@')}"])))
