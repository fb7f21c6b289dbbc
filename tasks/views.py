"""What a tick shows in the Prefect UI: the campaign's artifacts (stable keys, on the flow run) and its events."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from duban.campaigns import load_campaign
from duban.settings import get_settings
from duban.store import engine_for
from duban.views import (
    artifact_key,
    campaign_view,
    stage_description,
    summary_markdown,
    unit_table,
    views_published,
    views_stale,
)
from flows import events


def _engine():
    return engine_for(get_settings().resolved_database_url)


def publish_artifacts(campaign_id: str, as_of: datetime, stages: list[dict], messages: int) -> dict[str, str]:
    """Progress per stage, the 红黄绿 unit table and the summary, each under the campaign's stable keys.

    Called from the flow itself (not a task), so the artifacts sit on the tick's flow run where operators
    look; a failure here fails the run visibly, and the next tick publishes again. Published only when
    something was recorded since the last publication or a new day began; an idle tick publishes nothing.
    """
    engine = _engine()
    marks = views_stale(engine, campaign_id, as_of)  # read before the view, so nothing it misses is marked seen
    if marks is None:
        return {}
    view = campaign_view(engine, campaign_id, as_of)
    keys, posts = {}, []
    for stage in view.stages:
        key = keys[stage.stage_id] = artifact_key(campaign_id, stage.stage_id, "progress")
        posts.append(partial(create_progress_artifact, stage.percent, key=key, description=stage_description(stage)))
    changes: dict[str, int] = {}
    for stage in stages:
        for event, count in stage["events"].items():
            changes[event] = changes.get(event, 0) + count
    keys["units"] = artifact_key(campaign_id, "units")
    posts.append(partial(create_table_artifact, unit_table(view), key=keys["units"],
                         description=f"{view.campaign.spec.title}：各单位红黄绿（最需关注的在前）"))  # fmt: skip
    keys["summary"] = artifact_key(campaign_id, "summary")
    posts.append(partial(create_markdown_artifact, summary_markdown(view, changes, messages), key=keys["summary"],
                         description=f"{view.campaign.spec.title}：进度、逾期未报、催办"))  # fmt: skip
    # The posts are independent round trips to the API: sent together, each in a copy of the flow run's
    # context so the artifact lands on this run. The first failure fails the run, as one post alone would.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="duban-artifacts") as pool:
        for sent in [pool.submit(contextvars.copy_context().run, post) for post in posts]:
            sent.result()
    views_published(engine, campaign_id, as_of, marks)
    return keys


@task(name="emit-events", cache_policy=NO_CACHE)
def emit_events(campaign_id: str, as_of: datetime, stages: list[dict]) -> dict[str, int]:
    """duban.stage.opened per stage that opened, duban.assignment.overdue per item that slipped."""
    slipped = {unit for stage in stages for unit, _item, _instance in stage["overdue"][:events.MAX_OVERDUE_EVENTS]}
    campaign = load_campaign(_engine(), campaign_id, units=slipped)  # only the units the events name
    sent = {"duban.stage.opened": 0, "duban.assignment.overdue": 0}
    for stage in stages:
        if stage["events"].get("opened"):
            events.stage_opened(campaign, stage["stage"], stage["events"]["opened"], as_of)
            sent["duban.stage.opened"] += 1
        if stage["overdue"]:
            slipped = events.assignments_overdue(campaign, stage["stage"], stage["overdue"], as_of)
            sent["duban.assignment.overdue"] += slipped
    return sent
