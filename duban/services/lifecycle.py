"""From a spec file to a planned campaign in the database, and back from a name to a campaign id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.plan import Plan, build_plan, load_calendar_for
from duban.errors import DubanError, SpecError, SpecErrors, StoreError
from duban.instants import utc
from duban.spec.load import LoadedSpec, load_spec
from duban.store.plans import planned_id, planned_sha256, reset_campaign, store_plan

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from duban.domain.calendar import WorkCalendar


@dataclass
class Planned:
    campaign_id: str
    created: bool
    spec: LoadedSpec
    plan: Plan


def plan_file(path: Path | str, *, calendar_file: Path | None = None) -> tuple[LoadedSpec, Plan]:
    """Load, validate and expand a spec file (nothing is stored); a spec with errors raises all of them."""
    try:
        spec = load_spec(path)
    except SpecError:
        from duban.spec.every_error import validate_file

        validate_file(path, calendar_file)  # raises every error of the file, not only the models' ones
        raise
    from duban.spec.checks import plan_errors
    from duban.spec.load import clean_errors

    calendar = load_calendar_for(spec, calendar_file)
    with clean_errors(path):
        plan = build_plan(spec, calendar)
    errors = plan_errors(spec, plan, calendar)  # what no unit could meet: refused here as `duban validate` refuses it
    if errors:
        raise SpecErrors(errors)
    return spec, plan


def check_ref(engine: Engine, ref: str, *, calendar_file: Path | None = None) -> None:
    """What a command checks before it starts Prefect: a spec file must exist and plan, a campaign id must be
    planned in the database. A typo costs a one-line error, not a flow run, a server start and a traceback."""
    if _is_spec_file(ref) or Path(ref).exists():
        plan_file(ref, calendar_file=calendar_file)
    elif planned_campaign_id(engine, ref) is None:
        raise StoreError(f"{ref!r} is neither a spec file nor a campaign in the database")


def check_tick_instant(engine: Engine, ref: str, as_of: datetime, tz: str) -> None:
    """A tick asked for (`duban tick --as-of`) earlier than the record already runs: refused, naming the record's
    last instant. Ticking back would compose messages dated before what units have since done (签收提醒 to units
    that acknowledged after it, reminders of items handed in since)."""
    _not_before_record(
        engine,
        ref,
        as_of,
        tz,
        "a tick at {at} would write messages dated before what units have done since; tick at {last} or later",
    )


def check_tick_ahead(as_of: datetime, now: datetime, tz: str, written: str) -> None:
    """A tick asked for at a later instant than now (`duban tick --as-of`, or a campaign-tick run given as_of):
    refused. It would apply at once every opening, reminder and slip due by then, merged into messages dated ahead
    (a 逾期 to units never told the stage opened), and the record would run to that instant: only a reset undoes it."""
    from duban.instants import said_ahead

    if (ahead := said_ahead(as_of, now, tz, f"--as-of {written!r}")) is None:
        return
    raise StoreError(
        f"{ahead}. A tick applies at once every "
        "opening, reminder and slip due by then, in messages dated ahead that no later tick repeats: tick without "
        "--as-of, or at that instant (`duban simulate --to` previews a campaign at any instant)"
    )


def check_status_instant(engine: Engine, campaign_id: str, as_of: datetime, tz: str, written: str) -> None:
    """`duban status --as-of` before the campaign's record begins (when it was planned, or its first recorded event
    if a replay reaches further back): refused, naming the option and what was written. Any later instant is
    answered, a past one as the 通报 and the report read it."""
    from duban.instants import fmt
    from duban.store.db import reading
    from duban.store.status import record_begins

    with reading(engine) as conn:
        planned, first = record_begins(conn, campaign_id)
    if planned is None or as_of >= utc(planned) or (first is not None and as_of >= utc(first)):
        return
    if first is None or utc(planned) <= utc(first):
        begins, earliest = f"campaign {campaign_id!r} was planned ({fmt(planned, tz)})", utc(planned)
    else:  # planned after the instants its replayed ticks recorded
        begins, earliest = f"the first event recorded for campaign {campaign_id!r} ({fmt(first, tz)})", utc(first)
    raise StoreError(
        f"--as-of {written!r}: {fmt(as_of, tz)} is before {begins}, and its record holds nothing then; ask at "
        f"{fmt(earliest, tz)} or later (`duban simulate --to` previews a campaign at any instant)"
    )


def check_report_instant(
    engine: Engine, campaign_id: str, as_of: datetime, tz: str, written: str, calendar: WorkCalendar
) -> None:
    """`duban report --as-of` before the campaign began by its notice (its window's start or its first opening as
    planned, whichever is earlier): refused, naming the option and the beginning. A draft of 5/1 said
    各单位均按时完成报送. The notice's instants, not the record's: a campaign planned today over a 2024 notice, no
    tick replayed, drafts its report for 2024."""
    from duban.instants import fmt

    began = campaign_begins(engine, campaign_id, calendar)
    if began is None or as_of >= began:
        return
    raise StoreError(
        f"--as-of {written!r}: {fmt(as_of, tz)} is before campaign {campaign_id!r} began ({fmt(began, tz)}, its "
        f"window's start or first opening): nothing was due then, and a report would say every unit handed in on "
        f"time; ask at {fmt(began, tz)} or later"
    )


def campaign_begins(engine: Engine, campaign_id: str, calendar: WorkCalendar) -> datetime | None:
    """When the campaign began by its notice: the earlier of its window's start and its first opening as
    planned (amendments included); None when neither is known."""
    from duban.domain.timeline import Timeline
    from duban.errors import PlanError
    from duban.store.db import reading
    from duban.store.status import first_opening
    from duban.views.campaigns import load_campaign

    campaign = load_campaign(engine, campaign_id, units=False).spec
    starts = []
    try:
        starts.append(utc(Timeline(campaign, calendar).campaign_edge("start")))
    except PlanError:  # no window anywhere: its openings alone say it
        pass
    with reading(engine) as conn:
        opened = first_opening(conn, campaign_id)
    if opened is not None:
        starts.append(utc(opened))
    return min(starts, default=None)


CATCH_UP_DAYS = 7  # events waiting longer than this make a tick on the real clock ask for --catch-up


def check_catch_up(engine: Engine, ref: str, now: datetime, tz: str) -> None:
    """A tick on the real clock (no --as-of) of a campaign whose events have waited more than CATCH_UP_DAYS:
    refused, saying what it would send. Ticking a 2024 campaign in 2026 sent 逾期, 催办 and 签收提醒 908 days
    late, and 签收提醒 for openings whose own message was dropped as stale."""
    from duban.instants import fmt
    from duban.services.tick import next_instant
    from duban.views.campaigns import load_campaign

    campaign_id = planned_campaign_id(engine, ref)
    if campaign_id is None:
        return  # planned by this tick: its first tick applies whatever the plan has passed
    earliest = next_instant(engine, campaign_id, load_campaign(engine, campaign_id, units=False).stage_ids())
    if earliest is not None and now - earliest > timedelta(days=CATCH_UP_DAYS):
        days = (now - earliest).days
        raise StoreError(
            f"campaign {campaign_id!r} has events waiting since {fmt(earliest, tz)} ({days} days ago): a tick now "
            "applies them all at once and sends their 逾期, 催办 and 签收提醒 today; replay them at their instants "
            "with --as-of, or pass --catch-up to send them now"
        )


def simulated_behind(engine: Engine, campaign_id: str, now: datetime) -> tuple[datetime, str] | None:
    """The instant a campaign run on a simulated clock (its record holds simulated units' acts: the demo's 2024
    晋中) stands at, with the campaign's zone, when that is more than CATCH_UP_DAYS before `now`; None otherwise.
    The portal writes at the wall clock: one 签收 there moved the demo's 2024 record to 2026. A campaign on the
    real clock is never held back, however long its ticks have stopped: its units' acts are real and happen now."""
    from duban.store.amendments import last_act, simulated
    from duban.store.campaigns import campaign_timezone
    from duban.store.db import reading

    with reading(engine) as conn:
        last = last_act(conn, campaign_id)
        if last is None or now - last <= timedelta(days=CATCH_UP_DAYS) or not simulated(conn, campaign_id):
            return None
        return last, campaign_timezone(conn, campaign_id)


