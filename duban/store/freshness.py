"""What a waiting message may still say when it goes out: only what is true at the send.

A message is composed at a tick and sent later: at once, or after quiet hours, a bot's rate limit, a retry or
a dispatcher outage. Meanwhile a unit may have handed an item in (or been excused), a newer message may have
been written about the same item (the overdue notice after a reminder, a second reminder, an amended due), or
the due may have passed. Sent as composed, staff would read "已开始办理，请按时报送……已逾期17天" about an item
they handed in on time, next to their receipt. So at the send, for each item of the message:

- a receipt (回执) is always true: it reports a submission that happened; so is the answer to a 延期申请 and a
  reviewer's decision;
- an item already handed in or excused is dropped (an amended due told to a unit that has submitted stays: it
  tells them their submission now counts as on time);
- an item that a newer message to the same recipient also carries is dropped: the newer one says what is true;
- a "开始办理" or "即将截止" item whose due has passed is dropped: the overdue notice the tick writes at the due
  says it now;
- a 退回 is sent with the due in force at the send (an extension approved while it waited moved it), and dropped
  once the unit has handed the item in again.

What is left is sent; a message left with nothing true is not sent at all, and the record says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from duban.store.codec import Codec

_FINISHED = ("submitted", "late", "excused", "in_review")
_STATE_WORDS = {"submitted": "已报送", "late": "已报送（逾期）", "excused": "已免报", "in_review": "已报送（待审核）"}
URGENCY = (
    "escalation",
    "ack_escalation",
    "overdue",
    "ack_reminder",
    "review_reminder",
    "returned",
    "amended",
    "extension",
    "reminder",
    "opened",
    "accepted",
    "receipt",
)

# Only the stale items come back (most batches: none), each with the newest message that carries it.
_STALE = (
    "SELECT i.message_id, i.kind, a.item_id, a.instance, a.unit_code, a.state, a.due_at, "
    "(SELECT MAX(j.message_id) FROM intent AS j WHERE j.assignment_id = i.assignment_id "
    "AND j.recipient = i.recipient AND j.kind <> 'receipt' AND j.message_id IS NOT NULL) "
    "FROM intent AS i JOIN assignment AS a ON a.id = i.assignment_id "
    "WHERE i.message_id IN ({marks}) AND i.kind NOT IN ('receipt', 'extension', 'accepted') AND (i.kind = 'returned' "
    "OR (i.kind <> 'returned' AND a.state IN ('submitted', 'late', 'excused', 'in_review') "
    "AND i.kind NOT IN ('amended', 'review_reminder')) "
    "OR (i.kind = 'review_reminder' AND a.state <> 'in_review') "
    "OR (i.kind IN ('opened', 'reminder') AND a.due_at <= ?) "
    "OR (i.kind <> 'returned' AND EXISTS (SELECT 1 FROM intent AS k WHERE k.assignment_id = i.assignment_id "
    "AND k.recipient = i.recipient AND k.kind <> 'receipt' AND k.message_id > i.message_id)))"
)


@dataclass
class Fresh:
    """A message as it may go out: its payload with the items still true (None: nothing is), and what was left out."""

    payload: dict | None
    dropped: list[dict] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """Why the message is not sent at all, in the words operators read."""
        whys = sorted({d["why"] for d in self.dropped})
        return "未发送：" + "；".join(whys) if whys else "未发送：没有仍需告知的事项"


def check(codec: Codec, messages: list[tuple[int, dict]], as_of: datetime) -> dict[int, Fresh]:
    """For each (message id, payload) that says something no longer true at `as_of`, what may still be sent.

    Messages with nothing stale are left out of the answer (the common case costs one query per batch, which
    finds nothing)."""
    ids = [mid for mid, payload in messages if payload and payload.get("items")]
    if not ids:
        return {}
    facts: dict[tuple, tuple] = {}
    at = codec.instant(as_of)
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        for row in codec.select(_STALE.format(marks=", ".join("?" * len(part))), [*part, at]):
            mid, kind, item_id, instance, unit, state, due_at, newest = row
            facts[(mid, kind, item_id, instance or "", unit)] = (state, codec.read_instant(due_at), newest)
    if not facts:
        return {}
    touched = {key[0] for key in facts}
    stale = {}
    for mid, payload in messages:
        if mid not in touched:
            continue
        kept, dropped, moved = [], [], False
        for item in payload["items"]:
            found = facts.get((mid, item["kind"], item["item_id"], item.get("instance") or "", item["unit"]))
            why = _why_stale(mid, item["kind"], found, as_of)
            if why is None and found is not None and item["kind"] == "returned" and found[1] is not None:
                due = codec.iso(found[1])  # the due in force at the send: an extension may have moved it since
                moved = moved or due != item.get("due_at")
                kept.append({**item, "due_at": due})
            elif why is None:
                kept.append(item)
            else:
                dropped.append(
                    {
                        "kind": item["kind"],
                        "item_id": item["item_id"],
                        "instance": item.get("instance") or "",
                        "unit": item["unit"],
                        "why": why,
                    }
                )
        if dropped or moved:
            left = None
            if kept:
                kind = min((i["kind"] for i in kept), key=URGENCY.index)
                left = {**payload, "kind": kind, "items": kept, "dropped": dropped}
            stale[mid] = Fresh(left, dropped)
    return stale


def _why_stale(mid: int, kind: str, found: tuple | None, as_of: datetime) -> str | None:
    if kind in ("receipt", "extension", "accepted") or found is None:  # history: a receipt, an answer
        return None
    state, due_at, newest = found
    if kind == "returned":  # a 退回 asks for the file again: not once it is in (its reason stays in the record)
        return "已重新报送" if state in _FINISHED else None
    if kind == "review_reminder":  # a reminder to review: true while the version still waits
        return "材料已审核" if state != "in_review" else None
    if state in _FINISHED and kind != "amended":
        return f"事项{_STATE_WORDS[state]}"
    if newest is not None and newest > mid:
        return f"已由更新的消息 #{newest} 告知"
    if kind in ("opened", "reminder") and due_at is not None and due_at <= as_of:
        return "已过截止时间，改由逾期通知告知"
    return None
