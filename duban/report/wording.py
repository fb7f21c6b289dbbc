"""Small Chinese phrases of the report: dates as notices write them, rates, counts, a section's kind."""

from __future__ import annotations

from datetime import datetime, timedelta

from duban.instants import in_zone, span_words
from duban.report.record import MetricTotal, Record, Slip, Tally, pct
from duban.spec.models import Campaign, Section

_FILL_WORDS = (
    ("next_steps", ("下一步", "打算", "今后", "计划")),
    ("problems", ("问题", "不足", "困难")),
    ("completion", ("完成", "成效", "结果", "数据")),
    ("leadership", ("领导", "组织", "认识", "重视", "部署")),
)


def fill_of(section: Section) -> str:
    """What duban writes under a heading: the spec's `fill`, else read from the heading's words."""
    if section.fill is not None:
        return section.fill
    for fill, words in _FILL_WORDS:
        if any(word in section.heading for word in words):
            return fill
    return "activities"


def upper_notices(spec: Campaign) -> str:
    """The upper notices the campaign implements, as the report cites them: 《山西省统计局关于开展…的通知》, an issuer
    its title does not name before it, a 文号 after it (empty when the spec lists none)."""
    return "、".join(
        ("" if d.title.startswith(d.issuer) else d.issuer) + f"《{d.title}》" + (f"（{d.doc_no}）" if d.doc_no else "")
        for d in spec.forwards
        if d.title
    )


def notice_cited(spec: Campaign) -> str:
    """What a 通报 says it follows (按照…要求): the issuer's notice by its 文号 and the upper notices by their titles —
    never the campaign's title in 书名号, which names no document; the work itself (按照…工作安排) when the spec
    gives neither."""
    own = f"{spec.issuer}通知（{spec.doc_no}）" if spec.doc_no else ""
    cited = "和".join(filter(None, (upper_notices(spec), own)))
    if cited:
        return f"按照{cited}要求"
    work = spec.title if spec.title.endswith(("工作", "活动")) else f"{spec.title}工作"
    return f"按照{work}安排"


def _local(moment: datetime | str, tz: str):
    return in_zone(datetime.fromisoformat(moment) if isinstance(moment, str) else moment, tz)


def cn_day(moment: datetime | str, tz: str) -> str:
    """'2024年7月2日'."""
    local = _local(moment, tz)
    return f"{local.year}年{local.month}月{local.day}日"


def cn_md(moment: datetime | str, tz: str, ref: datetime | None = None) -> str:
    """'7月2日', with the year when it differs from `ref`'s (default: shown without a year)."""
    local = _local(moment, tz)
    if ref is not None and _local(ref, tz).year != local.year:
        return cn_day(moment, tz)
    return f"{local.month}月{local.day}日"


def span_cn(delta: timedelta) -> str:
    return span_words(delta.total_seconds())


def completion_phrase(tally: Tally, record: Record, item_id: str) -> str:
    """How an item stands: one unit's in words (已于5月13日按时报送), many units' in figures."""
    tz = record.tz
    if len(tally.units) == 1 and tally.due + tally.not_due + tally.excused == 1:
        if tally.on_time or tally.late:
            done = record.done_at.get(item_id)
            on = f"已于{cn_md(done, tz)}" if done else "已"
            verb = "完成" if record.item(item_id).via in ("system", "none") else "报送"
            return on + (f"按时{verb}。" if tally.on_time else f"{verb}（逾期）。")
        if tally.in_review:
            return "已报送，待审核。"
        if tally.missing:
            return f"截至{cn_md(record.as_of, tz)}未报送。"
        return "免报。" if tally.excused else "尚未到截止时间。"
    head, rest = f"{len(tally.units)}个单位", []
    total = tally.due + tally.not_due + tally.excused
    if tally.due:  # 11个单位应报10项 read as if a unit owed nothing: the whole first, then what fell due
        head += f"应报{tally.due}项" if total == tally.due else f"共{total}项，其中已到截止时间或已报送{tally.due}项"
        rest.append(
            f"按时报送{tally.on_time}项，逾期报送{tally.late}项，"
            + (f"已报送待审核{tally.in_review}项，" if tally.in_review else "")
            + f"未报送{tally.missing}项，{tally.rate_words}"
        )
    if tally.not_due:
        rest.append(f"尚未到截止时间{tally.not_due}项")
    if tally.excused:
        rest.append(f"免报{tally.excused}项")
    return f"{head}{'；' if tally.due else '，'}{'；'.join(rest)}。" if rest else f"{head}。"


