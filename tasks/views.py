"""What a tick shows in the Prefect UI: the campaign's artifacts (stable keys, on the flow run) and its events."""

from __future__ import annotations

import contextvars
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import partial

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from duban.services.database import open_database
from duban.settings import get_settings
from duban.views.artifacts import stage_description, summary_markdown, unit_table, unit_table_description
from duban.views.campaigns import load_campaign
from duban.views.progress import CampaignView, artifact_key, campaign_view, views_published, views_stale
from tasks import events


def _engine():
    return open_database(get_settings().resolved_database_url)


class Publication:
    """The tick's artifacts on their way: progress per stage, the 红黄绿 unit table and the summary.

    Started once the stages are ticked: the view is read and the progress and table artifacts are posted while
    the tick composes its messages; `finish` adds the summary, which counts those messages, and waits for every
    post. Artifacts sit on the tick's flow run, where operators look; a failed post fails the run visibly, and the
    next tick publishes again. Published only when something was recorded since the last publication or a new
    day began; an idle tick publishes nothing.
    """

    def __init__(self, campaign_id: str, as_of: datetime, stages: list[dict]) -> None:
        self.campaign_id, self.as_of, self.stages = campaign_id, as_of, stages
        self.engine = _engine()
        # read before the view, so nothing the view misses is marked seen
        self.marks = views_stale(self.engine, campaign_id, as_of)
        self.keys: dict[str, str] = {}
        if self.marks is None:
            return
        # The posts are independent round trips to the API: sent together, each in a copy of the flow run's
        # context so the artifact lands on this run (not on the compose task running meanwhile).
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="duban-artifacts")
        self.view = self.pool.submit(contextvars.copy_context().run, self._read_and_post)

    def _read_and_post(self) -> tuple[CampaignView, list[Future]]:
        view = campaign_view(self.engine, self.campaign_id, self.as_of)
        posts = []
        for index, stage in enumerate(view.stages):
            key = self.keys[stage.stage_id] = artifact_key(self.campaign_id, stage.stage_id, "progress")
            posts.append(
                partial(create_progress_artifact, stage.percent, key=key, description=stage_description(stage, index))
            )
        self.keys["units"] = artifact_key(self.campaign_id, "units")
        posts.append(
            partial(
                create_table_artifact,
                unit_table(view),
                key=self.keys["units"],
                description=unit_table_description(view),
            )
        )
        return view, [self.pool.submit(contextvars.copy_context().run, post) for post in posts]

    def finish(self, messages: int) -> dict[str, str]:
        """Post the summary, wait for every post (the first failure fails the run) and record the publication."""
        if self.marks is None:
            return {}
        with self.pool:
            view, posts = self.view.result()
            changes: dict[str, int] = {}
            for stage in self.stages:
                for event, count in stage["events"].items():
                    changes[event] = changes.get(event, 0) + count
            self.keys["summary"] = artifact_key(self.campaign_id, "summary")
            create_markdown_artifact(
                summary_markdown(view, changes, messages),
                key=self.keys["summary"],
                description=f"{view.campaign.spec.title}：进度、逾期未报、催办",
            )
            for post in posts:
                post.result()
        views_published(self.engine, self.campaign_id, self.as_of, self.marks)
        return self.keys


@task(name="emit-events", cache_policy=NO_CACHE)
def emit_events(campaign_id: str, as_of: datetime, stages: list[dict]) -> dict[str, int]:
    """duban.stage.opened per stage that opened, duban.assignment.overdue per item that slipped."""
    slipped = {unit for stage in stages for unit, _item, _instance in stage["overdue"][: events.MAX_OVERDUE_EVENTS]}
    campaign = load_campaign(_engine(), campaign_id, units=slipped)  # only the units the events name
    sent = {"duban.stage.opened": 0, "duban.assignment.overdue": 0}
    for stage in stages:
        if stage["events"].get("opened"):
            events.stage_opened(campaign, stage["stage"], stage["events"]["opened"], as_of)
            sent["duban.stage.opened"] += 1
        if stage["overdue"]:
            emitted = events.assignments_overdue(campaign, stage["stage"], stage["overdue"], as_of)
            sent["duban.assignment.overdue"] += emitted
    return sent
