"""Portal benchmark: unit pages and dashboard pages of a national campaign, through the ASGI app in-process.

    uv run python bench/portal.py                    # every county and township of the country (41,568 units)
    uv run python bench/portal.py --units 10000      # the first 10,000 townships with their counties
    uv run python bench/portal.py --postgres         # the same on PostgreSQL (DUBAN_TEST_PG or 127.0.0.1:5432)

Plans bench/national.py's four-stage campaign into a fresh database, opens its first stage with a tick and has
a share of the units hand in, then times requests through the app as a browser would send them (the operator
logged in, each unit by its signed link):
- unit pages of random townships and of counties (a county's page also shows its townships' colours);
- dashboard pages: the first page, a page far down, one level, one colour, one province;
both with the tick up to date ("ticked") and days behind it ("behind": every open duty has gone overdue since
the last tick, so the page advances each one in Python — the worst case, which a tick every 10 minutes makes
rare). Prints medians and 90th percentiles in ms as one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.national import CAMPAIGN, OPEN_AT, SPEC, STAGES, machine, plan_text  # noqa: E402
from bench.timing import scratch_database, timed  # noqa: E402

TICKED_AT = "2025-03-12 10:00"  # the first stage open, reminders not yet due
BEHIND_AT = "2025-03-24 10:00"  # past the first stage's due, the tick still at TICKED_AT
OPERATOR = ("bench", "bench-password-1")


def plan(url: str, townships: int | None) -> tuple[object, list[str], list[str], list[str]]:
    """The campaign planned, opened and ticked to TICKED_AT, a share handed in.

    Returns (engine, townships, counties, provinces).
    """
    from sqlalchemy import update

    from duban.instants import parse_instant
    from duban.services.tick import tick_stage
    from duban.store.db import unit_of_work
    from duban.store.tables import Assignment

    engine, registry, built = plan_text(url, SPEC, townships, "duban-portal-bench-")
    for stage in STAGES:
        tick_stage(engine, CAMPAIGN, stage, parse_instant(OPEN_AT, "Asia/Shanghai"))
    ticked = parse_instant(TICKED_AT, "Asia/Shanghai")
    for stage in STAGES:
        tick_stage(engine, CAMPAIGN, stage, ticked)
    units = {a.unit_code: a for a in built.assignments}
    levels = {u.code: u.level.value for u in registry if u.code in units}
    townships_ = sorted(c for c, lv in levels.items() if lv == "township")
    counties = sorted(c for c, lv in levels.items() if lv == "county")
    provinces = sorted({registry.ancestors(c)[-1].code for c in counties[:50]})
    handed = random.Random(7).sample(townships_, len(townships_) // 3)
    a = Assignment.__table__
    with unit_of_work(engine) as conn:  # a third handed in: the state a submission leaves (files are not the point)
        for start in range(0, len(handed), 900):
            conn.execute(
                update(a)
                .where(a.c.item_id == "self_report", a.c.unit_code.in_(handed[start : start + 900]))
                .values(state="submitted", next_event_at=None, submitted_at=a.c.due_at)
            )
    if engine.dialect.name == "postgresql":  # statistics, as autovacuum keeps them in production
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return engine, townships_, counties, provinces


def measure(
    engine, home: Path, townships: list[str], counties: list[str], provinces: list[str], when: str, requests: int
) -> dict:
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from duban.instants import parse_instant
    from duban.services.links import issue
    from duban.services.operators import save_operator
    from duban.settings import Settings
    from duban.web import create_app

    settings = Settings(home=home, database_url=None)
    save_operator(settings.operators_file, *OPERATOR)
    now = parse_instant(when, "Asia/Shanghai")
    client = TestClient(create_app(settings, engine=engine, clock=lambda: now), base_url="http://portal.bench")
    page = client.get("/ops/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert (
        client.post(
            "/ops/login", data={"csrf": csrf, "name": OPERATOR[0], "password": OPERATOR[1]}, follow_redirects=False
        ).status_code
        == 303
    )
    draw = random.Random(11)
    link = lambda code: f"/u/{issue(settings.portal_key(), CAMPAIGN, code, now, timedelta(days=30))}"  # noqa: E731
    timed(client, [link(townships[0]), f"/ops/c/{CAMPAIGN}"])  # warm up: templates, the parsed spec
    base = f"/ops/c/{CAMPAIGN}"
    dash = max(3, requests // 5)
    return {
        "unit_page_township": timed(client, [link(draw.choice(townships)) for _ in range(requests)]),
        "unit_page_county": timed(client, [link(draw.choice(counties)) for _ in range(requests)]),
        "unit_json_township": timed(client, ["/api" + link(draw.choice(townships)) for _ in range(requests)]),
        "ops_unit_page": timed(client, [f"{base}/u/{draw.choice(townships)}" for _ in range(requests)]),
        "dashboard_first_page": timed(client, [base] * dash),
        "dashboard_far_page": timed(client, [f"{base}?start={len(townships) // 2}"] * dash),
        "dashboard_townships": timed(client, [f"{base}?level=township"] * dash),
        "dashboard_only_red": timed(client, [f"{base}?only=red"] * dash),
        "dashboard_only_green": timed(client, [f"{base}?only=green"] * dash),
        "dashboard_province": timed(client, [f"{base}?parent={draw.choice(provinces)}"] * dash),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=None, help="first N township units (default: all)")
    parser.add_argument("--requests", type=int, default=40, help="requests per kind of unit page")
    parser.add_argument("--postgres", action="store_true", help="plan into PostgreSQL instead of a SQLite file")
    parser.add_argument(
        "--pg-url", default=os.environ.get("DUBAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="duban-portal-bench-"))
    url, admin, name = scratch_database(args.postgres, args.pg_url, work, "portal")
    try:
        started = time.perf_counter()
        engine, townships, counties, provinces = plan(url, args.units)
        report = {
            "machine": machine(),
            "backend": "postgres" if args.postgres else "sqlite",
            "units": len(townships) + len(counties),
            "setup_s": round(time.perf_counter() - started, 1),
        }
        with engine.connect() as conn:
            report["assignments"] = conn.exec_driver_sql("SELECT count(*) FROM assignment").scalar()
        report["ticked"] = measure(engine, work / "home", townships, counties, provinces, TICKED_AT, args.requests)
        report["behind"] = measure(engine, work / "home", townships, counties, provinces, BEHIND_AT, args.requests)
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
