"""What operators see of a campaign after a tick (进度看板): progress per stage, 红黄绿 per unit, the overdue
list and the escalations. Pure data and text; the flows show it as Prefect artifacts.

Read from the states the database holds, so it is exact right after a tick at `as_of` and costs a few
grouped queries even for a national campaign.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, case, func, literal, literal_column, null, select, union_all

from duban.campaigns import PlannedCampaign, load_campaign
from duban.instants import fmt, in_zone, utc
from duban.messages import KIND_CN
from duban.state import STATE_CN, Color, State, color, worst
from duban.store import is_postgres, reading, unit_of_work
from duban.tables import Assignment, CampaignRow, Intent, ScoreRecord, Submission, TransitionRow, ViewMark

_A, _I = Assignment.__table__, Intent.__table__
# Words, not coloured emoji: the bureaus' intranet desktops often lack an emoji font, and 红黄绿 reads at a glance.
DOT = {Color.red: "红", Color.yellow: "黄", Color.green: "绿", Color.grey: "未开始"}
ROWS_SHOWN = 300  # units in the table artifact, the reddest first; the counts cover them all
LISTED = 30  # overdue items and escalations listed in the summary
_DONE = (State.submitted, State.late, State.excused)


@dataclass
class StageProgress:
    stage_id: str
    name: str
    states: Counter

    @property
    def total(self) -> int:
        return sum(self.states.values())

    @property
    def done(self) -> int:
        return sum(self.states[s] for s in _DONE)

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.total, 1) if self.total else 0.0


@dataclass
class UnitRow:
    code: str
    display: str
    level: str | None
    stages: dict[str, Color] = field(default_factory=dict)
    states: Counter = field(default_factory=Counter)

    @property
    def overall(self) -> Color:
        return worst(list(self.stages.values()))


@dataclass
class CampaignView:
    campaign: PlannedCampaign  # its units: only those the view names
    as_of: datetime
    stages: list[StageProgress]
    units: list[UnitRow]  # the reddest ROWS_SHOWN units
    colours: Counter  # every unit by its worst colour
    overdue_total: int
    overdue: list[tuple[str, str, str, datetime]]  # (unit code, stage id, item id, due), longest overdue first
    escalations: list[tuple[str, str, str, int, datetime]]  # (unit, item, recipient, step, event_at), last day

    @property
    def unit_total(self) -> int:
        return sum(self.colours.values())

    @property
    def key(self) -> str:
        return artifact_key(self.campaign.id)


@dataclass(frozen=True)
class ViewMarks:
    """The newest transition, submission and score when the views are read (a cheap "has anything happened")."""

    transition_id: int
    submission_id: int
    score_id: int


def views_stale(engine: Engine, campaign_id: str, as_of: datetime) -> ViewMarks | None:
    """The marks to record with a fresh publication at `as_of`, or None when the published views are current.

    They are current when nothing was recorded since (in any campaign: three primary-key maxima, no scan) and it
    is still the same day in the campaign's zone (the views count overdue days).
    """
    as_of = utc(as_of)
    with reading(engine) as conn:
        marks = ViewMarks(*(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one()
                            for t in (TransitionRow.__table__, Submission.__table__, ScoreRecord.__table__)))  # fmt: skip
        row = conn.execute(select(ViewMark).where(ViewMark.campaign_id == campaign_id)).first()
        if row is None:
            return marks
        tz = conn.execute(select(CampaignRow.timezone).where(CampaignRow.id == campaign_id)).scalar_one()
    seen = ViewMarks(row.transition_id, row.submission_id, row.score_id)
    same_day = in_zone(as_of, tz).date() == in_zone(row.published_at, tz).date()
    return None if seen == marks and same_day else marks


def views_published(engine: Engine, campaign_id: str, as_of: datetime, marks: ViewMarks) -> None:
    """Record a publication; marks only move forward (two ticks may finish in either order)."""
    values = dict(published_at=utc(as_of), **vars(marks))
    with unit_of_work(engine) as conn:
        query = select(ViewMark).where(ViewMark.campaign_id == campaign_id)
        row = conn.execute(query.with_for_update() if is_postgres(conn) else query).first()
        if row is None:
            conn.execute(ViewMark.__table__.insert().values(campaign_id=campaign_id, **values))
            return
        newer = {k: max(v, getattr(row, k)) for k, v in values.items()}
        conn.execute(ViewMark.__table__.update().where(ViewMark.campaign_id == campaign_id).values(**newer))


def artifact_key(*parts: str) -> str:
    """A stable Prefect artifact key: lowercase letters, digits and dashes."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower())).strip("-")


_RANKED = (Color.red, Color.yellow, Color.green, Color.grey)  # worst first, as state.worst orders them
_RANK = case(
    (_A.c.state == State.overdue.value, 0),
    (_A.c.state.in_((State.due_soon.value, State.late.value)), 1),
    (_A.c.state == State.pending.value, 3),
    else_=2,
)  # state.color in SQL, as a rank: a unit's worst colour is its smallest rank


