"""Notifiers: how a rendered message reaches a channel. A protocol, the local sink, and a recording fake.

Channels are references: `sink` (the local message file under the data dir), `env:NAME` or `secret:NAME`
(an Apprise URL kept outside the spec and the database). The dispatcher picks a notifier per reference.

A post has one of six outcomes, and each means something different to the message (duban.services.dispatch):

    ok        the channel said it took the post
    failed    it did not arrive and may be tried again (a 500, a refused connection): backoff, dead after N tries
    unknown   the post went out and no answer came (a timeout after sending): it may have arrived; tried once more
    limited   the bot's rate limit refused it (WeCom 45009 …): wait for the bot's next free slot, never dead for it
    refused   the channel will never take it (an invalid webhook, a bad signature, SMTP 535): dead at once
    misconfigured  nothing was posted: duban's own configuration of the channel cannot be used (its variable is
              not set, or holds a URL Apprise cannot read): the message waits, no try counted, until it is fixed
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from duban.domain.message_keys import message_number
from duban.domain.messages import Rendered
from duban.instants import fmt

OUTCOMES = ("ok", "failed", "unknown", "limited", "refused", "misconfigured")


@dataclass(frozen=True)
class SendResult:
    """What a channel answered to one post: the outcome, its own words, and how long a limited bot asks to wait."""

    ok: bool
    detail: str = ""
    outcome: str = ""  # one of OUTCOMES; by default ok or failed after `ok`
    wait_s: float | None = None

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", "ok" if self.ok else "failed")

    @classmethod
    def failed(cls, detail: str) -> SendResult:
        return cls(False, detail, "failed")

    @classmethod
    def unknown(cls, detail: str) -> SendResult:
        return cls(False, detail, "unknown")

    @classmethod
    def limited(cls, detail: str, wait_s: float) -> SendResult:
        return cls(False, detail, "limited", wait_s)

    @classmethod
    def refused(cls, detail: str) -> SendResult:
        return cls(False, detail, "refused")

    @classmethod
    def misconfigured(cls, detail: str) -> SendResult:
        return cls(False, detail, "misconfigured")


@dataclass(frozen=True)
class Envelope:
    """What a notifier sends: the rendered message, its key, and who and when it is for."""

    key: str
    recipient: str
    recipient_display: str
    kind: str
    rendered: Rendered
    at: str  # ISO instant of the send (the dispatcher's clock)
    tz: str = "Asia/Shanghai"  # the campaign's zone, for showing `at` to people


class Notifier(Protocol):
    """A channel's adapter. `send` posts a whole message; a notifier whose channels take long messages in parts
    (group bots) also offers `split` (the posts a message takes, in order) and `post` (one of them), so the
    dispatcher can record each part and take a rate-limit slot for each post; `gate` names the bot and its limit."""

    def send(self, channel: str, envelope: Envelope) -> SendResult: ...


def parts_of(notifier: Notifier, channel: str, envelope: Envelope) -> list[str]:
    """The posts a message takes on a channel, in order (one, unless the notifier splits it)."""
    split = getattr(notifier, "split", None)
    return split(channel, envelope) if split else [envelope.rendered.text]


def misconfigured(notifier: Notifier, channel: str) -> str | None:
    """Why duban's own configuration of `channel` cannot be used (nothing would be posted), or None."""
    check = getattr(notifier, "misconfigured", None)
    return check(channel) if check else None


def post_part(notifier: Notifier, channel: str, envelope: Envelope, part: int, parts: list[str]) -> SendResult:
    """Post part `part` (1-based) of `parts`; a notifier that does not split sends the whole message."""
    post = getattr(notifier, "post", None)
    return post(channel, envelope, part, parts) if post else notifier.send(channel, envelope)


class SinkNotifier:
    """Appends each message to `messages.txt` (for people) and `messages.jsonl` (for tools) in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    def send(self, channel: str, envelope: Envelope) -> SendResult:
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {
            "at": envelope.at,
            "key": envelope.key,
            "to": envelope.recipient,
            "to_display": envelope.recipient_display,
            "kind": envelope.kind,
            "subject": envelope.rendered.subject,
            "text": envelope.rendered.text,
        }
        when = fmt(datetime.fromisoformat(envelope.at), envelope.tz)
        block = (
            f"──── {when} → {envelope.recipient_display} ({envelope.recipient}) [{envelope.kind}] "
            f"{message_number(envelope.key)}\n"
            f"{envelope.rendered.text}\n"
        )
        with self._lock:
            with (self.folder / "messages.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            with (self.folder / "messages.txt").open("a", encoding="utf-8") as handle:
                handle.write(block)
        return SendResult(True, f"written to {self.folder / 'messages.txt'}")


@dataclass
class RecordingNotifier:
    """A fake for tests: remembers what was sent per channel; can be told to fail (or refuse for good) some."""

    sent: dict[str, list[Envelope]] = field(default_factory=lambda: defaultdict(list))
    refuse: set[str] = field(default_factory=set)  # these fail each post (a channel that is down)
    reject: set[str] = field(default_factory=set)  # these refuse for good (an invalid bot key)

    def send(self, channel: str, envelope: Envelope) -> SendResult:
        if channel in self.reject:
            return SendResult.refused(f"{channel} refused the message for good (test)")
        if channel in self.refuse:
            return SendResult.failed(f"{channel} refused the message (test)")
        self.sent[channel].append(envelope)
        return SendResult(True, "recorded")
