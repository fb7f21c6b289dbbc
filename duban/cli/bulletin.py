"""`duban bulletin`: draft the 通报 of a stage or the campaign (docx), and optionally post its short text."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from duban.cli.common import console, fail as _fail, not_ahead, out_file, when as _when
from duban.errors import DubanError
from duban.instants import fmt
from duban.settings import get_settings


def bulletin(
    spec: Annotated[Path, typer.Argument(help="the campaign's spec (or its id, once planned)")],
    stage: Annotated[Optional[str], typer.Option(help="only this stage (default: the whole campaign)")] = None,
    as_of: Annotated[
        Optional[str], typer.Option("--as-of", help="the record as of this instant (default: now)")
    ] = None,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="the docx to write (default: DUBAN_HOME/reports/<id>-通报.docx)")
    ] = None,
    send: Annotated[
        bool,
        typer.Option("--send", help="also post a short text version to the units holding a duty in it (outbox)"),
    ] = False,
) -> None:
    """Draft the 通报: the units late or missing by county, with days late, returns and approved extensions."""
    from duban.domain.calendar import load_calendar
    from duban.domain.plan import load_calendar_for
    from duban.report.bulletin import send_bulletin, short_text, write_bulletin
    from duban.services.database import existing_database
    from duban.services.lifecycle import check_status_instant, running_campaign_id
    from duban.spec.load import load_spec

    settings = get_settings()
    out = out_file(out, ".docx")
    try:
        engine = existing_database(settings.resolved_database_url)  # a mistyped path is said, not made
        moment = _when(as_of, settings.timezone, option="--as-of")
        why = "would be kept as the next 期 and name units late that may yet hand in"
        not_ahead(moment, as_of, what="通报", why=why)
        campaign_id = running_campaign_id(engine, str(spec))  # a 通报 never plans a campaign
        if as_of is not None:  # archived as the next 期: none of an instant the record holds nothing for
            check_status_instant(engine, campaign_id, moment, settings.timezone, as_of)
        calendar = (
            load_calendar_for(load_spec(spec), settings.calendar_file)
            if Path(spec).is_file()
            else load_calendar(settings.calendar_file)
        )
        target = out or settings.home / "reports" / f"{campaign_id}{'-' + stage if stage else ''}-通报.docx"
        files, draft, record = write_bulletin(
            engine, campaign_id, moment, target, calendar, stage_id=stage, drafted_at=datetime.now(timezone.utc)
        )
        sent = (
            send_bulletin(
                engine,
                campaign_id,
                short_text(draft, record, stage, files.naming),
                draft.title,
                moment,
                record.tz,
                bulletin_id=files.bulletin_id,
                stage_id=stage,
            )
            if send
            else 0
        )
    except DubanError as exc:
        _fail(exc)
    console.print(
        f"[green]✓[/] 通报 {files.docx}（截至 {fmt(moment, record.tz)}："
        f"逾期未报 {files.missing} 项，逾期报送 {files.late} 项）",
        highlight=False,
    )
    console.print(
        f"  已存档为第{files.number}期通报（点名 {files.units_named} 个单位；总结报告引用）；"
        f"同一阶段同一时刻再起草仍为第{files.number}期",
        highlight=False,
    )
    if send:
        console.print(f"  短文本已排入发送队列：{sent} 个单位（`duban dispatch` 发送）", highlight=False)
