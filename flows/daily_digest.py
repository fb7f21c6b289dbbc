"""daily_digest: each morning (08:30), one digest per running campaign for its operators (每日督办简报).

A campaign whose last due is more than 30 days past (duban.views.digest.CLOSED_AFTER) has none any more.

The digest says where each stage stands, who is overdue longest, the last day's escalations and
submissions, and any message the channels refused. It goes out through the outbox like every message;
composing twice on one day writes nothing new.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from duban.instants import fmt, utc
from duban.services.database import open_database
from duban.settings import get_settings
from duban.views.digest import campaigns_with_open_work, closed_campaigns, compose_digest
from flows.console_time import zone_console_times
from flows.dispatch_outbox import dispatch_outbox
from flows.results import NO_RESULTS

zone_console_times()  # Prefect's console stamps in duban's zone (DUBAN_TIMEZONE), not the server's


def _run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"digest @ {fmt(as_of, get_settings().timezone) if isinstance(as_of, datetime) else 'now'}"


@task(name="compose-digest", cache_policy=NO_CACHE)
def digest_for(campaign_id: str, as_of: datetime) -> bool:
    return compose_digest(open_database(get_settings().resolved_database_url), campaign_id, as_of)


@flow(name="daily-digest", flow_run_name=_run_name, **NO_RESULTS)
def daily_digest(as_of: datetime | None = None, send: bool = True) -> dict:
    """Compose today's digest for every campaign with work still open, then send them."""
    moment = utc(as_of or datetime.now(timezone.utc))
    engine = open_database(get_settings().resolved_database_url)
    open_work = campaigns_with_open_work(engine)
    closed = closed_campaigns(engine, open_work, moment)  # last due over CLOSED_AFTER ago: no digest any more
    running = [campaign for campaign in open_work if campaign not in closed]
    composed = {campaign: digest_for(campaign, moment) for campaign in running}
    if send:
        dispatch_outbox(as_of=as_of)
    return {"campaigns": running, "composed": sum(composed.values()), "closed": closed}
