"""What a waiting message may still say when it goes out: only what is true at the send.

A message is composed at a tick and sent later: at once, or after quiet hours, a bot's rate limit, a retry or
a dispatcher outage. Meanwhile a unit may have handed an item in (or been excused), a newer message may have
been written about the same item (the overdue notice after a reminder, a second reminder, an amended due), or
the due may have passed. Sent as composed, staff would read "已开始办理，请按时报送……已逾期17天" about an item
they handed in on time, next to their receipt. So at the send, for each item of the message:

- a receipt (回执) reports a submission that happened, so it goes; but of a reviewed item it said "待审核", which
  stops being true once the reviewer decided on that version or the unit handed in a newer one. So a receipt of a
  version the unit has since replaced is dropped ("已由第2版的回执告知": the newer version's receipt, sent after it,
  says what waits for review, and the 退回 below says why the older one went back), and a receipt of a version
  reviewed meanwhile says so in place of 待审核 ("截止前报送，已退回" / "审核通过"). The answer to a 延期申请, a
  reviewer's decision and a correction (更正) of an 逾期 notice are history, always true;
- an item already handed in or excused is dropped (an amended due told to a unit that has submitted stays: it
  tells them their submission now counts as on time);
- an item that a newer message to the same recipient also carries is dropped: the newer one says what is true;
- a "开始办理" or "即将截止" item whose due has passed is dropped: the overdue notice the tick writes at the due
  says it now;
- a correction (更正) of an 逾期 is dropped when no 逾期 or 催办 it takes back reached the recipient: it was written
  while one was in flight (duban.store.overdue_told), and that one did not go out after all;
- a 退回 is sent with the due in force at the send (an extension approved while it waited moved it). Once the unit
  has handed the item in again it no longer asks for the file, but it still goes, with its reason: otherwise the
  group would never learn why the version went back (the one who re-submitted may not be the one who reads the
  next 退回). It then says "第1版已退回；已于…重新报送第2版" in place of a due (an outside tester's finding).

What is left is sent; a message left with nothing true is not sent at all, and the record says why.

The operators' 每日简报 is true of its own day: one composed and left in the outbox (`duban digest --no-send`, a
dispatcher down that day) was posted the next day with the previous morning's figures, and counted as sent (an
outside tester's finding). It goes out on its day in the campaign's zone only, and not once a newer one to the same
recipients exists (`digests_now`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from duban.instants import in_zone
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
    "corrected",
    "extended",
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
    "AND j.recipient = i.recipient AND j.kind NOT IN ('receipt', 'corrected') AND j.message_id IS NOT NULL) "
    "FROM intent AS i JOIN assignment AS a ON a.id = i.assignment_id "
    "WHERE i.message_id IN ({marks}) AND i.kind NOT IN ('receipt', 'extension', 'accepted', 'corrected') "
    "AND (i.kind = 'returned' "
    "OR (i.kind <> 'returned' AND a.state IN ('submitted', 'late', 'excused', 'in_review') "
    "AND i.kind NOT IN ('amended', 'review_reminder')) "
    "OR (i.kind = 'review_reminder' AND a.state <> 'in_review') "
    "OR (i.kind IN ('opened', 'reminder') AND a.due_at <= ?) "
    "OR (i.kind <> 'returned' AND EXISTS (SELECT 1 FROM intent AS k WHERE k.assignment_id = i.assignment_id "
    "AND k.recipient = i.recipient AND k.kind NOT IN ('receipt', 'corrected') AND k.message_id > i.message_id)))"
)

# Receipts and 退回 whose version has been replaced or reviewed since they were written: the newest version of the
# item (number, when handed in), the decision on the receipt's own version, whether the item is reviewed at all.
_VERSIONS = (
    "SELECT i.message_id, i.kind, a.item_id, a.instance, a.unit_code, i.step, s.version, s.submitted_at, "
    "(SELECT r.decision FROM review AS r JOIN submission AS v ON v.id = r.submission_id "
    "WHERE r.assignment_id = a.id AND v.version = i.step ORDER BY r.id DESC LIMIT 1), "
    "CASE WHEN a.state = 'in_review' OR EXISTS (SELECT 1 FROM review AS e WHERE e.assignment_id = a.id) "
    "THEN 1 ELSE 0 END "
    "FROM intent AS i JOIN assignment AS a ON a.id = i.assignment_id "
    "JOIN submission AS s ON s.assignment_id = a.id "
    "AND s.version = (SELECT MAX(x.version) FROM submission AS x WHERE x.assignment_id = a.id) "
    "WHERE i.message_id IN ({marks}) AND (i.kind = 'returned' OR (i.kind = 'receipt' AND (s.version > i.step "
    "OR EXISTS (SELECT 1 FROM review AS d JOIN submission AS w ON w.id = d.submission_id "
    "WHERE d.assignment_id = a.id AND w.version = i.step))))"
)
_DECISION_WORDS = {"returned": "，已退回", "accepted": "，审核通过"}

# Corrections (更正) of an 逾期 or 催办 none of which reached the recipient: written while one was in flight (claimed,
# its posts not yet recorded), and that one then did not go out (dropped at a later pass as no longer true).
_UNTOLD = (
    "SELECT i.message_id, i.kind, a.item_id, a.instance, a.unit_code "
    "FROM intent AS i JOIN assignment AS a ON a.id = i.assignment_id "
    "WHERE i.message_id IN ({marks}) AND i.kind = 'corrected' AND NOT EXISTS (SELECT 1 FROM intent AS t "
    "JOIN outbox AS o ON o.id = t.message_id WHERE t.assignment_id = i.assignment_id AND t.recipient = i.recipient "
    "AND t.kind IN ('overdue', 'escalation') AND t.message_id <= i.step "
    "AND (o.status IN ('sent', 'unconfirmed', 'sending') OR EXISTS (SELECT 1 FROM delivery AS d "
    "WHERE d.message_id = o.id AND (d.ok OR d.outcome = 'unknown'))))"
)
UNTOLD = "untold"  # a fact's state for a correction whose 逾期 never reached its recipient


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
    versions: dict[tuple, tuple] = {}
    at = codec.instant(as_of)
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        marks = ", ".join("?" * len(part))
        for row in codec.select(_STALE.format(marks=marks), [*part, at]):
            mid, kind, item_id, instance, unit, state, due_at, newest = row
            facts[(mid, kind, item_id, instance or "", unit)] = (state, codec.read_instant(due_at), newest)
        for mid, kind, item_id, instance, unit in codec.select(_UNTOLD.format(marks=marks), part):
            facts[(mid, kind, item_id, instance or "", unit)] = (UNTOLD, None, None)
        for row in codec.select(_VERSIONS.format(marks=marks), part):
            mid, kind, item_id, instance, unit, step, latest, latest_at, decision, reviewed = row
            key = (mid, kind, item_id, instance or "", unit) + ((step,) if kind == "receipt" else ())
            versions[key] = (latest, codec.read_instant(latest_at), decision, bool(reviewed))
    if not facts and not versions:
        return {}
    touched = {key[0] for key in facts} | {key[0] for key in versions}
    stale = {}
    for mid, payload in messages:
        if mid not in touched:
            continue
        kept, dropped, moved = [], [], False
        for item in payload["items"]:
            where = (mid, item["kind"], item["item_id"], item.get("instance") or "", item["unit"])
            found = facts.get(where)
            if item["kind"] == "receipt":
                newer = versions.get((*where, item.get("step") or 1))
                why, told = _receipt_now(item, newer)
                moved = moved or told is not item
            elif item["kind"] == "returned":
                why, told = _returned_now(codec, item, found, versions.get(where))
                moved = moved or told is not item
            else:
                why, told = _why_stale(mid, item["kind"], found, as_of), item
            if why is None:
                kept.append(told)
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


def _receipt_now(item: dict, newer: tuple | None) -> tuple[str | None, dict]:
    """A receipt as it may go out: dropped when its version was replaced by one the unit handed in since (of a
    reviewed item: its 待审核 no longer holds), told the reviewer's decision when one came meanwhile."""
    if newer is None:
        return None, item
    latest, _latest_at, decision, reviewed = newer
    version = item.get("step") or 1
    if reviewed and latest > version:
        return f"已由第{latest}版的回执告知", item
    if decision in _DECISION_WORDS:
        return None, {**item, "review_words": _DECISION_WORDS[decision]}
    return None, item


