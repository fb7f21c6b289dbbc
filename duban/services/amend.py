"""Apply an amendment (调整通知) to a running campaign without losing what happened.

The spec stays as planned; the amendment is applied on top of it (after the earlier ones) and the plan is
expanded again. Only the assignments of the items it names (and the items of the stages it names) are
compared with what is stored, and only those whose instants differ are re-planned: opening, due, reminders,
escalations and the next event. Their state is re-derived at the amendment's instant:

- open, due_soon, overdue: replayed on the new schedule, so an overdue assignment whose due moved later is
  open or due_soon again, and reminders before the new due go out again;
- pending stays pending: the tick opens it at its (new) opening and sends the usual opening message;
- late: becomes submitted when its first submission is on or before the new due (the later due is the rule
  in force); the Submission rows keep the `late` they were recorded with, as history;
- submitted and excused stay as they are (a due moved earlier never makes a done submission late).

Every Submission, transition and message is kept. Each re-planned assignment gets an `amended` transition;
each unit that still owes a changed item (or whose late submission now counts as on time) gets one message
(kind `amended`) listing its changed items with the new and the old due, the document number and the reason,
written to the outbox in the same transaction; a late hand-in now on time also sends each one told 逾期 or 催办 of it
one 更正 (duban.services.overdue_corrections). A waiting 延期申请 the new due reaches is settled (不再需要) and that
message says so. Applying the same amendment twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from duban.domain.calendar import WorkCalendar
from duban.domain.plan import Plan, PlannedAssignment, build_plan, held_stages
from duban.domain.quiet import QuietHours
from duban.domain.state import EventKind, Progress, Schedule, State, next_event_at, reschedule
from duban.errors import PlanError, StoreError
from duban.instants import fmt, utc
from duban.services.amend_notice import settle_requests, summary, tell_units
from duban.services.overdue_corrections import correct_overdue_notices
from duban.settings import quiet_policy
from duban.spec.amendment import Amendment, LoadedAmendment, amended_campaign, check_targets, load_amendment
from duban.spec.checks import due_outside_stage, dues_before_opening, windows_backwards
from duban.spec.clerk_reach import rollups_due_before_feeders
from duban.spec.load import LoadedSpec
from duban.spec.models import Campaign
from duban.spec.terms import RelativeDue
from duban.store.amendments import (
    items_assignments,
    last_recorded,
    opened_stages,
    record_amendment,
    replan_assignments,
    stored_amendments,
)
from duban.store.codec import Codec
from duban.store.db import reading, unit_of_work
from duban.store.plans import campaign_row, pinned_lists
from duban.store.tick_sql import TRANSITION_COLUMNS

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Row


@dataclass(frozen=True)
class ChangedAssignment:
    """One re-planned assignment: its old and new instants and states, and whether its unit is told."""

    assignment_id: int
    unit_code: str
    item_id: str
    instance: str
    old_open: datetime
    new_open: datetime
    old_due: datetime
    new_due: datetime
    old_state: State
    new_state: State
    told: bool


@dataclass
class AmendResult:
    seq: int
    amendment: Amendment
    changed: list[ChangedAssignment] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)  # items counting from a changed one, left as they are
    chains: dict[str, str] = field(default_factory=dict)  # dependent item → what it counts from, back to the change
    stages: list[str] = field(default_factory=list)  # stages following (follows:) or counting from a changed one
    stage_chains: dict[str, str] = field(default_factory=dict)  # dependent stage → what it counts from
    moving: list[str] = field(default_factory=list)  # stages following a moved one (follows:), re-planned with it
    waiting: list[str] = field(default_factory=list)  # stages following one that waits for the record, still held
    errors: list[str] = field(default_factory=list)  # why it cannot be applied (a dry run lists them)
    warnings: list[str] = field(default_factory=list)  # re-planned items now due outside their stage
    opened: dict[str, datetime] = field(default_factory=dict)  # following stages already opened (when): kept
    messages: int = 0
    corrected: tuple[str, ...] = ()  # those told 逾期/催办 of an item now on time, sent a 更正 (overdue_corrections)
    written: bool = False
    already: bool = False  # this very amendment was applied before (nothing done)


def campaign_as_amended(engine: Engine | Connection, campaign: Campaign) -> Campaign:
    """The planned campaign with its stored amendments applied (stage windows and dues as now in force)."""
    rows = stored_amendments(engine, campaign.id)
    return amended_campaign(campaign, [load_amendment(r.path, text=r.text).amendment for r in rows])


def apply_amendment(
    engine: Engine,
    spec: LoadedSpec,
    loaded: LoadedAmendment,
    calendar: WorkCalendar,
    *,
    at: datetime,
    quiet: QuietHours | None = None,
    actor: str = "cli",
    dry_run: bool = False,
) -> AmendResult:
    """Re-plan what the amendment names, record it and tell the affected units; see the module docstring."""
    at = utc(at)
    campaign_id = spec.campaign.id
    check_targets(loaded, spec.campaign)
    with reading(engine) as conn:
        row = campaign_row(conn, campaign_id)
        earlier = stored_amendments(conn, campaign_id)
        recorded = last_recorded(conn, campaign_id)
    if recorded is not None and at < recorded:
        raise StoreError(
            f"the record of {campaign_id!r} already runs to {fmt(recorded, row.timezone)}: an amendment takes "
            f"effect from then on (give --at {fmt(recorded, row.timezone)[:10]} or later)"
        )
    if row.spec_sha256 != spec.sha256:
        raise StoreError(
            f"campaign {campaign_id!r} was planned from a different version of {spec.path}: amend the "
            "campaign as planned (restore the file); the amendment is applied on top of it"
        )
    seq = len(earlier) + 1
    for done in earlier:
        if done.sha256 == loaded.sha256:
            return AmendResult(seq=done.seq, amendment=loaded.amendment, already=True)
    amendment = loaded.amendment
    amended = amended_campaign(
        spec.campaign, [*(load_amendment(r.path, text=r.text).amendment for r in earlier), amendment]
    )
    # the stored lists as they stood when the campaign was planned: a re-import since adds or drops no unit here
    plan = build_plan(LoadedSpec(amended, spec.source, spec.path, spec.sha256, pinned_lists(row)), calendar)
    items = _named_items(amended, amendment)
    named = set(items)
    result = _result(seq, amended, amendment, items)
    with reading(engine) as conn:
        result.opened = opened_stages(conn, campaign_id, [*result.moving, *result.waiting])
    if result.opened:  # a following stage the record has opened keeps its opening: the amendment cannot undo it
        items -= {i.id for s, i in amended.items() if s.id in result.opened and i.id not in named}
        result.moving = [s for s in result.moving if s not in result.opened]
        result.waiting = [s for s in result.waiting if s not in result.opened]
    result.errors = [*_backward_windows(spec, amended, plan), *_early_dues(spec, amended, plan, items)]
    result.warnings = [
        *_stage_ends_past(amended, amendment, plan, at),
        *_outside_stages(amended, plan, items),
        *_rollups_left_behind(plan, items),
    ]
    if result.errors and not dry_run:
        raise PlanError("the amendment cannot be applied: " + "; ".join(result.errors))
    planned = {(a.item_id, a.instance, a.unit_code): a for a in plan.assignments if a.item_id in items}
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        rows = items_assignments(conn, campaign_id, items)
        stored = {(r.item_id, r.instance, r.unit_code): r for r in rows}
        if set(stored) != set(planned):
            gained = sorted({f"{k[0]} {k[1]}" for k in set(planned) - set(stored)})
            lost = sorted({f"{k[0]} {k[1]}" for k in set(stored) - set(planned)})
            raise PlanError(
                "the amendment would add or drop periods of a recurring item ("
                + "; ".join(
                    filter(
                        None,
                        (f"new: {', '.join(gained)}" if gained else "", f"gone: {', '.join(lost)}" if lost else ""),
                    )
                )
                + "); duban re-plans dues of existing assignments only: change the periods' dues instead"
            )
        updates: list[tuple[Any, ...]] = []
        for key, r in stored.items():
            change = _replan(r, planned[key], at, codec)
            if change is None:
                continue
            changed, values = change
            if r.state == State.pending.value and r.next_event_at is None:  # a stage still waiting for another (按阶段
                values = (*values[:-1], None)  # 顺序) keeps waiting: the record decides its opening, not the amendment
            result.changed.append(changed)
            updates.append((*values, codec.instant(at), r.id))
        result.warnings += _dues_already_past(result.changed, at, row.timezone)
        if dry_run or not result.changed:
            return result
        replan_assignments(codec, updates)
        who = f"amend#{seq} {amendment.doc_no or amendment.issuer}"[:80]
        codec.insert(
            "transition",
            TRANSITION_COLUMNS,
            [
                (
                    campaign_id,
                    c.assignment_id,
                    "amended",
                    seq,
                    c.old_state.value,
                    c.new_state.value,
                    codec.instant(at),
                    codec.instant(at),
                    who,
                )
                for c in result.changed
            ],
        )
        corrected: set[str] = set()
        for c in result.changed:  # a late hand-in on time under the new due: the 逾期 and 催办 it drew are taken back
            if c.old_state is State.late and c.new_state is State.submitted:
                r = stored[(c.item_id, c.instance, c.unit_code)]
                corrected.update(correct_overdue_notices(conn, campaign_id, r, r.submitted_at, at))
        result.corrected = tuple(sorted(corrected))
        settled = settle_requests(codec, campaign_id, row.timezone, amendment, result.changed, at, who)
        result.messages = tell_units(
            codec, campaign_id, row.timezone, seq, amendment, result.changed, at, quiet_policy(quiet), settled
        )
        record_amendment(
            conn,
            dict(
                campaign_id=campaign_id,
                seq=seq,
                issuer=amendment.issuer,
                doc_no=amendment.doc_no,
                title=amendment.title,
                issued_on=amendment.issued_on.isoformat() if amendment.issued_on else None,
                reason=amendment.reason,
                path=loaded.path,
                text=loaded.text,
                sha256=loaded.sha256,
                changes=summary(result.changed),
                effective_at=at,
                recorded_at=at,
                actor=actor,
            ),
        )
        result.written = True
    return result


def preview_amendment(spec: LoadedSpec, loaded: LoadedAmendment, calendar: WorkCalendar) -> AmendResult:
    """`duban amend --dry-run` before the campaign is in a database: the plan before and after the amendment,
    compared assignment by assignment (each still to open, so nobody's state moves), and the items that count
    from what it moves."""
    check_targets(loaded, spec.campaign)
    amendment = loaded.amendment
    amended = amended_campaign(spec.campaign, [amendment])
    before = build_plan(spec, calendar)
    after = build_plan(LoadedSpec(amended, spec.source, spec.path, spec.sha256), calendar)
    items = _named_items(amended, amendment)
    result = _result(1, amended, amendment, items)
    result.errors = [*_backward_windows(spec, amended, after), *_early_dues(spec, amended, after, items)]
    result.warnings = [*_outside_stages(amended, after, items), *_rollups_left_behind(after, items)]
    old = {(a.item_id, a.instance, a.unit_code): a for a in before.assignments if a.item_id in items}
    new = {(a.item_id, a.instance, a.unit_code): a for a in after.assignments if a.item_id in items}
    if set(old) != set(new):
        raise PlanError(
            "the amendment would add or drop periods of a recurring item; duban re-plans dues of existing "
            "assignments only: change the periods' dues instead"
        )
    for key, a in new.items():
        o = old[key]
        if (o.open_at, o.due_at, o.reminders, o.escalations) != (a.open_at, a.due_at, a.reminders, a.escalations):
            result.changed.append(
                ChangedAssignment(
                    0,
                    a.unit_code,
                    a.item_id,
                    a.instance,
                    o.open_at,
                    a.open_at,
                    o.due_at,
                    a.due_at,
                    State.pending,
                    State.pending,
                    True,
                )
            )
    return result


def _result(seq: int, campaign: Campaign, amendment: Amendment, items: set[str]) -> AmendResult:
    """What the amendment reaches beyond what it names. A stage that follows a moved stage (`follows:`, at its
    close or a time after) moves with it, as the notice says (自查结束后): its items join `items` (in place), so
    its opening and its `lasts:` dues are re-derived from the moved stage's new instants. A stage waiting for
    another's units (`finished:`), and those after it, stay held: the record decides their opening, counting
    the amended dates. Items counting from a change in any other way are listed and left as they are. (A following
    stage the record has already opened is taken out again by `apply_amendment`: its opening stands.)"""
    dependents, chains, stages, stage_chains = _dependents(campaign, amendment, items)
    held = held_stages(campaign)
    found = set(stages)
    moving = [s.id for s in campaign.stages if s.id in found and s.follows is not None and s.id not in held]
    waiting = [s for s in stages if s in held]
    items |= {item.id for stage, item in campaign.items() if stage.id in moving}
    within = {item.id for stage, item in campaign.items() if stage.id in moving or stage.id in waiting}
    return AmendResult(
        seq=seq,
        amendment=amendment,
        dependents=[d for d in dependents if d not in within],
        chains=chains,
        stages=stages,
        stage_chains=stage_chains,
        moving=moving,
        waiting=waiting,
    )


def _dues_already_past(changed: list[ChangedAssignment], at: datetime, tz: str) -> list[str]:
    """Items the amendment moves to a due before it takes effect (6/10 → 6/5 in a notice of 6/8): the units still
    owing one are overdue the moment they read of it (已过新的截止时间). Allowed (a notice may be issued late), but
    said, with how many units it reaches."""
    found: dict[tuple[str, str], tuple[datetime, set[str]]] = {}
    for c in changed:
        if c.new_due < at and c.new_due != c.old_due and c.told:
            found.setdefault((c.item_id, c.instance), (c.new_due, set()))[1].add(c.unit_code)
    return [
        f"item {item!r}{f' {instance}' if instance else ''} is now due {fmt(due, tz)}, before the amendment takes "
        f"effect ({fmt(at, tz)}): the {len(units)} unit(s) still owing it are overdue from the moment they are told"
        for (item, instance), (due, units) in found.items()
    ]


def _stage_ends_past(amended: Campaign, amendment: Amendment, plan: Plan, at: datetime) -> list[str]:
    """Stages the amendment ends before it takes effect (县级检查 ended on 6/5 by a notice of 6/8): as with a due
    moved into the past, allowed (a notice may be issued late), but said; its items' dues get their own warnings."""
    found = []
    for stage in amended.stages:
        window = plan.stage_windows.get(stage.id)
        if window is None or not any(c.stage == stage.id and c.end is not None for c in amendment.changes):
            continue
        if utc(window[1]) < at:
            found.append(
                f"stage {stage.name} now ends {fmt(window[1], amended.timezone)}, before the amendment takes effect "
                f"({fmt(at, amended.timezone)}): it is over from the moment the units are told"
            )
    return found


def _backward_windows(spec: LoadedSpec, amended: Campaign, plan: Plan) -> list[str]:
    """Stage windows the amendment leaves ending before they start (县级检查 from 5/25 ending 5/20, a typo of 6/20):
    validate's error, in the amended windows (a planned spec has none of its own, so each is the amendment's)."""
    return [e.message for e in windows_backwards(LoadedSpec(amended, spec.source, spec.path, spec.sha256), plan)]


def _early_dues(spec: LoadedSpec, amended: Campaign, plan: Plan, items: set[str]) -> list[str]:
    """Items the amendment re-plans that would open after their due (a stage moved past a due it does not name:
    开始办理, 逾期 and 催办 in one tick): validate's error for a due before opening, with what the amendment must
    say. An item whose new due the amendment names, after its new opening, is not one of them."""
    errors = dues_before_opening(LoadedSpec(amended, spec.source, spec.path, spec.sha256), plan)
    found = []
    for e in errors:
        item = next((i for i in sorted(items) if e.message.startswith(f"item {i!r} ")), None)
        if item is not None:
            found.append(f"{e.message}; the amendment must name its new due (`- {{item: {item}, due: …}}`)")
    return found


def _outside_stages(amended: Campaign, plan: Plan, items: set[str]) -> list[str]:
    """Items the amendment re-plans whose due now falls outside their stage (自查 shortened to 9/22, its items
    still due 9/25 and 9/30): validate's warning, in the amended stage windows."""
    found = []
    for stage, item in amended.items():
        window, due = plan.stage_windows.get(stage.id), plan.item_dues.get(item.id)
        if item.id not in items or item.every is not None or window is None or due is None:
            continue
        outside = due_outside_stage(item.id, due, stage.name, window, amended.timezone)
        if outside:
            found.append(outside)
    return found


def _rollups_left_behind(plan: Plan, items: set[str]) -> list[str]:
    """Roll-ups whose holders the amendment leaves due before the units below them (the counties' 台账 moved past
    the cities' 汇总): validate's warning, in the amended dues."""
    return [message for _path, message in rollups_due_before_feeders(plan, items)]


def _named_items(campaign: Campaign, amendment: Amendment) -> set[str]:
    stages = {c.stage for c in amendment.changes if c.stage is not None}
    named = {c.item for c in amendment.changes if c.item is not None}
    return named | {item.id for stage, item in campaign.items() if stage.id in stages}


def _dependents(
    campaign: Campaign, amendment: Amendment, items: set[str]
) -> tuple[list[str], dict[str, str], list[str], dict[str, str]]:
    """Items and stages outside the amendment whose opening or due counts from a changed item or stage, directly or
    through a chain (due after an event that is itself after a changed item; a stage that `follows:` a changed
    stage, and the stages following it; an item without dates of its own in such a stage): each with the chain
    in words. (items, their chains, stages, their chains)"""
    stages = {c.stage for c in amendment.changes if c.stage is not None}
    moved = {f"item:{i}" for i in items} | {f"stage:{s}" for s in stages}
    why: dict[str, str] = {}
    found: list[str] = []
    chains: dict[str, str] = {}
    found_stages: list[str] = []
    stage_chains: dict[str, str] = {}
    grew = True
    while grew:  # to a fixed point: every instant counted (at one or more removes) from a moved one
        grew = False
        candidates: list[tuple[str, list[str], str | None]] = [
            (f"event:{e.id}", _anchors(e.at, e.end), None) for e in campaign.events
        ]
        candidates += [
            (
                f"stage:{s.id}",
                _anchors(*((s.window.start, s.window.end) if s.window else ()))
                + ([f"stage:{s.follows.stage}"] if s.follows is not None else []),
                None,
            )
            for s in campaign.stages
        ]
        candidates += [
            (
                f"item:{i.id}",
                _anchors(i.opens, i.due) + ([f"stage:{s.id}"] if i.opens is None or i.due is None else []),
                i.id,
            )
            for s in campaign.stages
            for i in s.items
            if i.id not in items
        ]
        for key, anchors, item_id in candidates:
            if key in moved:
                continue
            hit = next((a for a in anchors if _key(a) in moved), None)
            if hit is None:
                continue
            moved.add(key)
            why[key] = _key(hit)
            grew = True
            if item_id is not None:
                found.append(item_id)
                chains[item_id] = _chain(key, why)
            elif key.startswith("stage:"):
                found_stages.append(key.removeprefix("stage:"))
                stage_chains[key.removeprefix("stage:")] = _chain(key, why)
    return found, chains, found_stages, stage_chains


def _anchors(*specs: object) -> list[str]:
    """What the relative instants among `specs` count from ('item:x', 'stage:y.start', 'event:z')."""
    return [str(spec.anchor) for spec in specs if isinstance(spec, RelativeDue)]


def _key(anchor: str) -> str:
    """'stage:x.start' and 'stage:x' both move with stage x; an event's end with the event."""
    return anchor.split(".")[0] if not anchor.startswith("campaign") else anchor


def _chain(key: str, why: dict[str, str]) -> str:
    """ "summary (counts from event:meeting, which counts from item:county_report)": back to the change."""
    steps = []
    while key in why:
        key = why[key]
        steps.append(key)
    return f"{steps[0]}" + "".join(f", which counts from {step}" for step in steps[1:])


def _replan(
    row: Row[Any], new: PlannedAssignment, at: datetime, codec: Codec
) -> tuple[ChangedAssignment, tuple[Any, ...]] | None:
    """(ChangedAssignment, encoded new values) when the new plan moves any instant of `row`; else None."""
    old_reminders = tuple(datetime.fromisoformat(t) for t in row.reminders or ())
    old_escalations = tuple((datetime.fromisoformat(t), tuple(targets)) for t, targets in row.escalations or ())
    if (row.open_at, row.due_at, old_reminders, old_escalations) == (
        new.open_at,
        new.due_at,
        new.reminders,
        new.escalations,
    ):
        return None
    schedule = Schedule(new.open_at, new.due_at, new.reminders, tuple(t for t, _targets in new.escalations))
    old_state = State(row.state)
    _change, progress = reschedule(
        schedule,
        Progress(old_state, row.reminders_done, row.escalations_done),
        at,
        submitted_at=row.submitted_at,
        event=EventKind.amended,
    )
    told = not progress.state.finished or (old_state is State.late and progress.state is State.submitted)
    changed = ChangedAssignment(
        row.id,
        row.unit_code,
        row.item_id,
        row.instance,
        row.open_at,
        new.open_at,
        row.due_at,
        new.due_at,
        old_state,
        progress.state,
        told,
    )
    values = (
        codec.instant(new.open_at),
        codec.instant(new.due_at),
        codec.json([codec.iso(t) for t in new.reminders]),
        codec.json([[codec.iso(t), list(targets)] for t, targets in new.escalations]),
        progress.state.value,
        progress.reminders_done,
        progress.escalations_done,
        codec.instant(next_event_at(schedule, progress)),
    )
    return changed, values
