"""The 汇总表 (xlsx): a roll-up by level with metric totals, one sheet per stage of units × items, and — when the
notice names outcomes (约谈, 通报批评, 重新开展) — a 处理情况 sheet of those decided, in the notice's words.

Read from the database at `as_of` (states as `duban status` reads them, the latest version's counts), so the
operators' download and the close-out report show the same figures. No web code here: the portal serves
the bytes, the report embeds them.
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from duban.domain.state import Color, State
from duban.domain.units import Level
from duban.domain.values import cell as value_cell, exact_sum
from duban.domain.xlsx_inert import inert
from duban.instants import fmt, utc
from duban.spec.models import Item, Metric, Stage
from duban.views.campaigns import PlannedCampaign, load_campaign
from duban.views.duties import Duty, load_duties
from duban.views.outcomes import has_outcome_rules, outcomes_of_campaign

if TYPE_CHECKING:
    from sqlalchemy import Engine

FILL = {Color.red: "C62828", Color.yellow: "F9A825", Color.green: "2E7D32", Color.grey: "BDBDBD"}
WHITE_TEXT = {Color.red, Color.green}
LEVEL_CN: dict[str | None, str] = {level.value: level.cn for level in Level}  # a unit's level may be unknown
_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="E3EAF2")


def summary_workbook(engine: Engine, campaign_id: str, as_of: datetime, *, history: bool = False) -> bytes:
    """The campaign's 汇总表 at `as_of` (as the record stood then, with `history`), as xlsx bytes."""
    campaign = load_campaign(engine, campaign_id)
    duties = load_duties(engine, campaign, as_of, versions="latest", history=history)
    book = Workbook()
    stamp = utc(as_of).replace(tzinfo=None)
    book.properties.creator = "duban"
    book.properties.title = f"{campaign.spec.title} 汇总表"
    book.properties.created = book.properties.modified = stamp
    _rollup(book.active, campaign, duties, as_of)
    names = {"汇总"}
    for stage in campaign.spec.stages:
        stage_duties = [d for d in duties if d.stage_id == stage.id]
        if stage_duties:
            _stage_sheet(book.create_sheet(_sheet_name(stage.name, names)), campaign, stage, stage_duties, as_of)
    if has_outcome_rules(campaign):
        _outcome_sheet(book.create_sheet(_sheet_name("处理情况", names)), engine, campaign, as_of)
    for sheet in book.worksheets:
        inert(sheet)  # unit names, file names and text counts are text, never formulas
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rollup(sheet, campaign: PlannedCampaign, duties: list[Duty], as_of: datetime) -> None:
    sheet.title = "汇总"
    spec = campaign.spec
    sheet.append([f"{spec.title} 汇总表"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"{spec.issuer}{'（' + spec.doc_no + '）' if spec.doc_no else ''} · 截至 {fmt(as_of, campaign.tz)}"])
    sheet.append([])
    metrics = [(item, m) for _stage, item in spec.items() for m in item.metrics if m.type != "text"]
    # 已报 and its parts as `duban status` counts them (已报 N（按时、逾期、待审核）): a version waiting for review was
    # counted under 办理中 here, as if nothing had come in
    head = [
        "阶段",
        "事项",
        "级别",
        "应报",
        "已报",
        "按时报送",
        "逾期报送",
        "待审核",
        "逾期未报",
        "办理中",
        "未开始",
        "免报",
    ]
    head += ["完成率"]
    head += [f"{m.label}{'（' + m.unit + '）' if m.unit else ''}合计" for _item, m in metrics]
    _header(sheet, head)
    groups: dict[tuple[str, str | None], list[Duty]] = defaultdict(list)
    for duty in duties:
        groups[
            (duty.item_id, campaign.units[duty.unit_code].level if duty.unit_code in campaign.units else None)
        ].append(duty)
    for stage, item in spec.items():
        levels = [lv for lv in [*LEVEL_CN, None] if (item.id, lv) in groups]
        for lv in levels:
            sheet.append(_rollup_row(stage, item, LEVEL_CN.get(lv, "其他"), groups[(item.id, lv)], metrics))
        if len(levels) > 1:
            sheet.append(_rollup_row(stage, item, "合计", [d for lv in levels for d in groups[(item.id, lv)]], metrics))
            for cell in sheet[sheet.max_row]:
                cell.font = _BOLD
    _widths(sheet, [18, 34, 8] + [9] * 10 + [16] * len(metrics))
    freeze(sheet, "D5")


def _rollup_row(stage: Stage, item: Item, level: str, duties: list[Duty], metrics) -> list:
    states = Counter(d.shown for d in duties)  # a 配合 item its lead handed in: as the lead's hand-in
    done = states[State.submitted] + states[State.late] + states[State.excused]
    row = [
        stage.name,
        item.name,
        level,
        len(duties),
        states[State.submitted] + states[State.late] + states[State.in_review],
        states[State.submitted],
        states[State.late],
        states[State.in_review],
        states[State.overdue],
        states[State.open] + states[State.due_soon],
        states[State.pending],
        states[State.excused],
        f"{done / len(duties):.0%}" if duties else "",
    ]
    for owner, metric in metrics:
        row.append(_total(metric, duties) if owner.id == item.id else None)
    return row


