"""The `duban` command. Catches only duban's own errors: prints `SpecError: …` in red and exits 1."""

from __future__ import annotations

import inspect
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Literal, NoReturn, Optional

import typer
from rich.text import Text

from duban.cli import show
from duban.cli.ack import ack as _ack
from duban.cli.bulletin import bulletin as _bulletin
from duban.cli.closeout import amend as _amend, report as _report
from duban.cli.common import (
    check_prefect_ui,
    console,
    engine as _engine,
    err,
    fail as _fail,
    lit,
    not_ahead,
    rule,
    when as _when,
    working,
)
from duban.cli.db import app as db_app
from duban.cli.deploy import deploy as _deploy
from duban.cli.extension import app as extension_app
from duban.cli.outbox import app as outbox_app
from duban.cli.outcomes import outcomes as _outcomes
from duban.cli.portal import app as portal_app
from duban.cli.review import review as _review
from duban.cli.rollup import app as rollup_app
from duban.cli.sample import app as sample_app
from duban.cli.scores import app as scores_app
from duban.errors import DubanError
from duban.instants import fmt
from duban.settings import get_settings
from duban.spec.load import LoadedSpec

# Piped (`duban --help | less`, a script that reads it), help and usage errors are plain text as other tools
# write them, not Rich's panels drawn 80 columns wide; at a terminal, Rich's panels as wide as the window.
HELP_MARKUP: Literal["rich"] | None = "rich" if sys.stdout.isatty() else None

app = typer.Typer(
    name="duban",
    rich_markup_mode=HELP_MARKUP,
    help="督办 — run a statistics bureau's work campaign (专项工作) from its notice: plan, tick, remind, collect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
units_app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    help="The unit registry: MCA divisions, lines, overlays, imported lists (名录).",
    no_args_is_help=True,
)
for _name, _sub in (
    ("units", units_app),
    ("outbox", outbox_app),
    ("sample", sample_app),
    ("scores", scores_app),
    ("rollup", rollup_app),
    ("portal", portal_app),
    ("db", db_app),
    ("extension", extension_app),
):
    _sub.rich_markup_mode = HELP_MARKUP
    app.add_typer(_sub, name=_name)


@app.callback()
def _settings_first() -> None:
    """A malformed DUBAN_* setting (DUBAN_QUIET_HOURS=22:00-24:00 …) stops every command at its start."""
    try:
        get_settings()
    except DubanError as exc:
        _fail(exc)


SpecArg = Annotated[Path, typer.Argument(help="campaign spec (YAML)", exists=False)]
AsOf = Annotated[Optional[str], typer.Option("--as-of", help="instant, e.g. 2024-05-26 09:00 (default: now)")]


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="spec files, or folders of them (campaign_specs/)")],
    strict: Annotated[bool, typer.Option(help="treat warnings as errors")] = False,
) -> None:
    """Check specs: every error of a file in one run, each with its line and YAML path; warnings are what a
    careful clerk would catch. A folder means every spec in it (its units/ and calendar/ files are not specs)."""
    from duban.services.dispatch import channel_warnings
    from duban.spec.every_error import validate_file
    from duban.spec.folders import spec_files

    failed = False
    for path in spec_files(specs):
        try:
            spec, plan, warnings = validate_file(path, get_settings().calendar_file)
            warnings = [*warnings, *channel_warnings(plan, get_settings())]
        except DubanError as exc:
            err.print(f"[bold red]✗[/] {lit(exc)}", highlight=False, soft_wrap=True)  # what is wrong, not a class
            failed = True
            continue
        except Exception as exc:  # noqa: BLE001 - one spec duban cannot check never stops the others
            err.print(
                f"[bold red]✗ {lit(path)}:[/] cannot be checked ({type(exc).__name__}); nothing of it is planned",
                highlight=False,
                soft_wrap=True,
            )
            failed = True
            continue
        console.print(
            f"[green]✓[/] {lit(path)}: {lit(spec.campaign.title)} — {len(plan.assignments)} assignments, "
            f"{len(plan.units_in_plan())} units, {len(warnings)} warning(s)",
            highlight=False,
        )
        for warning in warnings:
            console.print(f"  [yellow]warning[/] {lit(warning)}", highlight=False, soft_wrap=True)
        _note_pinned_lists(spec, "check")
        failed = failed or (strict and bool(warnings))
    raise typer.Exit(1 if failed else 0)


