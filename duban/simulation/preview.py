"""`duban simulate`: the preview an administrator reads before go-live.

Plans the spec into a throw-away SQLite database, runs the whole campaign on a simulated clock with seeded
synthetic units, and returns every message that would go out (when, to whom, what). Nothing is sent: at each
step the ready messages are taken from the outbox as they are, and rendered only when someone reads them.
Roll-ups are fed at every tick as the real tick feeds them: the preview lists what duban hands in itself
(an automatic 汇总, a forward's 汇总 recorded on the upper campaign, planned beside it when its spec is found)
and where each roll-up stands at the end.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from duban.domain.messages import Rendered, contact_lines, render
from duban.domain.quiet import QuietHours
from duban.errors import DubanError, StoreError
from duban.instants import utc
from duban.services.compose import describe
from duban.services.lifecycle import ensure_planned
from duban.services.outcomes import outcome_rules, recorded_outcomes
from duban.services.rollups import RollupStatus, rollup_status, rollups_of
from duban.services.send_notes import told_at_send
from duban.settings import quiet_policy
from duban.simulation.loop import LoopScript
from duban.simulation.scoring import SyntheticScoring, scores_failing_units
from duban.simulation.simulate import RunLog, domain_tick, feeds_rollups, run_clock
from duban.simulation.synthetic import Behaviour, released_submissions, synthetic_submissions
from duban.spec.files import referenced_file
from duban.spec.load import load_spec
from duban.store.db import init_db, reading, unit_of_work
from duban.store.engine import close_engine, make_engine
from duban.store.simulation import assignment_span, made_submissions, release_ready as release
from duban.store.tables import OutcomeRow
from duban.views.campaigns import PlannedCampaign, load_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class PreviewMessage:
    """A message the campaign would send: when, to whom, which kind; its text is rendered on demand."""

    at: str  # ISO instant (UTC)
    recipient: str
    kind: str
    key: str
    payload_json: str = field(repr=False)  # kept as text: a national preview holds half a million of these
    campaign: PlannedCampaign = field(repr=False)

    @property
    def recipient_display(self) -> str:
        return self.campaign.display(self.recipient)

    @cached_property
    def rendered(self) -> Rendered:
        spec = self.campaign.spec
        contacts = contact_lines(spec.contacts, self.recipient, self.recipient_display)
        payload = orjson.loads(self.payload_json) if isinstance(self.payload_json, str) else self.payload_json
        return render(
            describe(self.campaign, payload),
            title=spec.title,
            issuer=spec.issuer,
            doc_no=spec.doc_no,
            tz=self.campaign.tz,
            key=self.key,
            contacts=contacts,
            now=datetime.fromisoformat(self.at),
        )


def release_ready(engine: Engine, campaign: PlannedCampaign, as_of: datetime) -> list[PreviewMessage]:
    """Mark every message ready at `as_of` as sent, in one statement, and return them (the dry dispatcher).

    As the real dispatcher does, a message says only what is still true at its send (duban.store.freshness): stale
    items are left out, and a message with nothing left is dropped instead of sent."""
    with unit_of_work(engine) as conn:
        at, released = release(conn, campaign.id, as_of)
        texts = _told_at_send(conn, campaign, [r.payload_json for r in released])
    return [PreviewMessage(at, r.recipient, r.kind, r.key, text, campaign) for r, text in zip(released, texts)]


def _told_at_send(conn, campaign: PlannedCampaign, texts: list[str]) -> list[str]:  # noqa: ANN001
    """As the dispatcher does, what the send adds (duban.services.send_notes); only the messages that mention a
    roll-up's item or carry a unit's role are read."""
    marks = [f'"{r.into}"' for r in rollups_of(campaign) if r.into] + ['"role"']
    picked = [n for n, text in enumerate(texts) if any(mark in text for mark in marks)]
    if not picked:
        return texts
    named = told_at_send(conn, campaign, [orjson.loads(texts[n]) for n in picked])
    texts = list(texts)
    for n, payload in zip(picked, named):
        if payload is not None:
            texts[n] = orjson.dumps(payload).decode()
    return texts


@dataclass(frozen=True)
class RollupEvent:
    """A submission duban made itself: an automatic roll-up, or a forward's roll-up on the upper campaign."""

    at: datetime
    campaign_id: str  # where it was recorded
    unit: str  # the unit it was made for (display)
    item: str  # the item's name in that campaign
    forwarded: bool  # recorded on the upper campaign
    late: bool


