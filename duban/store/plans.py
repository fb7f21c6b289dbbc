"""Keeping a plan: a campaign's row, its units, samples and assignments written at once; and dropping it again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, text

from duban.domain.plan import Plan
from duban.domain.state import State
from duban.errors import StoreError
from duban.instants import utc
from duban.spec.load import LoadedSpec
from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.db import reading, unit_of_work
from duban.store.engine import is_postgres
from duban.store.tables import (
    AcknowledgementRow,
    AmendmentRow,
    Assignment,
    AssignmentTally,
    BulletinRow,
    CampaignRow,
    CampaignUnit,
    Delivery,
    DraftRange,
    ExtensionRequest,
    Intent,
    OutboxMessage,
    OutcomeRow,
    ReviewRow,
    SampleDraw,
    SampleNaming,
    ScoreRecord,
    Submission,
    TransitionRow,
    UnitImport,
    ViewMark,
)

_C = core_table(CampaignRow)


def campaign_row(connection: Connection, campaign_id: str) -> CampaignRow:
    row = connection.execute(select(_C).where(_C.c.id == campaign_id)).first()
    if row is None:
        raise StoreError(
            f"campaign {campaign_id!r} is not in the database: plan it first with `duban tick SPEC` "
            "(which plans on first use) or run `duban demo`"
        )
    return CampaignRow.model_validate(row._mapping)


def stored_campaign_row(engine: Engine | Connection, campaign_id: str) -> CampaignRow:
    """The campaign's row (its spec text among it), read on `engine`'s own connection or on `engine` itself when it
    is a connection; a campaign that is not planned is a StoreError."""
    if isinstance(engine, Engine):
        with reading(engine) as connection:
            return campaign_row(connection, campaign_id)
    return campaign_row(engine, campaign_id)


def planned_sha256(engine: Engine, campaign_id: str) -> str | None:
    """The digest of the spec text the campaign was planned from; None when it is not planned."""
    with reading(engine) as conn:
        return conn.execute(select(_C.c.spec_sha256).where(_C.c.id == campaign_id)).scalar()


def planned_id(engine: Engine, campaign_id: str) -> str | None:
    """`campaign_id` when such a campaign is planned in the database, else None."""
    with reading(engine) as conn:
        return conn.execute(select(_C.c.id).where(_C.c.id == campaign_id)).scalar()


def _list_pins(conn: Connection, spec: LoadedSpec) -> dict[str, str] | None:
    """The stored lists the plan read as they stood: those a re-plan was pinned to, and for each list read today,
    the instant of its latest import (its rows as of then are the rows read)."""
    pins = {name: utc(moment) for name, moment in spec.lists_as_of.items()}
    imports = core_table(UnitImport)
    for unit_list in spec.campaign.registry.lists:
        if unit_list.name and unit_list.as_of is None and unit_list.name not in pins:
            latest = conn.execute(
                select(func.max(imports.c.imported_at)).where(imports.c.list_name == unit_list.name)
            ).scalar()
            if latest is not None:
                pins[unit_list.name] = utc(latest)
    return {name: moment.isoformat() for name, moment in sorted(pins.items())} or None


def pinned_lists(row: CampaignRow) -> dict[str, datetime]:
    """The stored lists a planned campaign reads on a re-plan, as they stood when it was planned (empty when it was
    planned over none, or before duban recorded it)."""
    return {name: datetime.fromisoformat(text) for name, text in (row.lists_as_of or {}).items()}


def store_plan(engine: Engine, spec: LoadedSpec, plan: Plan, *, now: datetime, replace: bool = False) -> bool:
    """Keep a plan; True when written, False when this exact spec was planned already.

    A different spec under the same campaign id is refused unless `replace` (which drops the old record).
    """
    campaign = plan.campaign
    with unit_of_work(engine) as conn:
        if is_postgres(conn):  # two workers planning one campaign at once: the second waits, then finds it planned
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:id))"), {"id": f"duban.plan.{campaign.id}"})
        existing = conn.execute(select(_C.c.spec_sha256).where(_C.c.id == campaign.id)).scalar()
        if existing is not None and not replace:
            if existing == spec.sha256:
                return False
            raise StoreError(
                f"campaign {campaign.id!r} was planned from a different version of {spec.path} "
                f"(planned sha256 {existing[:12]}, file {spec.sha256[:12]}). duban will not silently re-plan a "
                f"running campaign: restore the file, or start over with `duban reset {campaign.id}`."
            )
        if existing is not None:
            _delete_campaign(conn, campaign.id)
        row: dict[str, Any] = dict(
            id=campaign.id,
            title=campaign.title,
            issuer=campaign.issuer,
            doc_no=campaign.doc_no,
            timezone=campaign.timezone,
            spec_path=str(spec.path),
            spec_sha256=spec.sha256,
            spec_text=spec.path.read_text(encoding="utf-8"),
            planned_at=now,
        )
        pins = _list_pins(conn, spec)
        if pins:  # only a campaign over stored lists writes the column (one of an older schema is written as ever)
            row["lists_as_of"] = pins
        conn.execute(insert(CampaignRow), [row])
        codec = Codec(conn)
        unit_rows = _unit_rows(plan)
        # attributes only when some unit has them (listed units): a statistics campaign writes what it always did
        columns = _UNIT_COLUMNS if any(u.attributes for u in plan.registry) else _UNIT_COLUMNS[:-1]
        for chunk in _chunks(unit_rows, 20_000):  # a million listed units are never all in memory as rows
            codec.insert(
                "campaign_unit",
                columns,
                (
                    tuple(codec.json(row[k]) if k in ("channels", "attributes") else row[k] for k in columns)
                    for row in chunk
                ),
            )
        if set(plan.samples) - set(plan.undrawn):  # an open sample is recorded when it is drawn (duban sample draw)
            conn.execute(
                insert(SampleDraw),
                [
                    dict(
                        campaign_id=campaign.id,
                        sample_id=s.sample_id,
                        name=s.name,
                        seed=s.seed,
                        members=s.members,
                        detail=[d.as_record() for d in s.draws],
                        drawn_at=now,
                    )
                    for s in plan.samples.values()
                    if s.sample_id not in plan.undrawn
                ],
            )
        _insert_assignments(conn, campaign.id, plan, now)
        if plan.acknowledgements:
            codec.insert(
                "acknowledgement",
                (
                    "campaign_id",
                    "stage_id",
                    "unit_code",
                    "open_at",
                    "due_at",
                    "escalate_at",
                    "targets",
                    "state",
                    "next_event_at",
                    "updated_at",
                ),
                [
                    (
                        campaign.id,
                        a.stage_id,
                        a.unit_code,
                        codec.instant(a.open_at),
                        codec.instant(a.due_at),
                        codec.instant(a.escalate_at),
                        codec.json(list(a.targets)),
                        "waiting",
                        codec.instant(a.due_at),
                        codec.instant(now),
                    )
                    for a in plan.acknowledgements
                ],
            )
        if is_postgres(conn):
            # statistics for what was just loaded (counted with this transaction's own rows): the first ticks and
            # pages are planned by index, not as if the tables were empty, before autovacuum comes by (a
            # million units' dashboard looked its parent units up by bitmap scans, 0.1 s per 900 at 141,568)
            conn.execute(text("ANALYZE campaign_unit, assignment"))
    return True


_ASSIGNMENT_COLUMNS = (
    "campaign_id",
    "stage_id",
    "stage_order",
    "item_id",
    "instance",
    "unit_code",
    "role",
    "open_at",
    "due_at",
    "reminders",
    "escalations",
    "state",
    "reminders_done",
    "escalations_done",
    "next_event_at",
    "updated_at",
)


def _insert_assignments(conn: Connection, campaign_id: str, plan: Plan, now: datetime) -> None:
    """Bulk insert; the schedule columns of an item's assignments are encoded once and shared."""
    codec = Codec(conn)
    encoded: dict[tuple, tuple[str, str]] = {}
    for chunk in _chunks(plan.assignments, 20_000):
        codec.insert(
            "assignment", _ASSIGNMENT_COLUMNS, _assignment_rows(codec, campaign_id, chunk, encoded, now, plan.held)
        )


