"""Which notifier serves a channel reference. The local sink is built in; Apprise channels come next."""

from __future__ import annotations

from duban.notify import Notifier, SendResult, SinkNotifier
from duban.settings import Settings


class NotWired:
    """A channel kind this installation cannot deliver to yet: every attempt fails with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def send(self, channel, envelope) -> SendResult:  # noqa: ANN001
        return SendResult(False, self.reason)


def notifier_for(settings: Settings):
    """A function from a channel reference (sink, env:NAME, secret:NAME) to its notifier."""
    sink = SinkNotifier(settings.sink_dir)

    def pick(ref: str) -> Notifier:
        if ref == "sink":
            return sink
        return NotWired(f"channel {ref}: delivery over Apprise (WeCom/DingTalk/Feishu/e-mail) is not installed yet")

    return pick
