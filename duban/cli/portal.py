"""`duban serve` and `duban portal link|revoke|password`: run the upload portal, hand out and withdraw unit
links, and set operators' logins."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Optional

import typer

from duban.cli.common import console, fail as _fail, lit
from duban.errors import DubanError
from duban.settings import get_settings, portal_address

app = typer.Typer(
    help="The upload portal: unit links and operator logins (run it with `duban serve`).", no_args_is_help=True
)
CampaignArg = Annotated[str, typer.Argument(help="campaign spec (YAML) or campaign id")]


def _settings():
    try:
        return get_settings()
    except DubanError as exc:  # a refused DUBAN_PORTAL_SECRET: the message never holds the value
        _fail(exc)


def _campaign(ref: str, now: datetime) -> tuple:
    from duban.services.database import open_database
    from duban.services.lifecycle import campaign_id_for

    settings = _settings()
    engine = open_database(settings.resolved_database_url)
    return settings, engine, campaign_id_for(engine, ref, now=now, calendar_file=settings.calendar_file)


def serve_command(host: str, port: int, as_of: str | None) -> None:
    """Run the portal (see `duban serve --help`)."""
    from duban.instants import parse_instant
    from duban.web.app import create_app
    from duban.web.server import serve

    settings = _settings()
    preview_at = None
    if as_of:  # a preview: the record as it stood then, read-only (nothing is handed in at a made-up instant)
        try:
            preview_at = parse_instant(as_of, settings.timezone)
        except ValueError as exc:
            _fail(DubanError(str(exc)))
    try:
        portal = create_app(settings, preview_at=preview_at)
    except DubanError as exc:
        _fail(exc)
    console.print(
        f"[bold]duban portal[/] on http://{lit(host)}:{lit(port)}  (operators: http://{lit(host)}:{lit(port)}/ops)"
        + (f"  [yellow]preview: the record as it stood at {lit(as_of)}, read-only[/]" if as_of else ""),
        highlight=False,
    )
    if not settings.portal_url:
        console.print("[yellow]DUBAN_PORTAL_URL is not set: messages carry no unit links until it is.[/]")
    if not settings.operator_hashes():
        console.print("[yellow]no operator login yet: run `duban portal password --name NAME`.[/]")
    serve(portal, host, port)


@app.command()
def link(
    campaign: CampaignArg,
    unit: Annotated[str, typer.Option(help="unit code, e.g. 140724100, or its name")],
    base: Annotated[Optional[str], typer.Option(help="portal address (default DUBAN_PORTAL_URL)")] = None,
) -> None:
    """Print a unit's own link (valid DUBAN_LINK_DAYS days), to send it by hand."""
    from duban.services.links import issue

    now = datetime.now(timezone.utc)
    try:
        settings, engine, campaign_id = _campaign(campaign, now)
        root = base or settings.portal_url
        if not root:
            raise DubanError("no portal address: set DUBAN_PORTAL_URL or give --base http://host:8000")
        try:
            root = portal_address(root, "--base")
        except ValueError as exc:
            raise DubanError(str(exc)) from None
        from duban.views.unit_lookup import unit_code

        unit = unit_code(engine, campaign_id, unit)  # a code, or the unit's name as messages show it
        token = issue(settings.portal_key(), campaign_id, unit, now, timedelta(days=settings.link_days))
    except DubanError as exc:
        _fail(exc)
    typer.echo(f"{root.rstrip('/')}/u/{token}")


@app.command()
def revoke(
    campaign: CampaignArg,
    unit: Annotated[str, typer.Option(help="unit code, or its name")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")] = "",
) -> None:
    """Withdraw every link of a unit issued so far; later messages carry fresh ones."""
    from duban.services import audit
    from duban.services.links import revoke as withdraw

    now = datetime.now(timezone.utc)
    try:
        _settings_, engine, campaign_id = _campaign(campaign, now)
        from duban.views.unit_lookup import unit_code

        unit = unit_code(engine, campaign_id, unit)  # a code, or the unit's name as messages show it
        withdraw(engine, campaign_id, unit, now, actor="cli", reason=reason)
        audit.record(
            engine,
            now,
            "revoke",
            actor="cli",
            campaign_id=campaign_id,
            unit_code=unit,
            target="此前发出的全部链接",
            detail=reason or None,
        )
    except DubanError as exc:
        _fail(exc)
    console.print(f"links of {lit(unit)} issued up to now no longer open its page")


@app.command()
def password(name: Annotated[str, typer.Option(help="operator login name")]) -> None:
    """Set an operator's password (asked twice, never shown); the hash is kept under DUBAN_HOME (0600). Every
    session of that login ends: whoever was logged in as `name` logs in again with the new password."""
    from duban.services import audit
    from duban.services.database import open_database
    from duban.services.operators import end_sessions, save_operator

    settings = _settings()
    secret = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    now = datetime.now(timezone.utc)
    try:
        save_operator(settings.operators_file, name, secret)
        engine = open_database(settings.resolved_database_url)
        ended = end_sessions(engine, name, now, by="password")
        audit.record(
            engine, now, "password", actor="cli", target=f"operator:{name}", detail=f"结束了 {ended} 个登录会话"
        )
    except DubanError as exc:
        _fail(exc)
    console.print(
        f"operator {lit(name)} can log in at /ops/login" + (f"; {lit(ended)} session(s) ended" if ended else "")
    )
