"""A receipt (回执) names what was received: the file(s), the version and the figures reported.

A receipt is the unit's proof of its hand-in; it read 已收到…报送时间… and nothing of what (an outside tester's
finding). The receipt's intent keeps the version it acknowledges; when the receipt goes out, that version's file
names and figures (label, value, unit) are read from the record and added to it (RECEIVED_KEY), and the message
lists them (duban.domain.messages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duban.domain.messages import RECEIVED_KEY
from duban.services.submit import same_words
from duban.store.received import Key, handed_in

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from duban.views.campaigns import PlannedCampaign


def name_received(conn: Connection, campaign: PlannedCampaign, payloads: list[dict]) -> list[dict | None]:
    """Each payload with its receipts' files and figures, or None where it carries no receipt."""
    keys: set[Key] = {_key(item) for payload in payloads for item in payload.get("items", ()) if _receipt(item)}
    if not keys:
        return [None] * len(payloads)
    kept = handed_in(conn, campaign.id, keys)
    metrics = {item.id: item.metrics for _stage, item in campaign.spec.items()}
    named: list[dict | None] = []
    for payload in payloads:
        items, changed = [], False
        for item in payload.get("items", ()):
            if _receipt(item) and _key(item) in kept:
                files, values = kept[_key(item)]
                figures = [
                    [m.label, values[m.name], m.unit or ""]
                    for m in metrics.get(item["item_id"], ())
                    if m.name in values
                ]
                item, changed = (
                    {**item, RECEIVED_KEY: {"files": [_named(f) for f in files], "figures": figures}},
                    True,
                )
            items.append(item)
        named.append({**payload, "items": items} if changed else None)
    return named


def _named(file: dict) -> str:
    """A kept file's name with its duplicates left out: 甲.xlsx（丙.xlsx 与 甲.xlsx 内容相同，只保存一份）."""
    name = file.get("name", "")
    note = same_words(name, file.get("also") or ())
    return f"{name}（{note}）" if note else name


def _receipt(item: dict) -> bool:
    return item.get("kind") == "receipt" and RECEIVED_KEY not in item


def _key(item: dict) -> Key:
    return (item["unit"], item["item_id"], item.get("instance") or "", int(item.get("step") or 1))
