"""What an amendment tells: one message (kind `amended`) per unit still owing a changed item, and the summary
kept with the amendment's record. Written by `duban.services.amend` in the transaction that re-plans."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from duban.domain.quiet import QuietHours
from duban.instants import utc
from duban.spec.amendment import Amendment
from duban.store.codec import Codec
from duban.store.composing import OUTBOX_COLUMNS
from duban.store.tick_sql import INTENT_COLUMNS


def tell_units(
    codec: Codec, campaign_id: str, tz: str, seq: int, amendment: Amendment, changed: list, at, quiet: QuietHours
) -> int:
    """One outbox message per unit told, listing its changed items; intents linked to it (no second compose)."""
    by_unit: dict[str, list] = defaultdict(list)
    for c in changed:
        if c.told:
            by_unit[c.unit_code].append(c)
    if not by_unit:
        return 0
    now, as_of = codec.instant(at), codec.iso(at)
    not_before = codec.instant(quiet.release("amended", at, tz))
    about = {
        "seq": seq,
        "issuer": amendment.issuer,
        "doc_no": amendment.doc_no,
        "title": amendment.title,
        "reason": amendment.reason,
    }
    message_ids = codec.reserve_ids("outbox", len(by_unit))
    messages: list[tuple] = []
    intents: list[tuple] = []
    for mid, (unit, entries) in zip(message_ids, sorted(by_unit.items())):
        items = [
            {
                "kind": "amended",
                "step": seq,
                "item_id": c.item_id,
                "instance": c.instance,
                "unit": unit,
                "due_at": codec.iso(c.new_due),
                "old_due_at": codec.iso(c.old_due),
                "open_at": codec.iso(c.new_open),
                "old_open_at": codec.iso(c.old_open),
                "state": c.new_state.value,
                "event_at": as_of,
            }
            for c in entries
        ]
        ids = ",".join(str(c.assignment_id) for c in entries)
        key = hashlib.sha256(f"{campaign_id}|{unit}|amended#{seq}|{ids}".encode()).hexdigest()[:32]
        payload = {"recipient": unit, "kind": "amended", "as_of": as_of, "items": items, "amendment": about}
        messages.append((mid, campaign_id, unit, "amended", key, codec.json(payload), now, not_before, "pending", 0))
        intents.extend((campaign_id, c.assignment_id, unit, "amended", seq, now, now, mid) for c in entries)
    codec.insert("outbox", ("id", *OUTBOX_COLUMNS), messages)
    codec.insert("intent", (*INTENT_COLUMNS, "message_id"), intents)
    return len(messages)


def summary(changed: list) -> list[dict]:
    """Per item and period: how many assignments moved, and the due before and after (as kept in the record)."""
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for c in changed:
        groups[(c.item_id, c.instance)].append(c)
    return [
        {
            "item": item,
            "instance": instance,
            "assignments": len(cs),
            "told": sum(c.told for c in cs),
            "due_before": utc(cs[0].old_due).isoformat(),
            "due_after": utc(cs[0].new_due).isoformat(),
            "open_before": utc(cs[0].old_open).isoformat(),
            "open_after": utc(cs[0].new_open).isoformat(),
        }
        for (item, instance), cs in groups.items()
    ]