def _total(metric: Metric, duties: list[Duty]) -> float | int | str:
    values = [d.latest.metrics.get(metric.name) for d in duties if d.latest is not None]
    values = [v for v in values if v is not None]
    if metric.type == "bool":
        return sum(1 for v in values if v)
    total, left_out = exact_sum(values)  # a value stored out of bounds is shown on the stage sheet, not summed
    total = int(total) if metric.type == "int" else total
    return f"{total}（另有 {left_out} 个超出范围的数值未计入）" if left_out else total


def _stage_sheet(sheet, campaign: PlannedCampaign, stage: Stage, duties: list[Duty], as_of: datetime) -> None:
    items = [item for item in stage.items if any(d.item_id == item.id for d in duties)]
    recurring = any(d.instance for d in duties)
    head = ["单位代码", "单位", "级别", "上级单位"] + (["期次"] if recurring else [])
    for item in items:
        head += [f"{item.name}·状态", f"{item.name}·报送时间", f"{item.name}·版本"]
        head += [f"{item.name}·{m.label}" for m in item.metrics]
        if item.formats:
            head.append(f"{item.name}·文件")
    sheet.append([f"{stage.name}（截至 {fmt(as_of, campaign.tz)}）"])
    sheet["A1"].font = Font(bold=True, size=13)
    _header(sheet, head)
    rows: dict[tuple[str, str], dict[str, Duty]] = defaultdict(dict)
    for d in duties:
        rows[(d.unit_code, d.instance)][d.item_id] = d
    order = {code: index for index, code in enumerate(campaign.units)}
    for (code, instance), by_item in sorted(rows.items(), key=lambda kv: (order.get(kv[0][0], 0), kv[0][1])):
        unit = campaign.units.get(code)
        values: list = [
            code,
            campaign.display(code),
            LEVEL_CN.get(unit.level if unit else "", ""),
            campaign.display(unit.parent if unit else None),
        ] + ([instance] if recurring else [])
        colors = []
        for item in items:
            duty = by_item.get(item.id)
            latest = duty.latest if duty else None
            colors.append((len(values) + 1, duty.color if duty else None))
            values += [
                duty.shown_cn if duty else "—",
                fmt(latest.submitted_at, campaign.tz, due=duty.due_at) if latest and duty else "",
                latest.version if latest else None,
            ]
            values += [value_cell(latest.metrics.get(m.name)) if latest else None for m in item.metrics]
            if item.formats:
                values.append("、".join(f["name"] for f in latest.files) if latest else "")
        sheet.append(values)
        for column, colour in colors:
            if colour is not None:
                cell = sheet.cell(row=sheet.max_row, column=column)
                cell.fill = PatternFill("solid", fgColor=FILL[colour])
                cell.font = Font(color="FFFFFF" if colour in WHITE_TEXT else "000000")
    _widths(sheet, [14, 26, 6, 16] + ([10] if recurring else []) + [14] * (len(head) - 4 - recurring))
    freeze(sheet, sheet.cell(row=3, column=5 + recurring).coordinate)
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(head))}{sheet.max_row}"


def _outcome_sheet(sheet, engine: Engine, campaign: PlannedCampaign, as_of: datetime) -> None:
    """处理情况: each outcome decided by `as_of` — unit, item, the notice's words, when decided, by when owed."""
    sheet.append([f"处理情况（截至 {fmt(as_of, campaign.tz)}）"])
    sheet["A1"].font = Font(bold=True, size=13)
    _header(sheet, ["单位代码", "单位", "级别", "上级单位", "事项", "处理（通知原文）", "决定时间", "限期"])
    found = outcomes_of_campaign(engine, campaign, as_of)
    for o in found:
        unit = campaign.units.get(o.unit_code)
        sheet.append(
            [
                o.unit_code,
                campaign.display(o.unit_code),
                LEVEL_CN.get(unit.level if unit else "", ""),
                campaign.display(unit.parent if unit else None),
                o.item,
                o.words,
                fmt(o.decided_at, campaign.tz),
                fmt(o.due_at, campaign.tz) if o.due_at else "—",
            ]
        )
    if not found:
        sheet.append(["", "截至此时尚未作出处理"])
    _widths(sheet, [14, 26, 6, 16, 24, 40, 22, 22])
    freeze(sheet, "C3")
    sheet.auto_filter.ref = f"A2:H{sheet.max_row}"


def _header(sheet, head: list[str]) -> None:
    sheet.append(head)
    for cell in sheet[sheet.max_row]:
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def freeze(sheet, cell: str) -> None:
    """Freeze the rows above and the columns left of `cell`, the cursor on it: left on A1 (openpyxl's), inside the
    frozen heading, a program that scrolls the lower pane to the cursor shows the heading a second time."""
    sheet.freeze_panes = cell
    for selection in sheet.sheet_view.selection:
        if selection.pane == sheet.sheet_view.pane.activePane:
            selection.activeCell = selection.sqref = cell


def _widths(sheet, widths: list[int]) -> None:
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique sheet title: at most 31 characters, none of []:*?/\\."""
    base = re.sub(r"[\[\]:*?/\\]", "", name).strip("'")[:31] or "阶段"
    title, n = base, 2
    while title in taken:
        title = f"{base[:28]}({n})"
        n += 1
    taken.add(title)
    return title
