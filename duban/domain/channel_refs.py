"""Channel references as specs, settings and lists write them: sink, env:NAME, secret:NAME, mail:ADDRESS — never a
URL with its key.

`mail:ADDRESS` is a unit's own e-mail address (a 名录's 邮箱 column): the message goes out through the SMTP
account DUBAN_MAIL_SENDER names, to that address; the address holds no secret.
"""

from __future__ import annotations

import re

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SECRET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")  # a Prefect block's name: lower case, digits, dashes
# what a unit's mailbox looks like in a bureau's list (wangfang@xiyang.gov.cn, 12345678@qq.com): a plain ASCII local
# part (no quotes, no %, & or ?, which would change the mail URL it is sent through) and a domain of two labels or more
_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
ADDRESS_CHARS = re.compile(r"[A-Za-z0-9._+@-]+")
"""The characters of an address: a value of these alone may be quoted in an error (it is no key or password)."""


def email_problem(address: str) -> str | None:
    """What is wrong with an e-mail address, or None; said without the address (the caller quotes it if it may)."""
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return "an e-mail address is name@domain (one @, a name before it)"
    if "@" in local:
        return "an e-mail address has one @"
    if len(address) > 254 or len(local) > 64:
        return "longer than an e-mail address may be (64 characters before the @, 254 in all)"
    if not _LOCAL.fullmatch(local):
        return "before the @ come letters, digits and . _ + - (no space, no two dots in a row, no dot at either end)"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or not labels[-1].isalpha():
        return "after the @ comes a mail domain such as xiyang.gov.cn (letters, digits and -, parts joined by dots)"
    return None


def reference_problem(ref: str) -> str | None:
    """What is wrong with a channel reference (None: sink, env:NAME of an environment variable, secret:NAME of a
    Prefect Secret block, mail:ADDRESS of a unit's mailbox). Said without the reference itself, which a caller may
    not echo (a settings value)."""
    kind, colon, name = ref.partition(":") if isinstance(ref, str) else ("", "", "")
    if ref == "sink":
        return None
    if not colon or kind not in ("env", "secret", "mail"):
        return "write env:NAME, secret:NAME, mail:ADDRESS or sink"
    if kind == "env" and not _ENV_NAME.fullmatch(name):
        return "after env: comes an environment variable's name: letters, digits and _, not starting with a digit"
    if kind == "secret" and not _SECRET_NAME.fullmatch(name):
        return "after secret: comes a Prefect Secret block's name: lower-case letters, digits and -"
    if kind == "mail" and (wrong := email_problem(name)):
        return f"after mail: comes an e-mail address: {wrong}"
    return None