def own_state(record: Record, kind: str, done_at: datetime | None) -> str:
    """How a duty of the issuer's own stands: 已于6月28日完成, 截至7月2日尚未完成 …"""
    tz = record.tz
    if kind in ("on_time", "late"):
        return (f"已于{cn_md(done_at, tz)}" if done_at else "已") + (
            "完成" if kind == "on_time" else "完成（晚于截止时间）"
        )
    return {
        "in_review": "已提交，待审核",
        "not_due": "尚未到截止时间",
        "excused": "免报",
    }.get(kind, f"截至{cn_md(record.as_of, tz)}尚未完成")


def own_phrase(record: Record, item_id: str) -> str:
    """An item of the issuer's own work, as the report states it apart: '晋中市统计局本级工作（设管科），截至7月2日
    尚未完成。' (empty when the issuer holds no part of it)."""
    duties = [d for d in record.own if d.item_id == item_id]
    if not duties:
        return ""
    issuer = record.spec.issuer
    said = [(own_who(issuer, d.display), own_state(record, d.kind, d.done_at)) for d in duties]
    if len(said) == 1:
        who, state = said[0]
        return f"{issuer}本级工作{f'（{who}）' if who else ''}，{state}。"
    return f"{issuer}本级工作，" + "；".join(f"{who or issuer}{state}" for who, state in said) + "。"


def own_who(issuer: str, display: str) -> str:
    """The issuer's office as its own bureau says it: 设管科 (of 晋中市统计局设管科); empty for the issuer itself."""
    return "" if display == issuer else display.removeprefix(issuer)


def count_phrase(metric: MetricTotal) -> str:
    """A metric's total as the report shows it: '1,234人', '12篇', 'text: 11份'."""
    if metric.kind == "text":
        return f"{int(metric.total)}份说明"
    if metric.kind == "bool":
        return f"{int(metric.total)}个单位为“是”"
    value = f"{int(metric.total):,}" if float(metric.total).is_integer() else f"{metric.total:,.2f}"
    left_out = f"（另有{metric.out_of_range}个超出范围的数值未计入）" if metric.out_of_range else ""
    return value + metric.measure + left_out


def tally_row(label: str, tally: Tally, reviewing: bool = False) -> list[str]:
    """A table row: 单位数, 应报, 按时, 逾期报送, (待审核, when the table has the column), 未报送, 按时率."""
    return [
        label,
        str(len(tally.units)),
        str(tally.due),
        str(tally.on_time),
        str(tally.late),
        *([str(tally.in_review)] if reviewing else []),
        str(tally.missing),
        pct(tally.rate),
    ]


def lowest_items(record: Record) -> list[tuple[str, Tally]]:
    """The item with the lowest on-time rate, when several items were due and it fell short."""
    due = [(record.item_name(i), t) for i, t in record.by_item.items() if t.due]
    if len(due) < 2:
        return []
    name, tally = min(due, key=lambda pair: (pair[1].rate, -pair[1].due))
    if tally.rate == max(t.rate for _n, t in due if t.rate is not None):  # every item alike: none stands out
        return []
    return [(name, tally)]


def slip_rows(grouped: list[tuple[str, list[Slip]]], record: Record, limit: int) -> list[list[str]]:
    """Rows of a late or missing list, its slips grouped by place as the 通报 groups them (bulletin.by_place): the
    place, unit, level, item, due, and when submitted or how long overdue; the first `limit`."""
    tz, rows = record.tz, []
    listed = [(place, s) for place, group in grouped for s in group]
    for place, s in listed[:limit]:
        if s.submitted_at is not None:
            when = f"{cn_md(s.submitted_at, tz)}报送，逾期{span_cn(s.submitted_at - s.due_at)}"
        else:
            when = f"已逾期{span_cn(record.as_of - s.due_at)}"
        item = s.item + (f"（{s.instance}）" if s.instance else "")
        rows.append([place, s.display, record.level_cn(s.level), item, cn_md(s.due_at, tz), when])
    if len(listed) > limit:
        rows.append(["", f"……等共{len(listed)}项，详见汇总表", "", "", "", ""])
    return rows


def outcome_rows(record: Record, limit: int) -> list[list[str]]:
    """Rows of the 处理情况 list: unit, item, the notice's words, when decided, and by when it is owed."""
    tz, rows = record.tz, []
    for o in record.outcomes[:limit]:
        item = record.item_name(o.item_id) + (f"（{o.instance}）" if o.instance else "")
        rows.append(
            [
                record.campaign.display(o.unit_code),
                item,
                o.words,
                cn_md(o.decided_at, tz),
                cn_md(o.due_at, tz) if o.due_at else "—",
            ]
        )
    if len(record.outcomes) > limit:
        rows.append([f"……等共{len(record.outcomes)}项，详见 duban outcomes", "", "", "", ""])
    return rows
