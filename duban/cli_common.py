"""What every `duban` command shares: the consoles, the one way to fail, reading an instant, the database."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from duban.instants import parse_instant
from duban.settings import get_settings

console = Console()
err = Console(stderr=True)


def fail(exc: Exception) -> NoReturn:
    """Print one of duban's own errors as `SomeError: …` in red and exit 1."""
    message = Text(f"{type(exc).__name__}:", style="bold red")
    message.append(f" {exc}")  # verbatim: a vendor's or a spec's `[...]` is text, not markup
    err.print(message, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def when(text: str | None, tz: str, *, end_of_day: bool = False) -> datetime:
    """An instant the user typed (in the campaign's zone), or now; a typo exits 2 with what was wrong."""
    if text is None:
        return datetime.now(timezone.utc)
    try:
        return parse_instant(text, tz, end_of_day=end_of_day)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


def engine():
    """The settings' database, at the newest schema."""
    from duban.store import engine_for

    return engine_for(get_settings().resolved_database_url)
