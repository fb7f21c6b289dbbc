"""The close-out report (总结报告草稿): `duban report SPEC [--out FILE] [--as-of T]`.

From the campaign's record: a docx draft in the shape of seed 003 (领导/组织, 开展情况, 完成情况 with figures,
检查情况 and 汇总情况, 存在问题, 下一步打算), the timeline chart (PNG) beside it and embedded in it, and the 汇总表
(xlsx, duban.views.summary_table) with a 检查评分 worksheet when the campaign has score sheets. record.py reads the
figures (inspections.py the scores, rollups.py the roll-ups and forwards), draft.py writes the text,
document.py, chart.py and score_table.py lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.calendar import WorkCalendar

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class ReportFiles:
    docx: Path
    chart: Path
    table: Path
    notes: list[str] = field(default_factory=list)  # what the operator should know (no CJK font …)


def write_report(engine: Engine, campaign_id: str, as_of: datetime, out: Path, calendar: WorkCalendar) -> ReportFiles:
    """Write the draft docx to `out`, and `<stem>-时间线.png` and `<stem>-汇总表.xlsx` beside it."""
    from duban.report.bulletin import slip_names
    from duban.report.chart import timeline_png
    from duban.report.document import write_docx
    from duban.report.draft import build_draft
    from duban.report.record import read_record
    from duban.report.score_table import with_score_sheet
    from duban.views.summary_table import summary_workbook

    out.parent.mkdir(parents=True, exist_ok=True)
    record = read_record(engine, campaign_id, as_of, calendar)
    files = ReportFiles(
        docx=out, chart=out.with_name(f"{out.stem}-时间线.png"), table=out.with_name(f"{out.stem}-汇总表.xlsx")
    )
    table = with_score_sheet(summary_workbook(engine, campaign_id, as_of), record)  # first: no file left half-made
    files.notes += timeline_png(record, files.chart)
    write_docx(build_draft(record, slip_names(engine, record, [*record.missing, *record.late])), out, files.chart)
    files.table.write_bytes(table)
    return files
