"""What a person writes into the 督办 loop (a 退回 reason, a 延期 reason, a decision's note): at most WORDS_LIMIT
characters at every door (the CLI, the unit's page, a parent's page, /ops), refused whole rather than cut."""

from __future__ import annotations

from duban.errors import RequestError

WORDS_LIMIT = 1000
"""A reason or note longer than this is refused (the unit reads it in a message and on its page)."""


def bounded(text: str | None, *, option: str, field: str) -> str | None:
    """`text` stripped (None when blank); a RequestError naming the CLI `option` and the portal's `field` when it is
    longer than WORDS_LIMIT characters."""
    text = (text or "").strip() or None
    if text is not None and len(text) > WORDS_LIMIT:
        raise RequestError(
            f"{option}: {len(text):,} characters; write at most {WORDS_LIMIT:,}",
            cn=f"{field}不超过{WORDS_LIMIT}字",
        )
    return text
