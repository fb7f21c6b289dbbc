"""The embedded SQLite file keeps its WAL short without making a tick's commit wait for it.

A unit of work's commit hands the WAL checkpoint to a thread of its own (duban.store.engine.Checkpointer), so soon after
a tick the database file itself holds the tick — what an administrator copying duban.db for a backup gets — and a
process that exits right after its last commit leaves nothing behind in the WAL.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from duban.store.engine import checkpointer
from tests.integration.helpers import at, plan_jinzhong, tick

ROOT = Path(__file__).resolve().parents[2]


def _rows_in_file_alone(db: Path, tmp_path: Path, table: str) -> int:
    """Rows of `table` in a copy of the database file without its -wal: what the checkpoints have folded in
    (-1 while the file lacks the table, or was copied in the middle of a checkpoint)."""
    copy = tmp_path / "copy" / "duban.db"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, copy)
    try:
        with sqlite3.connect(copy) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.DatabaseError:
        return -1


def test_soon_after_a_tick_the_database_file_alone_holds_it(sqlite_engine, tmp_path):
    db = tmp_path / "duban.db"
    plan_jinzhong(sqlite_engine)
    wal = checkpointer(sqlite_engine)
    before = wal.done
    results = tick(sqlite_engine, at("2024-05-10 08:30"))
    assert results["self_assessment"].events == {"opened": 260}
    deadline = time.monotonic() + 10
    while _rows_in_file_alone(db, tmp_path, "transition") < 260 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _rows_in_file_alone(db, tmp_path, "transition") == 260
    assert _rows_in_file_alone(db, tmp_path, "intent") == 260
    assert wal.done > before  # folded in by duban's checkpointer, not by SQLite's own 20,000-page threshold


def test_an_idle_tick_asks_for_no_checkpoint(sqlite_engine):
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    wal = checkpointer(sqlite_engine)
    asked = wal.requested
    results = tick(sqlite_engine, at("2024-05-10 08:40"))  # nothing due ten minutes after the opening
    assert all(r.transitions == 0 for r in results.values())
    assert wal.requested == asked
    tick(sqlite_engine, at("2024-05-22 09:00"))  # reminders due: written, so a checkpoint is asked for
    assert wal.requested > asked


def test_a_process_that_exits_right_after_its_commit_leaves_it_in_the_file(tmp_path):
    db = tmp_path / "duban.db"
    script = (
        "from duban.store.db import init_db\nfrom duban.store.engine import make_engine\n"
        "from tests.integration.helpers import plan_jinzhong\n"
        f"engine = make_engine('sqlite:///{db}')\n"
        "init_db(engine)\n"
        "plan_jinzhong(engine)\n"  # one unit of work, the last thing the process does
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120)
    assert _rows_in_file_alone(db, tmp_path, "assignment") == 324
    wal = db.with_name("duban.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0 or _wal_frames_left(db) == 0


def _wal_frames_left(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        _busy, log, checkpointed = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return log - checkpointed


def test_postgres_and_memory_engines_have_no_checkpointer(pg_engine):
    from duban.store.engine import make_engine

    assert checkpointer(pg_engine) is None
    assert checkpointer(make_engine("sqlite://")) is None


def test_a_forked_process_checkpoints_its_own_commits(sqlite_engine, tmp_path):
    """A pre-forking server or worker forks after duban has ticked: the child has none of the parent's threads,
    and its ticks still reach the database file without waiting for a thread that is not there."""
    from duban.store.engine import make_engine

    db = tmp_path / "duban.db"
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    assert checkpointer(sqlite_engine).thread is not None
    # Forked once the opening is in the file, while the checkpoints of the tick's later commits may be running: a
    # child forked mid-checkpoint would find SQLite's checkpoint lock held by a thread it does not have
    deadline = time.monotonic() + 10
    while _rows_in_file_alone(db, tmp_path, "transition") < 260 and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = os.fork()
    if pid == 0:  # the child: its own engine on the same file (SQLite connections must not cross a fork)
        code = 1
        try:
            engine = make_engine(str(sqlite_engine.url))
            results = tick(engine, at("2024-05-22 09:00"))  # the reminders of 自评
            written = 260 + sum(r.transitions for r in results.values())
            deadline = time.monotonic() + 10
            while _rows_in_file_alone(db, tmp_path / "child", "transition") < written and time.monotonic() < deadline:
                time.sleep(0.05)
            code = 0 if written > 260 and _rows_in_file_alone(db, tmp_path / "child", "transition") == written else 1
        finally:
            os._exit(code)  # no cleanup: closing connections at exit would fold the WAL in by itself
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0  # the child saw its reminders folded into the file
    assert _rows_in_file_alone(db, tmp_path, "transition") > 260


def test_back_to_back_commits_keep_the_wal_short(tmp_path):
    """Commits that follow each other closely (a simulation, a dispatcher recording its deliveries) leave a checkpoint
    beside them no moment to finish, and SQLite starts the WAL over only after one has: the WAL must not grow
    by everything they write."""
    from duban.store.db import unit_of_work
    from duban.store.engine import WAL_LONG_BYTES, make_engine

    db = tmp_path / "burst.db"
    engine = make_engine(f"sqlite:///{db}")
    with unit_of_work(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE upload (id INTEGER PRIMARY KEY, body BLOB)")
    body, peak = os.urandom(3000), 0
    for _ in range(600):  # 600 units of work of 200 rows, about 360 MB written in all, back to back
        with unit_of_work(engine) as conn:
            conn.exec_driver_sql("INSERT INTO upload (body) " + " UNION ALL ".join(["SELECT ?"] * 200), (body,) * 200)
        peak = max(peak, db.with_name("burst.db-wal").stat().st_size)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM upload").scalar() == 120_000
    assert peak < 2 * WAL_LONG_BYTES, f"the WAL reached {peak / 1e6:.0f} MB"


def test_at_exit_a_commit_made_during_a_checkpoint_still_reaches_the_file(tmp_path):
    """The commit that asks for a checkpoint while one is running gets its own before the process exits."""
    from duban.store.engine import Checkpointer

    db = tmp_path / "exit.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer folds the WAL in
    conn.execute("CREATE TABLE submission (unit TEXT)")

    class SlowDisk(Checkpointer):
        def checkpoint(self) -> None:
            time.sleep(0.3)  # a checkpoint waiting for a slow fsync
            super().checkpoint()

    wal = SlowDisk(str(db))
    wal.request()  # the first commit's checkpoint starts
    time.sleep(0.1)
    conn.execute("INSERT INTO submission VALUES ('140702')")  # the last commit, during that checkpoint
    wal.request()
    wal.stop()  # at exit
    assert wal.done == 2
    assert _rows_in_file_alone(db, tmp_path, "submission") == 1
    conn.close()


def test_a_relative_database_path_is_the_file_in_the_working_directory(tmp_path, monkeypatch):
    from duban.store.engine import make_engine

    for name in ("bureau-a", "bureau-b"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        wal = checkpointer(make_engine("sqlite:///duban.db"))
        assert wal.path == str((tmp_path / name / "duban.db").resolve())


def test_a_checkpoint_never_creates_a_database_that_was_removed(tmp_path):
    """A checkpoint asked for just before a simulation's scratch folder is removed must not write a new file into
    it (CI saw `duban simulate` fail with "Directory not empty" when one did)."""
    from duban.store.engine import Checkpointer

    db = tmp_path / "scratch" / "simulate.db"
    db.parent.mkdir()
    sqlite3.connect(db).close()
    wal = Checkpointer(str(db))
    db.unlink()
    wal.checkpoint()
    assert list(db.parent.iterdir()) == []
    db.parent.rmdir()


def test_closing_an_engine_finishes_its_checkpoint_and_ends_its_thread(tmp_path):
    """After close_engine the scratch folder can go at once: no checkpointer thread is left to write into it."""
    from duban.store.db import init_db
    from duban.store.engine import close_engine, make_engine

    folder = tmp_path / "duban-simulate-x"
    engine = make_engine(f"sqlite:///{folder / 'simulate.db'}")
    init_db(engine)
    plan_jinzhong(engine)  # units of work: each asks for a checkpoint on the thread
    wal = checkpointer(engine)
    assert wal.requested > 0
    thread = wal.thread
    close_engine(engine)
    assert thread is None or not thread.is_alive()
    assert wal.thread is None or not wal.thread.is_alive()
    assert checkpointer(make_engine(f"sqlite:///{folder / 'simulate.db'}")) is not wal  # forgotten, not reused
    shutil.rmtree(folder)
    assert not folder.exists()


def test_a_writer_gets_a_page_cache_for_a_million_units_and_a_reader_keeps_sqlites_default(tmp_path):
    """A stage opening for a million units rewrote pages all over its indexes through a 2 MB cache (issue 24)."""
    from sqlalchemy import text

    from duban.store.engine import WRITER_CACHE_KIB, make_engine, writing

    engine = make_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    try:
        with writing(engine) as conn:
            assert conn.execute(text("PRAGMA cache_size")).scalar() == -WRITER_CACHE_KIB
            with engine.connect() as reader:  # another connection of the pool, which has only read
                assert reader.execute(text("PRAGMA cache_size")).scalar() == -2000
    finally:
        engine.dispose()


def test_a_new_database_gets_16_kb_pages_and_an_older_file_keeps_its_own(tmp_path):
    """An opening writes each changed page into the WAL one write at a time: 16 KB pages, a quarter of the writes
    (issue 24). A file made before (4 KB pages) opens as it is, its data intact, and checkpoints by the same size."""
    from sqlalchemy import text

    from duban.store.db import init_db
    from duban.store.engine import PAGE_SIZE, WAL_AUTOCHECKPOINT_BYTES, close_engine, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        init_db(engine)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA page_size")).scalar() == PAGE_SIZE == 16384
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == WAL_AUTOCHECKPOINT_BYTES // 16384
    finally:
        close_engine(engine)
    with sqlite3.connect(tmp_path / "new.db") as raw:  # what any other SQLite tool reads off the file
        assert raw.execute("PRAGMA page_size").fetchone()[0] == 16384

    older = tmp_path / "older.db"
    with sqlite3.connect(older) as raw:
        raw.execute("PRAGMA page_size = 4096")
        raw.execute("CREATE TABLE kept (x)")
        raw.execute("INSERT INTO kept VALUES ('签收')")
    engine = make_engine(f"sqlite:///{older}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA page_size")).scalar() == 4096
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == WAL_AUTOCHECKPOINT_BYTES // 4096
            assert conn.execute(text("SELECT x FROM kept")).scalar() == "签收"
    finally:
        close_engine(engine)


def test_a_stage_opening_gets_a_cache_for_all_its_rows_and_gives_it_back(tmp_path):
    """A million-unit opening changes about 1.4 GB of pages: through the writer's 1 GiB they spilled into the WAL
    before the commit and were written twice (issue 24). The tick widens its transaction's cache by the rows it
    changes; the connection's next transaction, writing or reading, is back to the writer's size."""
    from sqlalchemy import text

    from duban.store.codec import Codec
    from duban.store.engine import (
        MAX_WRITER_CACHE_KIB,
        ROW_CACHE_KIB,
        WRITER_CACHE_KIB,
        close_engine,
        make_engine,
        writing,
    )
    from duban.store.tick_sql import ROOMY_FROM, make_room

    engine = make_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    cache = text("PRAGMA cache_size")
    try:
        with writing(engine) as conn:
            make_room(Codec(conn), ROOMY_FROM - 1)  # an ordinary tick: the writer's cache as it is
            assert conn.execute(cache).scalar() == -WRITER_CACHE_KIB
            make_room(Codec(conn), 1_041_568)
            assert conn.execute(cache).scalar() == -1_041_568 * ROW_CACHE_KIB
            make_room(Codec(conn), 10_000_000)  # never beyond the ceiling, whatever the rows
            assert conn.execute(cache).scalar() == -MAX_WRITER_CACHE_KIB
        with engine.connect() as reader, reader.begin():  # the same pooled connection, now only reading
            assert reader.execute(cache).scalar() == -WRITER_CACHE_KIB
        with writing(engine) as conn:
            assert conn.execute(cache).scalar() == -WRITER_CACHE_KIB
    finally:
        close_engine(engine)
