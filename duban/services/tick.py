"""A tick of one stage: apply every transition that is due, and promise its notifications, in one transaction.

Only assignments whose `next_event_at` is at or before `as_of` are read (an index range scan on
(campaign_id, stage_id, next_event_at)), so an idle tick costs the same for 300 units or 170,000.
Ticking the same instant twice changes nothing; a tick after a gap applies the missed events in order.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.domain.message_keys import campaign_tag
from duban.domain.quiet import QuietHours
from duban.domain.standing import instants, tick_outcome
from duban.domain.state import Progress, Schedule, State
from duban.instants import utc
from duban.settings import get_settings, quiet_policy
from duban.store.campaigns import campaign_timezone
from duban.store.codec import SQLITE_BY_CASE, Codec
from duban.store.db import all_or_none_here, reading, unit_of_work
from duban.store.tally import compact_tally
from duban.store.tick_sql import (
    INTENT_COLUMNS,
    TRANSITION_COLUMNS,
    UPDATED,
    Draft,
    Outcome,
    apply_case,
    case_key,
    due_rows,
    earliest_event,
    encode,
    id_ranges,
    make_room,
    no_long_waits,
    select_cases,
    take_turn,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine
MAX_CASES = 16  # beyond this many cases in one tick rows are cheaper one by one (each case scans the due range)
SPREAD_FROM = 20_000  # due rows from which PostgreSQL applies a case in several transactions at once (DUBAN_WRITERS)


@dataclass
class StageTick:
    """What one stage's tick did."""

    stage_id: str
    examined: int = 0
    events: Counter = field(default_factory=Counter)
    intents: int = 0
    overdue: list[tuple[str, str, str]] = field(default_factory=list)  # (unit, item, instance) that slipped now

    @property
    def transitions(self) -> int:
        return sum(self.events.values())


def tick_stage(
    engine: Engine,
    campaign_id: str,
    stage_id: str,
    as_of: datetime,
    *,
    actor: str = "tick",
    writers: int | None = None,
    spread_from: int = SPREAD_FROM,
    quiet: QuietHours | None = None,
    drafts: bool = True,
) -> StageTick:
    """Advance the stage's due assignments to `as_of`; each assignment's transitions and intents commit together.

    The due rows fall into cases: one schedule and one progress, such as all 38,723 townships of a national
    stage opening. Each case is worked out once in Python and applied by the database to all its rows
    (INSERT … SELECT and one UPDATE), so no row travels to Python; escalation intents take each row's own
    targets from its JSON. When the due rows fall into many cases (dues that differ per unit) they are read
    and written row by row instead.

    On PostgreSQL a tick of `spread_from` due rows or more (a stage opening for tens of thousands of units)
    applies each case in `writers` transactions at once (default: the settings' DUBAN_WRITERS), each on its own
    connection and a range of the case's ids, so the database server works on as many cores; this transaction
    holds the stage's turn until all have committed. A share that fails leaves its rows due: the retry (or the
    next tick) applies them, once, as after any interrupted tick.

    A case of one item (a stage opening: one assignment per unit) has its units' messages written with their
    intents, held from the dispatcher until the compose that follows (duban.store.tables.DraftRange); a message
    of a kind that is not urgent, drafted in quiet hours (`quiet`, as compose_messages takes it), waits for
    their end. `drafts` False: only intents, every message written by the compose.
    """
    as_of = utc(as_of)
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        if not codec.sqlite:
            take_turn(codec, campaign_id, stage_id)
            compact_tally(codec, campaign_id)  # the dashboard's counts: many small rows folded into one per key
        due = (campaign_id, stage_id, codec.instant(as_of))
        if codec.sqlite and not SQLITE_BY_CASE:
            return _tick_rows(codec, campaign_id, stage_id, as_of, actor)
        key = case_key(codec)
        cases = select_cases(codec, key, due)
        rows = sum(case.count for case in cases)
        make_room(codec, rows)
        if len(cases) > MAX_CASES:
            return _tick_rows(codec, campaign_id, stage_id, as_of, actor)
        shares = 1 if codec.sqlite or rows < spread_from else (writers or get_settings().writers)
        result = StageTick(stage_id)
        for case in cases:
            outcome = _outcome(codec, _case_schedule(codec, case), case, as_of)
            if not outcome.transitions:
                result.examined += case.count
                continue
            draft = _draft(codec, campaign_id, as_of, outcome, quiet) if drafts and case.one_item else None
            if shares > 1:
                applied, intents, overdue = _apply_spread(engine, codec, key, due, case, outcome, actor, shares, draft)
            else:  # on SQLite the transaction holds the write lock since BEGIN: a single case is all the due rows
                applied, intents, overdue = apply_case(
                    codec, key, due, case, outcome, actor, alone=len(cases) == 1, draft=draft
                )
            result.examined += applied
            for event, *_rest in outcome.transitions:
                result.events[event] += applied
            result.intents += intents
            result.overdue.extend(overdue)
        return result


def _draft(codec: Codec, campaign_id: str, as_of: datetime, outcome: Outcome, quiet: QuietHours | None) -> Draft | None:
    """How the case's unit intents are written with their messages (None: the case tells the units nothing)."""
    if outcome.unit_intent is None:
        return None
    policy = quiet_policy(quiet)
    kind = outcome.unit_intent[0]
    not_before = as_of if kind in policy.urgent else policy.end_after(as_of, campaign_timezone(codec.conn, campaign_id))
    return Draft(
        tag=campaign_tag(campaign_id),
        as_of=codec.iso(as_of),
        created=codec.instant(as_of),
        not_before=codec.instant(not_before),
        batch=uuid.uuid4().hex,
    )


