"""The close-out report's text (总结报告草稿), in the shape of seed 003 (鞍山 5·15 情况汇报).

A preamble (根据…要求，…组织开展…，现将有关情况报告如下), then numbered sections — leadership and organisation,
what was done, completion with figures, problems, next steps — and the issuer and date. Headings and prompts
come from the spec's `report:` block; a section's `fill` (or its heading's words) says what duban writes under
it from the record. A completion and a problems section are added where the spec has none. Every sentence
states a fact of the record; what only people know (意义、经验) is left to the writer as 【起草提示】.
"""

from __future__ import annotations

from datetime import timedelta

from duban.instants import fmt
from duban.report.blocks import Draft, DraftSection, Para, Table
from duban.report.bulletin import GROUP_HEADINGS, Names, by_place
from duban.report.inspection_text import inspection_points, inspection_tables, sample_paras
from duban.report.record import Record, Slip
from duban.report.rollup_text import rollup_paras
from duban.report.submission_text import submission_blocks
from duban.report.wording import (
    cn_day,
    cn_md,
    completion_phrase,
    fill_of,
    lowest_items,
    outcome_rows,
    own_phrase,
    pct,
    slip_rows,
    span_cn,
    upper_notices,
)
from duban.spec.models import Section
from duban.views.unit_names import group_level

NUMERALS = "一二三四五六七八九十"
DEFAULT_SECTIONS = [
    Section(heading="加强领导、精心组织", fill="leadership", prompt="工作部署、领导重视和组织保障情况"),
    Section(heading="工作开展情况", fill="activities", prompt="各阶段主要做法和特色亮点"),
    Section(heading="完成情况", fill="completion"),
    Section(heading="存在问题", fill="problems", prompt="结合未报、迟报情况分析原因"),
    Section(heading="下一步打算", fill="next_steps", prompt="针对存在问题的改进措施"),
]
POINT_NUMERALS = "一二三四五六"
ROW_LIMIT = 200  # rows of a list table in the draft; the 汇总表 (xlsx) has them all


def build_draft(record: Record, naming: Names | None = None) -> Draft:
    """The report's text and tables from the record; `naming` (bulletin.slip_names) names the places its lists of
    late and missing units are grouped by, as the 通报 names them (default: the place's unit)."""
    spec, tz = record.spec, record.tz
    report = spec.report
    sections = _with_figures(list(report.sections) if report and report.sections else DEFAULT_SECTIONS)
    # A spec that places no stage or item in a section gets every stage under its first activities section.
    rest = [] if any(s.stages or s.items for s in sections) else [w[0] for w in record.windows]
    drafted = []
    for index, section in enumerate(sections):
        fill = fill_of(section)
        stages = list(section.stages)
        if not stages and fill == "activities" and rest:
            stages, rest = rest, []
        blocks: list = [Para(f"【起草提示】{section.prompt}", "prompt")] if section.prompt else []
        if fill == "problems":
            blocks += _problems(record, stages, naming or Names(group_level(record.campaign)))
        elif fill != "none":
            blocks += _FILLERS[fill](record, stages)
        blocks += _item_lines(record, section.items) if fill not in ("none", "completion") else []
        drafted.append(DraftSection(f"{NUMERALS[index]}、{section.heading}", blocks))
    _number_tables(drafted)
    title = report.title if report else f"{spec.issuer}关于{spec.title}工作情况的报告"
    return Draft(
        title=title,
        note=f"（草稿：督办系统根据报送记录生成，数据截至{fmt(record.as_of, tz)}）",
        preamble=_preamble(record),
        sections=drafted,
        issuer=spec.issuer,
        day=cn_day(record.as_of, tz),
        addressee=_addressee(record),
    )


def _number_tables(sections: list[DraftSection]) -> None:
    """表1, 表2 … in the order the tables appear."""
    number = 0
    for section in sections:
        for block in section.blocks:
            if isinstance(block, Table) and block.numbered:
                number += 1
                block.caption = f"表{number} {block.caption}"


