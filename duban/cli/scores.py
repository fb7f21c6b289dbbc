"""`duban scores template|import|show`: score sheets (评分表) as xlsx for the inspected units of a sample."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from duban.cli.common import console, err, fail as _fail, lit, out_file
from duban.errors import DubanError
from duban.instants import fmt, parse_instant
from duban.settings import get_settings

app = typer.Typer(
    help="Score sheets (评分表): export an xlsx template, import the filled one, show totals.", no_args_is_help=True
)
SpecArg = Annotated[Path, typer.Argument(help="campaign spec (YAML) or campaign id")]
SheetOpt = Annotated[
    Optional[str], typer.Option("--sheet", help="score sheet id (default: the one scoring the sample)")
]


def _campaign(spec: Path, now: datetime):
    from duban.services.database import open_database
    from duban.services.lifecycle import campaign_id_for

    settings = get_settings()
    engine = open_database(settings.resolved_database_url)
    return engine, campaign_id_for(engine, str(spec), now=now, calendar_file=settings.calendar_file)


@app.command("template")
def template(
    spec: SpecArg,
    sample: Annotated[list[str], typer.Option(help="sample id (repeatable: one worksheet each)")],
    out: Annotated[Path, typer.Option(help="the xlsx to write, e.g. 评分表.xlsx")],
    sheet: SheetOpt = None,
    under: Annotated[Optional[str], typer.Option(help="only units below this unit code (a county's own)")] = None,
) -> None:
    """Export the score sheet with one row per sampled unit and one column per check item."""
    from duban.services.score_import import export_template

    out = out_file(out, ".xlsx") or out
    try:
        engine, campaign_id = _campaign(spec, datetime.now(timezone.utc))
        used, counts = export_template(engine, campaign_id, sample, out, sheet_id=sheet, under=under)
    except DubanError as exc:
        _fail(exc)
    rows = "、".join(f"{sid} {n} 个单位" for sid, n in counts.items())
    console.print(
        f"wrote {lit(out)}: {lit(used.name)}"
        f"（{len(used.items)} 个检查项目，满分 {used.total:g}，达标 {used.pass_mark:g}）— {lit(rows)}",
        highlight=False,
    )


@app.command("import")
def import_(
    spec: SpecArg,
    file: Annotated[Path, typer.Argument(help="the filled xlsx")],
    sheet: SheetOpt = None,
    at: Annotated[Optional[str], typer.Option(help="when the scores are recorded (default: now)")] = None,
) -> None:
    """Check and record the scores; units below the pass mark get their 整改 assignment."""
    from duban.services.score_import import import_workbook
    from duban.services.scores import ScoreError

    settings = get_settings()
    try:
        moment = parse_instant(at, settings.timezone) if at else datetime.now(timezone.utc)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {lit(exc)}")
        raise typer.Exit(2) from None
    try:
        engine, campaign_id = _campaign(spec, moment)
        result = import_workbook(
            engine, campaign_id, file, at=moment, sheet_id=sheet, calendar_file=settings.calendar_file
        )
    except ScoreError as exc:  # the inspector's words: each cell (sheet!cell) in Chinese, as the portal says it
        _fail(exc.cn)
    except DubanError as exc:
        _fail(exc)
    _outcomes(result, engine, campaign_id)


def _outcomes(result, engine, campaign_id: str) -> None:
    from duban.views.campaigns import load_campaign

    campaign = load_campaign(engine, campaign_id)
    table = Table(box=box.SIMPLE_HEAD, title=lit(result.sheet.name))
    for column in ("样本", "单位", "合计", "结论", "整改"):
        table.add_column(column)
    for sample_id, outcomes in result.outcomes.items():
        for o in outcomes:
            follow = (
                f"截止 {fmt(o.follow_up_due, campaign.tz)}"
                if o.follow_up_due
                else ("已免（复查达标）" if o.follow_up_excused else "")
            )
            verdict = "[green]达标[/]" if o.passed else "[bold red]未达标[/]"
            table.add_row(lit(sample_id), campaign.display(o.unit_code), f"{o.total:g}", verdict, lit(follow))
    console.print(table)
    scored = sum(len(v) for v in result.outcomes.values())
    failed = sum(1 for v in result.outcomes.values() for o in v if not o.passed)
    console.print(f"{lit(scored)} units scored, {lit(failed)} below {result.sheet.pass_mark:g}", highlight=False)


@app.command("show")
def show(spec: SpecArg, sheet: SheetOpt = None) -> None:
    """The latest scores of every scored unit: total and 达标/未达标."""
    from duban.services.scores import latest_scores
    from duban.views.campaigns import load_campaign

    try:
        engine, campaign_id = _campaign(spec, datetime.now(timezone.utc))
        campaign = load_campaign(engine, campaign_id)
        rows = latest_scores(engine, campaign_id, sheet)
    except DubanError as exc:
        _fail(exc)
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("评分表", "样本", "单位", "合计", "结论", "版本", "检查人", "记录时间"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            lit(r.sheet_id),
            lit(r.sample_id),
            campaign.display(r.unit_code),
            f"{r.total:g}",
            "[green]达标[/]" if r.passed else "[bold red]未达标[/]",
            str(r.version),
            lit(r.inspector or ""),
            fmt(r.recorded_at, campaign.tz),
        )
    console.print(table)
    console.print(f"{len(rows)} units scored", highlight=False)
