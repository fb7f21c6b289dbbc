"""What the close-out report says, read from the campaign's record as of an instant.

Completion per level, stage and item (按时 / 逾期报送 / 未报送, 按时报送率), the late and the missing units,
totals of the counts units reported (Submission.metrics, the latest version of each), the samples drawn and
what their inspections scored (inspections.py), roll-ups and forwards (rollups.py), the amendments,
submissions per day and the messages sent. States are judged as of `as_of` with the same
pure state machine the ticks use, against the dues now in force (after amendments).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from duban.domain.calendar import WorkCalendar
from duban.domain.lead_cover import COOPERATING, duty_key, lead_rows
from duban.domain.timeline import Timeline
from duban.domain.units import Level
from duban.domain.values import exact_sum
from duban.instants import in_zone, utc
from duban.report.inspections import Inspections, read_inspections
from duban.report.judge import kind_at
from duban.report.rollups import RollupFacts, read_rollup_facts
from duban.services.amend import campaign_as_amended, stored_amendments
from duban.spec.models import Campaign, Item
from duban.store.bulletins import KeptBulletin, bulletins_of
from duban.store.db import reading
from duban.store.outcomes import outcomes_listed
from duban.store.record import last_recorded, record_rows, sample_draws, sent_until, submissions_until
from duban.store.tables import AmendmentRow, OutcomeRow, SampleDraw
from duban.views.campaigns import PlannedCampaign, load_campaign, own_units
from duban.views.status import loop_counts

if TYPE_CHECKING:
    from sqlalchemy import Engine

LEVEL_ORDER = ("province", "prefecture", "county", "township", None)
OUTCOMES_READ = 1000  # outcomes the report lists (the draft shows fewer); `duban outcomes` lists them all


def pct(rate: float | None) -> str:
    """A rate as the report writes it: 75.7%, or — when nothing is due."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


@dataclass
class Tally:
    """Assignments of one group as of the report: due by then (按时, 逾期报送, 未报送), not yet due, excused."""

    units: set[str] = field(default_factory=set)
    on_time: int = 0
    late: int = 0
    missing: int = 0
    not_due: int = 0
    in_review: int = 0  # handed in, waiting for the reviewer (待审核): due, neither on time nor late yet
    excused: int = 0
    by_lead: int = 0  # 配合 items counted in on_time, late or in_review as their 牵头 unit's hand-in (lead_cover)

    @property
    def due(self) -> int:
        return self.on_time + self.late + self.in_review + self.missing

    @property
    def rate(self) -> float | None:
        """按时报送率: on time among those due by the report's instant and decided — a version waiting for its
        reviewer is neither on time nor late yet, so it counts on neither side (said beside the rate)."""
        decided = self.due - self.in_review
        return self.on_time / decided if decided else None

    @property
    def rate_words(self) -> str:
        """The rate as the text says it: 按时报送率75.0%, with （不计待审核2项） when versions wait for review."""
        return f"按时报送率{pct(self.rate)}" + (f"（不计待审核{self.in_review}项）" if self.in_review else "")

    def add(self, unit: str, kind: str, *, by_lead: bool = False) -> None:
        self.units.add(unit)
        setattr(self, kind, getattr(self, kind) + 1)
        self.by_lead += by_lead


@dataclass(frozen=True)
class Slip:
    """A late or missing assignment, as the report lists it."""

    unit: str
    display: str
    level: str | None
    stage: str
    item: str
    instance: str
    due_at: datetime
    submitted_at: datetime | None


@dataclass(frozen=True)
class MetricTotal:
    item: str
    label: str
    measure: str
    total: float
    reporting: int
    kind: str  # int | number | bool | text
    out_of_range: int = 0  # values stored beyond |x| < 10^15 (before duban bounded them), left out of the total


@dataclass(frozen=True)
class OwnDuty:
    """A duty of the issuer itself or of one of its own offices (市局设管科's 市级现场检查) in a campaign it runs over
    the units below it: the bureau's own work, which its 通报 neither names nor rates and the report states apart."""

    unit: str
    display: str
    item_id: str
    item: str
    kind: str  # on_time | late | in_review | missing | not_due | excused
    done_at: datetime | None


