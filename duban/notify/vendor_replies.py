"""What a vendor's answer means for a message: its codes read as the vendors document them.

WeCom, DingTalk and Feishu group bots answer HTTP 200 whether they took a post or not; the body's error code
says which. A code is one of: success; the bot's rate limit (wait for its next free slot — never a reason to
give up on a message); a refusal that will not change however often the post is repeated (an invalid webhook,
a wrong signature, keywords the bot requires, an IP not on its list: dead at once, with the vendor's words);
or anything else (a busy server): retried with backoff. SMTP's reply codes read the same way: 5xx is final,
4xx is worth another try.

Sources (each vendor's custom-bot documentation):
- 企业微信群机器人: 20 messages a minute per bot; 45009 "api freq out of limit"; 93000 "invalid webhook url";
  40058 content over 2,048 bytes or malformed; 40008 invalid message type; 44004 empty content; 60020 IP not allowed.
- 钉钉自定义机器人: 20 messages a minute, and a bot past it is throttled for 10 minutes; 130101 / 410100 "send too
  fast"; 300001 / 300005 "token is not exist"; 310000 keywords not in content, sign not match, ip not in whitelist;
  400013 the group was dissolved.
- 飞书自定义机器人: 100 a minute and 5 a second; 11232 frequency limited; 19001 invalid webhook token; 19002 bad
  message; 19021 sign match fail or timestamp stale; 19022 IP not allowed; 19024 keywords not found.
"""

from __future__ import annotations

import re

# service (Apprise URL scheme) → codes
RATE_LIMITED = {"wecombot": {45009}, "dingtalk": {130101, 410100}, "feishu": {11232}}
REFUSED = {
    "wecombot": {93000, 40058, 40008, 44004, 60020},
    "dingtalk": {300001, 300005, 310000, 400013},
    "feishu": {19001, 19002, 19021, 19022, 19024},
}
# How long a bot that said "too fast" is left alone before the next post (doubling while it keeps saying so).
PENALTY_S = {"wecombot": 60.0, "dingtalk": 600.0, "feishu": 60.0}
PENALTY_MAX_S = 1800.0

_SMTP_CODE = re.compile(r"\((\d{3}),")


def classify_code(service: str, code: int | None) -> str:
    """ok, limited, refused or failed, for a bot's error code."""
    if code == 0:
        return "ok"
    if code in RATE_LIMITED.get(service, ()):
        return "limited"
    if code in REFUSED.get(service, ()):
        return "refused"
    return "failed"


def classify_http(status: int) -> str:
    """A non-200 HTTP status from a bot endpoint: 429 is the rate limit, other 4xx final, 5xx worth retrying."""
    if status == 429:
        return "limited"
    if 400 <= status < 500 and status != 408:
        return "refused"
    return "failed"


def smtp_code(text: str) -> int | None:
    """The first SMTP reply code in an smtplib exception's text: `(535, b'5.7.8 …')` → 535."""
    found = _SMTP_CODE.search(text)
    return int(found.group(1)) if found else None


def classify_smtp(code: int | None) -> str:
    """5xx: the server will never take it (535 authentication, 550 no such mailbox); 4xx and no code: retry."""
    if code is not None and 500 <= code < 600:
        return "refused"
    return "failed"


def penalty(service: str, refusals_in_a_row: int) -> float:
    """Seconds to leave a bot alone after it said "too fast" `refusals_in_a_row` times in a row."""
    base = PENALTY_S.get(service, 60.0)
    return min(base * 2 ** max(refusals_in_a_row - 1, 0), max(PENALTY_MAX_S, base))
