"""The database: engines for SQLite (default) and Postgres, a unit of work, and keeping a plan.

A unit of work commits everything or nothing: a tick's transitions, intents and messages land together.
On SQLite every transaction begins IMMEDIATE (one writer at a time, no upgrade deadlocks), except a reader's
(`reading`); on Postgres two workers ticking one campaign take turns per stage and per compose (advisory locks)
and lock the rows they change, so no transition is applied twice and each unit still gets one message per tick.
The schema comes from Alembic revisions (duban/migrate.py); a fresh database is created at the newest one.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, select, text

from duban.errors import StoreError
from duban.fastsql import Codec
from duban.plan import Plan
from duban.spec.load import LoadedSpec
from duban.state import State
from duban.tables import (
    AmendmentRow,
    Assignment,
    CampaignRow,
    CampaignUnit,
    Delivery,
    Intent,
    OutboxMessage,
    SampleDraw,
    ScoreRecord,
    Submission,
    TransitionRow,
    ViewMark,
)


# A commit that is not a unit of work (a migration) leaves its pages for SQLite's own checkpoint past this many
# WAL pages (about 80 MB); every unit of work hands its pages to the checkpointer below.
WAL_AUTOCHECKPOINT_PAGES = 20_000
# A WAL file this long is checkpointed in the commit (see Checkpointer.request), and cut back to the limit when
# it starts over: a national stage opening writes about 66 MB with its messages, a 5,000-township one 9 MB.
WAL_LONG_BYTES = 64 * 1024 * 1024
WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024


class Checkpointer:
    """Copies a SQLite file's WAL into the database on a thread of its own, after each unit of work commits.

    SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages and waits for two
    fsyncs there: about 40 ms of the commit of a 5,000-township stage opening on this machine, and as much again
    in the commit of its messages. Here the commit returns at once and the checkpoint follows beside the next
    step (PASSIVE: it never waits for a reader or a writer; what a reader still needs is copied next time),
    unless the WAL has grown long under close commits (see request). Commits are as durable as before:
    synchronous=NORMAL in WAL mode makes a commit survive a crash of the process, and a power cut may lose the
    last transactions either way. Each checkpoint opens and closes its own connection, so the last connection to
    close still folds the WAL into the file, as SQLite always does; the thread ends when no commit has come for a
    few seconds, and at exit it finishes the checkpoint asked for.
    """

    IDLE_S = 5.0

    def __init__(self, path: str) -> None:
        self.path = path
        self.wanted = threading.Event()
        self.lock = threading.Lock()
        self.running = threading.Lock()  # held while a checkpoint runs: a fork waits for it (see below)
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.wal_path = path + "-wal"
        self.requested = self.done = 0  # checkpoints asked for and run (the tests read them)

    def request(self) -> None:
        """Called by a unit of work that committed; when the WAL file has grown long, it checkpoints right here.

        SQLite starts the WAL over only when a writer begins with every frame already copied. A checkpoint beside
        the next transaction rarely finishes first when commits follow each other closely (a simulation, a
        dispatcher's deliveries), and the WAL would grow by all they write. Past WAL_LONG_BYTES the commit copies
        the WAL itself before its caller writes again, as SQLite's own checkpoint would; the next writer then
        starts the WAL over, and journal_size_limit cuts the file back to WAL_SIZE_LIMIT_BYTES.
        """
        self.requested += 1
        try:
            long = os.stat(self.wal_path).st_size >= WAL_LONG_BYTES
        except OSError:
            long = False
        if long:
            self.checkpoint()
            return
        self.wanted.set()
        with self.lock:
            if self.thread is None and not self.stopping:
                self.thread = threading.Thread(target=self._run, name="duban-wal-checkpoint", daemon=True)
                self.thread.start()

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint; a busy database (another process checkpointing) is left to the next one."""
        with self.running, suppress(sqlite3.Error):
            connection = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.done += 1
            finally:
                connection.close()

    def _run(self) -> None:
        while True:
            if not self.wanted.wait(self.IDLE_S):
                with self.lock:
                    if not self.wanted.is_set():
                        self.thread = None
                        return
            self.wanted.clear()
            self.checkpoint()
            if self.stopping and not self.wanted.is_set():  # at exit: a commit during this checkpoint gets its own
                return

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the checkpoint asked for (at exit), then let no thread start again."""
        with self.lock:
            self.stopping, thread = True, self.thread
        if thread is not None:
            self.wanted.set()
            thread.join(timeout)


_checkpointers: dict[str, Checkpointer] = {}
_checkpointers_lock = threading.Lock()


def _before_fork() -> None:
    """A fork waits for a running checkpoint: SQLite keeps its file locks in process-wide state, and a child forked
    in the middle of a checkpoint would find the checkpoint lock held by a thread it does not have."""
    for wal in set(_checkpointers.values()):
        wal.running.acquire()


def _after_fork_in_parent() -> None:
    for wal in set(_checkpointers.values()):
        wal.running.release()


def _after_fork_in_child() -> None:
    """A forked process (a pre-forking web server, a forking worker) has none of its parent's threads: its
    checkpointers start their own, with fresh locks, instead of waiting on a thread or a lock left behind."""
    global _checkpointers_lock
    _checkpointers_lock = threading.Lock()
    for wal in set(_checkpointers.values()):
        wal.wanted, wal.lock, wal.running = threading.Event(), threading.Lock(), threading.Lock()
        wal.thread, wal.stopping = None, False


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


@atexit.register
def _finish_checkpoints() -> None:
    for wal in set(_checkpointers.values()):
        wal.stop()


def checkpointer(engine: Engine) -> Checkpointer | None:
    """The checkpointer of a SQLite file engine (one per file per process), None for Postgres or memory."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    if not os.path.isabs(path):  # a relative path names a file in the working directory of the moment
        path = os.path.join(os.getcwd(), path)
    wal = _checkpointers.get(path)
    if wal is None:
        with _checkpointers_lock:  # one per file: two spellings of one path share it
            resolved = str(Path(path).resolve())
            same = next((w for w in _checkpointers.values() if w.path == resolved), None)
            wal = _checkpointers.setdefault(path, same or Checkpointer(resolved))
    return wal


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder, WAL, foreign keys, IMMEDIATE transactions, and their
    WAL checkpoints on a thread of their own (see Checkpointer)."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, future=True)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, future=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")  # the WAL file, cut back when it restarts
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        reader = connection.get_execution_options().get("duban_reader", False)
        connection.exec_driver_sql("BEGIN" if reader else "BEGIN IMMEDIATE")

    return engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL per process, its schema current.

    An empty database is created at the newest revision; the embedded SQLite file is upgraded in place; a
    Postgres database that lags is refused with the command that upgrades it (`duban db upgrade`).
    """
    from duban.migrate import ensure_schema

    engine = make_engine(url)
    ensure_schema(engine, upgrade=engine.dialect.name == "sqlite")
    return engine


def init_db(engine: Engine) -> None:
    """Create every table of an empty database at once, stamped with the newest migration."""
    from duban.migrate import create_fresh

    create_fresh(engine)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """A transaction that commits when the block ends normally and rolls back otherwise."""
    with engine.begin() as connection:
        wal = checkpointer(engine) if engine.dialect.name == "sqlite" else None
        changes = connection.connection.dbapi_connection.total_changes if wal else 0
        yield connection
        wrote = wal is not None and connection.connection.dbapi_connection.total_changes != changes
    if wrote:  # an idle tick's transactions write nothing: no checkpoint to ask for
        wal.request()


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection that only reads. On SQLite its transaction does not take the write lock (WAL: it sees the
    last commit), so a reader such as the operators' view neither waits for a tick's write nor holds one up."""
    with engine.connect() as connection:
        yield connection.execution_options(duban_reader=True)