def campaign_view(engine: Engine, campaign_id: str, as_of: datetime) -> CampaignView:
    """The campaign as the database holds it after a tick at `as_of`.

    Counted in the database (stage by state, each unit's worst colour), so a national campaign costs a few
    grouped queries; only the units shown (the reddest ROWS_SHOWN, the overdue and escalated ones listed) are
    read one by one.
    """
    as_of = utc(as_of)
    where = _A.c.campaign_id == campaign_id
    with reading(engine) as conn:
        spec_only = load_campaign(conn, campaign_id, units=False)
        by_stage = _stage_states(conn, campaign_id, spec_only)
        colours, shown = _unit_ranks(conn, where)
        detail = conn.execute(select(_A.c.unit_code, _A.c.stage_id, _A.c.state, func.count())
                              .where(where, _A.c.unit_code.in_(shown))
                              .group_by(_A.c.unit_code, _A.c.stage_id, _A.c.state)).all() if shown else []  # fmt: skip
        overdue_where = and_(where, _A.c.state == State.overdue.value)
        overdue_total = sum(states[State.overdue] for states in by_stage.values())
        overdue = conn.execute(select(_A.c.unit_code, _A.c.stage_id, _A.c.item_id, _A.c.due_at).where(overdue_where)
                               .order_by(_A.c.due_at, _A.c.unit_code, _A.c.id).limit(LISTED)).all()  # fmt: skip
        escalations = conn.execute(  # from ix_intent_escalations, whose WHERE the literal matches
            select(_A.c.unit_code, _A.c.item_id, _I.c.recipient, _I.c.step, _I.c.event_at)
            .join(_A, _A.c.id == _I.c.assignment_id)
            .where(_I.c.campaign_id == campaign_id, _I.c.kind == literal_column("'escalation'"),
                   _I.c.created_at > as_of - timedelta(days=1), _I.c.created_at <= as_of)
            .order_by(_I.c.event_at.desc(), _A.c.unit_code, _I.c.recipient).limit(LISTED)
        ).all()  # fmt: skip
        named = {*shown, *(r[0] for r in overdue), *(r[0] for r in escalations), *(r[2] for r in escalations)}
        campaign = load_campaign(conn, campaign_id, units=named)
    units = {code: UnitRow(code, campaign.display(code), getattr(campaign.units.get(code), "level", None))
             for code in shown}  # fmt: skip
    per_unit_stage: dict[tuple[str, str], list[Color]] = defaultdict(list)
    for unit_code, stage_id, state, count in detail:
        units[unit_code].states[State(state)] += count
        per_unit_stage[(unit_code, stage_id)].append(color(State(state)))
    for (unit_code, stage_id), colours_of_stage in per_unit_stage.items():
        units[unit_code].stages[stage_id] = worst(colours_of_stage)
    stages = [StageProgress(s.id, s.name, by_stage.get(s.id, Counter())) for s in spec_only.spec.stages]
    return CampaignView(campaign, as_of, stages, list(units.values()), colours, overdue_total,
                        [tuple(r) for r in overdue], [tuple(r) for r in escalations])  # fmt: skip


def _unit_ranks(conn, where) -> tuple[Counter, list[str]]:
    """Every unit by its worst colour, counted, and the reddest ROWS_SHOWN units (then by code), in one statement.

    Each unit's worst colour is worked out once by the database (a grouping of the colours index) and only the
    four counts and the units shown come back: a national campaign's 41,568 units never travel to Python.
    """
    per_unit = (select(_A.c.unit_code.label("code"), func.min(_RANK).label("rank")).where(where)
                .group_by(_A.c.unit_code).cte("per_unit"))  # fmt: skip
    by_code = per_unit.c.code.collate("C") if is_postgres(conn) else per_unit.c.code  # code points, as Python sorts
    top = (select(per_unit.c.code, per_unit.c.rank, literal(0).label("n")).order_by(per_unit.c.rank, by_code)
           .limit(ROWS_SHOWN).subquery("top"))  # fmt: skip
    counts = select(null().label("code"), per_unit.c.rank, func.count().label("n")).group_by(per_unit.c.rank)
    colours: Counter = Counter()
    shown = []
    for code, rank, n in conn.execute(union_all(counts, select(top.c.code, top.c.rank, top.c.n))):
        if code is None:
            colours[_RANKED[rank]] = n
        else:
            shown.append((rank, code))
    return colours, [code for _rank, code in sorted(shown)]


