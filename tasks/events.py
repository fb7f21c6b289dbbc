"""duban's events in Prefect, for operators' automations (a stage opened, an item slipped, a submission came in).

    duban.stage.opened          resource duban.stage.<campaign>.<stage>
    duban.assignment.overdue    resource duban.assignment.<campaign>.<unit>.<item>[.<instance>]
    duban.submission.received   resource duban.submission.<campaign>.<submission id>
    duban.extension.requested   resource duban.extension.<campaign>.<request id>   (延期申请, awaiting a decision)
    duban.extension.decided     resource duban.extension.<campaign>.<request id>   (approved or denied)
    duban.acknowledgement.missing resource duban.acknowledgement.<campaign>.<stage>.<unit> (签收 not given by its due)
    duban.submission.returned   resource duban.review.<campaign>.<review id>       (退回, with the reason and new due)
    duban.submission.accepted   resource duban.review.<campaign>.<review id>       (审核通过)

Each names its campaign (`duban.campaign.<id>`, role `campaign`), the stage (`duban.stage.<campaign>.<stage>`,
role `stage`) and, where one unit is concerned, the unit (`duban.unit.<code>`, role `unit`) as related resources,
so an automation can match "any overdue item of 昔阳县" or "every submission of this campaign". Emitted inside a
flow run they also carry the run. Every resource carries its Chinese name (`prefect.resource.name`: 单位, 阶段,
专项工作, "单位 · 事项"), which the Prefect UI shows on the event cards in place of the id. `occurred` is the wall
clock when the event was sent; the instant the campaign was ticked at (a simulated one in `duban demo`) is the
payload's `as_of`.
The domain reports what happened; only this adapter talks to Prefect (the CLI and the portal call it).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from prefect.events import Event, RelatedResource, Resource, emit_event
from prefect.events.clients import get_events_client
from prefect.events.worker import should_emit_events_to_running_server

from duban.services.submit import Receipt
from duban.views.campaigns import PlannedCampaign, load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine

MAX_OVERDUE_EVENTS = 500  # per tick: an overdue wave of a national campaign is summed up in the artifacts
log = logging.getLogger("duban.events")


def campaign_resource(campaign: PlannedCampaign) -> dict[str, str]:
    return {
        "prefect.resource.id": f"duban.campaign.{campaign.id}",
        "prefect.resource.role": "campaign",
        "prefect.resource.name": campaign.spec.title,
    }


def unit_resource(campaign: PlannedCampaign, code: str) -> dict[str, str]:
    return {
        "prefect.resource.id": f"duban.unit.{code}",
        "prefect.resource.role": "unit",
        "prefect.resource.name": campaign.display(code),
    }


def stage_resource(campaign: PlannedCampaign, stage_id: str, *, role: str | None = "stage") -> dict[str, str]:
    names = {stage.id: stage.name for stage in campaign.spec.stages}
    resource = {
        "prefect.resource.id": f"duban.stage.{campaign.id}.{stage_id}",
        "prefect.resource.name": names.get(stage_id, stage_id),
    }
    return {**resource, "prefect.resource.role": role} if role else resource


def _related(campaign: PlannedCampaign, unit_code: str, stage_id: str) -> list[RelatedResource]:
    """The campaign, the unit and (when known) the stage an event is about."""
    labels = [campaign_resource(campaign), unit_resource(campaign, unit_code)]
    if stage_id:
        labels.append(stage_resource(campaign, stage_id))
    return [RelatedResource(label) for label in labels]


def stage_opened(campaign: PlannedCampaign, stage_id: str, assignments: int, as_of: datetime) -> Event | None:
    """A stage's assignments opened in this tick."""
    resource = stage_resource(campaign, stage_id, role=None)
    return emit_event(
        event="duban.stage.opened",
        resource=resource,
        related=[campaign_resource(campaign)],
        payload={"campaign": campaign.id, "stage": stage_id, "assignments": assignments, "as_of": as_of.isoformat()},
    )


