"""dispatch_outbox: drain the outbox — send every ready message over its unit's channels and record it.

Each message is marked sent only after a channel accepted it; failures back off and, after the configured
number of attempts, become dead letter for operators. Safe to run on several workers at once.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from duban.channels import notifier_for
from duban.dispatch import dispatch
from duban.instants import fmt
from duban.settings import get_settings
from duban.store import engine_for


def _run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"dispatch @ {fmt(as_of, get_settings().timezone) if isinstance(as_of, datetime) else 'now'}"


@task(name="send-ready-messages", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60])
def send_ready(as_of: datetime, campaign: str | None) -> dict:
    settings = get_settings()
    result = dispatch(
        engine_for(settings.resolved_database_url), as_of, notifier_for(settings),
        fallback_channels=settings.fallback_channels, campaign_id=campaign, worker=f"flow:{flow_run.id}",
        portal_url=settings.portal_url,
    )  # fmt: skip
    return {"claimed": result.claimed, "sent": result.sent, "failed": result.failed, "dead": result.dead,
            "by_kind": result.by_kind}  # fmt: skip


@flow(name="dispatch-outbox", flow_run_name=_run_name)
def dispatch_outbox(as_of: datetime | None = None, campaign: str | None = None) -> dict:
    """Send what is ready at `as_of` (default: now), for one campaign or all."""
    return send_ready(as_of or datetime.now(timezone.utc), campaign)