@dataclass
class Record:
    campaign: PlannedCampaign
    spec: Campaign  # as amended
    as_of: datetime
    windows: list[tuple[str, str, datetime, datetime]]  # (stage id, name, start, end) in force
    events: list[tuple[str, datetime, str | None]]  # (name, at, place)
    overall: Tally
    by_level: dict[str | None, Tally]
    by_stage: dict[str, Tally]
    by_item: dict[str, Tally]
    late: list[Slip]
    missing: list[Slip]
    metrics: list[MetricTotal]
    samples: list[SampleDraw]
    amendments: list[AmendmentRow]
    per_day: list[tuple[date, int, int]]  # (local day, on time, late) of first submissions
    sent: Counter
    leaders: dict[str, list[str]]  # leader display → the units they answer for (county level and up)
    done_at: dict[str, datetime]  # item → its latest first submission (the date of a one-unit item)
    inspections: Inspections = field(default_factory=Inspections)  # the score sheets' results
    rollups: RollupFacts = field(default_factory=RollupFacts)  # roll-ups and forwards
    loop: dict = field(default_factory=dict)  # 延期申请 by status and reviews by decision (duban.status.loop_counts)
    bulletins: list[KeptBulletin] = field(default_factory=list)  # the 通报 drafted by `as_of` (duban bulletin)
    outcomes: list[OutcomeRow] = field(default_factory=list)  # 约谈, 通报批评 … as decided, the earliest first
    own: list[OwnDuty] = field(default_factory=list)  # the issuer's own work, counted in no tally nor slip list

    @property
    def tz(self) -> str:
        return self.campaign.tz

    def level_cn(self, level: str | None) -> str:
        return Level(level).cn if level in Level.__members__ else "其他"

    def item(self, item_id: str) -> Item:
        return next(i for _s, i in self.spec.items() if i.id == item_id)

    def item_name(self, item_id: str) -> str:
        return next((i.name for _s, i in self.spec.items() if i.id == item_id), item_id)

    def sample_levels(self, sample: SampleDraw) -> str:
        """'县级6个、乡级24个'."""
        counts = Counter(
            self.level_cn(u.level if (u := self.campaign.units.get(c)) else None) for c in sample.members or []
        )
        return "、".join(f"{level}{n}个" for level, n in counts.items())


def read_record(engine: Engine, campaign_id: str, as_of: datetime, calendar: WorkCalendar) -> Record:
    """Everything the report needs, as of `as_of`."""
    as_of = utc(as_of)
    campaign = load_campaign(engine, campaign_id)
    spec = campaign_as_amended(engine, campaign.spec)
    timeline = Timeline(spec, calendar)
    stage_names = {s.id: s.name for s in spec.stages}
    items = {i.id: i for _s, i in spec.items()}
    with reading(engine) as conn:
        rows = record_rows(conn, campaign_id)
        submissions = submissions_until(conn, campaign_id, as_of)
        samples = sample_draws(conn, campaign_id)
        amendments = [a for a in stored_amendments(conn, campaign_id) if a.effective_at <= as_of]
        sent = sent_until(conn, campaign_id, as_of)
        inspections = read_inspections(conn, campaign, as_of)
        loop = loop_counts(conn, campaign_id, as_of)
        bulletins = bulletins_of(conn, campaign_id, as_of)
        outcomes = outcomes_listed(conn, campaign_id, as_of, OUTCOMES_READ)
    overall = Tally()
    by_level: dict[str | None, Tally] = defaultdict(Tally)
    by_stage: dict[str, Tally] = defaultdict(Tally)
    by_item: dict[str, Tally] = defaultdict(Tally)
    late: list[Slip] = []
    missing: list[Slip] = []
    leaders: dict[str, set[str]] = defaultdict(set)
    due_of: dict[int, datetime] = {}
    done_at: dict[str, datetime] = {}
    leads = lead_rows(rows)
    own_codes = own_units(campaign, {row.unit_code for row in rows})
    own: list[OwnDuty] = []
    for row in rows:
        kind = kind_at(row, as_of)
        covered = _covered_kind(row, kind, leads, as_of)
        kind = covered or kind
        if row.unit_code in own_codes:
            name = items[row.item_id].name if row.item_id in items else row.item_id
            done = row.submitted_at if kind in ("on_time", "late", "in_review") else None
            own.append(OwnDuty(row.unit_code, campaign.display(row.unit_code), row.item_id, name, kind, done))
            continue
        unit = campaign.units.get(row.unit_code)
        level = unit.level if unit else None
        for tally in (overall, by_level[level], by_stage[row.stage_id], by_item[row.item_id]):
            tally.add(row.unit_code, kind, by_lead=covered is not None)
        due_of[row.id] = row.due_at
        if kind in ("on_time", "late") and covered is None:
            done_at[row.item_id] = max(done_at.get(row.item_id, row.submitted_at), row.submitted_at)
        if kind in ("late", "missing") and covered is None:  # a lead late for it is named, not its 配合 bodies
            slip = Slip(
                row.unit_code,
                campaign.display(row.unit_code),
                level,
                stage_names.get(row.stage_id, row.stage_id),
                items[row.item_id].name if row.item_id in items else row.item_id,
                row.instance,
                row.due_at,
                row.submitted_at if kind == "late" else None,
            )
            (late if kind == "late" else missing).append(slip)
        for _when, targets in row.escalations or ():
            for target in targets:
                if target.startswith("leader:") and level in ("province", "prefecture", "county"):
                    leaders[campaign.display(target)].add(row.unit_code)
    return Record(
        campaign=campaign,
        spec=spec,
        as_of=as_of,
        windows=[(s.id, s.name, timeline.stage_start(s), timeline.stage_end(s)) for s in spec.stages],
        events=[(e.name, timeline.instant(e.at, default_clock=datetime.min.time()), e.place) for e in spec.events],
        overall=overall,
        by_level=dict(sorted(by_level.items(), key=lambda kv: LEVEL_ORDER.index(kv[0]) if kv[0] in LEVEL_ORDER else 9)),
        by_stage=dict(by_stage),
        by_item=dict(by_item),
        late=late,
        missing=missing,
        metrics=_metric_totals(submissions, items),
        samples=sorted(samples, key=lambda d: _spec_order(spec, d.sample_id)),
        amendments=amendments,
        per_day=_per_day(submissions, due_of, campaign.tz),
        sent=sent,
        leaders={name: [campaign.display(c) for c in sorted(codes)] for name, codes in sorted(leaders.items())},
        done_at=done_at,
        inspections=inspections,
        rollups=read_rollup_facts(engine, campaign, as_of),
        loop=loop,
        bulletins=bulletins,
        outcomes=outcomes,
        own=own,
    )


