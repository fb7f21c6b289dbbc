"""`duban review`: 审核 — accept (通过) or return (退回) a unit's version waiting for review, as an operator; the audit
log keeps it under the CLI (管理员（命令行）), as it keeps the portal's reviews."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from duban.cli.common import check_prefect_ui, console, due_within, engine as _engine, fail as _fail, when as _when
from duban.errors import DubanError, RequestError
from duban.instants import fmt
from duban.settings import get_settings


def review(
    spec: Annotated[Path, typer.Argument(help="campaign spec (YAML) or campaign id")],
    unit: Annotated[str, typer.Option(help="unit code, e.g. 140724, or its name")],
    item: Annotated[str, typer.Option(help="item id from the spec")],
    accept: Annotated[bool, typer.Option("--accept", help="通过: the version counts when it was handed in")] = False,
    return_: Annotated[bool, typer.Option("--return", help="退回: owed again by a new due, with --reason")] = False,
    reason: Annotated[Optional[str], typer.Option(help="why it is returned (the unit reads it)")] = None,
    within: Annotated[
        Optional[str],
        typer.Option(
            help='new due: "3 working days" after the return, or an instant (default: the spec\'s review.within)'
        ),
    ] = None,
    instance: Annotated[Optional[str], typer.Option(help="period of a recurring item, e.g. 2020Q3")] = None,
    at: Annotated[Optional[str], typer.Option(help="when it was reviewed (default: now)")] = None,
) -> None:
    """Accept or return a unit's submission waiting for review (待审核); the unit is told either way."""
    from duban.cli.show import item_words, unit_words
    from duban.services import audit
    from duban.services.compose import compose_messages
    from duban.services.lifecycle import campaign_id_for
    from duban.services.review import record_review
    from duban.views.campaigns import load_campaign

    if accept == return_:
        _fail(RequestError("give exactly one of --accept and --return"))
    if accept and (within or reason):
        _fail(RequestError("--reason and --within go with --return"))
    from duban.views.unit_lookup import unit_code

    settings = get_settings()
    try:
        engine = _engine()
        moment = _when(at, settings.timezone, option="--at")
        campaign_id = campaign_id_for(engine, str(spec), now=moment, calendar_file=settings.calendar_file)
        unit = unit_code(engine, campaign_id, unit)  # a code, or the unit's name as messages show it
        tz = load_campaign(engine, campaign_id, units=False).tz
        offset, until = due_within(within, tz) if within is not None else (None, None)
        result = record_review(
            engine,
            campaign_id,
            unit,
            item,
            moment,
            accept_it=accept,
            reason=reason,
            within=offset,
            until=until,
            reviewer="cli",
            instance=instance,
            quiet=settings.quiet(),
            calendar_file=settings.calendar_file,
        )
        audit.record(  # as the portal's review is: who, which version, which way, and a return's reason
            engine,
            moment,
            "review",
            actor="cli",
            campaign_id=campaign_id,
            unit_code=unit,
            target=f"{item} 第{result.version}版 {'通过' if accept else '退回'}",
            detail=result.reason,
        )
        if result.corrected:  # the 更正 to those told 逾期 go out with the next dispatch, not the next tick
            compose_messages(engine, campaign_id, moment, quiet=settings.quiet(), recipients=list(result.corrected))
    except DubanError as exc:
        _fail(exc)
    campaign = load_campaign(engine, campaign_id, units={unit})
    what = f"{unit_words(campaign, unit)} · {item_words(campaign, item, instance)} 第{result.version}版"
    if accept:
        console.print(f"[green]审核通过[/] {what} → {result.new_state.cn}", highlight=False)
    else:
        console.print(
            f"[yellow]已退回[/] {what}（{result.reason}），新的截止时间 {fmt(result.new_due, tz)}"
            f" → {result.new_state.cn}",
            highlight=False,
        )
        if result.kept_over is not None:  # the notice's 3个工作日内补报 ended before the due the unit had anyway
            console.print(
                f"  （退回后补报期限为{fmt(result.kept_over, tz)}，早于原截止时间，按原截止时间："
                "退回不缩短单位的时间）",
                highlight=False,
            )
    console.print("  消息已排入发送队列（`duban dispatch` 发送）", highlight=False)
    from tasks.events import submission_reviewed

    check_prefect_ui()
    submission_reviewed(engine, campaign_id, result, via="cli")