def _returned_now(codec: Codec, item: dict, found: tuple | None, newer: tuple | None) -> tuple[str | None, dict]:
    """A 退回 as it may go out: with the due in force at the send (an extension may have moved it since), or, once
    the unit has handed in a newer version, saying so (its reason still reaches the group)."""
    if newer is not None and newer[0] > (item.get("version") or 1):
        return None, {**item, "again_version": newer[0], "again_at": codec.iso(newer[1])}
    if found is None:
        return None, item
    state, due_at, _newest = found
    if state in _FINISHED:  # excused, or in again by a way with no version: nothing left to ask
        return f"事项{_STATE_WORDS[state]}", item
    if due_at is not None and codec.iso(due_at) != item.get("due_at"):
        return None, {**item, "due_at": codec.iso(due_at)}
    return None, item


def _why_stale(mid: int, kind: str, found: tuple | None, as_of: datetime) -> str | None:
    if kind == "corrected":  # history, unless the 逾期 it takes back never reached the recipient
        return "原逾期通知未发出，无需更正" if found is not None and found[0] == UNTOLD else None
    if kind in ("receipt", "extension", "accepted", "corrected") or found is None:  # history: a receipt, an answer
        return None
    state, due_at, newest = found
    if kind == "review_reminder":  # a reminder to review: true while the version still waits
        return "材料已审核" if state != "in_review" else None
    if state in _FINISHED and kind != "amended":
        return f"事项{_STATE_WORDS[state]}"
    if newest is not None and newest > mid:
        return f"已由更新的消息 #{newest} 告知"
    if kind in ("opened", "reminder") and due_at is not None and due_at <= as_of:
        return "已过截止时间，改由逾期通知告知"
    return None


