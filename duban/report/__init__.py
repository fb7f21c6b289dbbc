"""The close-out report (总结报告草稿): `duban report SPEC [--out FILE] [--as-of T]`.

From the campaign's record: a docx draft in the shape of seed 003 (领导/组织, 开展情况, 完成情况 with figures,
存在问题, 下一步打算), the timeline chart (PNG) beside it and embedded in it, and the 汇总表 (xlsx) when
`duban.summary_table` is installed. record.py reads the figures, draft.py writes the text, document.py and
chart.py lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from duban.calendar import WorkCalendar


@dataclass
class ReportFiles:
    docx: Path
    chart: Path
    table: Path | None = None
    notes: list[str] = field(default_factory=list)  # what the operator should know (no CJK font, no 汇总表 …)


def write_report(engine: Engine, campaign_id: str, as_of: datetime, out: Path, calendar: WorkCalendar) -> ReportFiles:
    """Write the draft docx to `out`, `<stem>-时间线.png` and (when available) `<stem>-汇总表.xlsx` beside it."""
    from duban.report.chart import timeline_png
    from duban.report.document import write_docx
    from duban.report.draft import build_draft
    from duban.report.record import read_record

    out.parent.mkdir(parents=True, exist_ok=True)
    record = read_record(engine, campaign_id, as_of, calendar)
    files = ReportFiles(docx=out, chart=out.with_name(f"{out.stem}-时间线.png"))
    files.notes += timeline_png(record, files.chart)
    write_docx(build_draft(record), out, files.chart)
    try:
        from duban.summary_table import summary_workbook  # written on another branch; wired in when merged
    except ImportError:
        files.notes.append("汇总表 (xlsx) skipped: duban.summary_table is not installed in this build")
    else:
        files.table = out.with_name(f"{out.stem}-汇总表.xlsx")
        files.table.write_bytes(summary_workbook(engine, campaign_id, as_of))
    return files
