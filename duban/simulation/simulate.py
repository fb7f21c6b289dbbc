"""Simulate a campaign on a simulated clock: ticks at every event instant, synthetic units, the messages out.

The clock steps to the next instant at which anything can happen: an assignment's next event, the end of
quiet hours for a waiting message, or the day's 18:00 batch for receipts of that day's submissions. Units
behave by a seeded draw (duban.simulation.synthetic): most submit on time, some late, some never. The same driver runs
the demo through Prefect flows; `duban simulate` runs the domain directly on a throw-away database, with a
tick that does what the `campaign-tick` flow does: every stage, then the roll-ups (汇总, 转发), then compose.
In a campaign with roll-ups a day's batch of submissions is followed by a tick, as the real ten-minute tick
would follow it, so a roll-up completed by the batch is handed in then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from duban.domain.quiet import QuietHours
from duban.instants import at_clock, in_zone, utc
from duban.services.acknowledgements import asks_acknowledgement, next_ack_instant, tick_acknowledgements
from duban.services.compose import compose_messages
from duban.services.review_reminders import remind_reviewers, reminding_items
from duban.services.rollups import feed_rollups
from duban.services.tick import next_instant, tick_stage
from duban.settings import get_settings
from duban.simulation.synthetic import PlannedSubmission, record_synthetic
from duban.store import simulation as outbox_rows
from duban.store.db import reading
from duban.views.campaigns import load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine

DAILY_BATCH = time(18, 0)


@dataclass
class RunLog:
    steps: int = 0
    ticks: int = 0
    dispatches: int = 0
    submissions: int = 0
    instants: list[datetime] = field(default_factory=list)


def next_release(engine: Engine, campaign_id: str, after: datetime) -> datetime | None:
    """When the next waiting message becomes ready (quiet hours, retry backoff)."""
    with reading(engine) as conn:
        return outbox_rows.next_release(conn, campaign_id, after)


def ready_messages(engine: Engine, campaign_id: str, as_of: datetime) -> int:
    """How many waiting messages are ready at `as_of`."""
    with reading(engine) as conn:
        return outbox_rows.ready_count(conn, campaign_id, as_of)


def run_clock(
    engine: Engine,
    campaign_id: str,
    stages: list[str],
    tz: str,
    *,
    start: datetime,
    end: datetime,
    submissions: list[PlannedSubmission],
    tick: Callable[[datetime], object],
    dispatch: Callable[[datetime], object],
    quiet: QuietHours | None = None,
    with_rollups: bool = False,
    more: Callable[[], list[PlannedSubmission]] | None = None,
    also: Callable[[datetime], datetime | None] | None = None,
) -> RunLog:
    """Step the campaign from `start` to `end` through every instant at which something happens.

    `with_rollups`: the campaign has roll-ups or is a forward, so a batch of submissions is followed by a
    tick (which feeds them) rather than by composing its receipts alone. `more`: the submissions of stages a
    tick has just opened for others (按阶段顺序), drawn once their instants are known; a batch is then followed by
    a tick too, as the real ten-minute tick would follow it, since the batch may be the share of units a waiting
    stage opens on (no assignment schedules that instant). `also`: the next instant
    after a moment at which a tick decides something no assignment schedules (an outcome such as 约谈)."""
    log = RunLog()
    start, end = utc(start), utc(end)
    pending = [s for s in submissions if start <= s.at <= end]
    cursor = 0
    last: datetime | None = None
    while True:
        floor = last if last is not None else start - timedelta(microseconds=1)
        candidates = [
            next_instant(engine, campaign_id, stages, after=floor),
            next_ack_instant(engine, campaign_id, after=floor),
            next_release(engine, campaign_id, floor),
            pending[cursor].at if cursor < len(pending) else None,
            also(floor) if also is not None else None,
        ]
        found = [c for c in candidates if c is not None]
        if not found:
            break
        moment = max(min(found), start)
        if cursor < len(pending) and pending[cursor].at == moment:
            moment = _daily_batch(moment, tz)  # receipts of the day go out in the 18:00 batch
            # unless something happens before it: an event, a 签收 due, a message released after quiet hours
            upcoming = [c for i, c in enumerate(candidates) if i != 3 and c is not None]
            if upcoming and min(upcoming) < moment:
                moment = max(min(upcoming), start)
        if moment > end:
            break
        batch = []
        while cursor < len(pending) and pending[cursor].at <= moment:
            batch.append(pending[cursor])
            cursor += 1
        if batch:
            log.submissions += record_synthetic(engine, campaign_id, batch)
        due = min(
            (
                d
                for d in (next_instant(engine, campaign_id, stages, after=None), next_ack_instant(engine, campaign_id))
                if d is not None
            ),
            default=None,
        )
        extra = also(floor) if also is not None else None
        after_batch = bool(batch) and (with_rollups or more is not None)
        if (due is not None and due <= moment) or after_batch or (extra is not None and extra <= moment):
            tick(moment)
            log.ticks += 1
            if more is not None:
                # a stage opened at the instant the share was reached lies before this tick: its units start now
                fresh = [s if s.at >= moment else replace(s, at=moment) for s in more()]
                if fresh:
                    pending = pending[:cursor] + sorted(
                        [*pending[cursor:], *fresh], key=lambda s: (s.at, s.assignment_id)
                    )
        elif batch:
            compose_messages(engine, campaign_id, moment, quiet=quiet)
        if ready_messages(engine, campaign_id, moment):
            dispatch(moment)
            log.dispatches += 1
        log.steps += 1
        log.instants.append(moment)
        last = moment
    return log


def _daily_batch(moment: datetime, tz: str) -> datetime:
    local = in_zone(moment, tz)
    batch = at_clock(local.date(), DAILY_BATCH, tz)
    return utc(batch if batch >= local else at_clock(local.date() + timedelta(days=1), DAILY_BATCH, tz))


def feeds_rollups(engine: Engine, campaign_id: str) -> bool:
    """Whether a tick of the campaign feeds roll-ups: it has `rollups:` or is a forward (as the flow decides)."""
    spec = load_campaign(engine, campaign_id, units=False).spec
    return bool(spec.rollups or spec.forward)


def domain_tick(
    engine: Engine, campaign_id: str, stages: list[str], quiet: QuietHours | None = None
) -> Callable[[datetime], object]:
    """A tick without Prefect, in the flow's order: every stage, the roll-ups when there are any, then compose."""
    rollups = feeds_rollups(engine, campaign_id)
    spec = load_campaign(engine, campaign_id, units=False).spec
    acks = asks_acknowledgement(spec)
    reviews = bool(reminding_items(spec))
    ordered = any(stage.follows for stage in spec.stages)
    outcomes = any(item.outcomes or spec.defaults.outcomes for stage in spec.stages for item in stage.items)

    def tick(as_of: datetime) -> None:
        if outcomes:  # before the stages, so an outcome owed as an item opens in this tick (and after, below)
            from duban.services.outcomes import decide_outcomes

            decide_outcomes(engine, campaign_id, as_of)
        if ordered:  # stages opened by others (按阶段顺序), decided from the record as the flow does
            from duban.services.stage_release import release_stages

            release_stages(engine, campaign_id, as_of)
        opened = False
        for stage_id in stages:
            opened = tick_stage(engine, campaign_id, stage_id, as_of, quiet=quiet).events["opened"] > 0 or opened
        if rollups:
            feed_rollups(engine, campaign_id, as_of)
        if acks:
            tick_acknowledgements(engine, campaign_id, as_of, quiet=quiet or get_settings().quiet(), opened=opened)
        if reviews:  # 审核提醒 at the instants the clock visits (a period's end is caught by the next tick)
            remind_reviewers(engine, campaign_id, as_of, quiet=quiet or get_settings().quiet())
        if outcomes:
            from duban.services.outcomes import decide_outcomes

            decide_outcomes(engine, campaign_id, as_of)
        compose_messages(engine, campaign_id, as_of, quiet=quiet)

    return tick
