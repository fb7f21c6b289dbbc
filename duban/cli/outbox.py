"""`duban outbox list|show|retry`: the operator's view of messages waiting, sent, unconfirmed and dead.

Vendor answers and message texts are printed as they are: `[...]` in a WeCom error or a unit's name is text,
never Rich markup.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from duban.cli.common import console, engine as _engine, fail as _fail, lit, rule, when as _when
from duban.errors import DubanError
from duban.instants import fmt
from duban.services import outbox
from duban.services.links import SHOWN, unit_links
from duban.settings import get_settings

app = typer.Typer(
    help="Operators' view of the outbox: list, show one message, retry dead or unconfirmed ones.", no_args_is_help=True
)
STATUS_STYLE = {
    "sent": "green",
    "pending": "cyan",
    "limited": "cyan",
    "sending": "yellow",
    "failed": "yellow",
    "unconfirmed": "magenta",
    "dead": "bold red",
    "dropped": "dim",
}


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


@app.command("list")
def list_(
    status: Annotated[
        Optional[str], typer.Option(help="pending, limited, sending, sent, failed, unconfirmed, dead or dropped")
    ] = None,
    campaign: Annotated[Optional[str], typer.Option(help="campaign id")] = None,
    unit: Annotated[
        Optional[str], typer.Option(help="only this unit's messages: its code, e.g. 140724, or its name")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
) -> None:
    """Messages newest first, with counts by status and the channel's last words."""
    tz = get_settings().timezone
    try:
        engine = _engine(existing=True)
        rows = outbox.list_messages(engine, status=status, campaign_id=campaign, unit=unit, limit=limit)
        names = outbox.recipient_names(engine, rows)
        counts = outbox.counts(engine, campaign, unit)
    except DubanError as exc:
        _fail(exc)
    summary = Text()
    for s, n in counts.items():
        summary.append(f"{s} {n}", style=STATUS_STYLE.get(s, ""))
        summary.append("  ")
    console.print(summary)
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "campaign", "to", "kind", "status", "tries", "not before", "last error"):
        table.add_column(column, overflow="fold")
    for m in rows:
        table.add_row(
            str(m.id),
            Text(m.campaign_id),
            Text(_to(m.recipient, names.get((m.campaign_id, m.recipient)))),
            lit(m.kind),
            _status(m.status),
            str(m.attempts),
            fmt(m.not_before, tz),
            Text((m.last_error or "")[:160]),
        )
    console.print(table)


def _to(recipient: str, name: str | None) -> str:
    """'140724 昔阳县统计局', as `plan` lists units; the code alone when the campaign no longer names it."""
    return f"{recipient} {name}" if name and name != recipient else recipient


@app.command()
def show(
    message: Annotated[str, typer.Argument(help="outbox id, or the 编号 at the message's foot (12 characters)")],
) -> None:
    """One message: its text as staff read it, its key, and every post with what the channel answered."""
    tz = get_settings().timezone
    try:
        engine = _engine(existing=True)
        settings = get_settings()
        detail = outbox.show(
            engine,
            outbox.message_id(engine, message),
            portal_url=settings.portal_url,
            link_for=unit_links(settings),
            link_days=settings.link_days,
        )
    except DubanError as exc:
        _fail(exc)
    m = detail.message
    head = Text()
    head.append(f"#{m.id}", style="bold")
    head.append(f" {m.campaign_id} → {m.recipient} [{m.kind}] ")
    head.append_text(_status(m.status))
    head.append(f" key {m.idempotency_key}")
    console.print(head)
    console.print(
        Text(
            f"composed {fmt(m.created_at, tz)} · not before {fmt(m.not_before, tz)} · tries {m.attempts}"
            + (f" · sent {fmt(m.sent_at, tz)}" if m.sent_at else "")
        )
    )
    if m.last_error:
        console.print(Text(m.last_error, style="yellow" if m.status != "dead" else "red"))
    for dropped in (m.payload or {}).get("dropped", []):
        console.print(
            Text(
                f"  left out: {dropped['item_id']} {dropped.get('instance') or ''} ({dropped['unit']}): "
                f"{dropped['why']}"
            )
        )
    rule(
        "text"
        + (f" ({len(detail.parts)} parts, as posted)" if detail.parts else "")
        + (f" (as read at {fmt(detail.read_at, tz)})" if detail.read_at and not detail.parts else "")
    )
    console.print(Text(detail.text.rstrip("\n")), soft_wrap=True)
    if detail.link_masked:  # the clerk's "the link doesn't open": which link, and until when it opens
        until = f", valid until {fmt(detail.link_expires, tz)}" if detail.link_expires else ""
        sent = "issued at the send" if m.sent_at or detail.deliveries else "to be issued at the send"
        console.print(
            Text(
                f"(the unit link's token is masked: a unit link is the unit's credential, shown like the portal's "
                f"logs show it, its first {SHOWN} characters; {sent}{until})",
                style="dim",
            )
        )
    rule("posts")
    for d in detail.deliveries:
        line = Text(
            f"  try {d.attempt} {fmt(d.at, tz)} {d.channel}"
            + (f" part {d.part}/{d.parts}" if d.parts > 1 else "")
            + ": "
        )
        line.append(d.outcome or ("ok" if d.ok else "failed"), style="green" if d.ok else "red")
        line.append(f" {d.detail or ''}")
        console.print(line)


@app.command()
def retry(
    messages: Annotated[
        Optional[list[str]], typer.Argument(help="outbox ids, or the 编号 at the messages' foot", show_default=False)
    ] = None,
    dead: Annotated[bool, typer.Option("--dead", help="every dead letter (and failed message)")] = False,
    unconfirmed: Annotated[
        bool,
        typer.Option(
            "--unconfirmed",
            help="also send again what may have arrived already (no answer came): check with the group first",
        ),
    ] = False,
    as_of: Annotated[
        Optional[str],
        typer.Option(
            "--as-of",
            help="the instant they go back in line (default now; on a simulated clock, the next dispatch's --as-of)",
        ),
    ] = None,
) -> None:
    """Put dead or failed messages back in line (a fresh count of tries); unconfirmed ones only when asked."""
    try:
        moment = _when(as_of, get_settings().timezone, option="--as-of") if as_of else datetime.now(timezone.utc)
        engine = _engine(existing=True)
        ids = [outbox.message_id(engine, named) for named in messages or ()]
        done = outbox.retry(engine, moment, ids=ids, dead=dead, unconfirmed=unconfirmed)
    except DubanError as exc:
        _fail(exc)
    for mid, status in done.not_waiting:
        console.print(Text(f"message {mid} is {status}: it waits for no retry", style="yellow"))
    console.print(Text(f"{done.queued} message(s) will be sent by the next dispatch"))
    if done.unconfirmed_kept:
        console.print(
            Text(
                f"{done.unconfirmed_kept} message(s) not put back: a post of theirs got no answer and may "
                "have arrived. Check with the group; `duban outbox retry ID --unconfirmed` sends it again.",
                style="yellow",
            )
        )
