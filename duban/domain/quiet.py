"""Quiet hours and urgency: when a message may go out. One rule for every caller.

Staff are not messaged at night: a message that is not urgent waits for the end of quiet hours (default
22:00–07:30 in the campaign's zone). The rule is applied twice with the same policy: when a message is composed
(its `not_before`) and again when the dispatcher is about to send it, because a backlog after an outage, a retry
or a bot's rate limit can bring a message to its send at 23:10 although it was composed at 21:00. Which kinds are
urgent (sent even at night) is the administrator's choice (`DUBAN_URGENT_KINDS`, e.g. `["escalation"]`); the tick,
the portal's receipts, `duban submit`, `duban amend`, simulate and the dispatcher all read it from this policy.
`DUBAN_QUIET_HOURS` empty, `off` or `none` means no quiet hours: every message goes when it is due.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from duban.instants import in_zone, utc

# Every kind a message can have (the most urgent of its items, or the operators' digest).
KINDS = (
    "escalation",
    "ack_escalation",
    "overdue",
    "ack_reminder",
    "returned",
    "amended",
    "corrected",
    "extended",
    "extension",
    "reminder",
    "opened",
    "accepted",
    "receipt",
    "digest",
    "bulletin",
)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
NO_QUIET_HOURS = ("", "off", "none")  # DUBAN_QUIET_HOURS= (empty, as a .env unsets a value), off or none
_NONE = (time(0), time(0))  # a span of no length: no instant is inside it


_DASHES = str.maketrans({"–": "-", "—": "-", "~": "-", "～": "-", "－": "-", "：": ":", "至": "-"})


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """'22:00-07:30' → (22:00, 07:30); '', 'off' or 'none' → no quiet hours (a span of no length, 00:00-00:00);
    anything else is a ValueError that says what is expected."""
    if (text or "").strip().lower() in NO_QUIET_HOURS:
        return _NONE
    # a dash as typed or copied from a document (22:00–07:30, 22:00—07:30, 22:00~07:30, 22：00－07：30) is a dash
    plain = text.strip().translate(_DASHES)
    start, sep, end = plain.partition("-")
    clocks = [_CLOCK.match(part.strip()) for part in (start, end)]
    if not sep or not all(clocks):
        midnight = " (write midnight as 00:00, not 24:00)" if "24:" in plain else ""
        raise ValueError(
            f"quiet hours must be two times of day HH:MM-HH:MM (hours 00–23, minutes 00–59), such as 22:00-07:30, "
            f"or off for none; got {text!r}{midnight}"
        )
    first, last = (time(int(m.group(1)), int(m.group(2))) for m in clocks)  # type: ignore[union-attr]
    if first == last:  # a typo more likely than a wish for no quiet hours, which is said as off
        raise ValueError(
            f"quiet hours {text!r} start and end at the same time: write a span such as 22:00-07:30, or off for none"
        )
    return first, last


def check_kinds(kinds: list[str]) -> list[str]:
    """The urgent kinds, refused when one is not a kind of message duban sends."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown message kind(s) {', '.join(map(repr, unknown))}: choose from {', '.join(KINDS)}")
    return kinds


@dataclass(frozen=True)
class QuietHours:
    """Quiet hours in a campaign's zone, and the kinds of message that are sent even then."""

    start: time = time(22, 0)
    end: time = time(7, 30)
    urgent: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str = "22:00-07:30", urgent: Iterable[str] = ()) -> QuietHours:
        start, end = parse_quiet_hours(text)
        return cls(start, end, frozenset(check_kinds(list(urgent))))

    def inside(self, moment: datetime, tz: str) -> bool:
        """Whether `moment` falls in the quiet hours; never when there are none (start and end alike)."""
        if self.start == self.end:
            return False
        now = in_zone(moment, tz).time()
        if self.start > self.end:  # across midnight: 22:00–07:30
            return self.start <= now or now < self.end
        return self.start <= now < self.end

    def end_after(self, moment: datetime, tz: str) -> datetime:
        """The end of the quiet hours `moment` falls in (UTC), or `moment` itself when it is outside them."""
        if not self.inside(moment, tz):
            return utc(moment)
        local = in_zone(moment, tz)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        release = local.set(
            year=day.year,
            month=day.month,
            day=day.day,
            hour=self.end.hour,
            minute=self.end.minute,
            second=0,
            microsecond=0,
        )
        return utc(release)

    def release(self, kind: str, moment: datetime, tz: str) -> datetime:
        """When a message of `kind` due to go out at `moment` may be sent: at once if urgent, else after the quiet."""
        return utc(moment) if kind in self.urgent else self.end_after(moment, tz)


DEFAULT = QuietHours()
