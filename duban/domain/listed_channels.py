"""A listed unit's channels (名录's 邮箱/通知渠道 column): where the messages to an enterprise go.

A cell holds the unit's e-mail address (wangfang@xiyang.gov.cn, kept as the reference mail:wangfang@xiyang.gov.cn)
or a channel reference defined outside the list (env:NAME, secret:NAME — a key enterprise's WeCom group, its URL
in that environment variable or Prefect Secret), several separated by ; or 、 and tried in that order. Never a URL:
a bot's key in a list file would be copied into every export, spec folder and database backup.
"""

from __future__ import annotations

import re
import unicodedata

from duban.domain.channel_refs import ADDRESS_CHARS, email_problem, reference_problem

_SEPARATORS = re.compile(r"[;；,，、\s]+")
_KEYED = ("://", "key=", "access_token=", "secret=", "password=", "token=")
NONE_SAID = frozenset({"无", "暂无", "没有", "-", "--", "—", "/", "／"})
"""What an export writes in a cell of a unit with no mailbox: no channel, as an empty cell."""
MAX_CHANNELS = 5
"""Channels one listed unit may name: they are tried in turn, and a sixth would never be reached in practice."""


def listed_channels(cell: str) -> tuple[tuple[str, ...], str | None]:
    """The channel references a cell names, in order, and what is wrong with it (None when all are right).

    The error never quotes a value that could hold a key or a password: only an address (see _quoted)."""
    refs: list[str] = []
    if cell.strip() in NONE_SAID:
        return (), None
    for entry in filter(None, _SEPARATORS.split(unicodedata.normalize("NFKC", cell))):  # ＠ and ｘ typed full width
        lowered = entry.lower()
        if any(marker in lowered for marker in _KEYED) or re.match(r"[a-z][a-z0-9+.-]*://", lowered):
            return (), (
                "渠道 holds a URL (with its key?): a list names a channel, it never holds its key — write the unit's "
                "e-mail address, or env:NAME / secret:NAME with the URL in that environment variable or Prefect "
                "Secret"
            )
        if lowered.startswith(("env:", "secret:", "mail:")) or lowered == "sink":
            wrong = reference_problem(entry)
            if wrong:
                return (), f"渠道 {_quoted(entry)}is not a channel reference: {wrong}"
            refs.append(entry)
        elif "@" in entry:
            if lowered.startswith("mailto:"):  # a spreadsheet's link to the address (mailto:wang@…), not a URL
                entry = entry[len("mailto:") :]
            wrong = email_problem(entry)
            if wrong:
                return (), f"渠道 {_quoted(entry)}is not an e-mail address: {wrong}"
            local, _at, domain = entry.rpartition("@")
            refs.append(f"mail:{local}@{domain.lower()}")
        else:
            return (), (
                f"渠道 {_quoted(entry)}is neither an e-mail address (name@xiyang.gov.cn) nor a channel reference "
                "(env:NAME, secret:NAME)"
            )
    if len(refs) > MAX_CHANNELS:
        return (), f"渠道 names {len(refs)} channels: at most {MAX_CHANNELS}, tried in turn"
    return tuple(dict.fromkeys(refs)), None


def _quoted(entry: str) -> str:
    """The entry quoted, followed by a space, when it may be shown, else nothing: an address (an @ and an address's
    characters only) is shown; anything else may be a key pasted into the wrong column (693a91f6-…)."""
    return f"{entry[:60]!r} " if "@" in entry and ADDRESS_CHARS.fullmatch(entry) else ""


def shown_channels(refs: tuple[str, ...] | list[str]) -> str:
    """Channels as a list writes them: an address as itself, a reference as it is."""
    return "；".join(ref.removeprefix("mail:") for ref in refs)