def assignments_overdue(campaign: PlannedCampaign, stage_id: str, slipped: list, as_of: datetime) -> int:
    """One event per unit's item that slipped past its due in this tick (at most MAX_OVERDUE_EVENTS)."""
    items = {item.id: item.name for _stage, item in campaign.spec.items()}
    for unit_code, item_id, instance in slipped[:MAX_OVERDUE_EVENTS]:
        suffix = f".{instance}" if instance else ""
        emit_event(
            event="duban.assignment.overdue",
            resource={
                "prefect.resource.id": f"duban.assignment.{campaign.id}.{unit_code}.{item_id}{suffix}",
                "prefect.resource.name": f"{campaign.display(unit_code)} · {items.get(item_id, item_id)}",
            },
            related=[
                campaign_resource(campaign),
                unit_resource(campaign, unit_code),
                stage_resource(campaign, stage_id),
            ],
            payload={
                "campaign": campaign.id,
                "stage": stage_id,
                "unit": unit_code,
                "item": item_id,
                "instance": instance,
                "as_of": as_of.isoformat(),
            },
        )
    if len(slipped) > MAX_OVERDUE_EVENTS:
        log.warning(
            "%s: %d items slipped in stage %s; events for the first %d, the artifacts count them all",
            campaign.id,
            len(slipped),
            stage_id,
            MAX_OVERDUE_EVENTS,
        )
    return min(len(slipped), MAX_OVERDUE_EVENTS)


def acknowledgements_missing(engine: Engine, campaign_id: str, missing: list, as_of: datetime) -> int:
    """One event per unit whose 签收 went missing in this tick (at most MAX_OVERDUE_EVENTS); inside the flow run."""
    if not missing:
        return 0
    campaign = load_campaign(engine, campaign_id, units={unit for _stage, unit in missing[:MAX_OVERDUE_EVENTS]})
    names = {stage.id: stage.name for stage in campaign.spec.stages}
    for stage_id, unit_code in missing[:MAX_OVERDUE_EVENTS]:
        emit_event(
            event="duban.acknowledgement.missing",
            resource={
                "prefect.resource.id": f"duban.acknowledgement.{campaign_id}.{stage_id or 'notice'}.{unit_code}",
                "prefect.resource.name": f"{campaign.display(unit_code)} · {names.get(stage_id, '通知')} 未签收",
            },
            related=_related(campaign, unit_code, stage_id),
            payload={
                "campaign": campaign_id,
                "stage": stage_id,
                "unit": unit_code,
                "unit_name": campaign.display(unit_code),
                "as_of": as_of.isoformat(),
            },
        )
    return min(len(missing), MAX_OVERDUE_EVENTS)


def submission_received(
    engine: Engine, campaign_id: str, unit_code: str, item_id: str, receipt: Receipt, *, via: str = "cli"
) -> Event | None:
    """Announce a recorded submission, when a Prefect server is configured (PREFECT_API_URL); else nothing.

    Outside a flow run (the CLI, the portal) the event goes out on a connection of its own, sent before
    returning (Prefect's background events worker, drained at once, would warn "Still processing items" on every
    submit). The submission is already recorded: a Prefect server that cannot be reached costs the event
    (logged), never the submission.
    """
    if not should_emit_events_to_running_server():
        return None  # the embedded default has no server to tell; starting one per submission would cost seconds
    try:
        campaign = load_campaign(engine, campaign_id, units={unit_code})
        items = {item.id: (stage.id, item.name) for stage, item in campaign.spec.items()}
        stage_id, item_name = items.get(item_id, ("", item_id))
        name = f"{campaign.display(unit_code)} · {item_name} 第{receipt.version}版"
        event = Event(
            event="duban.submission.received",
            resource=Resource(
                {
                    "prefect.resource.id": f"duban.submission.{campaign_id}.{receipt.submission_id}",
                    "prefect.resource.name": name,
                }
            ),
            related=_related(campaign, unit_code, stage_id),
            payload={
                "campaign": campaign_id,
                "unit": unit_code,
                "item": item_id,
                "version": receipt.version,
                "late": receipt.late,
                "state": receipt.state.value,
                "via": via,
                "submitted_at": receipt.submitted_at.isoformat(),
            },
        )
        asyncio.run(_send(event))
    except Exception:  # noqa: BLE001 - see the docstring
        log.warning(
            "duban.submission.received for %s %s (submission %s) not sent",
            unit_code,
            item_id,
            receipt.submission_id,
            exc_info=True,
        )
        return None
    return event


