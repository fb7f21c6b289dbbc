"""通报 (bulletin): `duban bulletin SPEC [--stage ID] [--as-of T] [--out FILE] [--send]`.

From the same record as the close-out report (record.py) and in the same shape (document.py: 宋体 title, 仿宋
body, 黑体 headings): where the campaign (or one stage) stands, then the units late or missing grouped by county,
each with its items, its due, how many days late, how often its materials were returned and the extension it was
granted ("逾期未报的予以通报"), and a closing request the writer completes. `--send` posts a short text version to
the units' channels through the outbox (kind `bulletin`, one message per unit, once per bulletin day).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.calendar import WorkCalendar
from duban.instants import fmt, fmt_arg, in_zone, utc
from duban.report.blocks import Draft, DraftSection, Para, Table
from duban.report.record import Record, Slip, read_record
from duban.report.submission_text import loop_sentence
from duban.report.wording import cn_day, cn_md, notice_cited
from duban.store.bulletin_facts import approved_extensions, queue_new_messages, returned_reviews
from duban.store.bulletins import bulletin_sent, dated_after, duty_holders, keep_bulletin
from duban.store.db import reading
from duban.views.campaigns import own_units
from duban.views.unit_names import group_level, place_at, place_names, told_apart

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class BulletinFiles:
    docx: Path
    late: int
    missing: int
    sent: int = 0
    number: int = 0  # 第N期 in the campaign (the stored 通报)
    bulletin_id: int = 0
    units_named: int = 0
    naming: Names | None = None  # how it named the late units (the short text names them the same way)


GROUP_HEADINGS = {
    "nation": "国家",
    "province": "省（区、市）",
    "prefecture": "市（州、盟）",
    "county": "县（区、市）",
    "township": "乡（镇、街道）",
    "village": "村（社区）",
}


@dataclass(frozen=True)
class Names:
    """How the 通报 names its units: the level it groups them by (a province's: its cities), the place names of the
    units and those above them, and each late unit's name told apart from the others' (阳泉市城区住房和城乡建设局)."""

    level: str = "county"
    places: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)


def slip_names(engine: Engine, record: Record, slips: list[Slip]) -> Names:
    """The names the 通报 of `slips` uses, read once."""
    campaign = record.campaign
    codes = list(dict.fromkeys(s.unit for s in slips))
    places = place_names(engine, campaign, codes)
    return Names(group_level(campaign), places, told_apart(campaign, codes, places))


def by_place(record: Record, slips: list[Slip], naming: Names) -> list[tuple[str, list[Slip]]]:
    """`slips` grouped by the place their units sit in (a city's: by county, a province's: by city), places in code
    order and those in none (其他) last; in a place the missing before the late, the earliest due first. The 通报's
    表1 and the report's lists of missing and late units both go by it."""
    groups: dict[str, list[Slip]] = defaultdict(list)
    for slip in slips:  # a place's bodies of every line together (140302 and 140302@stats are one 城区)
        groups[place_at(record.campaign, slip.unit, naming.level).partition("@")[0]].append(slip)
    return [
        (
            (naming.places.get(place) or record.campaign.display(place)) if place else "其他",
            sorted(groups[place], key=lambda s: (s.submitted_at is not None, s.due_at, s.unit)),
        )
        for place in sorted(groups, key=lambda c: (c == "", c))
    ]


def _days(seconds: float) -> str:
    """Whole days late, as a published 通报 counts them: 1天12小时 is 逾期1天 (it was rounded to 逾期2天)."""
    days = int(seconds // 86400)
    return f"{days}天" if days >= 1 else "不足1天"


def joined(title: str, stage: str) -> str:
    """The campaign title then the stage name, an overlap of the title's end with the stage's start written once:
    '…建设"回头看"' + '"回头看"检查材料整理上报阶段' → '…建设"回头看"检查材料整理上报阶段' (two characters at least, so
    a chance one-character match is kept)."""
    for k in range(min(len(title), len(stage)), 1, -1):
        if title.endswith(stage[:k]):
            return title + stage[k:]
    return title + stage


def build_bulletin(
    record: Record, stage_id: str | None, returns: dict, extensions: dict, naming: Names | None = None
) -> Draft:
    """The 通报 as a draft: 总体情况, the units late or missing by the place they sit in (a city's: by county, a
    province's: by city), 工作要求."""
    naming = naming or Names()
    spec, tz = record.spec, record.tz
    names = {w[0]: w[1] for w in record.windows}
    scope = names.get(stage_id, "") if stage_id else ""
    tally = record.by_stage.get(stage_id) if stage_id else record.overall
    slips = [s for s in [*record.missing, *record.late] if not stage_id or s.stage == scope]
    title = f"关于{joined(spec.title, scope)}进展情况的通报"
    day = cn_day(record.as_of, tz)
    preamble = f"{notice_cited(spec)}，现将截至{day}{scope or '各项工作'}的报送情况通报如下。"
    overall = []
    if tally is not None:
        overall.append(
            Para(
                f"截至{day}，应报{tally.due}项，按时报送{tally.on_time}项，逾期报送{tally.late}项，"
                + (f"已报送待审核{tally.in_review}项，" if tally.in_review else "")
                + f"未报送{tally.missing}项，{tally.rate_words}。"
                + (f"配合单位的事项已由牵头单位报送的，计入已报送（{tally.by_lead}项）。" if tally.by_lead else "")
            )
        )
    if sentence := loop_sentence(record.loop, names):
        overall.append(Para(sentence))
    rows = []
    for place, group in by_place(record, slips, naming):
        for s in group:
            late_by = ((s.submitted_at or record.as_of) - s.due_at).total_seconds()
            how = f"逾期{_days(late_by)}报送" if s.submitted_at else f"逾期{_days(late_by)}未报"
            key = (s.unit, s.item)
            granted = extensions.get(key)
            rows.append(
                [
                    place,
                    naming.units.get(s.unit, s.display),
                    s.item + (f"（{s.instance}）" if s.instance else ""),
                    cn_md(s.due_at, tz),
                    how,
                    f"{returns.get(key, 0)}次" if returns.get(key) else "",
                    f"延至{cn_md(granted, tz)}" if granted else "",
                ]
            )
    sections = [DraftSection("一、总体情况", overall)]
    if rows:
        heading = GROUP_HEADINGS.get(naming.level, "所在地")
        missing = sum(1 for s in slips if s.submitted_at is None)
        lead = Para(
            f"截至{day}，{len({s.unit for s in slips})}个单位有逾期事项"
            f"（未报送{missing}项，逾期报送{len(slips) - missing}项），"
            f"按所属{heading}列示如下。截止时间已按批准的延期计算。"
        )
        table = Table(
            [heading, "单位", "事项", "截止", "情况", "退回", "延期"],
            rows,
            "表1 逾期单位及事项",
            [2.4, 2.8, 4.0, 1.8, 2.4, 1.0, 1.6],
            size=10.5,
        )
        sections.append(DraftSection("二、逾期单位", [lead, table]))
    else:  # nobody late: not "各单位均按时报送" while versions wait for review or dues are still to come
        waiting = (
            f"；已报送待审核{tally.in_review}项，审核通过后计入按时或逾期报送" if tally and tally.in_review else ""
        )
        sections.append(DraftSection("二、逾期单位", [Para(f"截至目前，没有逾期未报或逾期报送的单位{waiting}。")]))
    demand = (
        "请上述单位高度重视，认真查找原因，尽快完成补报；材料被退回的单位要按要求修改完善后重新报送。"
        if rows
        else "请各单位继续按时报送；材料被退回的单位要按要求修改完善后重新报送。"
    )
    sections.append(
        DraftSection(
            "三、工作要求",
            [
                Para(demand),
                Para("【起草提示】写明补报时限和下一步督办措施（如约谈、纳入年度考核）。", style="prompt"),
            ],
        )
    )
    return Draft(
        title=title,
        note="（通报草稿：数字和名单由督办系统根据报送记录生成，印发前请核对）",
        preamble=preamble,
        sections=sections,
        issuer=spec.issuer,
        day=day,
    )


def _loop_facts(engine: Engine, campaign_id: str, as_of: datetime, item_names: dict) -> tuple[dict, dict]:
    """(unit, item name) → returns by `as_of`, and → the latest due granted by an approved extension, whenever it was
    decided: the 截止 column already counts it (the schedule moved), so an approval recorded at the wall clock after a
    back-dated `as_of` still shows beside the due it moved."""
    returns: dict = defaultdict(int)
    extensions: dict = {}
    with reading(engine) as conn:
        for unit, item in returned_reviews(conn, campaign_id, as_of):
            returns[(unit, item_names.get(item, item))] += 1
        for unit, item, until in approved_extensions(conn, campaign_id):
            extensions[(unit, item_names.get(item, item))] = until
    return dict(returns), extensions


def write_bulletin(
    engine: Engine,
    campaign_id: str,
    as_of: datetime,
    out: Path,
    calendar: WorkCalendar,
    *,
    stage_id: str | None = None,
    drafted_at: datetime | None = None,
    actor: str = "cli",
) -> tuple[BulletinFiles, Draft, Record]:
    """Write the 通报 docx to `out` and keep it as a record (a new number, or the same one when the stage and the
    instant are those of a 通报 drafted before); `drafted_at` is the wall clock (default: `as_of`)."""
    from duban.report.document import write_docx

    as_of = utc(as_of)
    record = read_record(engine, campaign_id, as_of, calendar)
    if stage_id is not None and stage_id not in {w[0] for w in record.windows}:
        from duban.errors import StoreError

        raise StoreError(
            f"campaign {campaign_id!r} has no stage {stage_id!r}; stages: {', '.join(w[0] for w in record.windows)}"
        )
    if (last := dated_after(engine, campaign_id, stage_id, as_of)) is not None:
        from duban.errors import StoreError

        raise StoreError(
            f"第{last.number}期通报 is 截至 {fmt(last.as_of, record.tz)}: a 通报 截至 {fmt(as_of, record.tz)} would be "
            f"第{last.number + 1}期 dated before it (期 follow their 截至, and the 总结报告 cites them in that order). "
            f'Draft it --as-of "{fmt_arg(last.as_of, record.tz)}" or later, or redraft 第{last.number}期 itself '
            "(its --stage and --as-of)"
        )
    returns, extensions = _loop_facts(engine, campaign_id, as_of, {i.id: i.name for _s, i in record.spec.items()})
    scope = {w[0]: w[1] for w in record.windows}.get(stage_id or "", "")
    slips = [s for s in [*record.missing, *record.late] if not stage_id or s.stage == scope]
    naming = slip_names(engine, record, slips)
    draft = build_bulletin(record, stage_id, returns, extensions, naming)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_docx(draft, out, None)
    missing = sum(1 for s in slips if s.submitted_at is None)
    named = len({s.unit for s in slips})
    kept = keep_bulletin(
        engine,
        campaign_id,
        stage_id=stage_id,
        as_of=as_of,
        title=draft.title,
        units_named=named,
        late=len(slips) - missing,
        missing=missing,
        file=str(out.resolve()),
        drafted_at=drafted_at or as_of,
        actor=actor,
    )
    files = BulletinFiles(
        out,
        late=len(slips) - missing,
        missing=missing,
        number=kept.number,
        bulletin_id=kept.id,
        units_named=named,
        naming=naming,
    )
    return files, draft, record


def short_text(draft: Draft, record: Record, stage_id: str | None, naming: Names | None = None) -> str:
    """The 通报 in a few lines for a group chat: the figures, then the units still missing (first 30), named as the
    通报 names them."""
    told = naming.units if naming else {}
    names = {w[0]: w[1] for w in record.windows}
    scope = names.get(stage_id, "") if stage_id else ""
    lines = [draft.title, draft.sections[0].blocks[0].text if draft.sections[0].blocks else ""]
    missing = [s for s in record.missing if not stage_id or s.stage == scope]
    if missing:
        units = list(dict.fromkeys(told.get(s.unit, s.display) for s in missing))
        shown = "、".join(units[:30]) + (f"等{len(units)}个单位" if len(units) > 30 else "")
        lines.append(f"逾期未报的单位：{shown}。请尽快补报。")
    lines.append(f"{draft.issuer} {draft.day}")
    return "\n".join(line for line in lines if line)


def send_bulletin(
    engine: Engine,
    campaign_id: str,
    text: str,
    title: str,
    as_of: datetime,
    tz: str,
    *,
    bulletin_id: int | None = None,
    stage_id: str | None = None,
) -> int:
    """One outbox message (kind `bulletin`) per unit that holds a duty in the 通报's scope (the stage, or the
    campaign), once per day and text; the stored 通报 (`bulletin_id`) records how many units it was queued to. A
    unit of the registry that owes nothing in it is not told (an enterprise not drawn in a 双随机 sample was sent
    the drawn ones' names and asked to 补报)."""
    from duban.settings import quiet_policy
    from duban.views.campaigns import load_campaign

    campaign = load_campaign(engine, campaign_id)
    day = in_zone(as_of, tz).date().isoformat()
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    not_before = quiet_policy().release("bulletin", as_of, tz)
    holders = duty_holders(engine, campaign_id, stage_id)
    own = own_units(campaign, duty_holders(engine, campaign_id))  # the bureau's own offices: not among those 通报'd
    rows = [
        dict(
            campaign_id=campaign_id,
            recipient=code,
            kind="bulletin",
            idempotency_key=hashlib.sha256(f"{campaign_id}|{code}|bulletin|{day}|{digest}".encode()).hexdigest()[:32],
            payload={
                "recipient": code,
                "kind": "bulletin",
                "as_of": utc(as_of).isoformat(),
                "title": title,
                "text": text,
                "items": [],
            },
            created_at=utc(as_of),
            not_before=not_before,
            status="pending",
            attempts=0,
        )
        for code in sorted(holders)
        if code in campaign.units and campaign.units[code].kind != "leader" and code not in own
    ]
    queued = queue_new_messages(engine, rows)
    if bulletin_id is not None and queued:
        bulletin_sent(engine, bulletin_id, queued)
    return queued
