"""dispatch_outbox: drain the outbox — send every ready message over its unit's channels and record it.

Each message is marked sent only after a channel accepted every part of it; a bot's rate limit makes it wait,
a post with no answer is unconfirmed (one more try), a final refusal is dead at once, other failures back off
and become dead letter after the configured tries. Quiet hours hold non-urgent messages here too, and a message
says only what is still true at the send. Safe to run on several workers at once: a claim belongs to a live
dispatcher.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from duban.instants import fmt
from duban.notify.channels import notifier_for
from duban.services.database import open_database
from duban.services.dispatch import Dispatcher
from duban.services.links import unit_links
from duban.settings import get_settings
from flows.console_time import zone_console_times
from flows.results import NO_RESULTS

zone_console_times()  # Prefect's console stamps in duban's zone (DUBAN_TIMEZONE), not the server's


def _run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"dispatch @ {fmt(as_of, get_settings().timezone) if isinstance(as_of, datetime) else 'now'}"


@task(name="send-ready-messages", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60])
def send_ready(as_of: datetime, campaign: str | None, live: bool) -> dict:
    # Live runs count bots' rate limits on the wall clock; a simulated as_of counts them on its own clock.
    clock = (lambda: datetime.now(timezone.utc)) if live else None
    settings = get_settings()
    dispatcher = Dispatcher(
        open_database(settings.resolved_database_url),
        notifier_for(settings),
        settings.fallback_channels,
        settings.operator_channels,
        settings.max_attempts,
        settings.portal_url,
        link_for=unit_links(settings),
        concurrency=settings.dispatch_concurrency,
        clock=clock,
        quiet=settings.quiet(),
    )
    result = dispatcher.run(as_of, campaign_id=campaign, worker=f"flow:{str(flow_run.id)[:8]}")
    return {
        "claimed": result.claimed,
        "sent": result.sent,
        "failed": result.failed,
        "dead": result.dead,
        "deferred": result.deferred,
        "held": result.held,
        "dropped": result.dropped,
        "unconfirmed": result.unconfirmed,
        "misconfigured": result.misconfigured,
        "by_kind": result.by_kind,
    }


@flow(name="dispatch-outbox", flow_run_name=_run_name, **NO_RESULTS)
def dispatch_outbox(as_of: datetime | None = None, campaign: str | None = None) -> dict:
    """Send what is ready at `as_of` (default: now), for one campaign or all."""
    return send_ready(as_of or datetime.now(timezone.utc), campaign, live=as_of is None)
