"""`duban amend` (a later notice changes dates of a running campaign) and `duban report` (the close-out draft)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer

from duban.cli.common import console, fail as _fail, lit, not_ahead, out_file, when as _when
from duban.errors import DubanError
from duban.instants import fmt
from duban.settings import get_settings


def _not_later(moment, written: str, tz: str) -> None:
    """An amendment applied for real takes effect at --at: one later than now (a minute's grace) would date its
    截止时间调整 messages, and the 逾期 it brings, ahead of the record — refused, as submit and excuse refuse a future
    --at; a --dry-run may look ahead."""
    from datetime import datetime, timezone

    from duban.instants import said_ahead

    if (ahead := said_ahead(moment, datetime.now(timezone.utc), tz, f"--at {written}")) is not None:
        raise DubanError(
            f"{ahead}: an amendment is applied when it "
            "takes effect, and its 截止时间调整 messages are dated then; apply it at that instant or later (leave --at "
            "out for now), or look ahead with --dry-run"
        )


def amend(
    spec: Annotated[Path, typer.Argument(help="the campaign's spec (as planned)")],
    amendment: Annotated[Path, typer.Argument(help="the amendment (调整通知) as YAML")],
    at: Annotated[Optional[str], typer.Option("--at", help="when it takes effect (default: now)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would change; write nothing")] = False,
) -> None:
    """Apply a later notice that changes dues or stage windows: re-plan only what it names, keep every
    submission and the history, and tell the affected units (截止时间调整)."""
    from duban.domain.plan import load_calendar_for
    from duban.services.amend import apply_amendment, preview_amendment
    from duban.services.database import open_database
    from duban.spec.amendment import load_amendment
    from duban.spec.load import load_spec

    settings = get_settings()
    planless = False
    try:
        loaded_spec = load_spec(spec)
        tz = loaded_spec.campaign.timezone
        if not dry_run and at is not None:
            _not_later(_when(at, tz, option="--at"), at, tz)
        calendar = load_calendar_for(loaded_spec, settings.calendar_file)
        if dry_run and not _in_database(loaded_spec.campaign.id):  # before go-live: on the plan alone
            planless = True
            result = preview_amendment(loaded_spec, load_amendment(amendment), calendar)
        else:
            engine, moment = open_database(settings.resolved_database_url), _when(at, tz, option="--at")
            result = apply_amendment(
                engine,
                loaded_spec,
                load_amendment(amendment),
                calendar,
                at=moment,
                quiet=settings.quiet(),
                dry_run=dry_run,
            )
            if result.corrected:  # the 更正 to those told 逾期 go out with the next dispatch, not the next tick
                from duban.services.compose import compose_messages

                compose_messages(
                    engine, loaded_spec.campaign.id, moment, quiet=settings.quiet(), recipients=list(result.corrected)
                )
    except DubanError as exc:
        _fail(exc)
    a = result.amendment
    name = f"{a.issuer} {a.doc_no or ''}".strip()
    if result.already:
        console.print(f"amendment #{lit(result.seq)} ({lit(name)}) was applied before: nothing changed")
        return
    verb = "would re-plan" if dry_run else "re-planned"
    console.print(f"[bold]amendment #{lit(result.seq)}[/] {lit(name)} — {lit(a.reason)}", highlight=False)
    if planless:
        console.print(
            "  (the campaign is not in the database yet: compared on the plan alone, every assignment still to open)"
        )
    groups: dict[tuple[str, str], list] = {}
    for c in result.changed:
        groups.setdefault((c.item_id, c.instance), []).append(c)
    for (item, instance), changed in groups.items():
        first = changed[0]
        moves = Counter(f"{c.old_state.cn}→{c.new_state.cn}" for c in changed if c.old_state is not c.new_state)
        opens = (
            f"opens {fmt(first.old_open, tz)} → [bold]{fmt(first.new_open, tz)}[/], "
            if first.old_open != first.new_open
            else ""
        )
        console.print(
            f"  {lit(item)}{lit(' ' + instance if instance else '')}: {len(changed)} assignment(s), {opens}due "
            f"{fmt(first.old_due, tz)} → [bold]{fmt(first.new_due, tz)}[/]"
            + (f"; {lit(', '.join(f'{k} {lit(v)}' for k, v in moves.items()))}" if moves else ""),
            highlight=False,
        )
    for warning in result.warnings:
        console.print(f"[yellow]warning[/] {lit(warning)}", highlight=False, soft_wrap=True)
    for error in result.errors:  # only a dry run gets here with errors: the amendment itself is refused
        console.print(f"[red]error[/] {lit(error)}", highlight=False, soft_wrap=True)
    told = len({c.unit_code for c in result.changed if c.told})
    console.print(
        f"{lit(verb)} {len(result.changed)} assignment(s); {lit(told)} unit(s) "
        + (
            "would be told"
            if dry_run
            else f"told ({lit(result.messages)} message(s) in the outbox: `duban dispatch` sends them)"
        )
    )
    if result.corrected:  # late hand-ins now on time: those told 逾期 or 催办 of them read a 更正
        console.print(
            f"{lit(len(result.corrected))} recipient(s) told 逾期/催办 of a hand-in now on time are sent a correction "
            f"(更正): {lit(', '.join(result.corrected))}",
            highlight=False,
            soft_wrap=True,
        )
    if not result.changed:
        console.print("[yellow]nothing moved: the named dues are already in force[/]")
    stage_of = {item.id: stage.id for stage, item in loaded_spec.campaign.items()}
    for stage in result.moving:
        moved = [c for c in result.changed if stage_of.get(c.item_id) == stage]
        opening = (
            f": opens {fmt(min(c.old_open for c in moved), tz)} → [bold]{fmt(min(c.new_open for c in moved), tz)}[/]"
            if moved
            else ", and its instants stay as they are"
        )
        console.print(
            f"stage {lit(stage)} follows {lit(result.stage_chains.get(stage, 'a changed stage'))}, which the amendment "
            f"moves, and moves with it{opening}",
            highlight=False,
            soft_wrap=True,
        )
    for stage, opened in result.opened.items():
        console.print(
            f"[yellow]note[/] stage {lit(stage)} counts from {lit(result.stage_chains.get(stage, 'a changed stage'))}, "
            f"which the amendment moves, but already opened on {fmt(opened, tz)}: it does not move (the record "
            "keeps it)",
            highlight=False,
            soft_wrap=True,
        )
    for stage in result.waiting:
        console.print(
            f"stage {lit(stage)} counts from {lit(result.stage_chains.get(stage, 'a changed stage'))} and waits for "
            "the record: it opens when the record decides, its dues counted from the amended dates",
            highlight=False,
            soft_wrap=True,
        )
    for stage in (s for s in result.stages if s not in result.moving and s not in result.waiting):
        console.print(
            f"[yellow]note[/] stage {lit(stage)} counts from {lit(result.stage_chains.get(stage, 'a changed stage'))}, "
            "which the amendment moves, and was left as it is; name it in the amendment if it should follow",
            highlight=False,
            soft_wrap=True,
        )
    for item in result.dependents:
        console.print(
            f"[yellow]note[/] item {lit(item)} counts from {lit(result.chains.get(item, 'a changed item or stage'))}, "
            "which the amendment moves, and was left as it is; name it in the amendment if it should follow",
            highlight=False,
            soft_wrap=True,
        )
    if result.errors:
        console.print(f"[red]the amendment would be refused: {len(result.errors)} error(s) above[/]")
        raise typer.Exit(1)


def _in_database(campaign_id: str) -> bool:
    """Is the campaign planned in the configured database? (No database file is created to find out.)"""
    from duban.cli.common import existing_engine
    from duban.errors import StoreError
    from duban.views.campaigns import campaign_ids

    try:
        database = existing_engine()
        return database is not None and campaign_id in campaign_ids(database)
    except StoreError:  # a database whose schema lags (`duban db upgrade`): compared on the plan alone
        return False


def report(
    spec: Annotated[Path, typer.Argument(help="the campaign's spec (or its id, once planned)")],
    out: Annotated[
        Optional[Path], typer.Option("--out", help="the docx to write (default: DUBAN_HOME/reports/<id>-总结报告.docx)")
    ] = None,
    as_of: Annotated[
        Optional[str],
        typer.Option(
            "--as-of", help="the record as of this instant (default: now, or the campaign's close once it is over)"
        ),
    ] = None,
) -> None:
    """Draft the close-out report (总结报告) from the record: docx, timeline chart (PNG) and 汇总表 (xlsx)."""
    from duban.domain.calendar import load_calendar
    from duban.domain.plan import load_calendar_for
    from duban.report import write_report
    from duban.report.record import closing_point
    from duban.services.database import existing_database
    from duban.services.lifecycle import check_report_instant, running_campaign_id
    from duban.spec.load import load_spec

    settings = get_settings()
    out = out_file(out, ".docx")
    try:
        engine = existing_database(settings.resolved_database_url)  # a mistyped path is said, not made
        moment = _when(as_of, settings.timezone, option="--as-of")
        not_ahead(moment, as_of, what="总结报告", why="would state completion figures for units that may yet hand in")
        # never planned here: planned on the spot, a campaign nobody was told of read 未报送 for every unit
        campaign_id = running_campaign_id(engine, str(spec))
        if Path(spec).is_file():
            calendar = load_calendar_for(load_spec(spec), settings.calendar_file)
        else:  # a campaign id: the settings' overrides file, or the library alone
            calendar = load_calendar(settings.calendar_file, named=settings.calendar_file is not None)
        if as_of is not None:  # none before the notice's beginning: a draft of 5/1 said 各单位均按时完成报送
            check_report_instant(engine, campaign_id, moment, settings.timezone, as_of, calendar)
        why = ""
        if as_of is None:  # a finished campaign's report ends at its close, not today
            moment, why = closing_point(engine, campaign_id, calendar, moment)
            why = f", {why}; --as-of names another instant"
        target = out or settings.home / "reports" / f"{campaign_id}-总结报告.docx"
        files = write_report(engine, campaign_id, moment, target, calendar)
    except DubanError as exc:
        _fail(exc)
    console.print(
        f"[green]✓[/] draft report {lit(files.docx)} (the record as of {fmt(moment, settings.timezone)}{lit(why)})",
        highlight=False,
    )
    console.print(f"  timeline chart {lit(files.chart)}", highlight=False)
    console.print(f"  汇总表 {lit(files.table)}", highlight=False)
    for note in files.notes:
        console.print(f"  [yellow]note[/] {lit(note)}", highlight=False)