def _addressee(record: Record) -> str | None:
    """The unit the report goes to (report.to: a code, a group of one unit, or a name as written)."""
    ref = record.spec.report.to if record.spec.report else None
    if not ref:
        return None
    group = record.spec.groups.get(ref)
    code = group.ref if group is not None and group.ref else ref
    return record.campaign.display(code) if code in record.campaign.units else ref


def _with_figures(sections: list[Section]) -> list[Section]:
    """The spec's sections, with completion and problems added before the next steps where missing."""
    fills = [fill_of(s) for s in sections]
    result = list(sections)
    at = fills.index("next_steps") if "next_steps" in fills else len(result)
    if "problems" not in fills:
        result.insert(at, Section(heading="存在问题", fill="problems"))
    if "completion" not in fills:
        result.insert(at, Section(heading="完成情况", fill="completion"))
    return result


def _preamble(record: Record) -> str:
    spec, tz = record.spec, record.tz
    basis = upper_notices(spec)
    starts = [w[2] for w in record.windows]
    ends = [w[3] for w in record.windows]
    issued = f"印发通知（{spec.doc_no}），" if spec.doc_no else ""  # its title is the campaign's, not the notice's
    when = f"于{cn_day(min(starts), tz)}至{cn_md(max(ends), tz, min(starts))}" if starts else ""
    work = spec.title if spec.title.endswith(("工作", "活动")) else f"{spec.title}工作"
    text = (f"根据{basis}要求，" if basis else "") + f"{spec.issuer}{issued}{when}组织开展{work}。"
    return text + "现将有关情况报告如下。"


def _leadership(record: Record, stages: list[str]) -> list:
    spec, blocks = record.spec, []
    if spec.doc_no or spec.issued_on:
        on = f"{spec.issued_on.year}年{spec.issued_on.month}月{spec.issued_on.day}日，" if spec.issued_on else ""
        blocks.append(
            Para(f"{on}{spec.issuer}印发通知（{spec.doc_no or '未编文号'}），明确工作任务、时间安排和报送要求。")
        )
    for doc in spec.forwarded_by:
        on = f"{doc.issued_on.year}年{doc.issued_on.month}月{doc.issued_on.day}日" if doc.issued_on else ""
        blocks.append(Para(f"{doc.issuer}{on}以{doc.doc_no or '通知'}转发，结合本地实际作出部署。"))
    if record.leaders:
        parts = [
            f"{name}负责{'、'.join(units[:12])}{'等' if len(units) > 12 else ''}"
            for name, units in record.leaders.items()
        ]
        blocks.append(Para("实行领导包联负责制：" + "；".join(parts) + "。"))
    if spec.contacts:
        blocks.append(
            Para(
                "明确联系人："
                + "；".join(" ".join(filter(None, (c.name, c.phone, c.email))) for c in spec.contacts)
                + "。"
            )
        )
    return blocks + _stage_blocks(record, stages)


def _activities(record: Record, stages: list[str]) -> list:
    blocks = _stage_blocks(record, stages)
    if record.events and stages:
        days = "；".join(
            f"{cn_md(at, record.tz)}{name}" + (f"（{place}）" if place else "") for name, at, place in record.events
        )
        blocks.append(Para(f"重要时间节点：{days}。"))
    return blocks


def _stage_blocks(record: Record, stages: list[str]) -> list:
    tz, blocks = record.tz, []
    names = {s.id: s for s in record.spec.stages}
    windows = {w[0]: w for w in record.windows}
    for n, stage_id in enumerate(stages):
        stage, (_sid, name, start, end) = names[stage_id], windows[stage_id]
        blocks.append(Para(f"（{NUMERALS[n % 10]}）{name}（{cn_md(start, tz)}至{cn_md(end, tz)}）", "sub"))
        if stage.description:
            blocks.append(Para(stage.description.rstrip("。") + "。"))
        for k, item in enumerate(stage.items, 1):
            if said := _item_said(record, item.id):
                blocks.append(Para(f"{k}. {item.name}：{said}"))
    return blocks


