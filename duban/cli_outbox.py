"""`duban outbox list|show|retry`: the operator's view of messages waiting, sent, failed and dead."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Optional

import typer
from rich.table import Table

from duban import outbox
from duban.cli_common import console, engine as _engine, fail as _fail
from duban.errors import DubanError
from duban.instants import fmt
from duban.settings import get_settings

app = typer.Typer(help="Operators' view of the outbox: list, show one message, retry failed or dead ones.",
                  no_args_is_help=True)  # fmt: skip
STATUS_STYLE = {"sent": "green", "pending": "cyan", "sending": "yellow", "failed": "yellow", "dead": "bold red"}


@app.command("list")
def list_(
    status: Annotated[Optional[str], typer.Option(help="pending, sending, sent, failed or dead")] = None,
    campaign: Annotated[Optional[str], typer.Option(help="campaign id")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
) -> None:
    """Messages newest first, with counts by status."""
    tz = get_settings().timezone
    try:
        engine = _engine()
        rows = outbox.list_messages(engine, status=status, campaign_id=campaign, limit=limit)
        counts = outbox.counts(engine, campaign)
    except DubanError as exc:
        _fail(exc)
    console.print("  ".join(f"[{STATUS_STYLE[s]}]{s} {n}[/]" for s, n in counts.items()))
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "campaign", "to", "kind", "status", "tries", "not before", "last error"):
        table.add_column(column, overflow="fold")
    for m in rows:
        table.add_row(str(m.id), m.campaign_id, m.recipient, m.kind, f"[{STATUS_STYLE[m.status]}]{m.status}[/]",
                      str(m.attempts), fmt(m.not_before, tz), (m.last_error or "")[:80])  # fmt: skip
    console.print(table)


@app.command()
def show(message_id: Annotated[int, typer.Argument(help="outbox id")]) -> None:
    """One message: its content, key and every delivery attempt with what the channel answered."""
    tz = get_settings().timezone
    try:
        detail = outbox.show(_engine(), message_id)
    except DubanError as exc:
        _fail(exc)
    m = detail.message
    console.print(f"[bold]#{m.id}[/] {m.campaign_id} → {m.recipient} [{m.kind}] "
                  f"[{STATUS_STYLE[m.status]}]{m.status}[/] key {m.idempotency_key}")  # fmt: skip
    console.print(f"composed {fmt(m.created_at, tz)} · not before {fmt(m.not_before, tz)} · tries {m.attempts}"
                  + (f" · sent {fmt(m.sent_at, tz)}" if m.sent_at else ""))  # fmt: skip
    for item in (m.payload or {}).get("items", []):
        console.print(f"  {item['kind']:<10} {item['unit']:<12} {item['item_id']} {item.get('instance') or ''}")
    for d in detail.deliveries:
        mark = "[green]ok[/]" if d.ok else "[red]failed[/]"
        console.print(f"  try {d.attempt} {fmt(d.at, tz)} {d.channel}: {mark} {d.detail or ''}", highlight=False)


@app.command()
def retry(
    ids: Annotated[Optional[list[int]], typer.Argument(help="outbox ids")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="every dead letter")] = False,
) -> None:
    """Put failed or dead messages back in line for the next dispatch (with a fresh count of tries)."""
    try:
        n = outbox.retry(_engine(), datetime.now(timezone.utc), ids=ids, dead=dead)
    except DubanError as exc:
        _fail(exc)
    console.print(f"{n} message(s) will be sent by the next dispatch")