def _chunks(rows, size: int):
    """Lists of at most `size` items of an iterable."""
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _assignment_rows(codec: Codec, campaign_id: str, assignments, encoded: dict, now: datetime, held: set[str]):
    rows = []
    for a in assignments:
        schedule_key = (a.reminders, a.escalations)
        if schedule_key not in encoded:
            encoded[schedule_key] = (
                codec.json([codec.iso(t) for t in a.reminders]),
                codec.json([[codec.iso(t), list(targets)] for t, targets in a.escalations]),
            )
        reminders, escalations = encoded[schedule_key]
        rows.append(
            (
                campaign_id,
                a.stage_id,
                a.stage_order,
                a.item_id,
                a.instance,
                a.unit_code,
                a.role,
                codec.instant(a.open_at),
                codec.instant(a.due_at),
                reminders,
                escalations,
                State.pending.value,
                0,
                0,
                None if a.stage_id in held else codec.instant(a.open_at),
                codec.instant(now),
            )
        )  # (a held stage waits for the tick to decide its opening: duban.services.stage_release)
    return rows


_UNIT_COLUMNS = (
    "campaign_id",
    "code",
    "name",
    "display",
    "level",
    "kind",
    "parent_code",
    "channels",
    "contact",
    "phone",
    "attributes",
)


def _unit_rows(plan: Plan):
    """The campaign_unit rows, one at a time."""
    campaign_id = plan.campaign.id
    for u in plan.registry:
        yield dict(
            campaign_id=campaign_id,
            code=u.code,
            name=u.name,
            display=u.display,
            level=u.level.value,
            kind=u.kind,
            parent_code=u.parent,
            channels=list(u.channels),
            contact=u.contact,
            phone=u.phone,
            attributes=u.attributes or None,
        )
    for leader in plan.campaign.leaders:
        yield dict(
            campaign_id=campaign_id,
            code=f"leader:{leader.id}",
            name=leader.name,
            display=f"{leader.name}{leader.title}" if leader.title else leader.name,  # 孙忠廷局长（领导小组组长）
            level=None,
            kind="leader",
            parent_code=None,
            channels=list(leader.channels),
            contact=None,
            phone=None,
            attributes=None,
        )