def _item_said(record: Record, item_id: str) -> str:
    """How an item stands: the units' figures, then the issuer's own part of it, stated apart."""
    tally = record.by_item.get(item_id)
    return (completion_phrase(tally, record, item_id) if tally is not None else "") + own_phrase(record, item_id)


def _item_lines(record: Record, items: list[str]) -> list:
    return [
        Para(f"{k}. {record.item_name(item_id)}：{said}")
        for k, item_id in enumerate(items, 1)
        if (said := _item_said(record, item_id))
    ]


def _completion(record: Record, _stages: list[str]) -> list:
    """报送情况, then 检查情况 (samples and their scores) and 汇总情况 (roll-ups, forwards) where the record has
    them."""
    parts = [
        ("报送情况", submission_blocks(record)),
        ("检查情况", sample_paras(record) + inspection_tables(record, ROW_LIMIT)),
        ("汇总情况", rollup_paras(record)),
    ]
    parts = [(heading, blocks) for heading, blocks in parts if blocks]
    if len(parts) == 1:
        return parts[0][1]
    return [
        block
        for n, (heading, blocks) in enumerate(parts)
        for block in [Para(f"（{NUMERALS[n]}）{heading}", "sub"), *blocks]
    ]


def _late_by(slip: Slip) -> timedelta:
    """How late a late slip was handed in (a slip of `record.late` has its submission)."""
    assert slip.submitted_at is not None
    return slip.submitted_at - slip.due_at


def _problems(record: Record, _stages: list[str], naming: Names) -> list:
    blocks: list = []
    points: list[str] = []
    if record.missing:
        units = {s.unit: s.display for s in record.missing}
        names = list(units.values())
        points.append(
            f"仍有{len(units)}个单位{len(record.missing)}项未报送"
            f"（{'、'.join(names[:10])}{'等' if len(names) > 10 else ''}）"
        )
    if record.late:
        worst = max(record.late, key=_late_by)
        late_units = {s.unit for s in record.late}
        points.append(
            f"{len(late_units)}个单位{len(record.late)}项逾期报送，逾期最长的是{worst.display}{worst.item}"
            f"（逾期{span_cn(_late_by(worst))}）"
        )
    for item, tally in lowest_items(record):
        points.append(f"{item}按时报送率仅{pct(tally.rate)}")
    points += inspection_points(record)
    if outcomes := (record.loop or {}).get("outcomes"):
        rules = "，".join(f"{record.item_name(t['item'])}{t['words']}{t['units']}个单位" for t in outcomes)
        points.append(f"依照通知规定作出处理（{rules}）")
    if not points:
        return [Para("各单位均按时完成报送，未发现逾期和漏报。")]
    points = points[: len(POINT_NUMERALS)]
    blocks.append(Para("；".join(f"{POINT_NUMERALS[i]}是{p}" for i, p in enumerate(points)) + "。"))
    heading = GROUP_HEADINGS.get(naming.level, "所在地")  # grouped by place as the 通报 is, not by character
    headers, widths = [heading, "单位", "级别", "事项", "截止", "情况"], [2.2, 3.4, 1.2, 4.6, 1.8, 2.8]
    for slips, caption in ((record.missing, "未报送单位"), (record.late, "逾期报送单位")):
        if slips:
            rows = slip_rows(by_place(record, slips, naming), record, ROW_LIMIT)
            blocks.append(Table(headers, rows, caption, widths, 10.5))
    if record.outcomes:
        blocks.append(
            Table(
                ["单位", "事项", "处理", "决定", "限期"],
                outcome_rows(record, ROW_LIMIT),
                "处理情况",
                [3.8, 4.0, 4.2, 1.8, 1.8],
                10.5,
            )
        )
    return blocks


def _next_steps(record: Record, _stages: list[str]) -> list:
    if not record.missing:
        return []
    units = len({s.unit for s in record.missing})
    return [Para(f"对仍未报送的{units}个单位继续督办催报，限期补齐材料。")]


_FILLERS = {
    "leadership": _leadership,
    "activities": _activities,
    "completion": _completion,
    "next_steps": _next_steps,
}
