"""From a spec file to a planned campaign in the database, and back from a name to a campaign id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select

from duban.errors import StoreError
from duban.plan import Plan, build_plan, load_calendar_for
from duban.spec.load import LoadedSpec, load_spec
from duban.store import store_plan
from duban.tables import CampaignRow


@dataclass
class Planned:
    campaign_id: str
    created: bool
    spec: LoadedSpec
    plan: Plan


def plan_file(path: Path | str, *, calendar_file: Path | None = None) -> tuple[LoadedSpec, Plan]:
    """Load, validate and expand a spec file (nothing is stored)."""
    spec = load_spec(path)
    return spec, build_plan(spec, load_calendar_for(spec, calendar_file))


def ensure_planned(
    engine: Engine, path: Path | str, *, now: datetime, replace: bool = False, calendar_file: Path | None = None
) -> Planned:
    """Plan the spec into the database unless this exact spec is planned already."""
    spec, plan = plan_file(path, calendar_file=calendar_file)
    created = store_plan(engine, spec, plan, now=now, replace=replace)
    return Planned(campaign_id=spec.campaign.id, created=created, spec=spec, plan=plan)


def campaign_id_for(engine: Engine, ref: str, *, now: datetime, calendar_file: Path | None = None) -> str:
    """A campaign id from a spec path (planning it on first use) or from an id already in the database."""
    if ref.endswith((".yaml", ".yml")) or Path(ref).is_file():
        spec = load_spec(ref)
        with engine.connect() as conn:
            stored = conn.execute(select(CampaignRow.spec_sha256).where(CampaignRow.id == spec.campaign.id)).scalar()
        if stored == spec.sha256:
            return spec.campaign.id  # planned from this very file already: a tick need not expand it again
        return ensure_planned(engine, ref, now=now, calendar_file=calendar_file).campaign_id
    with engine.connect() as conn:
        found = conn.execute(select(CampaignRow.id).where(CampaignRow.id == ref)).scalar()
    if found is None:
        raise StoreError(f"{ref!r} is neither a spec file nor a campaign in the database")
    return found
