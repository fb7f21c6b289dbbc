"""daily_digest: each morning (08:30), one digest per running campaign for its operators (每日督办简报).

The digest says where each stage stands, who is overdue longest, the last day's escalations and
submissions, and any message the channels refused. It goes out through the outbox like every message;
composing twice on one day writes nothing new.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from sqlalchemy import select

from duban.instants import fmt, utc
from duban.settings import get_settings
from duban.store.db import engine_for
from duban.store.tables import Assignment
from duban.views.digest import compose_digest
from flows.dispatch_outbox import dispatch_outbox
from flows.results import NO_RESULTS


def _run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"digest @ {fmt(as_of, get_settings().timezone) if isinstance(as_of, datetime) else 'now'}"


@task(name="compose-digest", cache_policy=NO_CACHE)
def digest_for(campaign_id: str, as_of: datetime) -> bool:
    return compose_digest(engine_for(get_settings().resolved_database_url), campaign_id, as_of)


@flow(name="daily-digest", flow_run_name=_run_name, **NO_RESULTS)
def daily_digest(as_of: datetime | None = None, send: bool = True) -> dict:
    """Compose today's digest for every campaign with work still open, then send them."""
    moment = utc(as_of or datetime.now(timezone.utc))
    engine = engine_for(get_settings().resolved_database_url)
    a = Assignment.__table__
    with engine.connect() as conn:
        running = list(conn.execute(select(a.c.campaign_id).where(
            a.c.state.in_(("open", "due_soon", "overdue"))).distinct()).scalars())  # fmt: skip
    composed = {campaign: digest_for(campaign, moment) for campaign in running}
    if send:
        dispatch_outbox(as_of=as_of)
    return {"campaigns": running, "composed": sum(composed.values())}
