"""campaign_tick: one reconciliation tick (巡检) of a campaign at one instant.

A tick plans the campaign on first use, then walks the stages in the notice's order (自评 → 县级检查 →
市级检查 → 材料上报). Each stage's task reads only the assignments with an event due by `as_of`, applies
their transitions (open, due soon, overdue, escalate) and writes the notification intents in the same
transaction. Roll-ups (汇总) are fed, and a forwarded campaign (转发) records finished roll-ups on its upper
campaign's item; a last task composes one message per unit. Ticking twice at one instant changes nothing, and
a tick after a gap catches up, so a missed schedule is repaired by the next run.

Operators see the result in the Prefect UI: the run is named after the campaign and the instant, its log says
in Chinese what each stage did and what the tick did in all, and the campaign's artifacts (progress per stage,
红黄绿 per unit, the overdue list and escalations) are updated under stable keys; events (duban.stage.opened,
duban.assignment.overdue, duban.acknowledgement.missing) feed automations. A campaign that asks for 签收 also
reminds the units that have not acknowledged and escalates them; one whose reviews remind
(`review: {remind_after: …}`) reminds the reviewers of versions left waiting.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from duban.instants import fmt, fmt_arg
from duban.services.acknowledgements import asks_acknowledgement
from duban.services.database import open_database
from duban.services.lifecycle import campaign_named, check_tick_ahead, planned_campaign_id
from duban.services.outcomes import outcome_rules
from duban.services.review_reminders import reminding_items
from duban.services.upkeep import worth_tidying
from duban.settings import get_settings
from duban.views.artifacts import tick_log_lines
from duban.views.campaigns import load_campaign
from flows.console_time import zone_console_times
from flows.results import NO_RESULTS
from tasks.events import acknowledgements_missing
from tasks.rollups import feed_rollups_task
from tasks.stages import (
    compose_task,
    ensure_campaign,
    outcomes_task,
    release_stages_task,
    remind_reviewers_task,
    tick_acknowledgements_task,
    tick_stage_task,
    tidy_task,
)
from tasks.views import Publication, emit_events

zone_console_times()  # Prefect's console stamps in duban's zone (DUBAN_TIMEZONE), not the server's


def _run_name() -> str:
    """The run as operators know it in the Prefect UI: the campaign's id (not its spec file's name) and the
    instant it ticks."""
    params = flow_run.parameters
    campaign = campaign_named(str(params.get("spec", "campaign")))
    when = params.get("as_of") or flow_run.scheduled_start_time  # a scheduled run ticks at its schedule
    return f"{campaign} @ {fmt(when, get_settings().timezone) if isinstance(when, datetime) else 'now'}"


@flow(name="campaign-tick", flow_run_name=_run_name, log_prints=False, **NO_RESULTS)
def campaign_tick(spec: str, as_of: datetime | None = None) -> dict:
    """Tick the campaign in `spec` (a spec path or a campaign id) at `as_of` (default: now)."""
    now = datetime.now(timezone.utc)
    if as_of is not None:  # given from the UI or a deployment's parameters: never later than now (F17)
        tz = get_settings().timezone
        check_tick_ahead(as_of, now, tz, fmt_arg(as_of, tz))
    as_of = as_of or now
    engine = open_database(get_settings().resolved_database_url)
    # Planned already on every tick but the first (or the first after the spec changed): no plan task run then
    campaign_id = planned_campaign_id(engine, spec) or ensure_campaign(spec, as_of)
    campaign = load_campaign(engine, campaign_id, units=False)
    outcomes = bool(outcome_rules(campaign.spec))
    if outcomes:  # 约谈, 通报批评, 重新开展 decided by now: one owed as an item opens in this very tick
        outcomes_task(campaign_id, as_of)
    if any(stage.follows for stage in campaign.spec.stages):  # stages opened by others: decided from the record first
        release_stages_task(campaign_id, as_of)
    stages = [tick_stage_task(campaign_id, stage_id, as_of) for stage_id in campaign.stage_ids()]
    rollups = feed_rollups_task(campaign_id, as_of) if campaign.spec.rollups or campaign.spec.forward else None
    opened = any(stage["events"].get("opened") for stage in stages)
    acks = tick_acknowledgements_task(campaign_id, as_of, opened) if asks_acknowledgement(campaign.spec) else None
    reviews = remind_reviewers_task(campaign_id, as_of) if reminding_items(campaign.spec) else None
    if outcomes:  # and those this tick's overdue transitions decide (their items open at the next tick)
        outcomes_task(campaign_id, as_of)
    # The views and the events go out while the messages are composed
    publication = Publication(campaign_id, as_of, stages)
    happened = any(stage["events"].get("opened") or stage["overdue"] for stage in stages)
    events = emit_events.submit(campaign_id, as_of, stages) if happened else None
    messages = compose_task(campaign_id, as_of)
    changed = sum(sum(stage["events"].values()) for stage in stages)
    # a stage opened for tens of thousands of units: the superseded rows vacuumed now, not by autovacuum later
    tidied = tidy_task(changed) if worth_tidying(changed) else None
    artifacts = publication.finish(messages)
    log = get_run_logger()
    for line in tick_log_lines(
        [(s.id, s.name) for s in campaign.spec.stages], stages, fmt(as_of, campaign.tz), messages
    ):
        log.info(line)
    emitted = events.result() if events else {}
    summary: dict[str, Any] = {
        "campaign": campaign_id,
        "as_of": as_of.isoformat(),
        "stages": stages,
        "messages": messages,
        "artifacts": artifacts,
        "events": emitted,
    }
    if tidied is not None:
        summary["tidied_s"] = round(tidied, 2)
    if rollups is not None:
        summary["rollups"] = rollups
    if reviews is not None:
        summary["review_reminders"] = reviews
        if reviews["reminded"]:
            log.info(f"审核提醒：{len(reviews['reminded'])}份材料等待审核已超过规定时间，已提醒审核单位")
    if acks is not None:
        summary["acknowledgements"] = acks
        if acks["missing"] or acks["escalated"]:
            log.info(f"签收：{len(acks['missing'])}个单位逾期未签收（已提醒），{len(acks['escalated'])}个已向上级催办")
        if acks["missing"]:
            summary["events"]["acknowledgement_missing"] = acknowledgements_missing(
                engine, campaign_id, acks["missing"], as_of
            )
    return summary