def is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def campaign_row(connection: Connection, campaign_id: str) -> CampaignRow:
    row = connection.execute(select(CampaignRow).where(CampaignRow.id == campaign_id)).first()
    if row is None:
        raise StoreError(
            f"campaign {campaign_id!r} is not in the database: plan it first with `duban tick SPEC` "
            "(which plans on first use) or run `duban demo`"
        )
    return CampaignRow.model_validate(row._mapping)


def store_plan(engine: Engine, spec: LoadedSpec, plan: Plan, *, now: datetime, replace: bool = False) -> bool:
    """Keep a plan; True when written, False when this exact spec was planned already.

    A different spec under the same campaign id is refused unless `replace` (which drops the old record).
    """
    campaign = plan.campaign
    with unit_of_work(engine) as conn:
        if is_postgres(conn):  # two workers planning one campaign at once: the second waits, then finds it planned
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:id))"), {"id": f"duban.plan.{campaign.id}"})
        existing = conn.execute(select(CampaignRow.spec_sha256).where(CampaignRow.id == campaign.id)).scalar()
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
        conn.execute(
            insert(CampaignRow),
            [dict(id=campaign.id, title=campaign.title, issuer=campaign.issuer, doc_no=campaign.doc_no,
                  timezone=campaign.timezone, spec_path=str(spec.path), spec_sha256=spec.sha256,
                  spec_text=spec.path.read_text(encoding="utf-8"), planned_at=now)],
        )  # fmt: skip
        codec = Codec(conn)
        unit_rows = _unit_rows(plan)
        # attributes only when some unit has them (listed units): a statistics campaign writes what it always did
        columns = _UNIT_COLUMNS if any(u.attributes for u in plan.registry) else _UNIT_COLUMNS[:-1]
        for chunk in _chunks(unit_rows, 20_000):  # a million listed units are never all in memory as rows
            codec.insert("campaign_unit", columns, (
                tuple(codec.json(row[k]) if k in ("channels", "attributes") else row[k] for k in columns) for row in chunk
            ))  # fmt: skip
        if plan.samples:
            conn.execute(
                insert(SampleDraw),
                [dict(campaign_id=campaign.id, sample_id=s.sample_id, name=s.name, seed=s.seed, members=s.members,
                      detail=[d.as_record() for d in s.draws],
                      drawn_at=now) for s in plan.samples.values()],
            )  # fmt: skip
        _insert_assignments(conn, campaign.id, plan, now)
    return True


