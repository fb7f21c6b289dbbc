"""What the database keeps (SQLModel tables). Spec models say what a YAML says; these say what happened.

Every instant is stored in UTC and comes back tz-aware. The assignment table carries `next_event_at`, indexed
with the campaign and stage, so a tick reads only the assignments with something due (an index range scan).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, String, Text, UniqueConstraint, event, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from duban.store import tally_sql


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive UTC text) and Postgres (timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"refusing to store naive or non-datetime value {value!r}: duban stores UTC instants")
        value = value.astimezone(timezone.utc)
        plain = datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=timezone.utc,
        )
        return plain.replace(tzinfo=None) if dialect.name == "sqlite" else plain

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _utc(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json() -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=True))


class CampaignRow(SQLModel, table=True):
    """A planned campaign and the exact spec text it was planned from."""

    __tablename__ = "campaign"

    id: str = Field(primary_key=True, max_length=80)
    title: str
    issuer: str
    doc_no: str | None = None
    timezone: str = "Asia/Shanghai"
    spec_path: str
    spec_sha256: str = Field(max_length=64)
    spec_text: str = Field(sa_column=Column(Text, nullable=False))
    planned_at: datetime = _utc(nullable=False)
    # the stored lists (名录) the plan read as they stood: {list name: the instant of its latest import then}; a
    # re-plan from the record (amendment, draw, follow-up) reads them as of that instant, not as re-imported since
    lists_as_of: dict | None = _json()


class CampaignUnit(SQLModel, table=True):
    """The campaign's units (and leaders, kind='leader') as they were when it was planned."""

    __tablename__ = "campaign_unit"
    __table_args__ = (Index("ix_campaign_unit_parent", "campaign_id", "parent_code"),)  # a unit's children (portal)

    campaign_id: str = Field(primary_key=True, foreign_key="campaign.id", max_length=80)
    code: str = Field(primary_key=True, max_length=64)
    name: str
    display: str
    level: str | None = None
    kind: str = "division"
    parent_code: str | None = Field(default=None, max_length=64)
    channels: list[str] | None = _json()
    contact: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] | None = _json()  # a listed unit's industry, size, risk … (roll-ups `by:`)


class Assignment(SQLModel, table=True):
    """One unit's duty on one item (one instance of a recurring item)."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("campaign_id", "item_id", "instance", "unit_code", name="uq_assignment_duty"),
        Index("ix_assignment_due_events", "campaign_id", "stage_id", "next_event_at"),
        Index("ix_assignment_unit", "campaign_id", "unit_code"),
        Index(
            "ix_assignment_colours", "campaign_id", "item_id", "state", "unit_code"
        ),  # the portal's counts, from the index alone
        # the versions waiting for review (审核): the review queue reads only these, however large the campaign
        Index(
            "ix_assignment_in_review",
            "campaign_id",
            "unit_code",
            sqlite_where=text("state = 'in_review'"),
            postgresql_where=text("state = 'in_review'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    stage_id: str = Field(max_length=80)
    stage_order: int
    item_id: str = Field(max_length=80)
    instance: str = Field(default="", max_length=32)
    unit_code: str = Field(max_length=64)
    role: str = Field(default="responsible", max_length=16)
    open_at: datetime = _utc(nullable=False)
    due_at: datetime = _utc(nullable=False)
    reminders: list[str] | None = _json()  # ISO instants (UTC)
    escalations: list[list[Any]] | None = _json()  # [[ISO instant, [target, …]], …]
    state: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    reminders_done: int = 0
    escalations_done: int = 0
    next_event_at: datetime | None = _utc()
    submitted_at: datetime | None = _utc()
    updated_at: datetime | None = _utc()


class AssignmentTally(SQLModel, table=True):
    """How many assignments of a campaign's stage and item stand in each state (the dashboard's counts), and how
    many units hold a duty (the row whose stage, item and state are ''): kept by triggers on the assignment table
    in the same transaction as every change (duban/store/tally_sql.py). A count is the sum of its key's rows."""

    __tablename__ = "assignment_tally"
    __table_args__ = (Index("ix_assignment_tally", "campaign_id", "item_id", "state", "stage_id", "part", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=80)
    stage_id: str = Field(max_length=80)
    item_id: str = Field(max_length=80)
    state: str = Field(max_length=16)
    part: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))  # 0 on SQLite; PostgreSQL: a row each
    n: int = 0
    instanced: int = 0  # of `n`, the assignments with an instance (a recurring item's period, a 整改 per sample)


