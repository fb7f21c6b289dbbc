"""A unit's 开始办理 asks its 签收 by the instant the record holds when the message goes out.

The message said 本阶段要求签收：请于开始后1个工作日内签收 under every item of the stage and never by when, while the
unit's page showed 签收截止：12月8日 周二 08:30 (an outside tester's finding). The window moves when the unit hears
of the opening late (a late first tick, an opening held by quiet hours: duban.services.acknowledgements), so the
instant is read at the send, as duban.services.send_notes reads what else a message adds; a 签收 given meanwhile is
asked no more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duban.domain.messages import ACK_DUE_KEY
from duban.store.acknowledgements import windows

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from duban.views.campaigns import PlannedCampaign

GIVEN = "acknowledged"


def asked_acknowledgement(campaign: PlannedCampaign, entry: dict, stage, first_stage: str | None) -> str | None:  # noqa: ANN001
    """The 签收 a 开始办理 entry asks for: its stage's id, '' for the notice's (every unit's first stage opening, the
    issuer excepted), or None."""
    if entry.get("kind") != "opened" or stage is None:
        return None
    if stage.acknowledge is not None:
        return stage.id
    notice = campaign.spec.acknowledge
    if notice is not None and stage.id == first_stage and entry["unit"] != named_unit(campaign, campaign.spec.issuer):
        return ""
    return None


def name_ack_dues(conn: Connection, campaign: PlannedCampaign, payloads: list[dict]) -> list[dict | None]:
    """Each payload with its openings' 签收 due under ACK_DUE_KEY (ISO; "" once given), or None where it asks none
    the record holds; one query per batch."""
    stages = {item.id: stage for stage, item in campaign.spec.items()}
    first_stage = campaign.spec.stages[0].id if campaign.spec.stages else None
    asks: list[list[str | None]] = [
        [asked_acknowledgement(campaign, item, stages.get(item.get("item_id", "")), first_stage) for item in p["items"]]
        for p in (payload if payload.get("items") else {"items": []} for payload in payloads)
    ]
    units = sorted(
        {
            item["unit"]
            for payload, ask in zip(payloads, asks)
            for item, a in zip(payload.get("items", ()), ask)
            if a is not None
        }
    )
    if not units:
        return [None] * len(payloads)
    found = windows(conn, campaign.id, units)
    named: list[dict | None] = []
    for payload, ask in zip(payloads, asks):
        items, changed = [], False
        for item, stage_id in zip(payload.get("items", ()), ask):
            window = found.get((stage_id, item["unit"])) if stage_id is not None else None
            if window is not None:
                due, state = window
                item, changed = {**item, ACK_DUE_KEY: "" if state == GIVEN else due.isoformat()}, True
            items.append(item)
        named.append({**payload, "items": items} if changed else None)
    return named


def named_unit(campaign: PlannedCampaign, ref: str) -> str:
    """A spec's unit reference (group, code or name) as a code when it names one unit."""
    if ref in campaign.units:
        return ref
    group = campaign.spec.groups.get(ref)
    if group is not None and group.ref and group.ref in campaign.units:
        return group.ref
    for code, unit in campaign.units.items():
        if ref == unit.display:
            return code
    return ref
