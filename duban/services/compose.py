"""Compose messages: one outbox row per recipient per tick, listing all its items (no spam).

Intents not yet in a message are grouped by recipient; each group becomes one message whose kind is the
most urgent of its intents and whose idempotency key is derived from the intents it carries, so composing
twice (or after a crash) can never produce a second message for the same intents.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.domain.message_keys import message_key
from duban.domain.messages import ACK_DUE_KEY, MISSING_KEY, PARTNERS_KEY, RESPONSIBLE, ROLE_KEY
from duban.domain.quiet import QuietHours
from duban.instants import utc
from duban.services.ack_notes import asked_acknowledgement, named_unit
from duban.settings import get_settings, quiet_policy
from duban.store.campaigns import campaign_timezone
from duban.store.codec import SQLITE_BY_CASE, Codec
from duban.store.composing import (
    ACK_BATCH,
    any_pending,
    drafted_ranges,
    pending_at_least,
    pending_rows,
    release_drafts,
    take_turn,
    write_messages,
    write_singles,
)
from duban.store.db import all_or_none_here, unit_of_work
from duban.store.tick_sql import make_room, no_long_waits
from duban.views.campaigns import PlannedCampaign

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["OPERATORS_DISPLAY", "URGENCY", "compose_messages", "describe", "message_key"]

URGENCY = (
    "escalation",
    "ack_escalation",
    "overdue",
    "ack_reminder",
    "review_reminder",
    "returned",
    "amended",
    "corrected",
    "extended",
    "extension",
    "reminder",
    "opened",
    "accepted",
    "receipt",
)


SPREAD_FROM = 20_000  # pending intents from which PostgreSQL composes in several transactions at once (DUBAN_WRITERS)
OPERATORS_DISPLAY = "督办工作人员"  # the operators, as messages to them are addressed


def compose_messages(
    engine: Engine,
    campaign_id: str,
    as_of: datetime,
    *,
    quiet: QuietHours | None = None,
    recipients: list[str] | None = None,
    writers: int | None = None,
    spread_from: int = SPREAD_FROM,
) -> int:
    """Turn pending intents into messages, and let the messages the tick drafted go; returns how many messages
    were written or let go.

    A stage opening's tick writes most units' messages itself (a case of one item: one message per unit, its
    intent linked; duban.store.tables.DraftRange), held from the dispatcher until this compose: a unit told of
    more in the same tick (another stage, an escalation) has its draft taken back and all its items in one
    message, as if the tick had written intents only. The tick's 签收提醒 and 签收催办 are drafts too (they have
    no intent, duban.services.acknowledgements): a recipient told of more in the same tick (its 逾期, a 催办) gets
    its 签收 entries in that one message. A compose for some `recipients` (a receipt) leaves the drafts to the
    tick's own compose. The 签收 messages are counted by their own step, not in what this returns.

    A message that is not urgent and is composed in quiet hours waits for their end (`quiet`, by default the
    settings' DUBAN_QUIET_HOURS and DUBAN_URGENT_KINDS); the dispatcher applies the same policy again at the send.

    Most recipients of a tick have one pending intent (a stage opening: one item per unit); their messages are
    built by the database itself (duban.store.composing.write_singles). Recipients with several intents
    are grouped here, their items in stage order (then the plan's order of duties).

    On PostgreSQL, `spread_from` pending intents or more (a stage opening for tens of thousands of units) are
    composed by `writers` transactions at once (default: the settings' DUBAN_WRITERS), each on its own
    connection and a share of the recipients; this transaction holds the campaign's turn until all have
    committed, then groups the recipients with several intents.
    """
    as_of = utc(as_of)
    if recipients is not None and not recipients:
        return 0
    policy = quiet_policy(quiet)
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        take_turn(codec, campaign_id)
        ranges = drafted_ranges(codec, campaign_id) if recipients is None else []
        released, taken_back, signed = release_drafts(codec, campaign_id, ranges) if ranges else (0, 0, [])
        # the 签收 step counts its own messages (tick_acknowledgements): not again here, whether they go as they
        # are or with a unit's items (then the one message written below is the one that step counted)
        written = released - sum(r[3] for r in ranges if str(r[4]).startswith(ACK_BATCH))
        if not signed and not any_pending(codec, campaign_id):  # an idle tick, or every unit's items drafted
            return written
        make_room(codec)
        tz = campaign_timezone(conn, campaign_id)
        if signed:  # a unit told of its 签收 and of more in this tick: one message with all of it
            written += _write_signed(codec, campaign_id, tz, signed, as_of, policy) - len(signed)
            if not any_pending(codec, campaign_id):
                return written
        if recipients is None and (SQLITE_BY_CASE or not codec.sqlite):
            deferred = policy.end_after(as_of, tz)
            # intents taken back from drafts are pending in this transaction only: the shares would not see them
            shares = 1 if codec.sqlite or taken_back else (writers or get_settings().writers)
            if shares > 1 and pending_at_least(codec, campaign_id, spread_from):
                written += _write_spread(engine, codec, campaign_id, as_of, deferred, policy.urgent, shares)
            else:
                written += write_singles(codec, campaign_id, as_of, deferred, policy.urgent)
        groups: dict[str, list] = defaultdict(list)
        for row in pending_rows(codec, campaign_id, recipients):
            groups[row[1]].append(row)
        if groups:
            written += _write(codec, campaign_id, tz, groups, as_of, policy)
        return written


def _write_spread(
    engine: Engine,
    codec: Codec,
    campaign_id: str,
    as_of: datetime,
    deferred: datetime,
    urgent: frozenset[str],
    shares: int,
) -> int:
    """PostgreSQL: the one-intent messages written by `shares` transactions at once, each on its own connection
    and a share of the recipients (duban.store.composing.write_singles), committed together or not at all (a
    share lost after the others committed is written again in the compose's own transaction, `codec`): how
    many."""

    def share(k: int):
        def work(conn) -> int:
            codec = Codec(conn)
            no_long_waits(codec)
            make_room(codec)
            return write_singles(codec, campaign_id, as_of, deferred, urgent, share=(k, shares))

        return work

    return sum(all_or_none_here(engine, codec.conn, [share(k) for k in range(shares)]))


def _write_signed(
    codec: Codec,
    campaign_id: str,
    tz: str,
    signed: list[tuple[str, list[dict[str, Any]]]],
    as_of: datetime,
    quiet: QuietHours,
) -> int:
    """The messages of the recipients whose 签收提醒 or 签收催办 of this tick was taken back (they are told of more:
    their 逾期, a 催办, an opening): each one message with its 签收 entries and its pending items, so the unit
    reads "尚未签收" and "逾期未报" in one message, not two a second apart. How many were written."""
    acks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for recipient, entries in signed:
        acks[recipient].extend(entries)
    groups: dict[str, list] = defaultdict(list)
    names = sorted(acks)
    for chunk in range(0, len(names), 500):
        for row in pending_rows(codec, campaign_id, names[chunk : chunk + 500]):
            groups[row[1]].append(row)
    return _write(codec, campaign_id, tz, groups, as_of, quiet, acks)


def _urgent_apart(groups, urgent: frozenset[str]) -> list:
    """Each recipient's rows and 签收 entries, the urgent ones and the others as two messages where both are
    there (a 签收提醒 held for the morning does not hold back an urgent 催办, nor the other way round)."""
    split: list[tuple[str, list, list]] = []
    for recipient, rows, acks in groups:
        for urgent_now in (True, False):
            part = [r for r in rows if (r[2] in urgent) == urgent_now]
            signed = [e for e in acks if (e["kind"] in urgent) == urgent_now]
            if part or signed:
                split.append((recipient, part, signed))
    return split


def _write(
    codec: Codec,
    campaign_id: str,
    tz: str,
    groups: dict[str, list],
    as_of: datetime,
    quiet: QuietHours,
    acks: dict[str, list[dict[str, Any]]] | None = None,
) -> int:
    """One message per recipient of `groups` (its pending intents' rows) and of `acks` (its 签收 entries, which
    have no intent), two where quiet hours part the urgent from the rest."""
    deferred = codec.instant(quiet.end_after(as_of, tz))
    now = codec.instant(as_of)
    as_of_iso = codec.iso(as_of)
    iso = codec.iso_of_stored
    messages: list[tuple[Any, ...]] = []
    links: list[list[int]] = []
    acks = acks or {}
    pairs: Any = [(recipient, rows, acks.get(recipient, [])) for recipient, rows in groups.items()]
    pairs += [(recipient, [], entries) for recipient, entries in acks.items() if recipient not in groups]
    if deferred != now:  # in quiet hours: a unit's urgent items go now, the rest in their own message after
        pairs = _urgent_apart(pairs, quiet.urgent)
    for recipient, rows, signed in pairs:
        # row: id, recipient, kind, step, event_at, item_id, instance, unit_code, due_at, role (store.composing)
        kinds = [r[2] for r in rows] + [e["kind"] for e in signed]
        kind = kinds[0] if len(kinds) == 1 else min(kinds, key=URGENCY.index)
        ids = [r[0] for r in rows]
        key = message_key(campaign_id, recipient, ids, (f"{e['kind']}{e['step']}" for e in signed))
        items = [
            {
                "kind": r[2],
                "step": r[3],
                "item_id": r[5],
                "instance": r[6],
                "unit": r[7],
                "due_at": iso(r[8]),
                "event_at": iso(r[4]),
                **({} if r[9] == RESPONSIBLE else {ROLE_KEY: r[9]}),  # as the database's payload_sql has it
            }
            for r in rows
        ]
        items.extend(signed)  # a 签收 entry as duban.services.acknowledgements wrote it
        payload = {"recipient": recipient, "kind": kind, "as_of": as_of_iso, "items": items}
        messages.append(
            (
                campaign_id,
                recipient,
                kind,
                key,
                codec.json(payload),
                now,
                now if kind in quiet.urgent else deferred,
                "pending",
                0,
            )
        )
        links.append(ids)
    return write_messages(codec, messages, links)


def describe(campaign: PlannedCampaign, payload: dict) -> dict:
    """The payload with what templates show: stage and item names, formats, units' names, where to send."""
    items = {item.id: (stage, item) for stage, item in campaign.spec.items()}
    first_stage = campaign.spec.stages[0].id if campaign.spec.stages else None
    described = []
    stages = {stage.id: stage.name for stage in campaign.spec.stages}
    for entry in payload.get("items", []):
        if entry["kind"].startswith("ack_"):  # 签收 of a stage's opening ('' : of the notice)
            described.append(
                {
                    **entry,
                    "stage": stages.get(entry.get("stage_id") or "", "通知"),
                    "item": "收到通知后签收",
                    "unit_display": campaign.display(entry["unit"]),
                    "formats": [],
                    "stamped": False,
                    "submit_to": None,
                    "note": None,
                }
            )
            continue
        stage, item = items.get(entry["item_id"], (None, None))
        described.append(
            {
                **entry,
                "stage": stage.name if stage else "",
                "item": item.name if item else entry["item_id"],
                "unit_display": campaign.display(entry["unit"]),
                "formats": list(item.formats) if item else [],
                "stamped": bool(item and item.stamped),
                "submit_to": campaign.display(named_unit(campaign, item.submit_to))
                if item and item.submit_to
                else None,
                "note": item.note if item else None,
                "reviewed": bool(item and item.review),  # a receipt of it is 待审核, not yet 按时报送
                "acknowledge": _ask_acknowledgement(campaign, entry, stage, first_stage),
                "partners_display": (  # the 牵头/配合 units beside it (duban.services.role_notes)
                    [[campaign.display(code), *rest] for code, *rest in entry[PARTNERS_KEY]]
                    if PARTNERS_KEY in entry
                    else None
                ),
                "missing_display": (  # a roll-up's units below not yet in (duban.services.rollup_notes)
                    [campaign.display(code) for code in entry[MISSING_KEY]] if MISSING_KEY in entry else None
                ),
            }
        )
    recipient = payload["recipient"]
    display = OPERATORS_DISPLAY if recipient == "operators" else campaign.display(recipient)
    return {**payload, "recipient_display": display, "items": described}


def _ask_acknowledgement(campaign: PlannedCampaign, entry: dict, stage, first_stage) -> dict | None:  # noqa: ANN001
    """A 开始办理 entry's ask for the 签收 its stage (or the notice, at the first stage's opening: every unit's first)
    asks for: whose, the time allowed and the instant the record holds at the send (duban.services.ack_notes; None
    before the send reads it). None when it asks none, or the unit has given it since."""
    asked = asked_acknowledgement(campaign, entry, stage, first_stage)
    if asked is None or entry.get(ACK_DUE_KEY) == "":
        return None
    ack = stage.acknowledge if asked else campaign.spec.acknowledge
    if ack is None:
        return None
    return {"notice": not asked, "within": str(ack.within), "due_at": entry.get(ACK_DUE_KEY)}
