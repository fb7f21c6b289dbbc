"""A campaign's tick deployment on the Prefect server: register or update it (`duban deploy SPEC`), or pause it.

The deployment is `campaign-tick/<campaign id>` on the process work pool, like the entries of prefect.yaml:
a tick every ten minutes plus one RRule schedule holding the plan's exact future instants (openings,
reminders, dues, escalations), all in the campaign's zone. Registering again replaces its schedules, so
after editing a spec `duban deploy SPEC` is all it takes; `--remove` pauses the deployment and every one
of its schedules (its runs and artifacts stay for the record).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.schedules import CronSchedule, RRuleSchedule
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from prefect.utilities.callables import parameter_schema

from duban.domain.schedules import TICK_CRON, TickInstants, tick_instants
from duban.errors import DeployError
from duban.services.lifecycle import plan_file
from flows.campaign_tick import campaign_tick

PROJECT = Path(__file__).resolve().parent.parent  # the checkout holding flows/, tasks/ and campaign_specs/
POOL = "duban-process"
ENTRYPOINT = "flows/campaign_tick.py:campaign_tick"


@dataclass
class Deployed:
    """What `duban deploy` did on the server."""

    name: str  # campaign-tick/<campaign id>
    deployment_id: UUID
    spec: str  # the spec parameter, relative to the project when inside it
    title: str
    instants: TickInstants | None
    paused: bool


def spec_parameter(spec: Path) -> str:
    """The spec path the worker opens: relative to the project (its working directory) when inside it."""
    spec = spec.resolve()
    return str(spec.relative_to(PROJECT)) if spec.is_relative_to(PROJECT) else str(spec)


def deploy_campaign(spec: Path, *, now: datetime, pool: str = POOL, calendar_file: Path | None = None) -> Deployed:
    """Register or update the campaign's tick deployment with its schedules (instants after `now`), unpaused."""
    loaded, plan = plan_file(spec, calendar_file=calendar_file)
    campaign = loaded.campaign
    instants = tick_instants(plan, after=now)
    tz = campaign.timezone
    schedules = [
        DeploymentScheduleCreate(
            schedule=CronSchedule(cron=TICK_CRON, timezone=tz), active=True, slug="every-ten-minutes"
        )
    ]
    if instants.rrule:
        schedules.append(
            DeploymentScheduleCreate(
                schedule=RRuleSchedule(rrule=instants.rrule, timezone=tz), active=True, slug="plan-instants"
            )
        )
    description = _description(campaign, len(instants.instants)) + "（duban deploy 登记，只含未到的时刻）"
    parameter = spec_parameter(spec)

    async def register() -> UUID:
        async with get_client() as client:
            await _require_pool(client, pool)
            flow_id = await client.create_flow_from_name(campaign_tick.name)
            return await client.create_deployment(
                flow_id=flow_id,
                name=campaign.id,
                work_pool_name=pool,
                entrypoint=ENTRYPOINT,
                pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(PROJECT)}}],
                parameters={"spec": parameter},
                parameter_openapi_schema=parameter_schema(campaign_tick).model_dump(),
                schedules=schedules,
                paused=False,
                description=description,
                tags=["duban", "campaign", campaign.id],
            )

    deployment_id = _on_server(register)
    return Deployed(f"{campaign_tick.name}/{campaign.id}", deployment_id, parameter, campaign.title, instants, False)


def pause_campaign(ref: str) -> Deployed:
    """Pause the campaign's deployment and each of its schedules; `ref` is a spec path or a campaign id."""
    campaign_id = ref
    if ref.endswith((".yaml", ".yml")) or Path(ref).is_file():
        campaign_id = plan_file(ref)[0].campaign.id
    name = f"{campaign_tick.name}/{campaign_id}"

    async def pause():
        async with get_client() as client:
            try:
                deployment = await client.read_deployment_by_name(name)
            except ObjectNotFound:
                raise DeployError(f"no deployment {name} on the Prefect server: nothing to remove") from None
            for schedule in await client.read_deployment_schedules(deployment.id):
                await client.update_deployment_schedule(deployment.id, schedule.id, active=False)
            await client.pause_deployment(deployment.id)
            return deployment

    deployment = _on_server(pause)
    return Deployed(
        name, deployment.id, str(deployment.parameters.get("spec", "")), deployment.description or "", None, True
    )


def _description(campaign, instants: int) -> str:
    return (
        f"{campaign.title}（{campaign.issuer}）巡检：每10分钟一次，"
        f"另在计划的 {instants} 个时刻（阶段开始、提醒、截止、催办）各一次"
    )


def _on_server(work):
    """Run `work` against the configured Prefect server; a clear error when there is none or it is down."""
    import httpx

    url = PREFECT_API_URL.value()
    if not url:
        raise DeployError(
            "no Prefect server configured: set PREFECT_API_URL to the server's API (for example "
            "`prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api`), then deploy again"
        )
    try:
        return asyncio.run(work())
    except (httpx.ConnectError, httpx.TimeoutException) as exc:
        raise DeployError(
            f"cannot reach the Prefect server at {url} ({exc}): is `prefect server start` running?"
        ) from None


async def _require_pool(client, pool: str) -> None:
    try:
        await client.read_work_pool(pool)
    except ObjectNotFound:
        raise DeployError(
            f"the Prefect server has no work pool {pool!r}: create it with "
            f"`prefect work-pool create {pool} --type process`, start a worker with "
            f"`prefect worker start --pool {pool}`, then deploy again"
        ) from None


def campaign_entry(spec: Path, *, calendar_file: Path | None = None) -> dict:
    """The campaign's entry of prefect.yaml (every instant of the plan: the scheduler skips the past ones)."""
    loaded, plan = plan_file(spec, calendar_file=calendar_file)
    campaign = loaded.campaign
    instants = tick_instants(plan)
    schedules = [{"cron": TICK_CRON, "timezone": campaign.timezone, "slug": "every-ten-minutes"}]
    if instants.rrule:
        schedules.append({"rrule": instants.rrule, "timezone": campaign.timezone, "slug": "plan-instants"})
    return {
        "name": campaign.id,
        "entrypoint": ENTRYPOINT,
        "work_pool": {"name": POOL},
        "description": _description(campaign, len(instants.instants)),
        "tags": ["duban", "campaign", campaign.id],
        "parameters": {"spec": spec_parameter(spec)},
        "schedules": schedules,
    }


def campaign_entry_yaml(entry: dict) -> str:
    """The entry as prefect.yaml writes it, with the file's anchors (*campaign_tick, *every_ten_minutes)."""
    import json

    lines = [
        "  - <<: *campaign_tick",
        f"    name: {entry['name']}",
        f"    description: {json.dumps(entry['description'], ensure_ascii=False)}",
        f"    tags: {json.dumps(entry['tags'], ensure_ascii=False)}",
        "    parameters:",
        f"      spec: {json.dumps(entry['parameters']['spec'], ensure_ascii=False)}",
        "    schedules:",
    ]
    for schedule in entry["schedules"]:
        if "cron" in schedule and schedule["timezone"] == "Asia/Shanghai":
            lines.append("      - *every_ten_minutes")
            continue
        key = "cron" if "cron" in schedule else "rrule"
        lines += [
            f"      - {key}: {json.dumps(schedule[key])}",
            f"        timezone: {schedule['timezone']}",
            f"        slug: {schedule['slug']}",
        ]
    return "\n".join(lines) + "\n"