def rollup_events(engine: Engine, campaign_id: str) -> list[RollupEvent]:
    """What duban handed in for the campaign's roll-ups, in order: its automatic ones and those fed upward."""
    with reading(engine) as conn:
        made = made_submissions(conn, campaign_id)
    campaigns: dict[str, PlannedCampaign] = {}
    events = []
    for row in made:
        where = campaigns.get(row.campaign_id) or campaigns.setdefault(
            row.campaign_id, load_campaign(engine, row.campaign_id)
        )
        item = next((i.name for _s, i in where.spec.items() if i.id == row.item_id), row.item_id)
        events.append(
            RollupEvent(row.submitted_at, row.campaign_id, where.display(row.unit_code), item, row.forwarded, row.late)
        )
    return events


@dataclass
class Sent:
    """What went out, counted as it goes: the whole run's messages are never held at once (a national campaign
    with a million enterprises sends some 12 million). Per instant and kind: how many, and the first recipients."""

    count: int = 0
    kinds: Counter = field(default_factory=Counter)
    groups: dict[tuple[str, str], list] = field(default_factory=dict)  # (at, kind) → [count, first 4 recipients]

    def add(self, message: PreviewMessage) -> None:
        self.count += 1
        self.kinds[message.kind] += 1
        group = self.groups.get((message.at, message.kind))
        if group is None:
            self.groups[message.at, message.kind] = [1, [message.recipient]]
        else:
            group[0] += 1
            if len(group[1]) < 4:
                group[1].append(message.recipient)


@dataclass
class Preview:
    campaign_id: str
    title: str
    tz: str
    start: datetime
    end: datetime
    log: RunLog
    messages: list[PreviewMessage]  # the messages kept (`keep`: by default every one)
    sent: Sent
    assignments: int
    planned_submissions: int
    planned_late: int
    campaign: PlannedCampaign | None = field(default=None, repr=False)
    rollups: list[RollupStatus] = field(default_factory=list)  # where each roll-up stands at the end
    handed_in: list[RollupEvent] = field(default_factory=list)  # what duban handed in itself
    loop: list[str] = field(default_factory=list)  # the 督办 loop's moments played (签收, 延期申请, 审核), in words
    inspections: list[str] = field(default_factory=list)  # the synthetic scorings (duban.simulation.scoring)
    never_opened: list[tuple[str, str]] = field(default_factory=list)  # (stage name, why) of stages still waiting
    outcomes: list[OutcomeRow] = field(default_factory=list)  # 约谈, 通报批评, 重新开展 decided during the run
    unit: str | None = None  # the recipient whose messages were kept (`unit` of simulate_spec), as a code
    run_from: datetime | None = None  # where the run began: before `start` when only a window is shown (--from)
    handed_in_shown: int | None = None  # a window's synthetic hand-ins (None: the whole campaign is shown)

    @property
    def windowed(self) -> bool:
        """Only part of the run is shown: it began before `start` (--from after the first opening)."""
        return self.run_from is not None and self.run_from < self.start

    def in_window(self, at: datetime) -> bool:
        """Whether something at `at` falls in what is shown (all of the run unless a window is)."""
        return not self.windowed or at >= self.start

    def by_kind(self) -> Counter:
        """Every message of the run by kind (kept or not)."""
        return Counter(self.sent.kinds)

    @property
    def never(self) -> int:
        """Assignments nobody hands in: neither a synthetic unit nor duban."""
        return self.assignments - self.planned_submissions - sum(1 for e in self.handed_in if not e.forwarded)


def _with_loop(loop, tick, scoring=None):  # noqa: ANN001
    """The tick with the 督办 loop's moments played before it (as `duban demo` plays them), and the inspections
    scored by then (so the tick decides their outcomes)."""

    def played(at: datetime) -> None:
        loop.play(at)
        if scoring is not None:
            scoring.play(at)
        tick(at)

    return played


def _earliest(*sources):  # noqa: ANN002
    """The earliest of several `next instant after` functions (None where none has one)."""
    found = [s for s in sources if s is not None]
    if not found:
        return None
    return lambda after: min((t for t in (s(after) for s in found) if t is not None), default=None)


