"""A receipt of a correction handed in after the due, of an item handed in on time, says it is one.

A unit that handed in on time and then a corrected version after the due was receipted 逾期1天10小时报送 for the
correction (an outside tester's finding), though the item stays 按时报送: an item not reviewed keeps the state of its
first hand-in (duban.domain.state.submit). When the receipt goes out, the record's first hand-in is added to it
(CORRECTS_KEY) and the message says 第2版（更正）…第1版已于…按时报送 (duban.domain.messages). A reviewed item's
versions are judged each by its own instant when the reviewer accepts one: its receipts are left as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from duban.domain.messages import CORRECTS_KEY
from duban.domain.state import State
from duban.instants import utc
from duban.store.rollups import item_roles

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from duban.views.campaigns import PlannedCampaign


def name_corrected(conn: Connection, campaign: PlannedCampaign, payloads: list[dict]) -> list[dict | None]:
    """Each payload with the first hand-in (ISO) under CORRECTS_KEY of its receipts that correct an on-time
    hand-in after the due, or None where it carries no such receipt."""
    reviewed = {item.id for _stage, item in campaign.spec.items() if item.review is not None}
    asked: dict[str, set[str]] = {}  # item → units whose receipt is of a later version handed in after the due
    for payload in payloads:
        for item in payload.get("items", ()):
            if _after_the_due(item) and item["item_id"] not in reviewed:
                asked.setdefault(item["item_id"], set()).add(item["unit"])
    if not asked:
        return [None] * len(payloads)
    first: dict[tuple[str, str, str], datetime] = {}  # (item, unit, instance) → the on-time first hand-in
    for item_id, codes in asked.items():
        for unit, instance, _role, state, submitted in item_roles(conn, campaign.id, item_id, sorted(codes)):
            if state == State.submitted.value and submitted is not None:
                first[(item_id, unit, instance or "")] = utc(submitted)
    named: list[dict | None] = []
    for payload in payloads:
        items, changed = [], False
        for item in payload.get("items", ()):
            on_time = first.get((item.get("item_id", ""), item.get("unit", ""), item.get("instance") or ""))
            if _after_the_due(item) and on_time is not None and on_time <= datetime.fromisoformat(item["due_at"]):
                item, changed = {**item, CORRECTS_KEY: on_time.isoformat()}, True
            items.append(item)
        named.append({**payload, "items": items} if changed else None)
    return named


def _after_the_due(item: dict) -> bool:
    """A receipt of a second or later version, handed in after the item's due."""
    return (
        item.get("kind") == "receipt"
        and (item.get("step") or 1) > 1
        and datetime.fromisoformat(item["event_at"]) > datetime.fromisoformat(item["due_at"])
    )