def _not_before_record(engine: Engine, ref: str, as_of: datetime, tz: str, why: str) -> None:
    from duban.instants import fmt
    from duban.store.amendments import last_act
    from duban.store.db import reading

    campaign_id = planned_campaign_id(engine, ref)
    if campaign_id is None:
        return  # not planned yet: nothing recorded
    with reading(engine) as conn:
        recorded = last_act(conn, campaign_id)
    if recorded is not None and as_of < recorded:
        reason = why.format(at=fmt(as_of, tz), last=fmt(recorded, tz))
        raise StoreError(f"the record of {campaign_id!r} already runs to {fmt(recorded, tz)}: {reason}")


def ensure_planned(
    engine: Engine, path: Path | str, *, now: datetime, replace: bool = False, calendar_file: Path | None = None
) -> Planned:
    """Plan the spec into the database unless this exact spec is planned already."""
    spec, plan = plan_file(path, calendar_file=calendar_file)
    created = store_plan(engine, spec, plan, now=now, replace=replace)
    return Planned(campaign_id=spec.campaign.id, created=created, spec=spec, plan=plan)


def campaign_id_for(engine: Engine, ref: str, *, now: datetime, calendar_file: Path | None = None) -> str:
    """A campaign id from a spec path (planning it on first use) or from an id already in the database."""
    found = planned_campaign_id(engine, ref)
    if found is not None:
        return found
    if _is_spec_file(ref):
        return ensure_planned(engine, ref, now=now, calendar_file=calendar_file).campaign_id
    raise StoreError(f"{ref!r} is neither a spec file nor a campaign in the database")


