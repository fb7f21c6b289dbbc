"""What a person writes into the 督办 loop (a 退回 reason, a 延期 reason, a decision's note): at most WORDS_LIMIT
characters at every door (the CLI, the unit's page, a parent's page, /ops), refused whole rather than cut."""

from __future__ import annotations

from duban.domain.unseen import first_unseen, visible
from duban.errors import RequestError

__all__ = ["WORDS_LIMIT", "bounded", "visible"]

WORDS_LIMIT = 1000
"""A reason or note longer than this is refused (the unit reads it in a message and on its page)."""


def bounded(text: str | None, *, option: str, field: str) -> str | None:
    """`text` stripped, its line breaks and tabs each one space (None when blank); a RequestError naming the CLI
    `option` and the portal's `field` when it is longer than WORDS_LIMIT characters, or holds a character nobody
    sees: a terminal's escape (ESC[31m), a bell, a text-direction override (U+202E turns 同意 into 意同) or a
    zero-width one. A message quotes the text after 退回原因： — a line break in it would start a line of its own
    that reads as duban's (伪造：同意延期)."""
    text = " ".join((text or "").split()) or None
    if text is not None and len(text) > WORDS_LIMIT:
        raise RequestError(
            f"{option}: {len(text):,} characters; write at most {WORDS_LIMIT:,}",
            cn=f"{field}不超过{WORDS_LIMIT}字",
        )
    code = first_unseen(text)
    if code is not None:
        raise RequestError(
            f"{option}: holds {code}, a character that is not seen (a control or text-direction character): remove it",
            cn=f"{field}含有看不见的字符（{code}），请删除后重新填写",
        )
    return text
