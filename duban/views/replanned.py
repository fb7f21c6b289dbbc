"""The campaign's plan again, read from the record: its stored spec (as if loaded from its file), the members
recorded for its open samples already drawn, and the plan and timeline built from them (for units, leaders, the
calendar). Follow-ups (duban.services.followup), draws, outcomes and the naming forms read it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.plan import Plan, build_plan, load_calendar_for
from duban.domain.sampling.draw import Decision
from duban.domain.timeline import Timeline
from duban.errors import StoreError
from duban.spec.load import LoadedSpec, read_stored
from duban.spec.models import Campaign
from duban.store.plans import pinned_lists, stored_campaign_row

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


def stored_spec(conn: Engine | Connection, campaign_id: str) -> LoadedSpec:
    """The spec a campaign was planned from (its stored text), as if loaded from its file, its stored lists read
    as they stood when it was planned."""
    row = stored_campaign_row(conn, campaign_id)
    source, campaign = read_stored(row.spec_text, row.spec_path)
    return LoadedSpec(
        campaign=campaign,
        source=source,
        path=Path(row.spec_path),
        sha256=row.spec_sha256,
        lists_as_of=pinned_lists(row),  # its stored lists as they stood when it was planned
    )


def recorded_open_draws(engine: Engine, campaign: Campaign) -> dict[str, Decision | list[str]]:
    """The members recorded for the campaign's open samples that have been drawn (build_plan's `open_draws`, to
    which a draw adds its decision)."""
    from duban.views.sample_audit import recorded_samples

    open_ids = {s.id for s in campaign.samples if s.open}
    if not open_ids:
        return {}
    return {
        sid: list(row.members or []) for sid, row in recorded_samples(engine, campaign.id).items() if sid in open_ids
    }


def replan(engine: Engine, campaign_id: str, calendar_file: Path | None = None) -> tuple[LoadedSpec, Plan, Timeline]:
    """The campaign's plan again, from its stored spec (for units, leaders and the calendar)."""
    spec = stored_spec(engine, campaign_id)
    calendar = load_calendar_for(spec, calendar_file)
    plan = build_plan(spec, calendar, open_draws=recorded_open_draws(engine, spec.campaign))
    return spec, plan, Timeline(spec.campaign, calendar)


def as_planned(engine: Engine, spec: LoadedSpec, calendar_file: Path | None = None) -> tuple[LoadedSpec, Plan] | None:
    """The plan of a spec file as its campaign in the database was planned — its stored lists (名录) read as they
    stood then — when the campaign was planned from this very file and over stored lists; None otherwise (the
    file's plan reads today's lists). `duban sample show` compares a recorded draw with this one, not with a
    redraw from a list re-imported since."""
    try:
        row = stored_campaign_row(engine, spec.campaign.id)
    except StoreError:
        return None
    pins = pinned_lists(row)
    if row.spec_sha256 != spec.sha256 or not pins:
        return None
    pinned = replace(spec, lists_as_of=pins)
    return pinned, build_plan(pinned, load_calendar_for(pinned, calendar_file))


def planned_lists(engine: Engine, campaign_id: str) -> dict[str, datetime]:
    """The stored lists the campaign in the database reads, as they stood when it was planned ({} when it is not
    planned, or planned over none)."""
    try:
        return pinned_lists(stored_campaign_row(engine, campaign_id))
    except StoreError:
        return {}
