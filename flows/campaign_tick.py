"""campaign_tick: one reconciliation tick (巡检) of a campaign at one instant.

A tick plans the campaign on first use, then walks the stages in the notice's order (自评 → 县级检查 →
市级检查 → 材料上报). Each stage's task reads only the assignments with an event due by `as_of`, applies
their transitions (open, due soon, overdue, escalate) and writes the notification intents in the same
transaction; a last task composes one message per unit. Ticking twice at one instant changes nothing, and
a tick after a gap catches up, so a missed schedule is repaired by the next run. Before composing, roll-ups
(汇总) are fed, and a forwarded campaign (转发) records finished roll-ups on its upper campaign's item.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from duban.campaigns import load_campaign
from duban.instants import fmt
from duban.settings import get_settings
from duban.store import engine_for
from tasks.rollups import feed_rollups_task
from tasks.stages import compose_task, ensure_campaign, tick_stage_task


def _run_name() -> str:
    params = flow_run.parameters
    spec = str(params.get("spec", "campaign")).rsplit("/", 1)[-1].removesuffix(".yaml")
    as_of = params.get("as_of")
    when = fmt(as_of, get_settings().timezone) if isinstance(as_of, datetime) else "now"
    return f"{spec} @ {when}"


@flow(name="campaign-tick", flow_run_name=_run_name, log_prints=False)
def campaign_tick(spec: str, as_of: datetime | None = None) -> dict:
    """Tick the campaign in `spec` (a spec path or a campaign id) at `as_of` (default: now)."""
    as_of = as_of or datetime.now(timezone.utc)
    campaign_id = ensure_campaign(spec, as_of)
    campaign = load_campaign(engine_for(get_settings().resolved_database_url), campaign_id, units=False)
    stages = [tick_stage_task(campaign_id, stage_id, as_of) for stage_id in campaign.stage_ids()]
    rollups = feed_rollups_task(campaign_id, as_of) if campaign.spec.rollups or campaign.spec.forward else None
    messages = compose_task(campaign_id, as_of)
    summary = {"campaign": campaign_id, "as_of": as_of.isoformat(), "stages": stages, "messages": messages}
    if rollups is not None:
        summary["rollups"] = rollups
    if messages or any(s["events"] for s in stages):
        rows = "\n".join(
            f"| {s['stage']} | {s['examined']} | {', '.join(f'{k} {v}' for k, v in s['events'].items()) or '—'} |"
            for s in stages
        )
        create_markdown_artifact(
            key=f"{campaign_id.lower()}-tick",
            markdown=f"### {campaign.spec.title} · {fmt(as_of, campaign.tz)}\n\n| 阶段 | 检查 | 变化 |\n|---|---|---|\n"
            f"{rows}\n\n消息 {messages} 条",
            description=f"tick of {campaign_id}",
        )
    return summary