def running_campaign_id(engine: Engine, ref: str) -> str:
    """The id of a campaign the database already holds, from a spec path or an id, never planning it: for what
    reports a running campaign's record (a 通报, `duban status`, the 总结报告) — planned on the spot, every unit of
    a campaign nobody was told of would read as 逾期未报."""
    campaign_id = campaign_named(ref)
    if planned_id(engine, campaign_id) is None:
        raise StoreError(
            f"campaign {campaign_id!r} is not in the database: it has not run here (its first tick plans it), so "
            "there is no record to report — check DUBAN_DATABASE_URL, or tick the campaign first "
            "(`duban simulate --to` previews a campaign at any instant)"
        )
    return campaign_id


def planned_campaign_id(engine: Engine, ref: str) -> str | None:
    """The campaign id when `ref` needs no planning: a campaign id in the database, or a spec file planned from
    this very text already; None when the spec is new or has changed (or `ref` names nothing)."""
    if _is_spec_file(ref):
        spec = load_spec(ref)
        return spec.campaign.id if planned_sha256(engine, spec.campaign.id) == spec.sha256 else None
    return planned_id(engine, ref)


def campaign_named(ref: str) -> str:
    """What an operator knows a campaign by, for a spec path or id: the id its spec file declares (a file
    named 通知.yaml may plan jinzhong-2024-lookback), or the file's stem when the file does not read as a spec
    (the run then says why); an id as given."""
    if not _is_spec_file(ref):
        return ref
    try:
        return load_spec(ref).campaign.id
    except (DubanError, OSError):
        return Path(ref).name.removesuffix(".yaml").removesuffix(".yml")


def _is_spec_file(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml")) or Path(ref).is_file()


def reset_size(engine: Engine, campaign_id: str) -> dict[str, int]:
    """What `duban reset` would delete, by table (an unknown id is a StoreError naming the campaigns there are)."""
    from duban.store.campaigns import campaign_ids
    from duban.store.plans import record_size

    if planned_id(engine, campaign_id) is None:  # "plan it first" was no advice for a campaign to delete
        known = campaign_ids(engine)
        there = f"the campaigns in it: {', '.join(known[:20])}" + (" …" if len(known) > 20 else "")
        raise StoreError(
            f"campaign {campaign_id!r} is not in the database: nothing to reset; "
            + (there if known else "it holds no campaign")
        )
    return record_size(engine, campaign_id)


@dataclass(frozen=True)
class Removed:
    """What `reset` deleted on disk besides the record: uploaded files, and the 通报 and 总结报告 files."""

    files: int
    reports: int


def reset(
    engine: Engine, campaign_id: str, files_dir: Path | None = None, *, reports_dir: Path | None = None
) -> Removed:
    """Delete a campaign's whole record (`duban reset`, to start over); an unknown id is a StoreError. With
    `files_dir`, the files its units uploaded go too, except those another campaign's submissions also name
    (stored once per content); with `reports_dir`, its 通报 and 总结报告 drafted there (duban.services.leftovers)."""
    from duban.services.leftovers import delete_reports, delete_uploads, reports_of
    from duban.store.plans import file_digests

    uploaded = file_digests(engine, campaign_id) if files_dir is not None else set()
    reports = reports_of(engine, campaign_id, reports_dir) if reports_dir is not None else []
    reset_campaign(engine, campaign_id)
    files = delete_uploads(engine, uploaded, files_dir) if files_dir is not None and uploaded else 0
    return Removed(files, delete_reports(engine, reports, reports_dir) if reports_dir is not None else 0)
