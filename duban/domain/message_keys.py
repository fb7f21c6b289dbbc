"""The idempotency key of a message: the same however often the intents it carries are composed.

Most messages carry one intent (a stage opening: one per unit); their key is built from that intent alone, in a
form the database can compute itself (SQLite has no hash function, see duban.store.composing): "s", a digest of
the campaign and the id in twelve hex digits, so that a stage opening's keys, in id order, go to the end of the
outbox's unique index one after another (a scrambled first part put each at a random place: a fifth of the
opening's time). Several intents: a digest of the campaign, the recipient and the ids.

The 编号 staff see (`message_number`) is a key's first 12 characters; a one-intent message's scrambles its id into
the first eight hex digits, so neighbouring messages do not look alike (the same 编号 the key itself began with
before the keys were ordered).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

KEY_MIX = 1540483477  # odd and below 2**31: (id mod 2**32) × KEY_MIX stays within a signed 64-bit integer
SINGLE = "s"  # the first character of a one-intent message's key (the other keys are hex digits)
_TAG = 20  # hex digits of the campaign's digest in a one-intent message's key


def message_key(campaign_id: str, recipient: str, intent_ids: Iterable[int], acks: Iterable[str] = ()) -> str:
    """The idempotency key of the message carrying these intents (the same however often it is composed), and
    these 签收 entries (`acks`: kind and row id, such as ack_reminder12; duban.services.acknowledgements), which
    have no intent: a 签收提醒 alone keeps the key it always had, one told with the unit's items of the same tick
    a key of both."""
    ids = sorted(intent_ids)
    signed = ",".join(sorted(acks))
    if not signed and len(ids) == 1:
        return f"{SINGLE}{campaign_tag(campaign_id)}{ids[0]:012x}"
    text = f"{campaign_id}|{recipient}|{','.join(map(str, ids))}"
    if signed:
        text = f"{text}|ack|{signed}" if ids else f"{campaign_id}|{recipient}|ack|{signed}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def message_number(key: str) -> str:
    """The 编号 at a message's foot and on each part of it: 12 characters that tell neighbouring messages apart."""
    if key.startswith(SINGLE) and len(key) > 1 + _TAG:
        intent_id = int(key[1 + _TAG :], 16)
        return f"{intent_id % 2**32 * KEY_MIX % 2**32:08x}{key[1:5]}"
    return key[:12]


NUMBER = re.compile(r"[0-9a-f]{12}")  # a 编号 as staff read it


def keys_of_number(number: str, campaign_ids: Iterable[str]) -> list[str]:
    """The one-intent keys whose 编号 is `number`, one per campaign it could belong to (the scrambling undone: the
    id's low 32 bits times KEY_MIX's inverse); a key of several intents or of a notice is found by its first 12
    characters instead."""
    low = int(number[:8], 16) * pow(KEY_MIX, -1, 2**32) % 2**32
    tags = (campaign_tag(c) for c in campaign_ids)
    return [f"{SINGLE}{tag}{low:012x}" for tag in tags if tag.startswith(number[8:12])]


def campaign_tag(campaign_id: str) -> str:
    """The campaign's part of a one-intent message's key."""
    return hashlib.sha256(campaign_id.encode()).hexdigest()[:_TAG]


def receipt_number(submission_id: int) -> str:
    """The portal's 回执编号 of a hand-in: R and its submission's id in at least six digits (R000013). A message's
    id is never written with a leading zero or a letter, so `duban outbox show` tells the two apart (the number
    was once printed without the R: 000013 is still taken as a 回执编号)."""
    return f"R{submission_id:06d}"
