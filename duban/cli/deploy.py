"""`duban deploy SPEC`: put one campaign on the Prefect server (PREFECT_API_URL), update it, or pause it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from duban.cli.common import check_prefect_ui, console, fail, lit
from duban.errors import DubanError
from duban.instants import fmt
from duban.settings import get_settings

SHOWN = 6  # upcoming instants printed


def deploy(
    spec: Annotated[Path, typer.Argument(help="campaign spec (YAML)")],
    remove: Annotated[bool, typer.Option("--remove", help="pause the campaign's deployment and its schedules")] = False,
    as_yaml: Annotated[bool, typer.Option("--yaml", help="print the campaign's prefect.yaml entry instead")] = False,
    pool: Annotated[str, typer.Option(help="work pool of the ticks")] = "duban-process",
) -> None:
    """Register or update a campaign's tick deployment: every 10 minutes plus the exact instants of its plan."""
    from flows.deployments import (
        campaign_entry,
        campaign_entry_yaml,
        deploy_campaign,
        pause_campaign,
    )

    settings = get_settings()
    if not as_yaml:
        check_prefect_ui()
    try:
        if as_yaml:
            typer.echo(campaign_entry_yaml(campaign_entry(spec, calendar_file=settings.calendar_file)), nl=False)
            return
        if remove:
            done = pause_campaign(str(spec))
            console.print(
                f"[yellow]paused[/] {lit(done.name)}: its schedules no longer run; runs and artifacts stay",
                highlight=False,
                soft_wrap=True,
            )
            return
        done = deploy_campaign(spec, now=datetime.now(timezone.utc), pool=pool, calendar_file=settings.calendar_file)
    except DubanError as exc:
        fail(exc)
    instants = done.instants
    assert instants is not None  # a deployment always plans its instants; only a pause has none
    console.print(
        f"[green]deployed[/] {lit(done.name)} on pool {lit(pool)} (spec {lit(done.spec)}): every 10 minutes + "
        f"{len(instants.instants)} exact instant(s)",
        highlight=False,
        soft_wrap=True,
    )
    for moment in instants.instants[:SHOWN]:
        console.print(f"  {fmt(moment, instants.timezone)}", highlight=False)
    if len(instants.instants) > SHOWN:
        console.print(f"  … {lit(len(instants.instants) - SHOWN)} more", highlight=False)
    if instants.left_out:
        console.print(
            f"[yellow]{lit(instants.left_out)} later instant(s) left out[/]: run `duban deploy` again as the "
            "campaign goes on (the ten-minute tick covers them meanwhile)",
            highlight=False,
        )
    if not instants.instants:
        console.print(
            "[yellow]no instant of the plan is still ahead[/]: the campaign has run its course", highlight=False
        )