@app.command()
def schema(out: Annotated[Optional[Path], typer.Option(help="write to this file")] = None) -> None:
    """Print the JSON Schema of campaign specs (for editors and review)."""
    from duban.spec.models import Campaign

    text = json.dumps(Campaign.model_json_schema(), ensure_ascii=False, indent=2)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {lit(out)}")
    else:
        sys.stdout.write(text + "\n")


app.command("outcomes")(_outcomes)


@app.command()
def plan(
    spec: SpecArg,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    all_rows: Annotated[bool, typer.Option("--all", help="list every assignment even in a large plan")] = False,
) -> None:
    """Print every assignment's absolute opening and due (with weekday), counts per stage and level."""
    from duban.services.lifecycle import plan_file

    try:
        loaded, result = plan_file(spec, calendar_file=get_settings().calendar_file)
    except DubanError as exc:
        _fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(show.plan_json(result), ensure_ascii=False, indent=1) + "\n")
        return
    show.print_plan(console, loaded, result, every=all_rows)
    _note_pinned_lists(loaded)


def _note_pinned_lists(loaded: LoadedSpec, what: str = "plan") -> None:
    """A campaign already running over a stored 名录 reads the list as it stood when planned; the file's plan just
    printed (or checked, `what`) reads today's: say so, so the two are not taken for one."""
    from duban.cli.common import existing_engine
    from duban.views.replanned import planned_lists

    database = existing_engine()
    pinned = planned_lists(database, loaded.campaign.id) if database is not None else {}
    if loaded.campaign.registry.lists and pinned:
        tz = loaded.campaign.timezone
        lists = ", ".join(f"{name} as it stood {fmt(moment, tz)}" for name, moment in sorted(pinned.items()))
        console.print(
            f"note: this {what} reads today's lists; campaign {lit(loaded.campaign.id)} in the database runs over "
            f"{lit(lists)} (`duban status` shows it as it runs)",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def tick(
    spec: SpecArg,
    as_of: AsOf = None,
    catch_up: Annotated[
        bool, typer.Option("--catch-up", help="on the real clock, apply events that have waited more than 7 days")
    ] = False,
) -> None:
    """Run one tick of the campaign through Prefect (plans it into the database on first use)."""
    from duban.services.lifecycle import check_catch_up, check_ref, check_tick_ahead, check_tick_instant

    settings = get_settings()
    moment = _when(as_of, settings.timezone, option="--as-of")
    try:
        if as_of is not None:
            check_tick_ahead(moment, datetime.now(timezone.utc), settings.timezone, as_of)
        check_ref(_engine(), str(spec), calendar_file=settings.calendar_file)  # before Prefect starts
        if as_of is not None:
            check_tick_instant(_engine(), str(spec), moment, settings.timezone)
        elif not catch_up:
            check_catch_up(_engine(), str(spec), moment, settings.timezone)
    except DubanError as exc:
        _fail(exc)
    from flows.campaign_tick import campaign_tick

    check_prefect_ui()
    try:
        summary = campaign_tick(spec=str(spec), as_of=moment)
    except DubanError as exc:
        _fail(exc)
    except Exception as exc:  # noqa: BLE001 - the database or Prefect failed; the run's log above has the details
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        _fail(
            DubanError(
                f"the tick failed after Prefect's retries: {first}. What a failed step was writing is not stored; "
                "the next tick applies whatever is due (`duban tick` again, or the deployment's next run)."
            )
        )
    show.print_tick(console, summary, settings.timezone)


@app.command()
def dispatch(as_of: AsOf = None, campaign: Annotated[Optional[str], typer.Option(help="campaign id")] = None) -> None:
    """Send every ready outbox message through Prefect's dispatch flow."""
    from duban.services.dispatch import check_channel_settings, check_dispatch_instant
    from flows.dispatch_outbox import dispatch_outbox

    settings = get_settings()
    moment = _when(as_of, settings.timezone, option="--as-of")
    try:
        check_channel_settings(settings)  # before Prefect starts, as a malformed setting is refused
        if as_of is not None:
            check_dispatch_instant(moment, datetime.now(timezone.utc), settings.timezone, as_of)
    except DubanError as exc:
        _fail(exc)
    check_prefect_ui()
    try:
        if campaign is not None:  # a mistyped id is said so, not "已发送 0 条" with success
            from duban.services.outbox import check_campaign

            check_campaign(_engine(), campaign)
        # no --as-of: the flow's wall-clock mode (rate limits and quiet hours read the real clock through the pass)
        result = dispatch_outbox(as_of=moment if as_of is not None else None, campaign=campaign)
    except DubanError as exc:
        _fail(exc)
    show.print_dispatch(console, result)


@app.command()
def digest(
    as_of: AsOf = None, send: Annotated[bool, typer.Option(help="send it now through the dispatcher")] = True
) -> None:
    """Compose today's digest (每日督办简报) for the operators of every running campaign, and send it; with
    --no-send, print each as the operators will read it, left in the outbox for `duban dispatch`."""
    from duban.services.dispatch import check_channel_settings, check_dispatch_instant
    from flows.daily_digest import daily_digest

    moment = _when(as_of, get_settings().timezone, option="--as-of")
    try:
        if send:
            check_channel_settings(get_settings())  # the digest goes by DUBAN_OPERATOR_CHANNELS
            if as_of is not None:  # it is sent now, through the dispatcher
                check_dispatch_instant(moment, datetime.now(timezone.utc), get_settings().timezone, as_of)
        else:  # composed into the outbox all the same: a 简报 dated ahead lists as 逾期 units that may yet hand in
            not_ahead(moment, as_of, what="每日督办简报", why="would list as overdue units that may yet hand in")
    except DubanError as exc:
        _fail(exc)
    check_prefect_ui()
    try:
        result = daily_digest(as_of=moment, send=send)
    except DubanError as exc:
        _fail(exc)
    console.print(
        f"digests composed: {lit(result['composed'])} ({lit(', '.join(result['campaigns']) or 'no running campaign')})"
    )
    if result.get("closed"):
        console.print(f"no digest for {lit(', '.join(result['closed']))}: its last due is more than 30 days past")
    if not send:
        _preview_digests(result["campaigns"], moment)


def _preview_digests(campaigns: list[str], as_of: datetime) -> None:
    """Each campaign's digest of the day as the operators will read it, and where it waits (a preview that said
    only `digests composed: 1` left the operator to find it in the outbox)."""
    from duban.services import outbox
    from duban.views.digest import todays_digest

    engine = _engine(existing=True)
    for campaign in campaigns:
        message = todays_digest(engine, campaign, as_of)
        if message is None:
            continue
        detail = outbox.show(engine, message)
        rule(f"{campaign}: outbox #{message} ({detail.message.status})")
        console.print(Text(detail.text.rstrip("\n")), soft_wrap=True)
        if detail.message.status == "pending":
            console.print(
                f"not sent: outbox #{message} waits for `duban dispatch` today (dispatched after its day, it is "
                f"dropped: its figures are of today); `duban outbox show {message}` shows it again",
                highlight=False,
            )


@app.command()
def submit(
    spec: SpecArg,
    unit: Annotated[str, typer.Option(help="unit code, e.g. 140724100, or its name")],
    item: Annotated[str, typer.Option(help="item id from the spec")],
    file: Annotated[Optional[list[Path]], typer.Option(help="a file to hand in (repeatable)")] = None,
    metric: Annotated[Optional[list[str]], typer.Option(help="name=value (repeatable)")] = None,
    instance: Annotated[Optional[str], typer.Option(help="period of a recurring item, e.g. 2020Q3")] = None,
    at: Annotated[Optional[str], typer.Option(help="submission instant (default: now)")] = None,
) -> None:
    """Record a submission (报送); after the due it is marked late. A receipt message is queued."""
    from duban.services.compose import compose_messages
    from duban.services.lifecycle import campaign_id_for
    from duban.services.submit import record_submission
    from duban.views.campaigns import load_campaign
    from duban.views.unit_lookup import unit_code

    settings = get_settings()
    pairs = {}
    for entry in metric or []:
        name, sep, value = entry.partition("=")
        if not sep:
            err.print(f"[bold red]error:[/] --metric {entry!r} must be name=value")
            raise typer.Exit(2)
        pairs[name.strip()] = value.strip()
    try:
        engine = _engine()
        moment = _when(at, settings.timezone, option="--at")
        entered = max(moment, _when(None, settings.timezone, option="--at"))  # the real now of this entry
        campaign_id = campaign_id_for(engine, str(spec), now=moment, calendar_file=settings.calendar_file)
        unit = unit_code(engine, campaign_id, unit)  # a code, or the unit's name as messages show it
        receipt = record_submission(
            engine,
            campaign_id,
            unit,
            item,
            moment,
            files=list(file or []),
            metrics=pairs,
            instance=instance,
            files_dir=settings.files_dir,
            recorded_at=entered,
        )
        # the receipt, and the 更正 to those told it was overdue when it was handed in on time after all (补登):
        # those are written now, not at the hand-in (a report --as-of an instant before this entry counted them)
        recipients = [unit, *(r for r in receipt.corrected if r != unit)]
        composed_at = entered if receipt.corrected else moment
        compose_messages(engine, campaign_id, composed_at, quiet=settings.quiet(), recipients=recipients)
    except DubanError as exc:
        _fail(exc)
    named = load_campaign(engine, campaign_id, units={unit, *receipt.corrected})
    show.print_receipt(console, receipt, named, unit, item, instance)
    if receipt.unchanged:
        return
    from tasks.events import submission_received

    check_prefect_ui()

    submission_received(engine, campaign_id, unit, item, receipt, via="cli")


@app.command()
def excuse(
    spec: SpecArg,
    unit: Annotated[str, typer.Option(help="unit code, or its name")],
    item: Annotated[str, typer.Option(help="item id")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit trail)")],
    at: Annotated[Optional[str], typer.Option(help="when it was granted (default: now)")] = None,
) -> None:
    """Excuse a unit from an item (免报)."""
    from duban.services.lifecycle import campaign_id_for
    from duban.services.submit import record_excuse
    from duban.views.campaigns import load_campaign
    from duban.views.unit_lookup import unit_code

    settings = get_settings()
    try:
        engine = _engine()
        moment = _when(at, settings.timezone, option="--at")
        campaign_id = campaign_id_for(engine, str(spec), now=moment, calendar_file=settings.calendar_file)
        unit = unit_code(engine, campaign_id, unit)  # a code, or the unit's name as messages show it
        state = record_excuse(engine, campaign_id, unit, item, moment, reason=reason)
    except DubanError as exc:
        _fail(exc)
    campaign = load_campaign(engine, campaign_id, units={unit})
    console.print(
        f"{state.cn}：{lit(show.unit_words(campaign, unit))} · {lit(show.item_words(campaign, item))}，"
        f"{fmt(moment, campaign.tz)}记录（{lit(reason)}）",
        highlight=False,
    )


@app.command()
def status(
    spec: SpecArg,
    as_of: AsOf = None,
    level: Annotated[
        Optional[str], typer.Option(help="only this level: province, prefecture, county, township (or 省/市/县/乡)")
    ] = None,
    only: Annotated[
        Optional[str], typer.Option(help="only units whose worst colour is red (红), or yellow (黄) or red")
    ] = None,
) -> None:
    """红/黄/绿 per unit and stage, with the counts of the units shown, of a campaign the database runs."""
    from duban.services.lifecycle import check_status_instant, running_campaign_id
    from duban.views.status import status_report

    settings = get_settings()
    wanted = show.StatusFilter.parse(level=level, only=only, refuse=_refuse)
    try:
        engine = _engine(existing=True)  # a mistyped path is said, not made
        moment = _when(as_of, settings.timezone, option="--as-of")
        not_ahead(moment, as_of, what="进度表", why="would show as 红 (逾期) units that may yet hand in")
        # never planned here: planned on the spot, a campaign nobody was told of showed every unit 红 (逾期)
        campaign_id = running_campaign_id(engine, str(spec))
        if as_of is not None:  # a past instant is answered as the 通报 and the report read it; none before the plan
            check_status_instant(engine, campaign_id, moment, settings.timezone, as_of)
        report = status_report(engine, campaign_id, moment)
    except DubanError as exc:
        _fail(exc)
    show.print_status(console, report, wanted)


def _refuse(option: str, value: str, known: str) -> NoReturn:
    err.print(
        f"[bold red]error:[/] {lit(option)} {value!r} is not one of the known values: {lit(known)}",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(2)


@app.command()
def simulate(
    spec: SpecArg,
    start: Annotated[
        Optional[str],
        typer.Option(
            "--from",
            help="show from this instant (a bare date: its 00:00); the campaign still runs from its first opening, "
            "so the window shows what the full preview sends in it",
        ),
    ] = None,
    end: Annotated[
        Optional[str],
        typer.Option(
            "--to", help="end instant; a bare date means its 24:00, the whole day (default: after the last escalation)"
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the synthetic units' behaviour")] = 1,
    unit: Annotated[Optional[str], typer.Option(help="print the full text of this unit's messages")] = None,
) -> None:
    """Preview the whole campaign on a throw-away database: every message that would go out, when, to whom."""
    from duban.simulation.preview import simulate_spec
    from duban.spec.load import load_spec

    settings = get_settings()
    try:
        tz = load_spec(spec).campaign.timezone
        first = _when(start, tz, option="--from") if start else None
        last = _when(end, tz, end_of_day=True, option="--to") if end else None
        if first is not None and last is not None and last <= first:  # ran "0 ticks, 0 messages" with success
            raise DubanError(f"--to {end} is not after --from {start}: nothing would be simulated")
        preview = simulate_spec(
            spec,
            seed=seed,
            start=first,
            end=last,
            quiet=settings.quiet(),
            calendar_file=settings.calendar_file,
            keep=lambda message: False,  # the rest is counted, not kept (issue 24)
            unit=unit,
        )
    except DubanError as exc:
        _fail(exc)
    show.print_preview(console, preview, unit=preview.unit)


@app.command()
def demo() -> None:
    """Run seed 004 (晋中 2024 回头看) over the real 晋中 units through Prefect, 2024-05-10 → 07-02."""
    import logging
    import os

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from duban.simulation.demo import run_demo

    logging.getLogger("prefect").setLevel(logging.WARNING)
    check_prefect_ui()
    settings = get_settings()
    console.print('[bold]duban demo[/] — 晋中市统计局 统计基层基础工作规范化建设"回头看" (2024)')
    console.print("starting Prefect's embedded server (about 15–30 s the first time) …")
    try:
        with working("running the campaign on a simulated clock …") as step:
            result = run_demo(settings, progress=step)
    except DubanError as exc:
        _fail(exc)
    show.print_demo(console, result, settings)


@app.command()
def reset(
    campaign: Annotated[str, typer.Argument(help="campaign id, or its spec file")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask: delete at once (scripts)")] = False,
) -> None:
    """Delete a campaign's whole record from the database (to start over), with the files it left in DUBAN_HOME
    (uploads, its 通报 and 总结报告 in reports/), after saying what goes and asking."""
    from duban.services.leftovers import reports_of
    from duban.services.lifecycle import campaign_named, reset, reset_size

    settings = get_settings()
    try:
        engine = _engine()
        campaign = campaign_named(campaign)  # its spec file names it too, as for status and the report
        size = reset_size(engine, campaign)
        drafts = len(reports_of(engine, campaign, settings.home / "reports"))
        said = _reset_said(campaign, size, drafts, settings.home / "reports")
        if not yes:
            console.print(Text(said))
            if not typer.confirm("delete them?", default=False):
                console.print("nothing deleted")
                raise typer.Exit(1)
        removed = reset(engine, campaign, settings.files_dir, reports_dir=settings.home / "reports")
    except DubanError as exc:
        _fail(exc)
    reports = f" and {removed.reports} 通报/总结报告 file(s)" if removed.reports else ""
    console.print(f"campaign {lit(campaign)} removed, and {removed.files} uploaded file(s){reports}")


def _reset_said(campaign: str, size: dict[str, int], drafts: int, reports: Path) -> str:
    """What `duban reset` deletes, in the words of the records: the assignments and the units holding them, the
    campaign's own copy of its units (never the registry or a 名录), messages sent and waiting, and the rest."""

    def n(key: str, one: str, many: str | None = None) -> str:
        return f"{size[key]:,} {one if size[key] == 1 else many or one + 's'}"

    lines = [
        f"campaign {campaign!r}, deleted for good:",
        f"  {n('assignments', 'assignment')} of {n('units_with_duties', 'unit')}, and the "
        f"{n('transitions', 'transition')} recorded for them",
        f"  the campaign's copy of its {n('units', 'unit')}"
        + (f" and {n('leaders', 'leader')}" if size["leaders"] else "")
        + " as planned (the unit registry, its overlays and the stored 名录 stay)",
        f"  {n('messages', 'message')}: {size['messages_sent']:,} sent, {size['messages_waiting']:,} waiting to go "
        "out (they never will)",
        f"  {n('submissions', 'submitted version')}, with the files uploaded for "
        f"{'it' if size['submissions'] == 1 else 'them'} (but those another campaign's units uploaded too)",
    ]
    others = [
        n(key, one, many)
        for key, one, many in (
            ("reviews", "review (审核)", "reviews (审核)"),
            ("extension_requests", "延期申请", "延期申请"),
            ("acknowledgements", "签收", "签收"),
            ("bulletins", "通报", "通报"),
            ("scores", "score (评分)", "scores (评分)"),
            ("sample_draws", "drawn sample (抽查样本)", "drawn samples (抽查样本)"),
            ("outcomes", "outcome (约谈, 通报批评 …)", "outcomes (约谈, 通报批评 …)"),
            ("amendments", "amendment (调整通知)", "amendments (调整通知)"),
        )
        if size[key]
    ]
    if others:
        lines.append("  " + ", ".join(others))
    if drafts:
        lines.append(f"  its {drafts} 通报/总结报告 file{'' if drafts == 1 else 's'} in {reports}")
    lines.append("the audit log and revoked links stay")
    return "\n".join(lines)


@units_app.command("show")
def units_show(
    ref: Annotated[str, typer.Argument(help="division code or name, e.g. 140700 or 晋中市")],
    overlay: Annotated[Optional[Path], typer.Option(help="apply this overlay file")] = None,
    depth: Annotated[int, typer.Option(help="levels to list below the root")] = 1,
    line: Annotated[
        str, typer.Option(help="whose bodies: stats, housing, ecology, market … (`duban units lines` lists them)")
    ] = "stats",
) -> None:
    """Show a division subtree (Ministry of Civil Affairs data, 2025-12-31) with counts per level, as the bodies
    of one department's line (统计局 by default; `--line housing`: 住房和城乡建设局 …)."""
    from duban.domain.overlay import build_registry

    try:
        registry = build_registry([ref], overlay, line=line)
    except DubanError as exc:
        _fail(exc)
    show.print_units(console, registry, depth=depth)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (1–65535)", min=1, max=65535)] = 8000,
    as_of: Annotated[
        Optional[str],
        typer.Option("--as-of", help="preview: show the record as it stood at this instant, read-only (training)"),
    ] = None,
) -> None:
    """Run the upload portal: units' pages behind their links, the operators' dashboard at /ops."""
    from duban.cli.portal import serve_command

    serve_command(host, port, as_of)


from duban.cli.units import history_command as _units_history, import_command as _units_import, lines_command as _lines  # noqa: E402

units_app.command("import")(_units_import)
units_app.command("history")(_units_history)
units_app.command("lines")(_lines)
app.command("amend")(_amend)
app.command("report")(_report)
app.command("deploy")(_deploy)
app.command("review")(_review)
app.command("ack")(_ack)
app.command("bulletin")(_bulletin)


def _flowing_help(typer_app: typer.Typer) -> None:
    """Each command's help as paragraphs that wrap at the reader's width, not at the docstring's line ends (ragged
    at 80 columns, and Rich cut a line of 汉字 that ran one cell over with "…"), and in a listing its first
    sentence alone; the command's own --help keeps every paragraph."""
    for info in typer_app.registered_commands:
        doc = info.help or inspect.getdoc(info.callback) or ""
        paragraphs = [" ".join(line.strip() for line in part.splitlines()) for part in doc.split("\n\n")]
        info.help = "\n\n".join(paragraphs)
        if info.short_help is None and paragraphs[0]:
            first = re.split(r"(?<=[.。])\s", paragraphs[0], maxsplit=1)[0]
            info.short_help = first
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _flowing_help(group.typer_instance)


_flowing_help(app)


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":
    app()