_ASSIGNMENT_COLUMNS = (
    "campaign_id", "stage_id", "stage_order", "item_id", "instance", "unit_code", "role", "open_at", "due_at",
    "reminders", "escalations", "state", "reminders_done", "escalations_done", "next_event_at", "updated_at",
)  # fmt: skip


def _insert_assignments(conn: Connection, campaign_id: str, plan: Plan, now: datetime) -> None:
    """Bulk insert; the schedule columns of an item's assignments are encoded once and shared."""
    codec = Codec(conn)
    encoded: dict[tuple, tuple[str, str]] = {}
    for chunk in _chunks(plan.assignments, 20_000):
        codec.insert("assignment", _ASSIGNMENT_COLUMNS, _assignment_rows(codec, campaign_id, chunk, encoded, now))


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


def _assignment_rows(codec: Codec, campaign_id: str, assignments, encoded: dict, now: datetime):
    rows = []
    for a in assignments:
        schedule_key = (a.reminders, a.escalations)
        if schedule_key not in encoded:
            encoded[schedule_key] = (
                codec.json([codec.iso(t) for t in a.reminders]),
                codec.json([[codec.iso(t), list(targets)] for t, targets in a.escalations]),
            )
        reminders, escalations = encoded[schedule_key]
        rows.append((
            campaign_id, a.stage_id, a.stage_order, a.item_id, a.instance, a.unit_code, a.role,
            codec.instant(a.open_at), codec.instant(a.due_at), reminders, escalations, State.pending.value, 0, 0,
            codec.instant(a.open_at), codec.instant(now),
        ))  # fmt: skip
    return rows


_UNIT_COLUMNS = ("campaign_id", "code", "name", "display", "level", "kind", "parent_code", "channels", "contact", "phone",
                 "attributes")  # fmt: skip


def _unit_rows(plan: Plan):
    """The campaign_unit rows, one at a time."""
    campaign_id = plan.campaign.id
    for u in plan.registry:
        yield dict(campaign_id=campaign_id, code=u.code, name=u.name, display=u.display, level=u.level.value,
                   kind=u.kind, parent_code=u.parent, channels=list(u.channels), contact=u.contact, phone=u.phone,
                   attributes=u.attributes or None)  # fmt: skip
    for leader in plan.campaign.leaders:
        yield dict(campaign_id=campaign_id, code=f"leader:{leader.id}", name=leader.name,
                   display=leader.title or leader.name, level=None, kind="leader", parent_code=None,
                   channels=list(leader.channels), contact=None, phone=None, attributes=None)  # fmt: skip


def _delete_campaign(conn: Connection, campaign_id: str) -> None:
    """Drop a campaign's whole record (reset / demo re-run), children first."""
    message_ids = select(OutboxMessage.id).where(OutboxMessage.campaign_id == campaign_id)
    conn.execute(delete(Delivery).where(Delivery.message_id.in_(message_ids)))
    conn.execute(delete(Intent).where(Intent.campaign_id == campaign_id))
    conn.execute(delete(OutboxMessage).where(OutboxMessage.campaign_id == campaign_id))
    conn.execute(delete(TransitionRow).where(TransitionRow.campaign_id == campaign_id))
    conn.execute(delete(Submission).where(Submission.campaign_id == campaign_id))
    conn.execute(delete(Assignment).where(Assignment.campaign_id == campaign_id))
    conn.execute(delete(SampleDraw).where(SampleDraw.campaign_id == campaign_id))
    conn.execute(delete(ScoreRecord).where(ScoreRecord.campaign_id == campaign_id))
    conn.execute(delete(CampaignUnit).where(CampaignUnit.campaign_id == campaign_id))
    conn.execute(delete(AmendmentRow).where(AmendmentRow.campaign_id == campaign_id))
    conn.execute(delete(ViewMark).where(ViewMark.campaign_id == campaign_id))
    conn.execute(delete(CampaignRow).where(CampaignRow.id == campaign_id))


def reset_campaign(engine: Engine, campaign_id: str) -> None:
    with unit_of_work(engine) as conn:
        campaign_row(conn, campaign_id)
        _delete_campaign(conn, campaign_id)