class TransitionRow(SQLModel, table=True):
    """The audit trail: every state change, when it was scheduled, when it was applied and by whom."""

    __tablename__ = "transition"
    __table_args__ = (Index("ix_transition_campaign", "campaign_id", "assignment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=80)
    assignment_id: int = Field(foreign_key="assignment.id")
    event: str = Field(max_length=16)
    step: int = 0
    from_state: str = Field(max_length=16)
    to_state: str = Field(max_length=16)
    event_at: datetime = _utc(nullable=False)
    recorded_at: datetime = _utc(nullable=False)  # the tick's as_of, or the submission's time
    actor: str = Field(default="tick", max_length=80)


class Intent(SQLModel, table=True):
    """A notification promise written with its transition; messages are composed from these."""

    __tablename__ = "intent"
    __table_args__ = (
        # event_at: an amendment re-plans an assignment, and its new reminders and slip are new events
        UniqueConstraint("assignment_id", "kind", "step", "recipient", "event_at", name="uq_intent_once"),
        # only the intents not yet in a message, by recipient: compose's questions answered from the index alone
        Index(
            "ix_intent_pending",
            "campaign_id",
            "recipient",
            sqlite_where=text("message_id IS NULL"),
            postgresql_where=text("message_id IS NULL"),
        ),
        # the escalations of a campaign by time, for the operators' view (few rows: only the escalations)
        Index(
            "ix_intent_escalations",
            "campaign_id",
            "created_at",
            sqlite_where=text("kind = 'escalation'"),
            postgresql_where=text("kind = 'escalation'"),
        ),
        # the items of the messages a dispatcher is about to send, to check they are still true (duban.store.freshness)
        Index("ix_intent_message", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=80)
    assignment_id: int = Field(foreign_key="assignment.id")
    recipient: str = Field(max_length=80)  # a campaign_unit code, or leader:<id>
    kind: str = Field(max_length=16)
    step: int = 0
    event_at: datetime = _utc(nullable=False)
    created_at: datetime = _utc(nullable=False)
    message_id: int | None = Field(default=None, foreign_key="outbox.id")


class OutboxMessage(SQLModel, table=True):
    """One message to one recipient, coalescing its intents of one tick. The row is the promise."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_ready", "status", "not_before"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=80)
    recipient: str = Field(max_length=80)
    kind: str = Field(max_length=16)  # the most urgent kind among its intents
    idempotency_key: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    payload: dict[str, Any] | None = _json()  # what the templates render: items, dues, states
    created_at: datetime = _utc(nullable=False)
    not_before: datetime = _utc(nullable=False)  # quiet hours, a bot's limit or a retry's backoff: not before then
    # pending | limited | sending | sent | failed | unconfirmed | dead | dropped
    # (duban.services.dispatch says what each means)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0  # passes that posted it (a bot's rate limit is not a try)
    claimed_by: str | None = Field(default=None, max_length=80)  # the live dispatcher sending it (duban.store.liveness)
    claimed_at: datetime | None = _utc()
    sent_at: datetime | None = _utc()
    last_error: str | None = None
    # where delivery stands: the channel, the parts (when split) and how many arrived, the part being posted,
    # the channels that refused it for good
    progress: dict[str, Any] | None = _json()
    unknown_posts: int = Field(
        default=0, sa_column_kwargs={"server_default": "0"}
    )  # posts of the current part that got no answer (it may have arrived): at most 2


class DraftRange(SQLModel, table=True):
    """Messages a tick wrote itself, held from the dispatcher until the campaign's next compose (ids first–last).

    A stage opening gives most units one item: the tick writes each such unit's message with its intent (no
    second pass to pick and link them). A unit may still be told of other things in the same tick (another stage
    opening at the same instant, an escalation); the compose that follows the tick merges those into one message
    and then deletes the range, which lets the dispatcher take the rest. Each transaction that drafts writes its
    own row, in the same commit as its messages, so a compose sees a range only with all its messages. Should no
    compose come (the worker died after the tick and the campaign is not ticked again), the dispatcher takes the
    messages once the range is older than duban.store.dispatching.DRAFT_HOLD: a message held for ever is a
    message lost.
    """

    __tablename__ = "draft_range"
    __table_args__ = (Index("ix_draft_range_campaign", "campaign_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    first_id: int  # outbox ids, both included; only drafts lie between them on SQLite, on PostgreSQL mostly
    last_id: int
    messages: int  # how many messages were drafted in the range
    # one case of one tick: its ranges (the shares of a spread tick) name each unit at most once between them
    batch: str = Field(max_length=40)
    drafted_at: datetime = _utc(nullable=False)  # the tick's instant: past DRAFT_HOLD the dispatcher waits no more


class Delivery(SQLModel, table=True):
    """One attempt to deliver a message over one channel, with what the channel answered."""

    __tablename__ = "delivery"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="outbox.id", index=True)
    channel: str = Field(max_length=120)  # the reference (env:NAME), never the URL
    attempt: int = 1
    part: int = Field(
        default=1, sa_column_kwargs={"server_default": "1"}
    )  # which post of a message split for the channel (1 of 1 when whole)
    parts: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    ok: bool = False
    outcome: str = Field(
        default="", max_length=16, sa_column_kwargs={"server_default": ""}
    )  # ok | failed | unknown | limited | refused (duban.notify.notifier)
    detail: str | None = None
    at: datetime = _utc(nullable=False)


class Submission(SQLModel, table=True):
    """报送: every version is kept; the assignment points at the state it caused."""

    __tablename__ = "submission"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=80, index=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    unit_code: str = Field(max_length=64)
    item_id: str = Field(max_length=80)
    version: int = 1
    submitted_at: datetime = _utc(nullable=False)
    late: bool = False
    files: list[dict[str, Any]] | None = _json()  # [{name, sha256, size, format}]
    metrics: dict[str, Any] | None = _json()
    actor: str = Field(default="cli", max_length=80)
    note: str | None = None


class SampleDraw(SQLModel, table=True):
    """A drawn sample with its seed: reproducible and auditable."""

    __tablename__ = "sample_draw"

    campaign_id: str = Field(primary_key=True, foreign_key="campaign.id", max_length=80)
    sample_id: str = Field(primary_key=True, max_length=80)
    name: str
    seed: int
    members: list[str] | None = _json()
    detail: list[dict[str, Any]] | None = _json()
    drawn_at: datetime = _utc(nullable=False)


class SampleNaming(SQLModel, table=True):
    """由上级指定: a unit a parent unit named for an open sample from its page, before the sample is drawn."""

    __tablename__ = "sample_naming"
    __table_args__ = (UniqueConstraint("campaign_id", "sample_id", "unit_code", name="uq_sample_naming_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    sample_id: str = Field(max_length=80)
    parent_code: str = Field(max_length=64)  # the parent unit that named it
    unit_code: str = Field(max_length=64)
    named_at: datetime = _utc(nullable=False)
    actor: str = Field(default="cli", max_length=80)


class ChannelRate(SQLModel, table=True):
    """The recent sends of one rate-limited bot (20 per minute for WeCom and DingTalk), shared by every
    dispatcher process. The channel is a digest of its URL: the key itself is never stored."""

    __tablename__ = "channel_rate"

    channel: str = Field(primary_key=True, max_length=64)
    sends: list[float] | None = _json()  # epoch seconds of the posts inside the last window, oldest first
    holder: int | None = None  # the message whose parts are going out: the others wait until it is done
    blocked_until: datetime | None = _utc()  # the bot said "too fast": no post before then
    refusals: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # "too fast" answers in a row


class ScoreRecord(SQLModel, table=True):
    """评分: one inspected unit's points on one score sheet. Every scoring is kept as a version; the latest counts."""

    __tablename__ = "score"
    __table_args__ = (Index("ix_score_unit", "campaign_id", "sheet_id", "sample_id", "unit_code"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    sheet_id: str = Field(max_length=80)
    sample_id: str = Field(max_length=80)
    unit_code: str = Field(max_length=64)
    version: int = 1
    points: dict[str, Any] | None = _json()  # check item id → points
    total: float = 0.0
    passed: bool = False
    inspector: str | None = None
    inspected_on: str | None = Field(default=None, max_length=32)
    note: str | None = None
    source: str | None = None  # the file (name and sha256) or "portal"
    recorded_at: datetime = _utc(nullable=False)
    actor: str = Field(default="cli", max_length=80)


class OutcomeRow(SQLModel, table=True):
    """A consequence the notice names for a slipping unit (约谈, 通报批评, 重新开展), in its words, when decided."""

    __tablename__ = "outcome"
    __table_args__ = (UniqueConstraint("assignment_id", "rule", name="uq_outcome_rule"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    assignment_id: int = Field(foreign_key="assignment.id")
    rule: int  # which of the item's outcomes (its index)
    unit_code: str = Field(max_length=64)
    item_id: str = Field(max_length=80)
    instance: str = Field(default="", max_length=32)
    words: str = Field(max_length=200)  # the notice's words, e.g. 逾期3个工作日未报：约谈（限5个工作日）
    decided_at: datetime = _utc(nullable=False)
    due_at: datetime | None = _utc()  # when it is owed as an item


class AmendmentRow(SQLModel, table=True):
    """A later notice that changed a running campaign's dates (调整通知): its text, why, and what it changed."""

    __tablename__ = "amendment"
    __table_args__ = (
        UniqueConstraint("campaign_id", "seq", name="uq_amendment_seq"),
        UniqueConstraint("campaign_id", "sha256", name="uq_amendment_text"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    seq: int  # 1, 2 … in the order applied; the `step` of its transitions and intents
    issuer: str
    doc_no: str | None = None
    title: str | None = None
    issued_on: str | None = Field(default=None, max_length=10)  # ISO date as the notice gives it
    reason: str = Field(sa_column=Column(Text, nullable=False))
    path: str
    text: str = Field(sa_column=Column(Text, nullable=False))  # the amendment YAML as applied
    sha256: str = Field(max_length=64)
    changes: list[dict[str, Any]] | None = _json()  # [{target, assignments, due_before, due_after}, …]
    effective_at: datetime = _utc(nullable=False)
    recorded_at: datetime = _utc(nullable=False)
    actor: str = Field(default="cli", max_length=80)


class LinkRevocation(SQLModel, table=True):
    """A unit link withdrawn by an operator: one link (token_id) or every link issued up to an instant."""

    __tablename__ = "link_revocation"
    __table_args__ = (Index("ix_link_revocation_unit", "campaign_id", "unit_code"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=80)
    unit_code: str = Field(max_length=64)
    token_id: str | None = Field(default=None, max_length=40)  # the MAC part of one token
    issued_before: datetime | None = _utc()  # every token issued at or before this instant
    revoked_at: datetime = _utc(nullable=False)
    actor: str = Field(max_length=80)
    reason: str | None = Field(default=None, max_length=200)


class AuditEntry(SQLModel, table=True):
    """Who saw or did what on the portal, when, from where: every page view, upload, download and login."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_campaign_at", "campaign_id", "at"),
        # recent entries of one kind (failed logins everywhere, refused links to fold together) without a scan
        Index("ix_audit_action_at", "action", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc(nullable=False)
    actor: str = Field(max_length=80)  # unit:<code>, operator:<name>, or anonymous
    action: str = Field(max_length=24)  # view | upload | refused | download | export | login | link_refused …
    campaign_id: str | None = Field(default=None, max_length=80)
    unit_code: str | None = Field(default=None, max_length=64)
    target: str | None = Field(default=None, max_length=200)  # an item, a submission, a file name
    ok: bool = True
    detail: str | None = Field(default=None, max_length=500)
    client: str | None = Field(default=None, max_length=64)  # the client's address
    # the same refusal from the same address folded into this entry (a flood of bad links is one row per 10 min)
    repeats: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class OperatorSession(SQLModel, table=True):
    """An operator's login (督办工作台): ended by logging out, by a new password, or when it expires. The cookie
    holds a signed random id; only its SHA-256 is kept here."""

    __tablename__ = "operator_session"
    __table_args__ = (Index("ix_operator_session_name", "operator"),)

    id_sha256: str = Field(primary_key=True, max_length=64)
    operator: str = Field(max_length=40)
    login_tag: str = Field(max_length=32)  # a digest of the password hash it was opened with: a new password ends it
    created_at: datetime = _utc(nullable=False)
    expires_at: datetime = _utc(nullable=False)
    revoked_at: datetime | None = _utc()
    revoked_by: str | None = Field(default=None, max_length=80)  # logout | password | operator:<name> …
    client: str | None = Field(default=None, max_length=64)


class ViewMark(SQLModel, table=True):
    """When a campaign's operator views (the Prefect artifacts) were last published, and the newest record then.

    A tick publishes the views again only when something was recorded since (a transition, a submission, a
    score) or a new day began in the campaign's zone: an idle tick of a national campaign stays cheap.
    """

    __tablename__ = "view_mark"

    campaign_id: str = Field(primary_key=True, foreign_key="campaign.id", max_length=80)
    published_at: datetime = _utc(nullable=False)  # the tick's as_of
    transition_id: int = 0  # the newest row of each table when the views were read
    submission_id: int = 0
    score_id: int = 0
    acknowledged: int = 0  # the campaign's 签收 given then (an acknowledgement changes a row, adds none)


class LoginThrottle(SQLModel, table=True):
    """How many passwords were tried for one login name from one address in the current window (督办工作台).

    The count is taken in the database, in one statement, before the password is looked at: guesses sent at the
    same moment, to one portal or to several, each get their own number, and only the first five are checked.
    """

    __tablename__ = "login_throttle"

    name: str = Field(primary_key=True, max_length=40)
    client: str = Field(primary_key=True, max_length=64)  # "" when the address is unknown
    window_start: datetime = _utc(nullable=False)  # the first attempt of the window, or the fifth failure (lock)
    attempts: int = 0  # passwords tried in the window, the ones in flight included


class ExtensionRequest(SQLModel, table=True):
    """延期申请: a unit asks for a later due for one item, with a reason; the issuer's operators approve (possibly
    with an earlier date than asked) or deny it, with a note. At most one request of an assignment waits at a time."""

    __tablename__ = "extension_request"
    __table_args__ = (
        Index("ix_extension_request_campaign", "campaign_id", "status"),
        # one waiting request per assignment: two asked at the same moment, one is refused by the database
        Index(
            "uq_extension_request_pending",
            "assignment_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    assignment_id: int = Field(foreign_key="assignment.id")
    unit_code: str = Field(max_length=64)
    item_id: str = Field(max_length=80)
    instance: str = Field(default="", max_length=32)
    requested_at: datetime = _utc(nullable=False)
    due_at: datetime = _utc(nullable=False)  # the due when it was asked
    until: datetime = _utc(nullable=False)  # the due asked for
    reason: str = Field(sa_column=Column(Text, nullable=False))
    requested_by: str = Field(max_length=80)  # cli | unit:<code> | operator:<name>
    status: str = Field(default="pending", max_length=16)  # pending | approved | denied | settled
    decided_at: datetime | None = _utc()
    decided_by: str | None = Field(default=None, max_length=80)
    granted_until: datetime | None = _utc()  # the due approved (at most the one asked)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ReviewRow(SQLModel, table=True):
    """审核: one reviewer's decision on one submitted version — accepted (通过) or returned (退回) with a reason and
    the new due. Every review is kept, as every version is."""

    __tablename__ = "review"
    __table_args__ = (Index("ix_review_assignment", "campaign_id", "assignment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    assignment_id: int = Field(foreign_key="assignment.id")
    submission_id: int = Field(foreign_key="submission.id")
    unit_code: str = Field(max_length=64)
    item_id: str = Field(max_length=80)
    instance: str = Field(default="", max_length=32)
    decision: str = Field(max_length=16)  # accepted | returned
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    due_before: datetime = _utc(nullable=False)
    new_due: datetime | None = _utc()  # a returned item's due
    reviewer: str = Field(max_length=80)  # operator:<name> | unit:<parent code> | cli
    at: datetime = _utc(nullable=False)


class AcknowledgementRow(SQLModel, table=True):
    """签收: one unit's acknowledgement of one stage's opening ('' for the whole notice), by when, and where it
    stands."""

    __tablename__ = "acknowledgement"
    __table_args__ = (
        UniqueConstraint("campaign_id", "stage_id", "unit_code", name="uq_acknowledgement_unit"),
        Index("ix_acknowledgement_due", "campaign_id", "next_event_at"),  # a tick reads only what is due
        Index("ix_acknowledgement_given", "campaign_id", "acknowledged_at"),  # 签收 given, counted from the index
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    stage_id: str = Field(default="", max_length=80)
    unit_code: str = Field(max_length=64)
    open_at: datetime = _utc(nullable=False)
    due_at: datetime = _utc(nullable=False)
    escalate_at: datetime = _utc(nullable=False)
    targets: list[str] | None = _json()  # who hears when it is missing (parent, leader:<id>, unit codes)
    state: str = Field(default="waiting", max_length=16)  # waiting | unacknowledged | escalated | acknowledged
    next_event_at: datetime | None = _utc()
    acknowledged_at: datetime | None = _utc()
    acknowledged_by: str | None = Field(default=None, max_length=80)  # unit:<code> (its link) | cli | operator:<name>
    updated_at: datetime | None = _utc()


class UnitImport(SQLModel, table=True):
    """One `duban units import` of a list (名录): the file, when, by whom, and what it changed."""

    __tablename__ = "unit_import"

    id: int | None = Field(default=None, primary_key=True)
    list_name: str = Field(max_length=80, index=True)
    file: str
    sha256: str = Field(max_length=64)
    rows: int
    added: int = 0
    changed: int = 0
    removed: int = 0
    imported_at: datetime = _utc(nullable=False)
    actor: str = Field(default="cli", max_length=80)


class ListedUnit(SQLModel, table=True):
    """A listed party's spell on a list: who it was from `listed_from` until `listed_until` (None: listed now).

    A re-import that changes a row closes its spell and opens a new one; a row gone from the file closes its
    spell. The rows with no `listed_until` are the list today; a day's list is the spells that cover that day.
    """

    __tablename__ = "listed_unit"
    __table_args__ = (
        Index("ix_listed_unit_current", "list_name", "listed_until", "code"),
        Index("ix_listed_unit_code", "list_name", "code", "listed_from"),
    )

    id: int | None = Field(default=None, primary_key=True)
    list_name: str = Field(max_length=80)
    code: str = Field(max_length=64)
    name: str
    parent_code: str = Field(max_length=64)
    level: str = Field(default="entity", max_length=16)
    kind: str = Field(default="enterprise", max_length=32)
    credit_code: str | None = Field(default=None, max_length=18)
    attributes: dict[str, Any] | None = _json()
    contact: str | None = None
    phone: str | None = None
    channels: list[str] | None = _json()  # where its messages go: mail:ADDRESS, env:NAME … (never a key)
    listed_from: datetime = _utc(nullable=False)
    listed_until: datetime | None = _utc()
    import_id: int = Field(foreign_key="unit_import.id")
    closed_by: int | None = Field(default=None, foreign_key="unit_import.id")


class BulletinRow(SQLModel, table=True):
    """A 通报 as `duban bulletin` drafted it: its number in the campaign (第N期), the record's instant, the stage
    ('' for the whole campaign), what it counted and named, and the docx. Drafting the same stage at the same
    instant again redrafts that 通报 (same number); the close-out report cites them."""

    __tablename__ = "bulletin"
    __table_args__ = (
        UniqueConstraint("campaign_id", "number", name="uq_bulletin_number"),
        UniqueConstraint("campaign_id", "stage_id", "as_of", name="uq_bulletin_scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=80)
    number: int  # 第N期, per campaign
    stage_id: str = Field(default="", max_length=80)  # '' : the whole campaign
    as_of: datetime = _utc(nullable=False)  # the record's instant (the 通报's 截至)
    title: str
    units_named: int = 0  # units named as late or missing
    late: int = 0  # items handed in late
    missing: int = 0  # items not handed in
    file: str  # the docx written
    sent: int = 0  # units its short text was queued to (`--send`)
    drafted_at: datetime = _utc(nullable=False)  # when it was (last) drafted, wall clock
    actor: str = Field(default="cli", max_length=80)


@event.listens_for(SQLModel.metadata, "after_create")
def _tally_triggers(_metadata: Any, connection: Any, **kw: Any) -> None:
    """A database created from these tables gets the assignment tally's triggers with them (as migration 0014)."""
    names = {table.name for table in kw.get("tables") or ()}
    if {"assignment", "assignment_tally"} & names:
        tally_sql.install(connection)
