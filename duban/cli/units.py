"""`duban units import FILE --list NAME`, `duban units history NAME [CODE]`, `duban units lines`: listed parties
(名录单位) kept in the database with their history, and the departments' lines a registry can name."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from duban.cli.common import console, engine, fail, lit
from duban.errors import DubanError
from duban.instants import fmt


def import_command(
    file: Annotated[Path, typer.Argument(help="the list (名录) as CSV or xlsx, its first row the column names")],
    list_name: Annotated[
        str, typer.Option("--list", help="the list's name, as specs write it: registry.lists: [NAME]")
    ],
    mapping: Annotated[
        Optional[Path], typer.Option(help="YAML mapping its column names (columns:, attributes:)")
    ] = None,
    actor: Annotated[str, typer.Option(help="who imports (kept with the import)")] = "cli",
    delisting: Annotated[
        bool,
        typer.Option(
            "--delisting",
            help="the list really shrinks: store a file that leaves more than half of the units listed now unlisted",
        ),
    ] = False,
    dropping: Annotated[
        bool,
        typer.Option(
            "--dropping",
            help="the list really drops an attribute (a column such as 风险等级): store a file giving it to no unit",
        ),
    ] = False,
) -> None:
    """Check every row (信用代码 check digit, division code, duplicates, names) and store the list only when all are
    right (a 邮箱 or 通知渠道 column gives each unit where its messages go: an address, or env:NAME / secret:NAME);
    a re-import updates it in place and keeps who was listed when. A file that would leave more than half of
    the units listed now no longer listed is refused unless --delisting; one without a column the listed units
    carry (their 风险等级 …) unless --dropping."""
    from duban.domain.listed import Mapping, attribute_values, load_mapping, read_list
    from duban.services.listed import import_listed

    if (problem := _list_name_problem(list_name)) is not None:
        fail(DubanError(f"--list{problem}"))
    try:
        read = read_list(file, load_mapping(mapping) if mapping else Mapping())
        result = import_listed(
            engine(),
            list_name,
            read,
            now=datetime.now(timezone.utc),
            actor=actor[:80],
            delisting=delisting,
            dropping=dropping,
        )
    except DubanError as exc:
        fail(exc)
    rows = "row" if result.rows == 1 else "rows"
    console.print(
        f"[green]✓[/] {lit(file)}: list {lit(result.list_name)} — {result.rows:,} {rows}: {result.added:,} added, "
        f"{result.changed:,} changed, {result.removed:,} no longer listed, {result.unchanged:,} unchanged "
        f"(import {result.number} of this list)",
        highlight=False,
    )
    for line in attribute_values(read):  # a county's own spelling (高风险 beside 高) seen before a draw uses it
        console.print(f"  {lit(line)}", highlight=False, soft_wrap=True)
    _say_channels(read)
    if result.changed or result.removed:
        _say_campaigns(result.reached)
    for note in read.notes[:20]:
        console.print(f"  [yellow]note:[/] {lit(note)}", highlight=False, soft_wrap=True)
    if len(read.notes) > 20:
        console.print(
            f"  [yellow]note:[/] … and {len(read.notes) - 20:,} more rows stored under their county", highlight=False
        )


def _say_campaigns(reached: dict[str, int]) -> None:
    """What a re-import that changed rows does to each campaign planned over the list: the channels it sends to
    follow the list; its units, names and other columns stay as planned."""
    for campaign_id, units in reached.items():
        if units:
            said = (
                f"was planned over this list: it now sends to the new 邮箱/渠道 of {units:,} "
                f"{'unit' if units == 1 else 'units'} (its messages waiting to go out too); its units, names and "
                "other columns stay as they were when it was planned — those changes reach a campaign planned after "
                "this import"
            )
        else:
            said = (
                "was planned over this list and keeps its units, names and channels as they were then: these changes "
                "reach a campaign planned after this import"
            )
        console.print(f"  [yellow]note:[/] {lit(campaign_id)} {said}", highlight=False, soft_wrap=True)


def _say_channels(read) -> None:  # noqa: ANN001
    """How many units got a channel of their own (the others are messaged through DUBAN_FALLBACK_CHANNELS), and
    that their mail cannot go out while DUBAN_MAIL_SENDER names no account."""
    from duban.settings import get_settings

    given = sum(1 for row in read.rows if row.channels)
    if not given:
        return
    mailed = sum(1 for row in read.rows if any(ref.startswith("mail:") for ref in row.channels))
    console.print(
        f"  渠道 (channels): {given:,} of {len(read.rows):,} units, {mailed:,} by e-mail; the others through "
        "DUBAN_FALLBACK_CHANNELS",
        highlight=False,
    )
    if mailed and get_settings().mail_sender is None:
        console.print(
            "  [yellow]note:[/] DUBAN_MAIL_SENDER is not set: no e-mail goes out to these addresses until it names "
            "the SMTP account (env:NAME or secret:NAME holding its mailtos://user:pass@host?from=… URL)",
            highlight=False,
            soft_wrap=True,
        )


def _list_name_problem(list_name: str) -> str | None:
    """Why `list_name` cannot name a list (after ':' or ' '), or None: the rule of an id, as the import keeps it."""
    from pydantic import TypeAdapter, ValidationError

    from duban.spec.models import ID_HINT, ID_MAX, Id

    try:
        TypeAdapter(Id).validate_python(list_name)
    except ValidationError as exc:
        said = str(exc.errors()[0]["ctx"]["error"]) if exc.errors()[0].get("ctx") else ID_HINT
        if "characters: at most" in said:
            return f": a list name of {len(list_name)} characters: at most {ID_MAX}"
        return (
            f" {list_name[:40]!r} is not a list name: ASCII letters, digits, _ and -, starting "
            f"with a letter, at most {ID_MAX} (e.g. jinzhong-enterprises)"
        )
    return None


def history_command(
    list_name: Annotated[str, typer.Argument(help="the list's name")],
    code: Annotated[Optional[str], typer.Argument(help="a listed unit's code (统一社会信用代码): its spells")] = None,
    tz: Annotated[str, typer.Option(help="time zone of the instants shown")] = "Asia/Shanghai",
) -> None:
    """The imports of a list; with a code, who that unit was on the list from when until when."""
    from duban.domain.listed_channels import shown_channels
    from duban.views.listed import list_imports, spells as spells_of

    if (problem := _list_name_problem(list_name)) is not None:
        fail(DubanError(f"list{problem}"))
    try:
        found = list_imports(engine(existing=True), list_name)
        if not found:
            raise DubanError(
                f"no list {list_name!r} in the database: import it with duban units import FILE --list {list_name}"
            )
        spells = spells_of(engine(existing=True), list_name, code) if code else []
        if code and not spells:  # as the import keys it: half-width, trimmed, upper case
            keyed = unicodedata.normalize("NFKC", code).strip().upper()
            if keyed != code:
                code = keyed
                spells = spells_of(engine(existing=True), list_name, keyed)
    except DubanError as exc:
        fail(exc)
    if code is None:
        for number, i in enumerate(found, 1):  # the list's own count, whatever other lists were imported between
            console.print(
                f"{number:>4}  {fmt(i.imported_at, tz)}  {lit(i.actor)}  {lit(i.file)}  {i.rows:,} rows: +{i.added:,} "
                f"~{i.changed:,} -{i.removed:,}",
                highlight=False,
            )
        return
    if not spells:
        fail(DubanError(f"{code} was never on list {list_name}"))
    numbers = {i.id: n for n, i in enumerate(found, 1)}  # the list's own count of its imports
    for s in spells:
        until = fmt(s.listed_until, tz) if s.listed_until else "今"
        extra = "  " + " ".join(f"{k}={v}" for k, v in sorted(s.attributes.items())) if s.attributes else ""
        reach = " ".join(
            f"{label} {value}"
            for label, value in (("联系人", s.contact), ("电话", s.phone), ("渠道", shown_channels(s.channels)))
            if value
        )
        imports = f"第{numbers.get(s.import_id, '?')}次导入" + (
            f"至第{numbers.get(s.closed_by, '?')}次" if s.closed_by else "起"
        )
        console.print(
            f"{fmt(s.listed_from, tz)} → {lit(until)}  {lit(s.name)} ({lit(s.division)}){lit(extra)}"
            + (f"  {lit(reach)}" if reach else "")
            + f"  [{imports}]",
            highlight=False,
        )


def lines_command() -> None:
    """The departments' lines duban packages, with their bodies per level (an overlay's `lines:` adds more)."""
    from duban.domain.lines import LINES

    for line in LINES.values():
        bodies = " · ".join(f"{level}: {template}" for level, template in line.bodies.items())
        console.print(f"[bold]{lit(line.id)}[/] {lit(line.name)}  {lit(bodies)}", highlight=False)
        for city, own in line.cities.items():  # a 直辖市 that names its bodies otherwise
            console.print(f"  {lit(city)}: {lit(' · '.join(f'{k}: {t}' for k, t in own.items()))}", highlight=False)