def simulate_spec(
    path: Path | str,
    *,
    seed: int = 1,
    start: datetime | None = None,
    end: datetime | None = None,
    behaviour: Behaviour = Behaviour(),
    quiet: QuietHours | None = None,
    calendar_file: Path | None = None,
    database_url: str | None = None,
    keep: Callable[[PreviewMessage], bool] | None = None,
    unit: str | None = None,
) -> Preview:
    """Run the campaign in `path` from `start` to `end` (default: its whole timeline) on a scratch database.

    Every message is counted (Preview.sent); only those `keep` accepts are kept in Preview.messages (by default
    all of them: pass a filter for a large campaign). `unit` (a code, a leader's `leader:ID`, `operators`, or a
    unit's name as messages show it): keep only that recipient's messages, as `duban simulate --unit` does; a
    unit the campaign does not have is a DubanError before anything runs."""
    with tempfile.TemporaryDirectory(prefix="duban-simulate-") as scratch:
        engine = make_engine(database_url or f"sqlite:///{Path(scratch) / 'simulate.db'}")
        init_db(engine)
        try:
            now = datetime.now().astimezone()
            planned = ensure_planned(engine, path, now=now, calendar_file=calendar_file)
            if unit is not None:
                unit = recipient_code(planned.plan, unit)
                keep = (lambda code: lambda message: message.recipient == code)(unit)
            _draw_open_samples(engine, planned, seed, calendar_file)
            upper = _upper_spec(Path(path), planned.spec.campaign)
            if upper is not None:  # so a forward's roll-up is recorded on it, as in a shared database
                ensure_planned(engine, upper, now=now, calendar_file=calendar_file)
            preview = simulate_planned(
                engine,
                planned.campaign_id,
                seed=seed,
                start=start,
                end=end,
                behaviour=behaviour,
                quiet=quiet,
                keep=keep,
            )
            preview.unit = unit
            return preview
        finally:
            close_engine(engine)


def recipient_code(plan, wanted: str) -> str:  # noqa: ANN001 (a duban.domain.plan.Plan)
    """The recipient `wanted` names in the plan: a unit's code, a leader (`leader:ID`), `operators`, or a unit's
    name as messages show it (统计局 and all) or its division's name when that names one unit; else a DubanError
    naming what was asked and how to find the codes."""
    leaders = {f"leader:{leader.id}" for leader in plan.campaign.leaders}
    if wanted in plan.registry.units or wanted in leaders or wanted == "operators":
        return wanted
    text = wanted.strip()
    named = [u.code for u in plan.registry if text in (u.display, u.name)]
    if len(set(named)) == 1:
        return named[0]
    if len(set(named)) > 1:
        raise DubanError(
            f"--unit {text[:40]!r} names {len(set(named))} units of this campaign ({', '.join(sorted(set(named))[:6])}"
            f"{' …' if len(set(named)) > 6 else ''}): give the code"
        )
    raise DubanError(
        f"--unit {text[:40]!r} is not a unit of this campaign: give a unit's code or its name as messages show it "
        "(duban plan lists them), leader:ID or operators"
    )


def simulate_planned(
    engine: Engine,
    campaign_id: str,
    *,
    seed: int = 1,
    start: datetime | None = None,
    end: datetime | None = None,
    behaviour: Behaviour = Behaviour(),
    quiet: QuietHours | None = None,
    keep: Callable[[PreviewMessage], bool] | None = None,
) -> Preview:
    """Run an already planned campaign through its timeline (the scratch database is the caller's); every message
    is counted, those `keep` accepts (default: all) are kept."""
    campaign = load_campaign(engine, campaign_id)
    with reading(engine) as conn:
        first, last, count = assignment_span(conn, campaign_id)
    # a window (`--from`) is a view of the same campaign: the run starts at the first opening all the same, so what
    # units handed in before the window is on the record, and only what falls in the window is counted and kept
    window = start
    start = min((s for s in (first, start) if s is not None), default=None)
    if end is None and last is not None:
        # a stage opened by others (按阶段顺序) may run later than its earliest instants: as late as it may last
        later = sum((timedelta(days=_days(s.lasts)) for s in campaign.spec.stages if s.lasts), timedelta())
        end = last + timedelta(days=10) + later + _outcome_reach(campaign.spec)
    if start is None or end is None:
        raise StoreError(f"campaign {campaign_id!r} has no assignments: nothing to simulate without --from and --to")
    subs = synthetic_submissions(engine, campaign.id, campaign.tz, behaviour, seed)
    ordered = any(stage.follows for stage in campaign.spec.stages)
    kept: list[PreviewMessage] = []
    sent = Sent()

    shown_from = utc(window) if window is not None else None
    in_window = Counter[str]()  # ticks run in the window

    def dispatch(at: datetime) -> None:
        for message in release_ready(engine, campaign, at):
            if shown_from is not None and datetime.fromisoformat(message.at) < shown_from:
                continue
            sent.add(message)
            if keep is None or keep(message):
                kept.append(message)

    stages = campaign.stage_ids()
    rollups = feeds_rollups(engine, campaign.id)
    script = LoopScript(engine, campaign.id, quiet=quiet_policy(quiet), submissions=subs)
    # outcomes for failing units (`when: failed`) need scorings: the inspections are scored by a seeded draw
    scoring = SyntheticScoring(engine, campaign.id, seed) if scores_failing_units(campaign.spec) else None
    log = run_clock(
        engine,
        campaign.id,
        stages,
        campaign.tz,
        start=start,
        end=end,
        submissions=subs,
        tick=_counted(
            _with_loop(script, domain_tick(engine, campaign.id, stages, quiet), scoring), shown_from, in_window
        ),
        dispatch=dispatch,
        quiet=quiet,
        with_rollups=rollups,
        more=_drawn_into(subs, released_submissions(engine, campaign.id, campaign.tz, behaviour, seed))
        if ordered
        else None,
        also=_earliest(_outcome_instants(engine, campaign), scoring.next_instant if scoring else None),
    )
    if shown_from is not None:
        log.ticks = in_window["ticks"]
    return Preview(
        campaign_id=campaign.id,
        title=campaign.spec.title,
        tz=campaign.tz,
        start=window or start,
        end=end,
        run_from=start,
        handed_in_shown=sum(1 for s in subs if shown_from <= s.at <= utc(end)) if shown_from is not None else None,
        log=log,
        messages=kept,
        sent=sent,
        assignments=count,
        planned_submissions=len(subs),
        planned_late=sum(1 for s in subs if s.late),
        campaign=campaign,
        rollups=rollup_status(engine, campaign.id) if rollups else [],
        handed_in=rollup_events(engine, campaign.id) if rollups else [],
        loop=script.done,
        inspections=scoring.done if scoring else [],
        never_opened=_never_opened(engine, campaign, end) if ordered else [],
        outcomes=recorded_outcomes(engine, campaign.id) if outcome_rules(campaign.spec) else [],
    )


