"""The idempotency key of a message: the same however often the intents it carries are composed.

Most messages carry one intent (a stage opening: one per unit); their key is built from that intent alone, in a
form the database can compute itself (SQLite has no hash function, see duban.store.composing): the id scrambled
into eight hex digits (the 编号 staff see begins with them, so neighbouring messages do not look alike), a digest
of the campaign, the id in hex. Several intents: a digest of the campaign, the recipient and the ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

KEY_MIX = 1540483477  # odd and below 2**31: (id mod 2**32) × KEY_MIX stays within a signed 64-bit integer


def message_key(campaign_id: str, recipient: str, intent_ids: Iterable[int]) -> str:
    """The idempotency key of the message carrying these intents (the same however often it is composed)."""
    ids = sorted(intent_ids)
    if len(ids) == 1:
        return f"{ids[0] % 2**32 * KEY_MIX % 2**32:08x}{campaign_tag(campaign_id)}{ids[0]:x}"
    text = f"{campaign_id}|{recipient}|{','.join(map(str, ids))}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def campaign_tag(campaign_id: str) -> str:
    """The campaign's part of a one-intent message's key."""
    return hashlib.sha256(campaign_id.encode()).hexdigest()[:20]
