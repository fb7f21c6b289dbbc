"""签收 (acknowledgement): units confirm they received a stage's opening (or the notice) within a time of it.

The plan keeps one row per unit and stage that asks for it (duban.plan._acknowledgements). A tick reads only the
rows whose next event is due (an index range scan on (campaign_id, next_event_at)), applies the pure
state.ack_advance and, in the same transaction, writes one message per recipient: a reminder to each unit that has
not acknowledged by its due, and to each parent or leader the units under it that still have not by the
escalation. Those messages wait for the compose that follows the tick: a unit whose 签收 is missing at the very
tick its item slips or is escalated gets one message saying both (one message per recipient per tick, as compose
promises for every other kind). A unit acknowledges from its link or an operator records it (`duban ack`); a
repeated tick or a second acknowledgement changes nothing, and on PostgreSQL concurrent ticks take turns (an
advisory lock) while a unit's acknowledgement waits for the row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.domain.message_keys import message_key
from duban.domain.quiet import QuietHours
from duban.domain.state import AckSchedule, AckState, ack_advance, ack_next_event_at, acknowledge
from duban.errors import RequestError
from duban.instants import fmt, utc
from duban.store import acknowledgements as store
from duban.store.campaigns import campaign_timezone
from duban.store.codec import Codec
from duban.store.db import reading, unit_of_work

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Connection, Engine

    from duban.spec.models import Campaign


@dataclass
class AckTick:
    """What a tick did to the 签收: the (stage, unit) pairs that went missing now, and the messages written."""

    missing: list[tuple[str, str]] = field(default_factory=list)
    escalated: list[tuple[str, str]] = field(default_factory=list)
    messages: int = 0


def asks_acknowledgement(spec: Campaign) -> bool:
    """Whether the campaign asks any 签收 (the tick skips the step otherwise)."""
    return spec.acknowledge is not None or any(stage.acknowledge is not None for stage in spec.stages)


def tick_acknowledgements(
    engine: Engine, campaign_id: str, as_of: datetime, *, quiet: QuietHours, opened: bool = True
) -> AckTick:
    """Advance every due 签收 to `as_of` and promise its messages, in one transaction.

    `opened`: whether this tick's stages opened any item (the tick flow and simulate know it from the stages'
    results). Only then are the 签收 of the units told of an opening looked for (`store.told_late` reads every
    waiting 签收 of the campaign: 21 ms of an idle tick at 10,793 units, where the rest takes half a millisecond)."""
    as_of = utc(as_of)
    result = AckTick()
    told: list[Any] = []
    if opened:
        with reading(engine) as conn:
            tz = campaign_timezone(conn, campaign_id)
        readable_at = quiet.release("opened", as_of, tz)  # when this tick's 开始办理 may go out
        told = store.told_late(engine, campaign_id, as_of, readable_at)
    if not told and not store.any_due(engine, campaign_id, as_of):  # an idle tick: no write transaction, no lock
        return result
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        tz = campaign_timezone(conn, campaign_id)
        if told:
            _count_from_the_reading(conn, told, quiet.release("opened", as_of, tz))
        rows = store.take_due(conn, campaign_id, as_of)
        if not rows:
            return result
        # one message per recipient: a county reminded of its own 签收 and told of a township's is told once
        to: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            schedule = AckSchedule(row.open_at, row.due_at, row.escalate_at)
            entered, state = ack_advance(schedule, AckState(row.state), as_of)
            if not entered:
                continue
            store.set_state(conn, row.id, state.value, ack_next_event_at(schedule, state), as_of)
            entry = {
                "step": row.id,
                "item_id": "",
                "instance": "",
                "unit": row.unit_code,
                "stage_id": row.stage_id,
                "due_at": codec.iso(row.due_at),
                "event_at": codec.iso(as_of),
            }
            if AckState.unacknowledged in entered:
                result.missing.append((row.stage_id, row.unit_code))
                to[row.unit_code].append({**entry, "kind": "ack_reminder"})
            if AckState.escalated in entered:
                result.escalated.append((row.stage_id, row.unit_code))
                for target in row.targets or []:
                    to[target].append({**entry, "kind": "ack_escalation"})
        result.messages = _write(conn, campaign_id, tz, as_of, quiet, to.items())
    return result


def _count_from_the_reading(conn: Connection, told: list[Any], readable_at: datetime) -> None:
    """The 签收 of the units this tick tells of an opening count from when the unit can read the message: the
    tick itself when it came after the opening (a late start, an outage), or the end of quiet hours when the
    开始办理 waits for the morning — never from an opening the unit could not have known of, so it always has the
    whole time the notice gives (an outside tester's findings: "已逾期13小时" beside the notice; due at 08:30 for a
    message sent at 07:30). The window keeps its length; its reminder and escalation move with it."""
    for row in told:  # a unit's 签收 given meanwhile is not moved (the row is waiting no more)
        store.move_window(
            conn,
            row.id,
            readable_at,
            readable_at + (row.due_at - row.open_at),
            readable_at + (row.escalate_at - row.open_at),
        )


def _write(
    conn: Connection,
    campaign_id: str,
    tz: str,
    as_of: datetime,
    quiet: QuietHours,
    groups: Iterable[tuple[str, list[dict[str, Any]]]],
) -> int:
    """One outbox message per recipient, keyed by what it carries (composing twice writes nothing twice), held
    until the compose that follows the tick: a recipient told of more in this tick (its own 逾期, a 催办 …) gets
    its 签收 entries in that one message instead (duban.services.compose)."""
    codec = Codec(conn)
    rows = []
    for recipient, entries in groups:
        kind = "ack_escalation" if any(e["kind"] == "ack_escalation" for e in entries) else "ack_reminder"
        key = message_key(campaign_id, recipient, (), (f"{e['kind']}{e['step']}" for e in entries))
        payload = {"recipient": recipient, "kind": kind, "as_of": codec.iso(as_of), "items": entries}
        rows.append(
            dict(
                campaign_id=campaign_id,
                recipient=recipient,
                kind=kind,
                idempotency_key=key,
                payload=payload,
                created_at=as_of,
                not_before=quiet.release(kind, as_of, tz),
                status="pending",
                attempts=0,
            )
        )
    store.draft_messages(conn, campaign_id, rows, as_of)
    return len(rows)


def next_ack_instant(engine: Engine, campaign_id: str, after: datetime | None = None) -> datetime | None:
    """The earliest 签收 event still to come (strictly after `after`, when given): for `simulate`'s clock."""
    return store.next_event(engine, campaign_id, after)


