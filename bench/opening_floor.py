"""What a stage opening costs per row written, on SQLite: duban's opening beside the rows a leaner model would write.

    uv run python bench/opening_floor.py                          # 100,000 enterprises + 41,568 bodies, 3 rounds
    uv run python bench/opening_floor.py --enterprises 20000 --rounds 1

Plans bench/enterprises.py's campaign once, then opens its first stage on fresh copies of the planned database,
the variants in turn, round after round, each in a process of its own:

- `duban`: the opening as duban does it (`tick_stage` and `compose_messages`: the assignments' new progress, a
  transition, and an intent with its message and payload, both written by the tick and held in a draft range
  that the compose lets go, for every unit);
- `assignments`: only the UPDATE of the opened assignments that duban's tick runs (state and next event);
- `assignments+messages`: that UPDATE and one narrow outbox row per unit (recipient, kind, a key in id order, no
  payload): what an opening would cost that wrote nothing else per unit but still rewrote each assignment;
- `messages`: the narrow outbox rows alone: an opening that kept the stage's progress once, not per unit;
- `drafts`: duban's tick as it is but for the assignments' UPDATE and the transitions (each unit's intent with its
  message and payload, held in a draft range, let go by duban's compose): what keeping the opened progress once
  per case would give on its own, with today's messages.

Each prints its CPU time (user + system of its process, which a shared machine's stolen time does not inflate),
its wall time with the commit, and the WAL its transactions wrote (the raw variants; checkpoints held back). The
last line is one JSON object: the median of each. bench/README.md says what the figures mean for issue 24.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import enterprises as E  # noqa: E402

VARIANTS = ("duban", "drafts", "assignments", "assignments+messages", "messages")


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _case(url: str) -> tuple[tuple, tuple]:
    """The due range of the opening and the assignments' new progress, as duban's tick works them out."""
    from duban.instants import parse_instant
    from duban.services.tick import _case_schedule, _outcome
    from duban.store.codec import Codec
    from duban.store.engine import make_engine
    from duban.store.tick_sql import case_key, select_cases

    engine = make_engine(url)
    with engine.connect() as conn:
        codec = Codec(conn)
        instant = parse_instant(E.OPEN_AT, "Asia/Shanghai")
        due = (E.CAMPAIGN, E.STAGES[0], codec.instant(instant))
        (case,) = select_cases(codec, case_key(codec), due)
        outcome = _outcome(codec, _case_schedule(codec, case), case, instant)
    engine.dispose()
    return due, (*outcome.update, due[2])


def _raw(path: str, variant: str, due: tuple, update: tuple) -> dict:
    from duban.store.engine import WRITER_CACHE_KIB
    from duban.store.tick_sql import _DUE, _SET

    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "wal_autocheckpoint=0"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
    started, cpu = time.perf_counter(), _cpu()
    conn.execute("BEGIN IMMEDIATE")
    messages = updated = 0
    if variant != "assignments":
        top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
        messages = conn.execute(
            "INSERT INTO outbox (id, campaign_id, recipient, kind, idempotency_key, created_at, not_before, status, "
            "attempts) SELECT ? + a.id, a.campaign_id, a.unit_code, 'opened', 's' || printf('%012x', ? + a.id), ?, ?, "
            f"'pending', 0 FROM assignment AS a WHERE {_DUE} ORDER BY a.id",
            (top, top, due[2], due[2], *due),
        ).rowcount
    if variant != "messages":
        updated = conn.execute(f"UPDATE assignment AS a SET {_SET} WHERE {_DUE}", (*update, *due)).rowcount
    conn.execute("COMMIT")
    figures = {"cpu_s": _cpu() - cpu, "wall_s": time.perf_counter() - started, "messages": messages}
    figures["assignments"] = updated
    frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    page = conn.execute("PRAGMA page_size").fetchone()[0]  # 16 KB for a file duban made (duban.store.engine)
    conn.close()
    figures["wal_mb"] = frames * page / 1e6
    return figures


def _duban(url: str) -> dict:
    import duban.services.compose  # noqa: F401  (imported before the clock, as in a running worker)
    import duban.services.tick  # noqa: F401
    from bench.timing import open_stage

    cpu = _cpu()
    opened = open_stage(url, E.CAMPAIGN, E.STAGES[0], E.OPEN_AT)
    figures = {"cpu_s": _cpu() - cpu, "wall_s": opened["open_stage_s"], "messages": opened["messages"]}
    return {**figures, "assignments": opened["opened"]}


def _drafts(url: str) -> dict:
    """duban's own statements for the units' intents and messages (duban.store.tick_sql._draft_sqlite) in the
    tick's transaction, then duban's compose: the opening without the assignments' UPDATE and transitions."""
    import duban.services.compose  # noqa: F401  (imported before the clock, as in a running worker)
    from duban.instants import parse_instant
    from duban.services.compose import compose_messages
    from duban.services.tick import _case_schedule, _draft, _outcome
    from duban.store.codec import Codec
    from duban.store.db import unit_of_work
    from duban.store.engine import make_engine
    from duban.store.tick_sql import _DUE, _draft_sqlite, case_key, make_room, select_cases

    engine = make_engine(url)
    instant = parse_instant(E.OPEN_AT, "Asia/Shanghai")
    cpu, started = _cpu(), time.perf_counter()
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        due = (E.CAMPAIGN, E.STAGES[0], codec.instant(instant))
        (case,) = select_cases(codec, case_key(codec), due)
        make_room(codec, case.count)
        outcome = _outcome(codec, _case_schedule(codec, case), case, instant)
        draft = _draft(codec, E.CAMPAIGN, instant, outcome, None)
        assert outcome.unit_intent is not None and draft is not None
        span = (case.first_id, case.last_id)
        _draft_sqlite(codec, E.CAMPAIGN, due[2], _DUE, list(due), outcome.unit_intent, draft, span)
    messages = compose_messages(engine, E.CAMPAIGN, instant)
    figures = {"cpu_s": _cpu() - cpu, "wall_s": time.perf_counter() - started, "messages": messages}
    with engine.connect() as conn:  # the assignments this variant rewrote: none (their progress as planned)
        moved = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM assignment WHERE campaign_id = ? AND stage_id = ? AND state <> 'pending'",
            (E.CAMPAIGN, E.STAGES[0]),
        ).scalar()
    return {**figures, "assignments": moved}


