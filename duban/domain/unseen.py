"""Characters nobody sees: a terminal's escape (ESC[31m), a bell, a text-direction override (U+202E turns 同意 into
意同), a zero-width one. What a person types is refused when it holds one (services.written, the score form and the
score-sheet import); what is shown of a stored value writes each as \\uXXXX (the audit log, the CLI, the report's
xlsx, which openpyxl refuses a control character in)."""

from __future__ import annotations

import unicodedata

UNSEEN = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
"""Unicode categories of characters a name or a reason never needs: controls, format characters (zero-width, bidi
overrides), surrogates, private use, line and paragraph separators (whitespace is folded before the check)."""


def first_unseen(text: str | None, *, keep: str = "") -> str | None:
    """The first character of `text` nobody sees (except those in `keep`), written U+XXXX; None when there is none."""
    found = next((c for c in text or "" if unicodedata.category(c) in UNSEEN and c not in keep), None)
    return None if found is None else f"U+{ord(found):04X}"


def visible(text: str, *, keep: str = "") -> str:
    """`text` with every character nobody sees (except those in `keep`) written as \\uXXXX: a stored value shows as
    it was sent, never as a terminal escape or a reversed line."""
    if not any(unicodedata.category(c) in UNSEEN and c not in keep for c in text):
        return text
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in UNSEEN and c not in keep else c for c in text)
