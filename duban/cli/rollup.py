"""`duban rollup show SPEC`: each roll-up (汇总) per unit: who has handed in, who is missing, the counts."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from duban.cli.common import console, fail, lit
from duban.errors import DubanError
from duban.settings import get_settings

app = typer.Typer(help="Roll-ups (汇总): the units below feeding their unit's item.", no_args_is_help=True)


@app.command("show")
def show(spec: Annotated[Path, typer.Argument(help="campaign spec (YAML) or campaign id")]) -> None:
    """Per roll-up and unit: finished n/m, the missing units, the counts added up."""
    from duban.services.database import open_database
    from duban.services.lifecycle import campaign_id_for
    from duban.services.rollups import rollup_status
    from duban.views.campaigns import load_campaign

    settings = get_settings()
    try:
        engine = open_database(settings.resolved_database_url)
        campaign_id = campaign_id_for(
            engine, str(spec), now=datetime.now(timezone.utc), calendar_file=settings.calendar_file
        )
        campaign = load_campaign(engine, campaign_id)
        statuses = rollup_status(engine, campaign_id)
    except DubanError as exc:
        fail(exc)
    if not statuses:
        console.print(f"{lit(campaign_id)} has no roll-up (rollups: or forward: in the spec)")
    print_statuses(console, campaign, statuses)


def print_statuses(out: Console, campaign, statuses) -> None:
    """Each roll-up per unit: finished n/m and its state, the missing units, the counts added up."""
    items = {item.id: item for _stage, item in campaign.spec.items()}
    for status in statuses:
        rollup = status.rollup
        source = items.get(rollup.from_)
        into = items[rollup.into].name if rollup.into in items else (rollup.name or "汇总")
        state = f" · {status.state.cn}" if status.state else ""
        out.print(
            f"\n[bold]{lit(into)}[/] ← {lit(source.name if source else rollup.from_)} ({lit(rollup.id)})",
            highlight=False,
        )
        missing = "、".join(campaign.display(c) for c in status.missing[:12]) + (
            " …" if len(status.missing) > 12 else ""
        )
        out.print(
            f"  {lit(campaign.display(status.unit_code))}: "
            f"已报 {len(status.finished)}/{len(status.feeders)}{lit(state)}"
            + (f"  未报: {lit(missing)}" if missing else ""),
            highlight=False,
        )
        labels = {m.name: (m.label, m.unit or "") for m in (source.metrics if source else [])}
        for name, total in status.sums.items():
            label, unit = labels.get(name, (name, ""))
            out.print(f"    {lit(label)} {total:g}{lit(unit)}", highlight=False)
        for value, totals in status.sums_by.items() if rollup.by else ():
            parts = "，".join(
                f"{labels.get(n, (n, ''))[0]} {t:g}{labels.get(n, (n, ''))[1]}" for n, t in totals.items()
            )
            out.print(f"      {lit(rollup.by)}={lit(value)}: {lit(parts)}", highlight=False)


def print_preview_rollups(out: Console, preview) -> None:
    """`duban simulate`'s roll-ups: what duban would hand in itself, and where each roll-up stands at the end."""
    from duban.instants import fmt

    shown = [e for e in preview.handed_in if preview.in_window(e.at)]  # a window lists only its own (--from)
    if shown:
        out.print("\n[bold]roll-ups duban hands in[/] (汇总)", highlight=False)
        for e in shown:
            how = f"recorded on {e.campaign_id}" if e.forwarded else "all units below are in"
            out.print(
                f"  {fmt(e.at, preview.tz)}  {lit(e.unit)} · {lit(e.item)}"
                f"{' [yellow](逾期)[/]' if e.late else ''} — {lit(how)}",
                highlight=False,
            )
    if preview.rollups and preview.campaign is not None:
        out.print(f"\n[bold]roll-ups at the end[/] ({fmt(preview.end, preview.tz)})", highlight=False)
        print_statuses(out, preview.campaign, preview.rollups)