def _stage_states(conn, campaign_id: str, campaign: PlannedCampaign) -> dict[str, Counter]:
    """Assignments per stage and state, counted per item from the colours index alone (no table rows read)."""
    stage_of = {item.id: stage.id for stage, item in campaign.spec.items()}
    counts = conn.execute(select(_A.c.item_id, _A.c.state, func.count()).where(_A.c.campaign_id == campaign_id)
                          .group_by(_A.c.item_id, _A.c.state)).all()  # fmt: skip
    if any(item_id not in stage_of for item_id, _state, _count in counts):  # an item the stored spec lacks
        counts = conn.execute(select(_A.c.stage_id, _A.c.state, func.count()).where(_A.c.campaign_id == campaign_id)
                              .group_by(_A.c.stage_id, _A.c.state)).all()  # fmt: skip
        stage_of = {stage_id: stage_id for stage_id, _state, _count in counts}
    by_stage: dict[str, Counter] = defaultdict(Counter)
    for key, state, count in counts:
        by_stage[stage_of[key]][State(state)] += count
    return by_stage


def unit_table(view: CampaignView) -> list[dict[str, str | int]]:
    """One row per unit (the reddest first, at most ROWS_SHOWN): its colour per stage and its counts."""
    table = []
    for unit in view.units[:ROWS_SHOWN]:
        row: dict[str, str | int] = {"单位": unit.display, "代码": unit.code, "总体": DOT[unit.overall]}
        for stage in view.stages:
            colour = unit.stages.get(stage.stage_id)
            row[stage.name] = DOT[colour] if colour else "—"
        row["应报"] = sum(unit.states.values())
        row["已报"] = sum(unit.states[s] for s in _DONE)
        row["逾期未报"] = unit.states[State.overdue]
        table.append(row)
    return table


def colour_counts(view: CampaignView) -> Counter:
    """How many units are 红, 黄, 绿 and not yet open, by their worst stage."""
    return view.colours


def summary_markdown(view: CampaignView, changes: dict[str, int] | None = None, messages: int | None = None) -> str:
    """The operators' summary: where each stage stands, who is overdue longest, who was escalated."""
    c, tz = view.campaign, view.campaign.tz
    counts = colour_counts(view)
    lines = [
        f"# {c.spec.title}",
        f"{c.spec.issuer} · 截至 **{fmt(view.as_of, tz)}** · 单位 {view.unit_total} 个："
        + "，".join(f"{DOT[k]} {counts[k]}" for k in (Color.red, Color.yellow, Color.green, Color.grey)),
        "",
    ]
    if changes is not None:
        order = ["opened", "reminder", "overdue", "escalation"]
        ordered = sorted(changes.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
        done = "，".join(f"{KIND_CN.get(k, k)} {v}" for k, v in ordered if v) or "无状态变化"
        lines += [f"本次巡检：{done}；生成消息 {messages or 0} 条。", ""]
    lines += ["| 阶段 | 应报 | 已报 | 逾期报送 | 逾期未报 | 办理中 | 完成率 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for stage in view.stages:
        s = stage.states
        lines.append(f"| {stage.name} | {stage.total} | {stage.done} | {s[State.late]} | {s[State.overdue]} | "
                     f"{s[State.open] + s[State.due_soon]} | {stage.percent:g}% |")  # fmt: skip
    names = {stage.stage_id: stage.name for stage in view.stages}
    items = {item.id: item.name for _stage, item in c.spec.items()}
    lines += ["", f"## 逾期未报（{view.overdue_total} 项）"]
    if not view.overdue:
        lines.append("无。")
    grouped: dict[tuple, list[str]] = {}  # a unit's items of one stage and due on one line
    for code, stage_id, item_id, due in view.overdue:
        grouped.setdefault((code, stage_id, due), []).append(items.get(item_id, item_id))
    for (code, stage_id, due), names_of_items in grouped.items():
        days = (view.as_of - utc(due)).total_seconds() / 86400
        lines.append(f"- {c.display(code)}：{names.get(stage_id, stage_id)} · {'、'.join(names_of_items)}，"
                     f"截止 {fmt(due, tz)}，已逾期 {days:.1f} 天")  # fmt: skip
    if view.overdue_total > len(view.overdue):
        lines.append(f"- ……另有 {view.overdue_total - len(view.overdue)} 项（见单位表）")
    lines += ["", "## 近24小时催办"]
    if not view.escalations:
        lines.append("无。")
    escalated: dict[tuple, list[str]] = {}
    for code, item_id, recipient, step, event_at in view.escalations:
        escalated.setdefault((code, recipient, step, event_at), []).append(items.get(item_id, item_id))
    for (code, recipient, step, event_at), names_of_items in escalated.items():
        lines.append(f"- {c.display(code)} · {'、'.join(names_of_items)}：第{step + 1}次催办 → "
                     f"{c.display(recipient)}（{fmt(event_at, tz)}）")  # fmt: skip
    if view.unit_total > len(view.units):
        lines += ["", f"单位表列出最需关注的 {len(view.units)} 个单位（共 {view.unit_total} 个）。"]
    return "\n".join(lines) + "\n"


def stage_description(stage: StageProgress) -> str:
    """One line under a stage's progress bar."""
    s = stage.states
    return (f"{stage.name}：已报 {stage.done}/{stage.total}，逾期未报 {s[State.overdue]}，"
            f"办理中 {s[State.open] + s[State.due_soon]}，{STATE_CN[State.pending]} {s[State.pending]}")  # fmt: skip
