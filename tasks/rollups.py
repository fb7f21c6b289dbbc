"""Task of a campaign tick: feed roll-ups (汇总) and, in a forwarded campaign, the upper campaign's item."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from duban.services.database import open_database
from duban.services.rollups import feed_rollups
from duban.settings import get_settings


@task(name="feed-rollups", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def feed_rollups_task(campaign_id: str, as_of: datetime) -> dict:
    """Submit complete automatic roll-ups and record finished forwarded ones upward (safe to retry)."""
    fed = feed_rollups(open_database(get_settings().resolved_database_url), campaign_id, as_of)
    return {"submitted": len(fed.submitted), "fed_up": len(fed.fed_up), "waiting": fed.waiting}
