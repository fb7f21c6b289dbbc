"""A roll-up's reminder, overdue notice, 催办 and receipt name the units below that have not reported, as of the send.

A city's 全市汇总 is fed by its counties' 台账 (a spec's `rollups:`); when it nears its due or slips, what the city
can do is chase the counties still missing — and "以下事项已逾期未报" alone did not say which (an outside tester's
finding); a 汇总 handed in while some are missing is told so in its receipt. Like the freshness check
(duban.store.freshness) this is worked out when the message goes out, so it names who is missing then, not at the
tick that wrote it (duban.services.send_notes); the message's entry lists the names (duban.domain.messages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duban.domain.messages import MISSING_KEY
from duban.services.rollups import rollups_of
from duban.store.rollups import unfinished_units

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from duban.views.campaigns import PlannedCampaign

# an opening names nobody (nothing could be in yet); a receipt does, when the 汇总 went in with units missing
NAMED_KINDS = ("reminder", "overdue", "escalation", "receipt")


def name_missing(conn: Connection, campaign: PlannedCampaign, payloads: list[dict]) -> list[dict | None]:
    """Each payload with its roll-up items' missing units (their codes under MISSING_KEY, sorted), or None where
    it carries no such item; one query per feeding item and batch."""
    feeding = {r.into: r.from_ for r in rollups_of(campaign) if r.into}
    wanted: dict[str, set[str]] = {}  # feeding item → the holders whose units below are asked about
    for payload in payloads:
        for item in payload.get("items", ()):
            if item.get("item_id") in feeding and item.get("kind") in NAMED_KINDS:
                wanted.setdefault(feeding[item["item_id"]], set()).add(item["unit"])
    if not wanted:
        return [None] * len(payloads)
    missing: dict[tuple[str, str], list[str]] = {}  # (feeding item, holder) → codes
    for from_item, holders in wanted.items():
        below = {holder: campaign.below(holder) for holder in holders}
        late = set(unfinished_units(conn, campaign.id, from_item, sorted(set().union(*below.values()))))
        for holder, codes in below.items():
            missing[(from_item, holder)] = sorted(late.intersection(codes))
    named: list[dict | None] = []
    for payload in payloads:
        items, changed = [], False
        for item in payload.get("items", ()):
            key = (feeding.get(item.get("item_id", "")), item.get("unit"))
            if item.get("kind") in NAMED_KINDS and key in missing:
                item, changed = {**item, MISSING_KEY: missing[key]}, True
            items.append(item)
        named.append({**payload, "items": items} if changed else None)
    return named
