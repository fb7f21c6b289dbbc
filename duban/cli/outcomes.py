"""`duban outcomes SPEC`: what the notice's outcomes (约谈, 通报批评, 重新开展) decided for slipping units, in its
words."""

from __future__ import annotations

from typing import Annotated

import typer

from duban.cli.common import console, engine as _engine, fail as _fail
from duban.errors import DubanError
from duban.instants import fmt
from duban.settings import get_settings


def outcomes(spec: Annotated[str, typer.Argument(help="the campaign's spec (or its id, once planned)")]) -> None:
    """List the outcomes decided so far: unit, item, the notice's words, when decided and, when owed, by when."""
    from datetime import datetime, timezone

    from duban.services.lifecycle import campaign_id_for
    from duban.services.outcomes import recorded_outcomes
    from duban.views.campaigns import load_campaign

    try:
        engine = _engine()
        campaign_id = campaign_id_for(
            engine, spec, now=datetime.now(timezone.utc), calendar_file=get_settings().calendar_file
        )
        campaign = load_campaign(engine, campaign_id)
        found = recorded_outcomes(engine, campaign_id)
    except DubanError as exc:
        _fail(exc)
    names = {item.id: item.name for _stage, item in campaign.spec.items()}
    console.print(f"[bold]{campaign.spec.title}[/] — {len(found)} 项处理", highlight=False)
    for row in found:
        owed = f"，限 {fmt(row.due_at, campaign.tz)}" if row.due_at else ""
        instance = f" [{row.instance}]" if row.instance else ""
        console.print(
            f"  {fmt(row.decided_at, campaign.tz)}  {campaign.display(row.unit_code)}（{row.unit_code}） "
            f"{names.get(row.item_id, row.item_id)}{instance} — {row.words}{owed}",
            highlight=False,
            soft_wrap=True,
        )
