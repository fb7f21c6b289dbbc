"""What an amendment tells: one message (kind `amended`) per unit still owing a changed item, and the summary
kept with the amendment's record. Written by `duban.services.amend` in the transaction that re-plans."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from duban.domain.messages import SETTLED_KEY
from duban.domain.quiet import QuietHours
from duban.instants import fmt_cn, utc
from duban.services.extension import settled_words
from duban.spec.amendment import Amendment
from duban.store import extension_requests
from duban.store.codec import Codec
from duban.store.composing import OUTBOX_COLUMNS
from duban.store.tick_sql import INTENT_COLUMNS


def settle_requests(
    codec: Codec, campaign_id: str, tz: str, amendment: Amendment, changed: list, at, who: str
) -> dict[int, list[dict]]:
    """Settle (不再需要) the waiting 延期申请 the re-plan answers: those asking for no later than the new due, and
    every one of an item now counted handed in on time; assignment id → the requests settled, as its message says
    them. A request asking for more than the new due still waits (and is decided against the new due)."""
    waiting = extension_requests.assignments_waiting(codec.conn, campaign_id)
    by_notice = f"调整通知（{amendment.doc_no}）" if amendment.doc_no else f"{amendment.issuer}调整通知"
    settled: dict[int, list[dict]] = {}
    for c in changed:
        if c.assignment_id not in waiting:
            continue
        if c.new_state.finished and c.new_state.value != "late":  # nothing is owed now (a late hand-in on time)
            ids = extension_requests.settle_finished(
                codec.conn,
                c.assignment_id,
                at,
                decided_by=who,
                note="不再需要：按调整后的截止时间已按时报送",
                handed_in=None,
            )
        else:
            ids = extension_requests.settle_waiting(
                codec.conn,
                c.assignment_id,
                c.new_due,
                at,
                decided_by=who,
                note=f"不再需要：{by_notice}已将截止时间调整为{fmt_cn(c.new_due, tz)}",
                keep=None,
            )
        if ids:
            settled[c.assignment_id] = settled_words(codec.conn, ids)
    return settled


def tell_units(
    codec: Codec,
    campaign_id: str,
    tz: str,
    seq: int,
    amendment: Amendment,
    changed: list,
    at,
    quiet: QuietHours,
    settled: dict[int, list[dict]] | None = None,
) -> int:
    """One outbox message per unit told, listing its changed items (and the 延期申请 `settled` by the change);
    intents linked to it (no second compose)."""
    settled = settled or {}
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
                **({SETTLED_KEY: settled[c.assignment_id]} if c.assignment_id in settled else {}),
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