def _delete_campaign(conn: Connection, campaign_id: str) -> None:
    """Drop a campaign's whole record (reset / demo re-run), children first."""
    messages, deliveries = core_table(OutboxMessage), core_table(Delivery)
    message_ids = select(messages.c.id).where(messages.c.campaign_id == campaign_id)
    conn.execute(delete(deliveries).where(deliveries.c.message_id.in_(message_ids)))
    for model in CAMPAIGN_RECORD:
        table = core_table(model)
        conn.execute(delete(table).where(table.c.campaign_id == campaign_id))
    conn.execute(delete(_C).where(_C.c.id == campaign_id))


# A campaign's tables but its own row, in the order a reset empties them (what points at a row goes before it).
# Every table whose rows reference the campaign, directly or through its assignments, messages or submissions, is
# here (tests/integration/test_reset.py checks it against the schema); the audit log and revoked links outlive it.
CAMPAIGN_RECORD = (
    DraftRange,
    Intent,
    OutboxMessage,
    TransitionRow,
    ReviewRow,
    ExtensionRequest,
    AcknowledgementRow,
    Submission,
    OutcomeRow,
    BulletinRow,
    Assignment,
    AssignmentTally,
    SampleDraw,
    SampleNaming,
    ScoreRecord,
    CampaignUnit,
    AmendmentRow,
    ViewMark,
)


def record_size(engine: Engine, campaign_id: str) -> dict[str, int]:
    """How much of a campaign's record a reset deletes, counted as its records say it: the assignments and the
    units that hold them; the campaign's copy of its units and leaders; messages sent and still waiting; submitted
    versions, reviews, 延期申请, 签收, 通报, scores, drawn samples, outcomes, amendments and recorded transitions."""
    counts = {
        "assignments": "SELECT COUNT(*) FROM assignment WHERE campaign_id = :c",
        "units_with_duties": "SELECT COUNT(DISTINCT unit_code) FROM assignment WHERE campaign_id = :c",
        "units": "SELECT COUNT(*) FROM campaign_unit WHERE campaign_id = :c AND kind <> 'leader'",
        "leaders": "SELECT COUNT(*) FROM campaign_unit WHERE campaign_id = :c AND kind = 'leader'",
        "messages": "SELECT COUNT(*) FROM outbox WHERE campaign_id = :c",
        "messages_sent": "SELECT COUNT(*) FROM outbox WHERE campaign_id = :c AND status = 'sent'",
        "messages_waiting": (
            "SELECT COUNT(*) FROM outbox WHERE campaign_id = :c AND status IN ('pending', 'limited', 'sending')"
        ),
        "submissions": "SELECT COUNT(*) FROM submission WHERE campaign_id = :c",
        "reviews": "SELECT COUNT(*) FROM review WHERE campaign_id = :c",
        "extension_requests": "SELECT COUNT(*) FROM extension_request WHERE campaign_id = :c",
        "acknowledgements": "SELECT COUNT(*) FROM acknowledgement WHERE campaign_id = :c",
        "bulletins": "SELECT COUNT(*) FROM bulletin WHERE campaign_id = :c",
        "scores": "SELECT COUNT(*) FROM score WHERE campaign_id = :c",
        "sample_draws": "SELECT COUNT(*) FROM sample_draw WHERE campaign_id = :c",
        "outcomes": "SELECT COUNT(*) FROM outcome WHERE campaign_id = :c",
        "amendments": "SELECT COUNT(*) FROM amendment WHERE campaign_id = :c",
        "transitions": "SELECT COUNT(*) FROM transition WHERE campaign_id = :c",
    }
    with reading(engine) as conn:
        campaign_row(conn, campaign_id)
        return {name: conn.execute(text(sql), {"c": campaign_id}).scalar_one() for name, sql in counts.items()}


def file_digests(engine: Engine, campaign_id: str | None = None, among: set[str] | None = None) -> set[str]:
    """The sha256 of every file the submissions name: of one campaign, or (`among`) those of these digests that
    any submission still names (uploads are stored once per content, so campaigns may share a file)."""
    sqlite = engine.dialect.name == "sqlite"
    files = "json_each(s.files) AS f" if sqlite else "json_array_elements(s.files) AS f(value)"
    digest = "json_extract(f.value, '$.sha256')" if sqlite else "f.value ->> 'sha256'"
    sql = f"SELECT DISTINCT {digest} FROM submission AS s, {files} WHERE s.files IS NOT NULL"
    params: dict = {}
    if campaign_id is not None:
        sql += " AND s.campaign_id = :c"
        params["c"] = campaign_id
    with reading(engine) as conn:
        found = {row[0] for row in conn.execute(text(sql), params) if isinstance(row[0], str)}
    return found if among is None else found & among


def reset_campaign(engine: Engine, campaign_id: str) -> None:
    with unit_of_work(engine) as conn:
        campaign_row(conn, campaign_id)
        _delete_campaign(conn, campaign_id)
