"""审核提醒: versions left waiting for review remind their reviewer, on a tick.

An item with `review: {by: …, remind_after: 2 working days}` reminds the reviewer of each version still waiting
that long after it was handed in, and again each such period it keeps waiting: the parent unit (`by: parent`,
through its own channels and link) or the issuer's operators (`by: operators`, through the operators' channel).
Each reviewer gets one message per tick listing every version that reached a new period; a version is reminded
once per period, however often or however many workers tick (a tick after a gap reminds once, of the latest
period). A version reviewed before its reminder goes out is left out at the send (duban.store.freshness).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.quiet import QuietHours
from duban.instants import in_zone, utc
from duban.services.extension import timeline_of
from duban.settings import quiet_policy
from duban.spec.terms import Offset, OffsetUnit
from duban.store import review_reminders as store
from duban.store.campaigns import campaign_timezone
from duban.store.db import unit_of_work
from duban.views.campaigns import load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine

OPERATORS = "operators"


@dataclass
class ReviewReminders:
    """What a tick reminded: (reviewer, unit, item, version) per version, and the messages written."""

    reminded: list[tuple[str, str, str, int]] = field(default_factory=list)
    messages: int = 0


def reminding_items(spec) -> dict[str, tuple[str, Offset]]:  # noqa: ANN001
    """item id → (who reviews, how long a version may wait) for the items whose review reminds."""
    return {
        item.id: (item.review.by, item.review.remind_after)
        for _stage, item in spec.items()
        if item.review is not None and item.review.remind_after is not None
    }


def _shortest_wait(offset: Offset) -> timedelta:
    """A lower bound of the wait `offset` means (a day-based period ends on the remind time of its last day)."""
    if offset.unit is OffsetUnit.hours:
        return timedelta(hours=offset.amount)
    if offset.unit is OffsetUnit.minutes:
        return timedelta(minutes=offset.amount)
    return timedelta(days=max(offset.amount - 1, 0))


def remind_reviewers(
    engine: Engine,
    campaign_id: str,
    as_of: datetime,
    *,
    quiet: QuietHours | None = None,
    calendar_file: Path | None = None,
) -> ReviewReminders:
    """Remind each reviewer of the versions that waited a whole period by `as_of` (see the module docstring)."""
    as_of = utc(as_of)
    result = ReviewReminders()
    spec = load_campaign(engine, campaign_id, units=False).spec
    items = reminding_items(spec)
    if not items:
        return result
    shortest = min(_shortest_wait(offset) for _by, offset in items.values())
    with unit_of_work(engine) as conn:
        store.take_turn(conn, campaign_id)
        rows = store.waiting_versions(conn, campaign_id, list(items), as_of - shortest)
        if not rows:
            return result
        tz = campaign_timezone(conn, campaign_id)
        timeline = timeline_of(engine, campaign_id, calendar_file)
        done = store.reminded(conn, [r.id for r in rows])
        clock = spec.defaults.remind_time
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by, offset = items[row.item_id]
            period_end = None
            moment = utc(row.submitted_at)
            while True:
                moment = utc(timeline.shift(in_zone(moment, tz), offset, clock))
                if moment > as_of:
                    break
                period_end = moment
            if period_end is None:
                continue
            reviewer = row.parent_code if by == "parent" and row.parent_code else OPERATORS
            if (row.id, row.version, reviewer, period_end) in done:
                continue
            groups[reviewer].append(
                {
                    "kind": store.KIND,
                    "step": row.version,
                    "item_id": row.item_id,
                    "instance": row.instance,
                    "unit": row.unit_code,
                    "due_at": utc(row.due_at).isoformat(),
                    "event_at": period_end.isoformat(),
                    "submitted_at": utc(row.submitted_at).isoformat(),
                    "version": row.version,
                    "assignment_id": row.id,
                    "period_end": period_end,
                }
            )
            result.reminded.append((reviewer, row.unit_code, row.item_id, row.version))
        if groups:
            not_before = quiet_policy(quiet).release(store.KIND, as_of, tz)
            result.messages = store.write_reminders(conn, campaign_id, as_of, not_before, groups)
    return result