def _counted(tick, shown_from: datetime | None, counts: Counter):  # noqa: ANN001, ANN202
    """The tick, counting the runs at or after `shown_from` (a window's ticks)."""

    def counted(at: datetime) -> None:
        if shown_from is None or at >= shown_from:
            counts["ticks"] += 1
        tick(at)

    return counted


def _outcome_reach(spec) -> timedelta:  # noqa: ANN001
    """How long after the last due an outcome can still run: decided `after` it, then owed for its `due:` (a
    重新开展 decided 5 working days after the last due is due 10 working days later)."""
    rules = [rule for _index, _item, rules in outcome_rules(spec).values() for rule in rules]
    return max(
        (timedelta(days=_days(rule.after) + (_days(rule.due) if rule.due is not None else 0)) for rule in rules),
        default=timedelta(),
    )


def _never_opened(engine: Engine, campaign: PlannedCampaign, end: datetime) -> list[tuple[str, str]]:
    """The stages opened by others (按阶段顺序) that the run never opened, by name, with why."""
    from duban.services.stage_release import never_opened

    names = {s.id: s.name for s in campaign.spec.stages}
    return [(names[stage], why) for stage, why in never_opened(engine, campaign.id, end)]


def _drawn_into(subs: list, more):  # noqa: ANN001, ANN202
    """`more`, keeping what it draws in `subs` too (so the preview counts the units of released stages)."""

    def drawn():  # noqa: ANN202
        fresh = more()
        subs.extend(fresh)
        return fresh

    return drawn


def _outcome_instants(engine: Engine, campaign):
    """When the campaign names outcomes for units that stay overdue, the instants they fall due (else None)."""
    from duban.services.outcomes import next_outcome_instant

    if not outcome_rules(campaign.spec):
        return None
    return lambda after: next_outcome_instant(engine, campaign.id, after)


def _draw_open_samples(engine: Engine, planned, seed: int, calendar_file: Path | None) -> None:
    """A sample the notice left open is drawn as an operator might (a tenth of the units, the parents' picks by
    the seed) when the campaign begins, so the simulation plays its items through too."""
    from duban.services.sample_draws import draw_open_sample, stand_in

    plan = planned.plan
    for sample in (s for s in plan.campaign.samples if s.id in plan.undrawn):
        decision = stand_in(plan, sample, seed)
        begins = min(window[0] for window in plan.stage_windows.values())
        draw_open_sample(
            engine,
            planned.campaign_id,
            sample.id,
            count=decision.count,
            named=decision.named,
            at=begins,
            calendar_file=calendar_file,
        )


def _days(offset) -> int:
    """Calendar days an offset can span at most (a working day is at most about 3 calendar days around a holiday)."""
    unit = offset.unit.value
    return abs(offset.amount) * (3 if unit == "working_days" else 1 if unit == "days" else 0) + 1


def _upper_spec(path: Path, spec) -> Path | None:
    """The spec file a forward re-issues, when it is there and valid (else the preview says it is waiting)."""
    if spec.forward is None:
        return None
    try:
        upper = referenced_file(path, spec.forward.of, what="upper spec")
        load_spec(upper)
    except (DubanError, ValueError):
        return None
    return upper
