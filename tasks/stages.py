"""Tasks of a campaign tick: plan on first use, one tick per stage, compose the tick's messages."""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from duban.services.compose import compose_messages
from duban.services.database import open_database
from duban.services.lifecycle import campaign_id_for
from duban.services.tick import tick_stage
from duban.settings import get_settings


def _engine():
    return open_database(get_settings().resolved_database_url)


@task(name="plan-campaign", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def ensure_campaign(spec: str, now: datetime) -> str:
    """The campaign id for a spec path or id; a spec file is planned into the database on first use."""
    return campaign_id_for(_engine(), spec, now=now, calendar_file=get_settings().calendar_file)


@task(name="release-stages", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def release_stages_task(campaign_id: str, as_of: datetime) -> list[tuple[str, datetime]]:
    """Open the stages that wait for an earlier one (按阶段顺序) once the record says its units have finished."""
    from duban.services.stage_release import release_stages

    return release_stages(_engine(), campaign_id, as_of, calendar_file=get_settings().calendar_file)


@task(name="decide-outcomes", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def outcomes_task(campaign_id: str, as_of: datetime) -> int:
    """Record the outcomes the notice names for slipping units (约谈, 通报批评, 重新开展) and assign those owed."""
    from duban.services.outcomes import decide_outcomes

    return decide_outcomes(_engine(), campaign_id, as_of, calendar_file=get_settings().calendar_file)


@task(name="tick-stage", task_run_name="{stage_id}", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def tick_stage_task(campaign_id: str, stage_id: str, as_of: datetime) -> dict:
    """Apply the stage's due transitions and write their intents, and the messages of a one-item opening, held for
    the compose (one transaction; safe to retry)."""
    result = tick_stage(_engine(), campaign_id, stage_id, as_of)
    return {
        "stage": stage_id,
        "examined": result.examined,
        "events": dict(result.events),
        "intents": result.intents,
        "overdue": result.overdue,
    }


@task(name="compose-messages", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def compose_task(campaign_id: str, as_of: datetime) -> int:
    """One outbox message per recipient for this tick's intents; the messages the stages' ticks wrote let go."""
    return compose_messages(_engine(), campaign_id, as_of, quiet=get_settings().quiet())


@task(name="tidy-database", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=[30])
def tidy_task(changed: int) -> float | None:
    """After a tick that changed many assignments (DUBAN_TIDY_AFTER): VACUUM (ANALYZE) on PostgreSQL, so later
    ticks and the dashboard do not read past the superseded rows (the seconds taken; None on SQLite)."""
    from duban.services.upkeep import tidy_after_tick

    taken = tidy_after_tick(_engine(), changed)
    if taken is not None:
        get_run_logger().info(
            f"整理数据库：本次巡检更新了{changed:,}条任务记录，已清理旧版本（VACUUM），用时{taken:.1f}秒"
        )
    return taken


@task(name="tick-acknowledgements", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def tick_acknowledgements_task(campaign_id: str, as_of: datetime, opened: bool = True) -> dict:
    """签收: remind the units that have not acknowledged by their due, escalate the ones still missing (one
    transaction); `opened`: this tick's stages opened something (its units' 签收 count from when they can read it)."""
    from duban.services.acknowledgements import tick_acknowledgements

    done = tick_acknowledgements(_engine(), campaign_id, as_of, quiet=get_settings().quiet(), opened=opened)
    return {"missing": done.missing, "escalated": done.escalated, "messages": done.messages}


@task(name="remind-reviewers", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def remind_reviewers_task(campaign_id: str, as_of: datetime) -> dict:
    """审核提醒: remind each reviewer of the versions that waited a whole period (one transaction; once per period)."""
    from duban.services.review_reminders import remind_reviewers

    settings = get_settings()
    done = remind_reviewers(_engine(), campaign_id, as_of, quiet=settings.quiet(), calendar_file=settings.calendar_file)
    return {"reminded": done.reminded, "messages": done.messages}