def _item_names(campaign: PlannedCampaign, item_id: str) -> tuple[str, str]:
    items = {item.id: (stage.id, item.name) for stage, item in campaign.spec.items()}
    return items.get(item_id, ("", item_id))


def _extension_event(engine: Engine, name: str, request, payload: dict) -> Event | None:
    """An event about one 延期申请, sent like submission_received (only to a configured server; never raises)."""
    if not should_emit_events_to_running_server():
        return None
    try:
        campaign = load_campaign(engine, request.campaign_id, units={request.unit_code})
        stage_id, item_name = _item_names(campaign, request.item_id)
        event = Event(
            event=name,
            resource=Resource(
                {
                    "prefect.resource.id": f"duban.extension.{request.campaign_id}.{request.id}",
                    "prefect.resource.name": f"{campaign.display(request.unit_code)} · {item_name} 延期申请",
                }
            ),
            related=_related(campaign, request.unit_code, stage_id),
            payload={
                "campaign": request.campaign_id,
                "request": request.id,
                "unit": request.unit_code,
                "unit_name": campaign.display(request.unit_code),
                "item": request.item_id,
                "item_name": item_name,
                "instance": request.instance,
                "reason": request.reason,
                "due_at": request.due_at.isoformat(),
                "until": request.until.isoformat(),
                **payload,
            },
        )
        asyncio.run(_send(event))
    except Exception:  # noqa: BLE001 - the request is recorded; a server that cannot be reached costs the event
        log.warning("%s for request %s not sent", name, request.id, exc_info=True)
        return None
    return event


def extension_requested(engine: Engine, request) -> Event | None:
    """A unit asked for a later due (延期申请): operators' automations can page whoever decides."""
    return _extension_event(
        engine,
        "duban.extension.requested",
        request,
        {"requested_at": request.requested_at.isoformat(), "status": request.status.value},
    )


def extension_decided(engine: Engine, decision) -> Event | None:
    """A request was approved (the unit's due moved) or denied."""
    r = decision.request
    return _extension_event(
        engine,
        "duban.extension.decided",
        r,
        {
            "status": r.status.value,
            "granted_until": r.granted_until.isoformat() if r.granted_until else None,
            "note": r.note,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            "state": decision.new_state.value,
        },
    )


def submission_reviewed(engine: Engine, campaign_id: str, result, *, via: str = "cli") -> Event | None:
    """duban.submission.returned (or .accepted) for a reviewer's decision; sent like submission_received."""
    if not should_emit_events_to_running_server():
        return None
    name = f"duban.submission.{result.decision}"
    try:
        campaign = load_campaign(engine, campaign_id, units={result.unit_code})
        stage_id, item_name = _item_names(campaign, result.item_id)
        event = Event(
            event=name,
            resource=Resource(
                {
                    "prefect.resource.id": f"duban.review.{campaign_id}.{result.review_id}",
                    "prefect.resource.name": f"{campaign.display(result.unit_code)} · {item_name} 第{result.version}版",
                }
            ),
            related=_related(campaign, result.unit_code, stage_id),
            payload={
                "campaign": campaign_id,
                "unit": result.unit_code,
                "unit_name": campaign.display(result.unit_code),
                "item": result.item_id,
                "item_name": item_name,
                "instance": result.instance,
                "version": result.version,
                "reason": result.reason,
                "new_due": result.new_due.isoformat(),
                "state": result.new_state.value,
                "via": via,
            },
        )
        asyncio.run(_send(event))
    except Exception:  # noqa: BLE001 - the review is recorded; a server that cannot be reached costs the event
        log.warning("%s for review %s not sent", name, result.review_id, exc_info=True)
        return None
    return event


async def _send(event: Event) -> None:
    async with get_events_client(reconnection_attempts=2) as client:
        await client.emit(event)