def record_acknowledgement(
    engine: Engine, campaign_id: str, unit_code: str, at: datetime, *, stage_id: str | None = None, actor: str = "cli"
) -> list[str]:
    """签收 by the unit (or recorded for it): every 签收 it has been asked by `at` (or the one of `stage_id`).
    Returns the stages acknowledged now ('' for the notice); RequestError when there is nothing to acknowledge."""
    at = utc(at)
    with unit_of_work(engine) as conn:
        rows = store.unit_rows(conn, campaign_id, unit_code, at, stage_id)
        open_rows = [r for r in rows if r.state != AckState.acknowledged.value]
        if not open_rows:
            if not rows:
                _no_such(conn, campaign_id, unit_code, stage_id, at)
            raise RequestError(f"unit {unit_code} has nothing to acknowledge (acknowledged already)", cn="本单位已签收")
        for row in open_rows:
            state = acknowledge(AckState(row.state))
            store.record_given(conn, row.id, state.value, at, actor=actor[:80])
        return [r.stage_id for r in open_rows]


def _no_such(conn: Connection, campaign_id: str, unit_code: str, stage_id: str | None, at: datetime) -> None:
    """Why a unit has no 签收 to give, when it is a mistake: an unknown unit, no such stage, a stage that asks none
    (a RequestError saying which); returns when there is simply nothing asked yet."""
    from duban.views.campaigns import load_campaign

    campaign = load_campaign(conn, campaign_id, units={unit_code})
    if unit_code not in campaign.units:
        raise RequestError(f"unknown unit {unit_code}", cn="没有这个单位")
    if stage_id is not None:
        stages = {stage.id: stage for stage in campaign.spec.stages}
        if stage_id not in stages:
            raise RequestError(f"no stage {stage_id!r}; stages: {', '.join(stages)}", cn="没有这个阶段")
        if stages[stage_id].acknowledge is None:
            raise RequestError(f"stage {stage_id} asks no 签收", cn="本阶段不需要签收")
        when = fmt(at, campaign.tz)
        asked = store.first_asked(conn, campaign_id, unit_code, stage_id)
        if asked is None:  # a township in a stage of the counties: the stage has not "not opened yet" for it
            name = campaign.units[unit_code].display
            raise RequestError(
                f"{name} ({unit_code}) holds no duty in stage {stage_id}: the stage asks it no 签收",
                cn="本单位在本阶段没有承办事项，不需要签收",
            )
        raise RequestError(
            f"stage {stage_id} has not asked {unit_code} for its 签收 by {when}: it is asked when the stage opens "
            f"({fmt(utc(asked), campaign.tz)})",
            cn=f"截至{when}，本阶段尚未开始，还不需要签收",
        )
    when = fmt(at, campaign.tz)
    raise RequestError(
        f"unit {unit_code} has nothing to acknowledge by {when}: 签收 is asked when its stage opens",
        cn=f"截至{when}，本单位还没有需要签收的通知",
    )