def _covered_kind(row: Any, kind: str, leads: dict, as_of: datetime) -> str | None:
    """How a 配合 row counts when its 牵头 unit's hand-in by `as_of` covers it (duban.domain.lead_cover): the lead's
    kind (on_time, late, in_review); None when it does not (the unit's own kind stands)."""
    if row.role != COOPERATING or kind not in ("missing", "not_due"):
        return None
    for lead in leads.get(duty_key(row.unit_code, row.item_id, row.instance), ()):
        if (lead_kind := kind_at(lead, as_of)) in HANDED_KINDS:
            return lead_kind
    return None


HANDED_KINDS = ("on_time", "late", "in_review")


def closing_instant(engine: Engine, campaign_id: str, calendar: WorkCalendar, now: datetime) -> datetime:
    """The instant a report drafted at `now` speaks of, when the administrator names none (see closing_point)."""
    return closing_point(engine, campaign_id, calendar, now)[0]


def closing_point(engine: Engine, campaign_id: str, calendar: WorkCalendar, now: datetime) -> tuple[datetime, str]:
    """The instant a report drafted at `now` speaks of when the administrator names none, and what set it.

    While the campaign runs, `now`. Once it is over, its close: the last stage's end, the last due, or the last
    thing recorded by `now` (an escalation, a late submission, a score, a 通报, a 签收, an extension), whichever
    came last. A report drafted months after a campaign ended then says where the campaign ended, its timeline is
    not stretched to today, and a 通报 drafted as of the campaign's last day is in it (the demo drafts one as of
    07-02 24:00, after its last tick at 09:00: the report stopped at 09:00 and left it out).
    """
    now = utc(now)
    campaign = load_campaign(engine, campaign_id, units=False)
    spec = campaign_as_amended(engine, campaign.spec)
    timeline = Timeline(spec, calendar)
    ends: dict[str, datetime | None] = {
        "the last stage's end": max((utc(timeline.stage_end(s)) for s in spec.stages), default=None)
    }
    with reading(engine) as conn:
        ends |= last_recorded(conn, campaign_id, now)
    known = {what: utc(e) if e.tzinfo else e.replace(tzinfo=timezone.utc) for what, e in ends.items() if e is not None}
    what, close = max(known.items(), key=lambda pair: pair[1])
    return (now, "now: the campaign still runs") if now <= close else (close, f"the campaign's close, {what}")


def _spec_order(spec: Campaign, sample_id: str) -> int:
    ids = [s.id for s in spec.samples]
    return ids.index(sample_id) if sample_id in ids else len(ids)


def _metric_totals(submissions: list[Any], items: dict[str, Item]) -> list[MetricTotal]:
    """Totals of each item's counts over the latest submission of each assignment (001's counts rolled up)."""
    latest: dict[int, Any] = {}
    for s in submissions:
        if s.assignment_id not in latest or s.version >= latest[s.assignment_id].version:
            latest[s.assignment_id] = s
    by_item: dict[str, list[dict]] = defaultdict(list)
    for s in latest.values():
        by_item[s.item_id].append(s.metrics or {})
    totals = []
    for item_id, item in items.items():
        values = by_item.get(item_id, [])
        for metric in item.metrics:
            given = [v[metric.name] for v in values if v.get(metric.name) not in (None, "")]
            left_out = 0
            if metric.type in ("int", "number"):
                exact, left_out = exact_sum(given)
                total = float(exact)
            else:  # bool: how many said yes; text: how many wrote something
                total = float(sum(1 for x in given if x is True or metric.type == "text"))
            totals.append(
                MetricTotal(item.name, metric.label, metric.unit or "", total, len(given), metric.type, left_out)
            )
    return totals


def _per_day(submissions: list[Any], due_of: dict[int, datetime], tz: str) -> list[tuple[date, int, int]]:
    """First submissions per local day, on time and late against the due now in force."""
    days: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for s in submissions:
        if s.version != 1:
            continue
        late = s.assignment_id in due_of and s.submitted_at > due_of[s.assignment_id]
        days[in_zone(s.submitted_at, tz).date()][1 if late else 0] += 1
    return [(day, counts[0], counts[1]) for day, counts in sorted(days.items())]
