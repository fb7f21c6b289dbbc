"""Notifiers: how a rendered message reaches a channel. A protocol, the local sink, and a recording fake.

Channels are references: `sink` (the local message file under the data dir), `env:NAME` or `secret:NAME`
(an Apprise URL kept outside the spec and the database). The dispatcher picks a notifier per reference.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from duban.instants import fmt
from duban.messages import Rendered


@dataclass(frozen=True)
class SendResult:
    ok: bool
    detail: str = ""


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
    def send(self, channel: str, envelope: Envelope) -> SendResult: ...


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
            f"──── {when} → {envelope.recipient_display} ({envelope.recipient}) [{envelope.kind}] {envelope.key[:12]}\n"
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
    """A fake for tests: remembers what was sent per channel; can be told to refuse some channels."""

    sent: dict[str, list[Envelope]] = field(default_factory=lambda: defaultdict(list))
    refuse: set[str] = field(default_factory=set)

    def send(self, channel: str, envelope: Envelope) -> SendResult:
        if channel in self.refuse:
            return SendResult(False, f"{channel} refused the message (test)")
        self.sent[channel].append(envelope)
        return SendResult(True, "recorded")
