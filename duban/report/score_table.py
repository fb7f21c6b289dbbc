"""The 汇总表's 检查评分 worksheet: every sampled unit's latest points per check item, total, 达标 or not, and its
整改, with the units not yet scored and each check item's 得分率 at the foot. Added beside the sheets of
duban.views.summary_table (which the portal serves too) when the campaign has score sheets.
"""

from __future__ import annotations

import io

from openpyxl import load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from duban.domain.unseen import visible
from duban.domain.xlsx_inert import inert
from duban.instants import fmt
from duban.report.inspection_text import follow_up_words
from duban.report.record import Record
from duban.views.summary_table import freeze

TITLE = "检查评分"
_BOLD = Font(bold=True)
_HEAD = PatternFill("solid", fgColor="E3EAF2")
_FAIL = PatternFill("solid", fgColor="F8D7DA")


def with_score_sheet(workbook: bytes, record: Record) -> bytes:
    """The workbook with a 检查评分 worksheet added (unchanged when nothing was sampled for a score sheet)."""
    samples = record.inspections.samples
    if not samples:
        return workbook
    book = load_workbook(io.BytesIO(workbook))
    ws = book.create_sheet(TITLE)
    sheets = {s.sheet.id: s.sheet for s in samples}
    items = [item for sheet in sheets.values() for item in sheet.items]
    ws.append([f"{record.spec.title} 检查评分（截至 {fmt(record.as_of, record.tz)}）"])
    ws["A1"].font = Font(bold=True, size=13)
    head = [
        "检查",
        "单位代码",
        "单位",
        "上级单位",
        *(i.name for i in items),
        "合计",
        "结论",
        "检查人",
        "检查日期",
        "整改情况",
    ]
    ws.append(head)
    ws.append(["满分", "", "", "", *(i.max for i in items), sum(s.total for s in sheets.values())])
    for row in ws.iter_rows(min_row=2, max_row=3):
        for cell in row:
            cell.font, cell.fill = _BOLD, _HEAD
    units = record.campaign.units
    for scores in samples:
        by_unit = {s.unit: s for s in scores.scored}
        for code in sorted(scores.members, key=lambda c: (c not in by_unit, c)):
            unit = units.get(code)
            parent = record.campaign.display(unit.parent) if unit else ""
            s = by_unit.get(code)
            if s is None:
                ws.append(
                    [scores.label, code, record.campaign.display(code), parent, *[None] * len(items), None, "未评分"]
                )
                continue
            ws.append(
                [
                    scores.label,
                    code,
                    s.display,
                    parent,
                    *(s.points.get(i.id) if i in scores.sheet.items else None for i in items),
                    s.total,
                    "达标" if s.passed else "未达标",
                    visible(s.inspector) if s.inspector else s.inspector,  # one stored by an older duban, as typed
                    s.inspected_on,
                    "" if s.passed else follow_up_words(record, s),
                ]
            )
            if not s.passed:
                for cell in ws[ws.max_row]:
                    cell.fill = _FAIL
    ws.append([])
    shares = {(i.sheet.id, i.item.id): i.share for i in record.inspections.items}
    ws.append(
        ["得分率", "", "", "", *(_pct(shares.get((sheet.id, i.id))) for sheet in sheets.values() for i in sheet.items)]
    )
    ws[ws.max_row][0].font = _BOLD
    for index, width in enumerate([14, 12, 24, 16, *[10] * len(items), 8, 8, 10, 12, 30], 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    freeze(ws, "E4")
    inert(ws)  # inspectors' names and notes are text, never formulas
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"