def _run(queue, variant: str, path: str, due: tuple, update: tuple) -> None:
    url = f"sqlite:///{path}"
    if variant in ("duban", "drafts"):
        queue.put(_duban(url) if variant == "duban" else _drafts(url))
    else:
        queue.put(_raw(path, variant, due, update))


def _fresh(base: Path, copy: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        target = Path(f"{copy}{suffix}")
        target.unlink(missing_ok=True)
        source = Path(f"{base}{suffix}")
        if source.exists():
            shutil.copyfile(source, target)
    os.sync()  # the copy's pages leave the OS's dirty list before the clock starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--townships", type=int, default=None, help="first N townships and their counties")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="duban-floor-"))
    try:
        base, copy = work / "planned.db", work / "opening.db"
        E.write_list(work / "名录.csv", args.enterprises)
        url = f"sqlite:///{base}"
        E.step_import(url, str(work / "名录.csv"))
        (work / "spec.yaml").write_text(E.SPEC, encoding="utf-8")
        planned = E.step_plan(url, str(work / "spec.yaml"), args.townships)
        due, update = _case(url)
        with sqlite3.connect(base) as conn:  # the plan's log folded in: each copy starts with an empty WAL
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        runs: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
        context = multiprocessing.get_context("spawn")
        for round_ in range(args.rounds):
            for variant in VARIANTS:
                _fresh(base, copy)
                queue = context.Queue()
                child = context.Process(target=_run, args=(queue, variant, str(copy), due, update))
                child.start()
                figures = queue.get()
                child.join()
                runs[variant].append(figures)
                print(f"round {round_ + 1} {variant}: {json.dumps(figures)}", flush=True)
        report = {"units": planned["units"], "rounds": args.rounds}
        for variant, results in runs.items():  # the rows each wrote, and the median of each figure
            counts = {key: results[0][key] for key in ("messages", "assignments")}
            keys = [key for key in results[0] if key not in counts]
            report[variant] = {**counts, **{key: round(statistics.median(r[key] for r in results), 3) for key in keys}}
        print(json.dumps(report, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
