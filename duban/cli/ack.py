"""`duban ack`: 签收 recorded for a unit (the unit can also tap 签收 on its page)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from duban.cli.common import console, engine as _engine, fail as _fail, when as _when
from duban.errors import DubanError
from duban.instants import fmt
from duban.settings import get_settings


def ack(
    spec: Annotated[Path, typer.Argument(help="campaign spec (YAML) or campaign id")],
    unit: Annotated[str, typer.Option(help="unit code, e.g. 430400, or its name")],
    stage: Annotated[
        Optional[str], typer.Option(help="only this stage's 签收 (default: every one asked so far)")
    ] = None,
    at: Annotated[Optional[str], typer.Option(help="when the unit acknowledged (default: now)")] = None,
) -> None:
    """Record a unit's 签收 (acknowledgement) of the notice or of a stage's opening."""
    from duban.cli.show import unit_words
    from duban.services.acknowledgements import record_acknowledgement
    from duban.services.lifecycle import campaign_id_for
    from duban.views.campaigns import load_campaign
    from duban.views.unit_lookup import unit_code

    settings = get_settings()
    try:
        engine = _engine()
        moment = _when(at, settings.timezone, option="--at")
        campaign_id = campaign_id_for(engine, str(spec), now=moment, calendar_file=settings.calendar_file)
        unit = unit_code(engine, campaign_id, unit)  # a code, or the unit's name as messages show it
        stages = record_acknowledgement(engine, campaign_id, unit, moment, stage_id=stage, actor="cli")
    except DubanError as exc:
        _fail(exc)
    campaign = load_campaign(engine, campaign_id, units={unit})
    names = {s.id: s.name for s in campaign.spec.stages}
    what = "、".join(names.get(s, "通知") for s in stages)
    console.print(
        f"[green]已签收[/] {unit_words(campaign, unit)}：{what}（{fmt(moment, campaign.tz)}）", highlight=False
    )