# Each digest with its campaign's zone and the newest digest written after it to the same recipients (when).
_DIGESTS = (
    "SELECT o.id, c.timezone, (SELECT n.created_at FROM outbox AS n WHERE n.campaign_id = o.campaign_id "
    "AND n.recipient = o.recipient AND n.kind = 'digest' AND n.id > o.id ORDER BY n.id DESC LIMIT 1) "
    "FROM outbox AS o JOIN campaign AS c ON c.id = o.campaign_id WHERE o.id IN ({marks})"
)


def digests_now(codec: Codec, messages: list[tuple[int, dict]], as_of: datetime) -> dict[int, Fresh]:
    """The digests among (message id, payload) that may no longer go out at `as_of`: sent after the day they were
    composed for (in the campaign's zone), or with a newer digest to the same recipients written since. Each is
    dropped whole (its figures are of that morning), with the reason operators read."""
    digests = {mid: payload for mid, payload in messages if payload and payload.get("kind") == "digest"}
    if not digests:
        return {}
    marks = ", ".join("?" * len(digests))
    stale = {}
    for mid, tz, newer in codec.select(_DIGESTS.format(marks=marks), list(digests)):
        payload = digests[mid]
        day = payload.get("date") or ""
        written = codec.read_instant(newer) if newer is not None else None
        if written is not None:
            newer_day = in_zone(written, tz)
            why = f"已有更新的每日简报（{newer_day.month}月{newer_day.day}日）"
        elif day and in_zone(as_of, tz).date().isoformat() > day:
            month, date_ = int(day[5:7]), int(day[8:10])
            why = f"{month}月{date_}日的每日简报当日未发出，数字已过时"
        else:
            continue
        dropped = {
            "kind": "digest",
            "item_id": "每日简报",
            "instance": day,
            "unit": payload.get("recipient", ""),
            "why": why,
        }
        stale[mid] = Fresh(None, [dropped])
    return stale
