"""Channel references as specs and settings write them: sink, env:NAME, secret:NAME — never a URL with its key."""

from __future__ import annotations

import re

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SECRET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")  # a Prefect block's name: lower case, digits, dashes


def reference_problem(ref: str) -> str | None:
    """What is wrong with a channel reference (None: sink, env:NAME of an environment variable, secret:NAME of a
    Prefect Secret block). Said without the reference itself, which a caller may not echo (a settings value)."""
    kind, colon, name = ref.partition(":") if isinstance(ref, str) else ("", "", "")
    if ref == "sink":
        return None
    if not colon or kind not in ("env", "secret"):
        return "write env:NAME, secret:NAME or sink"
    if kind == "env" and not _ENV_NAME.fullmatch(name):
        return "after env: comes an environment variable's name: letters, digits and _, not starting with a digit"
    if kind == "secret" and not _SECRET_NAME.fullmatch(name):
        return "after secret: comes a Prefect Secret block's name: lower-case letters, digits and -"
    return None