def _apply_spread(
    engine: Engine,
    codec: Codec,
    key: list,
    due: tuple,
    case: Any,
    outcome: Outcome,
    actor: str,
    shares: int,
    draft: Draft | None = None,
) -> tuple[int, int, list[tuple]]:
    """PostgreSQL: one case applied by `shares` transactions at once, each on its own connection and one range of
    the case's ids, committed together or not at all (duban.store.db.all_or_none; a share lost after the others
    committed is applied again in the tick's own transaction, `codec`): (rows changed, intents written, what
    slipped, in id order as one statement gives it)."""

    def share(ids: tuple[int, int]):
        def work(conn) -> tuple[int, int, list[tuple]]:
            codec = Codec(conn)
            no_long_waits(codec)
            make_room(codec)
            return apply_case(codec, key, due, case, outcome, actor, ids=ids, draft=draft)

        return work

    parts = all_or_none_here(engine, codec.conn, [share(ids) for ids in id_ranges(case.first_id, case.last_id, shares)])
    return (
        sum(part[0] for part in parts),
        sum(part[1] for part in parts),
        [slipped for part in parts for slipped in part[2]],
    )


def _tick_rows(codec: Codec, campaign_id: str, stage_id: str, as_of: datetime, actor: str) -> StageTick:
    """The same tick row by row, for ticks whose due rows fall into many cases."""
    result = StageTick(stage_id)
    now = codec.instant(as_of)
    rows = due_rows(codec, campaign_id, stage_id, now)
    updates: list[tuple] = []
    transitions: list[tuple] = []
    intents: list[tuple] = []
    outcomes: dict[tuple, Outcome] = {}
    for row in rows:
        case = (
            row.state,
            row.reminders_done,
            row.escalations_done,
            row.open_at,
            row.due_at,
            row.reminders,
            row.escalations,
        )
        outcome = outcomes.get(case)
        if outcome is None:
            outcome = outcomes[case] = _outcome(codec, _row_schedule(codec, row), row, as_of)
        outcome.count += 1
        if not outcome.transitions:
            continue
        updates.append((*outcome.update, now, row.id))
        if outcome.overdue:
            result.overdue.append((row.unit_code, row.item_id, row.instance))
        transitions.extend((campaign_id, row.id, *part, now, actor) for part in outcome.transitions)
        if outcome.unit_intent:
            intents.append((campaign_id, row.id, row.unit_code, *outcome.unit_intent, now))
        if outcome.escalation:
            step, event_at = outcome.escalation
            targets = codec.read_json(row.escalations)[step][1]
            intents.extend((campaign_id, row.id, target, "escalation", step, event_at, now) for target in targets)
    for outcome in outcomes.values():
        result.examined += outcome.count
        for event, *_rest in outcome.transitions:
            result.events[event] += outcome.count
    codec.update("assignment", UPDATED, updates)
    codec.insert("transition", TRANSITION_COLUMNS, transitions)
    codec.insert("intent", INTENT_COLUMNS, intents)
    result.intents = len(intents)
    return result


def _outcome(codec: Codec, schedule: Schedule, progress: Any, as_of: datetime) -> Outcome:
    """Advance one case in domain terms (duban.domain.standing.tick_outcome), then encode it once for the driver."""
    current = Progress(State(progress.state), progress.reminders_done, progress.escalations_done)
    return encode(codec, tick_outcome(schedule, current, as_of))


def _stored(codec: Codec, raw: Any) -> datetime:
    """An assignment's opening or due instant (NOT NULL columns) read back."""
    moment = codec.read_instant(raw)
    assert moment is not None, "open_at and due_at are NOT NULL"
    return moment


def _case_schedule(codec: Codec, case: Any) -> Schedule:
    """A case's instants as tick_sql's query gives them (escalation instants without targets: a JSON array with
    nulls after the last, or space-separated; see duban.store.tick_sql.case_key)."""
    return Schedule(
        open_at=_stored(codec, case.open_at),
        due_at=_stored(codec, case.due_at),
        reminders=instants(tuple(codec.read_json(case.reminders) or ())),
        escalations=instants(_escalation_instants(case.escalation_at)),
    )


def _escalation_instants(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    if text.startswith("["):
        return tuple(at for at in json.loads(text) if at is not None)
    return tuple(text.split(" "))


def _row_schedule(codec: Codec, row: Any) -> Schedule:
    return Schedule(
        open_at=_stored(codec, row.open_at),
        due_at=_stored(codec, row.due_at),
        reminders=instants(tuple(codec.read_json(row.reminders) or ())),
        escalations=instants(tuple(step[0] for step in codec.read_json(row.escalations) or ())),
    )


def next_instant(engine: Engine, campaign_id: str, stages: list[str], after: datetime | None = None) -> datetime | None:
    """The earliest pending event instant of the campaign (strictly after `after`, when given).

    Asked per stage so each question is answered from the (campaign, stage, next_event_at) index.
    """
    found = []
    with reading(engine) as conn:
        codec = Codec(conn)
        for stage_id in stages:
            value = earliest_event(codec, campaign_id, stage_id, None if after is None else utc(after))
            if value is not None:
                found.append(value)
    return min(found) if found else None
