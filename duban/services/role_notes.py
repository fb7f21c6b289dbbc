"""A 牵头 unit's messages name its 配合 units, and a 配合 unit's name its 牵头 unit and whether that one has handed in.

A county's 住建局 leads the 排查台账 and its 统计局 cooperates (a spec's `lead:` and `cooperating:`): each message
said only 本单位为牵头单位 / 本单位为配合单位, and the 统计局 kept being pressed to 尽快报送 a 台账 its lead had filed
weeks before (an outside tester's finding). The partners are the item's units of the other role in the same
division (140724 and 140724@stats: one county's bodies side by side), read when the message goes out, with their
state then. The dispatcher, the simulation's dry send and `outbox show` call this beside duban.services.rollup_notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duban.domain.messages import OWN_DUTY, PARTNERS_KEY, ROLE_KEY
from duban.store.rollups import item_roles

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from duban.views.campaigns import PlannedCampaign

OTHER = {"lead": "cooperating", "cooperating": "lead"}


def name_partners(conn: Connection, campaign: PlannedCampaign, payloads: list[dict]) -> list[dict | None]:
    """Each payload with its 牵头/配合 items' partners ([code, state, submitted_at ISO or None], by code) under
    PARTNERS_KEY, or None where it carries no such item; one query per item and batch."""
    asked: dict[str, set[str]] = {}  # item → the codes of every division asked about
    for payload in payloads:
        for item in payload.get("items", ()):
            if item.get(ROLE_KEY) in OTHER and item.get("kind") in OWN_DUTY:
                asked.setdefault(item["item_id"], set()).update(campaign.side_by_side(item["unit"]))
    if not asked:
        return [None] * len(payloads)
    found: dict[tuple[str, str], list] = {}  # (item, unit) → its assignments' (instance, role, state, submitted_at)
    for item_id, codes in asked.items():
        for unit, instance, role, state, submitted in item_roles(conn, campaign.id, item_id, sorted(codes)):
            found.setdefault((item_id, unit), []).append((instance or "", role, state, submitted))
    named: list[dict | None] = []
    for payload in payloads:
        items, changed = [], False
        for item in payload.get("items", ()):
            other = OTHER.get(item.get(ROLE_KEY, ""))
            if other and item.get("kind") in OWN_DUTY:
                partners = [
                    [code, state, submitted.isoformat() if submitted else None]
                    for code in sorted(campaign.side_by_side(item["unit"]))
                    for instance, role, state, submitted in found.get((item["item_id"], code), ())
                    if role == other and instance == (item.get("instance") or "")
                ]
                item, changed = {**item, PARTNERS_KEY: partners}, True
            items.append(item)
        named.append({**payload, "items": items} if changed else None)
    return named
