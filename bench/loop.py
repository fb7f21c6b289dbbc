"""The 督办 loop at national scale: the /ops review queue page and an idle tick with 签收 asked of every unit.

    uv run python bench/loop.py                      # every county and township of the country (41,568 units)
    uv run python bench/loop.py --units 5000         # the first 5,000 townships with their counties
    uv run python bench/loop.py --postgres           # the same on PostgreSQL (DUBAN_TEST_PG or 127.0.0.1:5432)

Plans bench/national.py's campaign with `acknowledge: 1 working day` (one 签收 row per unit) and its first item
reviewed, opens it, has 3,000 townships hand in (待审核) and 2,000 acknowledge, then times:
- `review_page`: GET /ops/c/<campaign>/loop as the logged-in operator (200 versions listed, the longest waiting
  first, and the 延期申请 waiting), median of `--requests`;
- `idle_tick`: duban's own work of a tick with nothing due — the four stages, the 签收 step, compose — median of
  ≥ 200 (the Prefect flow run around it is measured by bench/national.py).
Prints one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.national import CAMPAIGN, OPEN_AT, SPEC, STAGES, machine, plan_text  # noqa: E402
from bench.timing import scratch_database, timed  # noqa: E402

LOOP_SPEC = SPEC.replace(
    "registry: {divisions: []}\n",
    "registry: {divisions: []}\nacknowledge: 1 working day\nextensions: {max: 5 working days}\n",
).replace("formats: [docx, pdf]}]}", "formats: [docx, pdf], review: operators}]}", 1)
SEEN_AT = "2025-03-05 10:00"  # the first stage open, 签收 past due, reminded and escalated; nothing due until 3/18
IDLE_AT = "2025-03-06 10:00"
OPERATOR = ("bench", "bench-password-1")


def plan(url: str, townships: int | None):
    from sqlalchemy import insert, update

    from duban.domain.quiet import QuietHours
    from duban.instants import parse_instant
    from duban.services.acknowledgements import record_acknowledgement, tick_acknowledgements
    from duban.services.compose import compose_messages
    from duban.services.tick import tick_stage
    from duban.store.db import unit_of_work
    from duban.store.tables import Assignment, Submission

    engine, _registry, built = plan_text(url, LOOP_SPEC, townships, "duban-loop-bench-")
    for stage in STAGES:
        tick_stage(engine, CAMPAIGN, stage, parse_instant(OPEN_AT, "Asia/Shanghai"))
    townships_ = sorted({a.unit_code for a in built.assignments if len(a.unit_code) > 6})
    draw = random.Random(7)
    handed = draw.sample(townships_, min(3000, len(townships_)))
    at = parse_instant("2025-03-03 15:00", "Asia/Shanghai")
    a = Assignment.__table__
    with unit_of_work(engine) as conn:  # 待审核, with the version a submission leaves (files are not the point)
        ids = {}
        for start in range(0, len(handed), 900):
            part = handed[start : start + 900]
            conn.execute(
                update(a)
                .where(a.c.campaign_id == CAMPAIGN, a.c.item_id == "self_report", a.c.unit_code.in_(part))
                .values(state="in_review", next_event_at=None, submitted_at=at)
            )
            ids.update(
                dict(
                    conn.execute(
                        a.select()
                        .with_only_columns(a.c.unit_code, a.c.id)
                        .where(a.c.campaign_id == CAMPAIGN, a.c.item_id == "self_report", a.c.unit_code.in_(part))
                    ).all()
                )
            )
        conn.execute(
            insert(Submission),
            [
                dict(
                    campaign_id=CAMPAIGN,
                    assignment_id=ids[code],
                    unit_code=code,
                    item_id="self_report",
                    version=1,
                    submitted_at=at + timedelta(seconds=i),
                    late=False,
                    files=[{"name": f"{code}自评报告.docx", "sha256": "0" * 64, "size": 1, "format": "docx"}],
                    metrics={},
                    actor="bench",
                )
                for i, code in enumerate(handed)
            ],
        )
    for code in draw.sample(townships_, min(2000, len(townships_))):
        record_acknowledgement(engine, CAMPAIGN, code, at, actor="bench")
    seen = parse_instant(SEEN_AT, "Asia/Shanghai")
    for stage in STAGES:
        tick_stage(engine, CAMPAIGN, stage, seen)
    tick_acknowledgements(engine, CAMPAIGN, seen, quiet=QuietHours())
    compose_messages(engine, CAMPAIGN, seen, quiet=QuietHours())
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return engine, len({a.unit_code for a in built.assignments})


def review_page(engine, home: Path, requests: int) -> dict:
    from fastapi.testclient import TestClient

    from duban.instants import parse_instant
    from duban.services.operators import save_operator
    from duban.settings import Settings
    from duban.web import create_app

    settings = Settings(home=home, database_url=None)
    save_operator(settings.operators_file, *OPERATOR)
    now = parse_instant(IDLE_AT, "Asia/Shanghai")
    client = TestClient(create_app(settings, engine=engine, clock=lambda: now), base_url="http://portal.bench")
    page = client.get("/ops/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert (
        client.post(
            "/ops/login", data={"csrf": csrf, "name": OPERATOR[0], "password": OPERATOR[1]}, follow_redirects=False
        ).status_code
        == 303
    )
    path = f"/ops/c/{CAMPAIGN}/loop"
    first = client.get(path)  # warm up: templates, the parsed spec
    assert first.status_code == 200 and "待审核的材料（" in first.text and "没有待审核的材料" not in first.text, (
        first.text[:300]
    )
    return timed(client, [path] * requests)


def idle_tick(engine, repeats: int) -> dict:
    from duban.domain.quiet import QuietHours
    from duban.instants import parse_instant
    from duban.services.acknowledgements import tick_acknowledgements
    from duban.services.compose import compose_messages
    from duban.services.tick import tick_stage

    now, quiet, times, acks = parse_instant(IDLE_AT, "Asia/Shanghai"), QuietHours(), [], []
    for _ in range(repeats):
        started = time.perf_counter()
        ticks = [tick_stage(engine, CAMPAIGN, stage, now) for stage in STAGES]
        changed = sum(t.transitions for t in ticks)
        opened = any(t.events["opened"] for t in ticks)  # as the tick flow tells the 签收 step
        step = time.perf_counter()
        changed += tick_acknowledgements(engine, CAMPAIGN, now, quiet=quiet, opened=opened).messages
        acks.append((time.perf_counter() - step) * 1000)
        changed += compose_messages(engine, CAMPAIGN, now, quiet=quiet)
        times.append((time.perf_counter() - started) * 1000)
        assert changed == 0, "the bench's idle instant must have nothing due"
    times.sort()
    return {
        "n": len(times),
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2),
        "ack_step_median_ms": round(statistics.median(acks), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=None, help="first N township units (default: all)")
    parser.add_argument("--requests", type=int, default=30, help="review-page requests")
    parser.add_argument("--repeats", type=int, default=200, help="idle ticks")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of a SQLite file")
    parser.add_argument(
        "--pg-url", default=os.environ.get("DUBAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="duban-loop-bench-"))
    url, admin, name = scratch_database(args.postgres, args.pg_url, work, "loop")
    try:
        started = time.perf_counter()
        engine, units = plan(url, args.units)
        report = {
            "machine": machine(),
            "backend": "postgres" if args.postgres else "sqlite",
            "units": units,
            "setup_s": round(time.perf_counter() - started, 1),
        }
        with engine.connect() as conn:
            report["assignments"] = conn.exec_driver_sql("SELECT count(*) FROM assignment").scalar()
            report["acknowledgements"] = conn.exec_driver_sql("SELECT count(*) FROM acknowledgement").scalar()
            report["in_review"] = conn.exec_driver_sql(
                "SELECT count(*) FROM assignment WHERE state = 'in_review'"
            ).scalar()
        report["review_page"] = review_page(engine, work / "home", args.requests)
        report["idle_tick"] = idle_tick(engine, args.repeats)
        engine.dispose()
    finally:
        if admin is not None:
            import sqlalchemy

            with admin.connect() as conn:
                conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(work, ignore_errors=True)  # its SQLite file and the portal's home: nothing left in /tmp
    print(json.dumps(report, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    main()
