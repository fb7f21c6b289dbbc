"""What every `duban` command shares: the consoles, the one way to fail, reading an instant, the database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from duban.domain.unseen import visible
from duban.instants import parse_instant
from duban.settings import get_settings

if TYPE_CHECKING:
    from pathlib import Path

    from duban.spec.terms import Offset

UNWRAPPED = 10_000  # columns of a console that is not a terminal: a line as long as it is


def _console(*, stderr: bool = False) -> Console:
    """A Rich console. On a terminal it fits the window; piped or in a CI log (Rich would assume 80 columns) it
    never wraps a line, so a unit's name, an instant or a command to copy stays whole on its line."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, soft_wrap=True, width=UNWRAPPED)


def lit(value: object) -> str:
    """A value shown as it is inside Rich markup: a unit's name, a reason, a title or a vendor's words holding
    `[red]` or `[/x]` prints those brackets instead of being styled by them (or crashing the command), and a
    character nobody sees (ESC, BEL, U+202E; stored by an older duban or typed where nothing refused it) as
    \\uXXXX, never a terminal escape that retitles the window or clears the screen. Line breaks and tabs stay."""
    return escape(visible(str(value), keep="\n\t"))


console = _console()


def rule(title: str) -> None:
    """A dividing line with a title: across the window on a terminal, 72 columns when piped (not 10,000)."""
    if console.is_terminal:
        console.rule(lit(title))
    else:
        console.print(Text(f"── {title} ".ljust(72, "─")), highlight=False)


err = _console(stderr=True)


@contextmanager
def working(text: str) -> Iterator[Callable[[str], None]]:
    """Long work: a spinner on a terminal; without one, a line per step (a CI log shows the work is moving)."""
    if console.is_terminal:
        with console.status(text) as spinner:
            yield lambda step: spinner.update(f"{text} {step}")
        return
    began = time.monotonic()
    console.print(text, highlight=False)
    yield lambda step: console.print(f"  {lit(step)} · {time.monotonic() - began:.0f} s", highlight=False)


def fail(exc: Exception | str) -> NoReturn:
    """Print one of duban's own errors as `error: …` (as a mistyped option is) and exit 1: the user reads what was
    wrong, not the name of a Python class."""
    message = Text("error:", style="bold red")
    message.append(f" {exc}")  # verbatim: a vendor's or a spec's `[...]` is text, not markup
    err.print(message, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def out_file(path: Path | None, suffix: str) -> Path | None:
    """`--out` as a file duban may write: a folder or another kind of file is refused in one line (a folder was a
    53-line traceback, `--out b.txt` a docx named .txt: an outside tester's findings)."""
    if path is None:
        return None
    if path.is_dir():
        _refuse("--out", f"{path} is a folder: name the {suffix} file to write in it (e.g. {path / ('报告' + suffix)})")
    if path.suffix.lower() != suffix:
        _refuse("--out", f"{path} does not end in {suffix}: duban writes a {suffix} file there")
    return path


def when(text: str | None, tz: str, *, option: str, end_of_day: bool = False) -> datetime:
    """An instant the user typed in `option` (in the campaign's zone), or now: the one place a command reads an
    instant, so a typo exits 2 saying which option was wrong and why (`error: --at: '2024-13-45' is not …`)."""
    if text is None:
        return datetime.now(timezone.utc)
    try:
        return parse_instant(text, tz, end_of_day=end_of_day)
    except ValueError as exc:
        _refuse(option, exc)


def not_ahead(moment: datetime, written: str | None, *, what: str, why: str) -> None:
    """An --as-of later than now (a minute's grace) refused, for a paper that reports the record as it stands
    (`what`, a 通报 or a 总结报告; `why` says what one dated ahead would do): `bulletin` and `report` alike."""
    from duban.errors import DubanError
    from duban.instants import ahead_of

    if written is not None and ahead_of(moment, datetime.now(timezone.utc)):
        raise DubanError(
            f"--as-of {written} is later than now: a {what} reports the record as it stands, and one dated ahead "
            f"{why} (leave --as-of out for now)"
        )


def due_within(text: str, tz: str) -> tuple[Offset | None, datetime | None]:
    """`--within` of a return: a positive duration after it ("3 working days") or an instant (the end of that day
    when no time is given); anything else exits 2 saying which forms --within takes."""
    from duban.spec.terms import Offset

    try:
        offset = Offset.parse(text)
    except ValueError as not_offset:
        try:
            return None, parse_instant(text, tz, end_of_day=True)
        except ValueError:
            if "is not an offset" not in str(not_offset):  # a duration, but longer than any notice counts
                _refuse("--within", not_offset)
            _refuse(
                "--within",
                f"{text!r} is neither a duration (write 3 working days, 1 day, 12 hours or 3个工作日) nor an instant "
                "(write 2024-06-30, 2024-06-30 17:00 or 2024-06-30T17:00+08:00)",
            )
    if offset.amount <= 0:
        _refuse(
            "--within",
            f"{text!r} is not positive: write the time the unit has after the return, such as 3 working days",
        )
    return offset, None


def _refuse(option: str, why: object) -> NoReturn:
    err.print(f"[bold red]error:[/] {option}: {lit(why)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def engine(*, existing: bool = False):
    """The settings' database, at the newest schema; `existing`: for a command that only looks, a SQLite file
    that is not there is an error (duban.services.database.existing_database), not made empty."""
    from duban.services.database import existing_database, open_database

    url = get_settings().resolved_database_url
    return existing_database(url) if existing else open_database(url)


def existing_engine():
    """The configured database when there is one; None where there is none (none is created to find out)."""
    from duban.services.database import missing_file, open_database

    url = get_settings().resolved_database_url
    return None if missing_file(url) is not None else open_database(url)


def check_prefect_ui() -> None:
    """Before talking to a Prefect server: warn when its UI calls another API than PREFECT_API_URL (flows.server)."""
    from flows.server import ui_looks_elsewhere

    if warning := ui_looks_elsewhere():
        err.print(f"[bold yellow]warning:[/] {lit(warning)}", highlight=False, soft_wrap=True)
