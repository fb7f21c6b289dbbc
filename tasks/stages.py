"""Tasks of a campaign tick: plan on first use, one tick per stage, compose the tick's messages."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from duban.services.compose import compose_messages
from duban.services.lifecycle import campaign_id_for
from duban.services.tick import tick_stage
from duban.settings import get_settings
from duban.services.database import open_database


def _engine():
    return open_database(get_settings().resolved_database_url)


@task(name="plan-campaign", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def ensure_campaign(spec: str, now: datetime) -> str:
    """The campaign id for a spec path or id; a spec file is planned into the database on first use."""
    return campaign_id_for(_engine(), spec, now=now, calendar_file=get_settings().calendar_file)


@task(name="tick-stage", task_run_name="{stage_id}", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def tick_stage_task(campaign_id: str, stage_id: str, as_of: datetime) -> dict:
    """Apply the stage's due transitions and write their intents (one transaction; safe to retry)."""
    result = tick_stage(_engine(), campaign_id, stage_id, as_of)
    return {"stage": stage_id, "examined": result.examined, "events": dict(result.events), "intents": result.intents,
            "overdue": result.overdue}  # fmt: skip


@task(name="compose-messages", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def compose_task(campaign_id: str, as_of: datetime) -> int:
    """One outbox message per recipient for this tick's intents."""
    return compose_messages(_engine(), campaign_id, as_of, quiet=get_settings().quiet())
