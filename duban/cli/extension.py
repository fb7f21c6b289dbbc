"""`duban extension request|decide|list`: 延期申请 — a unit asks for a later due, the issuer's operators decide."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from duban.cli.common import check_prefect_ui, console, engine as _engine, fail as _fail, when as _when
from duban.errors import DubanError, RequestError
from duban.instants import fmt
from duban.settings import get_settings

app = typer.Typer(
    help="延期申请: a unit asks for a later due before its due; operators approve or deny.", no_args_is_help=True
)


def _tz(engine, campaign_id: str) -> str:
    from duban.views.campaigns import load_campaign

    return load_campaign(engine, campaign_id, units=False).tz


@app.command("request")
def request(
    spec: Annotated[Path, typer.Argument(help="campaign spec (YAML) or campaign id")],
    unit: Annotated[str, typer.Option(help="unit code, e.g. 140724, or its name")],
    item: Annotated[str, typer.Option(help="item id from the spec")],
    until: Annotated[
        str, typer.Option(help="the due asked for, e.g. 2024-06-14 (the end of that day) or 2024-06-14 17:00")
    ],
    reason: Annotated[str, typer.Option(help="why (the operators read it; kept in the record)")],
    instance: Annotated[Optional[str], typer.Option(help="period of a recurring item, e.g. 2020Q3")] = None,
    at: Annotated[Optional[str], typer.Option(help="when it was asked (default: now)")] = None,
) -> None:
    """Record a unit's 延期申请 and print its ID; refused (with the reason) after the due or beyond the limit."""
    from duban.cli.show import item_words, unit_words
    from duban.services.extension import request_extension
    from duban.services.lifecycle import campaign_id_for
    from duban.views.campaigns import load_campaign
    from duban.views.unit_lookup import unit_code

    settings = get_settings()
    try:
        engine = _engine()
        moment = _when(at, settings.timezone, option="--at")
        campaign_id = campaign_id_for(engine, str(spec), now=moment, calendar_file=settings.calendar_file)
        unit = unit_code(engine, campaign_id, unit)  # a code, or the unit's name as messages show it
        tz = _tz(engine, campaign_id)
        asked = request_extension(
            engine,
            campaign_id,
            unit,
            item,
            _when(until, tz, end_of_day=True, option="--until"),
            moment,
            reason=reason,
            instance=instance,
            calendar_file=settings.calendar_file,
        )
    except DubanError as exc:
        _fail(exc)
    campaign = load_campaign(engine, campaign_id, units={unit})
    console.print(
        f"延期申请 #{asked.id}（待审批）：{unit_words(campaign, unit)} · {item_words(campaign, item, instance)}，"
        f"截止{fmt(asked.due_at, tz)} → 申请延至{fmt(asked.until, tz)}",
        highlight=False,
    )
    console.print(f"  审批：duban extension decide {asked.id} --approve [--until …] 或 --deny", highlight=False)
    from tasks.events import extension_requested

    check_prefect_ui()
    extension_requested(engine, asked)


@app.command("decide")
def decide(
    request_id: Annotated[int, typer.Argument(help="the request's ID (printed by `duban extension request`)")],
    approve: Annotated[bool, typer.Option("--approve", help="approve it")] = False,
    deny: Annotated[bool, typer.Option("--deny", help="deny it: the due stands")] = False,
    until: Annotated[Optional[str], typer.Option(help="with --approve: an earlier due than asked")] = None,
    note: Annotated[Optional[str], typer.Option(help="a note the unit reads with the decision")] = None,
    at: Annotated[Optional[str], typer.Option(help="when it was decided (default: now)")] = None,
) -> None:
    """Approve (possibly with an earlier date) or deny a waiting request; the unit is told either way."""
    from duban.cli.show import item_words, unit_words
    from duban.services.extension import decide_extension
    from duban.views.campaigns import load_campaign
    from duban.views.extensions import get_request

    if approve == deny:
        _fail(RequestError("give exactly one of --approve and --deny"))
    if deny and until is not None:
        _fail(RequestError("--until goes with --approve (the due a denial leaves is the one in force)"))
    settings = get_settings()
    try:
        engine = _engine()
        asked = get_request(engine, request_id)
        tz = _tz(engine, asked.campaign_id)
        moment = _when(at, tz, option="--at")
        decision = decide_extension(
            engine,
            request_id,
            moment,
            approve=approve,
            until=_when(until, tz, end_of_day=True, option="--until") if until else None,
            note=note,
            quiet=settings.quiet(),
            calendar_file=settings.calendar_file,
        )
        if decision.corrected:  # the 更正 to those told 逾期 go out with the next dispatch, not the next tick
            from duban.services.compose import compose_messages

            compose_messages(
                engine, asked.campaign_id, moment, quiet=settings.quiet(), recipients=list(decision.corrected)
            )
    except DubanError as exc:
        _fail(exc)
    r = decision.request
    campaign = load_campaign(engine, r.campaign_id, units={r.unit_code})
    what = f"{unit_words(campaign, r.unit_code)} · {item_words(campaign, r.item_id, r.instance or None)}"
    if approve:
        console.print(
            f"[green]已批准[/] 延期申请 #{r.id}：{what}，截止{fmt(decision.old_due, tz)} → {fmt(decision.new_due, tz)}"
            f"（{decision.old_state.cn} → {decision.new_state.cn}）",
            highlight=False,
        )
    else:
        console.print(
            f"[yellow]未批准[/] 延期申请 #{r.id}：{what}，截止时间仍为{fmt(decision.old_due, tz)}", highlight=False
        )
    console.print("  答复消息已排入发送队列（`duban dispatch` 发送）", highlight=False)
    from tasks.events import extension_decided

    check_prefect_ui()
    extension_decided(engine, decision)


@app.command("list")
def list_(
    spec: Annotated[Path, typer.Argument(help="campaign spec (YAML) or campaign id")],
    status: Annotated[Optional[str], typer.Option(help="pending, approved, denied or settled (不再需要)")] = None,
) -> None:
    """The campaign's requests, oldest first: who asked, for what, why, and the decision."""
    from duban.services.lifecycle import campaign_id_for
    from duban.views.campaigns import load_campaign
    from duban.views.extensions import requests_of

    settings = get_settings()
    if status is not None and status not in ("pending", "approved", "denied", "settled"):
        _fail(RequestError(f"--status {status!r} is not one of pending, approved, denied, settled"))
    try:
        engine = _engine()
        campaign_id = campaign_id_for(
            engine, str(spec), now=_when(None, settings.timezone, option="--at"), calendar_file=settings.calendar_file
        )
        rows = requests_of(engine, campaign_id, status=status)
        campaign = load_campaign(engine, campaign_id, units={r.unit_code for r in rows})
    except DubanError as exc:
        _fail(exc)
    names = {item.id: item.name for _stage, item in campaign.spec.items()}
    table = Table(show_edge=False, header_style="bold")
    for column in ("ID", "单位", "事项", "原截止", "申请延至", "理由", "状态", "批准延至", "意见"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.id),
            Text(campaign.display(r.unit_code)),
            Text(names.get(r.item_id, r.item_id)),
            fmt(r.due_at, campaign.tz),
            fmt(r.until, campaign.tz),
            Text(r.reason),
            r.status.cn,
            fmt(r.granted_until, campaign.tz) if r.granted_until else "",
            Text(r.note or ""),
        )
    console.print(table)
    console.print(f"{len(rows)} 件", highlight=False)
