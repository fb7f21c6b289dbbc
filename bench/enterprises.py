"""Enterprise-scale benchmark: a campaign over 1,000,000 listed enterprises plus every county and township body.

    uv run python bench/enterprises.py                        # 1,000,000 enterprises, SQLite and PostgreSQL
    uv run python bench/enterprises.py --enterprises 20000    # a quick run
    uv run python bench/enterprises.py --no-postgres          # SQLite only
    uv run python bench/enterprises.py --enterprises 300 --townships 60 --no-postgres   # the smoke run of the tests

Writes a synthetic 名录 (CSV: valid 统一社会信用代码, spread over the real counties), then, each step in a fresh
process with its peak RSS: `duban units import` of the file (every row checked, stored with its spell); the plan
of a four-stage campaign over the enterprises and the 41,568 county and township bodies (registry built from the
stored list); an idle tick (duban's own work), beside the national campaign's at 41,568 units in the same process;
the opening of the first stage for every unit with every message composed; dispatch of 5,000 messages to a
loopback sink; a unit page and the operators' dashboard through the ASGI app. With --prefect, an idle tick through
a `campaign_tick` flow run against a local Prefect server. The last line is one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.national import (  # noqa: E402
    SPEC as NATIONAL_SPEC,  # noqa: E402
    Backend,
    PrefectServer,
    _Sink,
    machine,
    registry_for,
)

CAMPAIGN = "enterprise-2025-bench"
LIST = "bench-enterprises"
STAGES = ["self_check", "records", "county_check", "summary"]
SPEC = """\
id: enterprise-2025-bench
title: 全国规上企业统计数据质量自查（基准）
issuer: 国家统计局（基准测试）
timezone: Asia/Shanghai
registry: {divisions: []}
groups:
  bodies: [{level: county}, {level: township}]
  enterprises: {kind: enterprise}
  everyone: [bodies, enterprises]
stages:
  - {id: self_check, name: 企业自查, window: {start: 2025-03-03, end: 2025-03-21},
     items: [{id: self_report, name: 自查报告, units: everyone, formats: [docx, pdf]}]}
  - {id: records, name: 台账核查, window: {start: 2025-04-01, end: 2025-04-18},
     items: [{id: ledger, name: 统计台账, units: everyone, formats: [xlsx]}]}
  - {id: county_check, name: 县级核查, window: {start: 2025-05-06, end: 2025-05-23},
     items: [{id: check_sheet, name: 核查表, units: everyone, formats: [pdf]}]}
  - {id: summary, name: 材料上报, window: {start: 2025-06-03, end: 2025-06-20},
     items: [{id: materials, name: 材料汇总, units: everyone, formats: [xlsx, pdf]}]}
"""
IDLE_AT = "2025-03-02 12:00"
OPEN_AT = "2025-03-03 08:30"
PAGES_AT = "2025-03-12 10:00"


# --- steps (each in a fresh process) -----------------------------------------------------------------------
def step_import(url: str, csv_path: str) -> dict:
    from duban.domain.listed import read_list
    from duban.instants import parse_instant
    from duban.store.db import init_db
    from duban.store.engine import make_engine
    from duban.store.listed import import_list

    engine = make_engine(url)
    init_db(engine)
    started = time.perf_counter()
    read = read_list(csv_path)
    checked = time.perf_counter()
    result = import_list(engine, LIST, read, now=parse_instant("2025-02-20", "Asia/Shanghai"))
    stored = time.perf_counter()
    return {
        "import_s": stored - started,
        "import_check_s": checked - started,
        "import_store_s": stored - checked,
        "imported": result.added,
    }


def step_plan(url: str, spec_path: str, townships: int | None) -> dict:
    from duban.domain.calendar import WorkCalendar
    from duban.domain.listed import attach
    from duban.domain.plan import build_plan
    from duban.instants import parse_instant
    from duban.spec.load import load_spec
    from duban.store.engine import make_engine
    from duban.store.listed import listed_rows
    from duban.store.plans import store_plan

    engine = make_engine(url)
    started = time.perf_counter()
    registry = registry_for(townships)
    added, outside = attach(registry, listed_rows(engine, LIST))
    registry_built = time.perf_counter()
    spec = load_spec(spec_path)
    plan = build_plan(spec, WorkCalendar(), registry=registry)
    compiled = time.perf_counter()
    store_plan(engine, spec, plan, now=parse_instant("2025-03-01", "Asia/Shanghai"))
    stored = time.perf_counter()
    return {
        "registry_s": registry_built - started,
        "plan_compile_s": compiled - registry_built,
        "plan_store_s": stored - compiled,
        "assignments": len(plan.assignments),
        "units": len({a.unit_code for a in plan.assignments}),
        "attached": added,
        "outside": outside,
    }


def step_national_plan(url: str, spec_path: str, townships: int | None) -> dict:
    from bench.national import plan_into

    return plan_into(url, spec_path, townships)


def step_idle(urls: list[str], campaigns: list[str], stages: list[list[str]], repeats: int) -> dict:
    """Idle ticks of each database, interleaved round by round (bench/timing.py)."""
    from bench.timing import idle_ticks

    return idle_ticks(urls, campaigns, stages, IDLE_AT, repeats)


def step_open(url: str) -> dict:
    """The opening, then the upkeep the tick flow runs after it (VACUUM on PostgreSQL), timed apart."""
    from bench.timing import open_stage
    from duban.services.upkeep import tidy_after_tick
    from duban.store.engine import make_engine

    opened = open_stage(url, CAMPAIGN, STAGES[0], OPEN_AT)
    opened["tidy_s"] = tidy_after_tick(make_engine(url), opened["opened"])
    return opened


def step_dispatch(url: str, sink_port: int, limit: int) -> dict:
    from bench.national import LoopbackNotifier
    from bench.timing import dispatch_rate

    result, elapsed = dispatch_rate(url, LoopbackNotifier(sink_port), OPEN_AT, limit)
    return {"dispatch_msgs_per_s": result.sent / elapsed, "dispatched": result.sent}


def step_pages(url: str, home: str, requests: int) -> dict:
    import random
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from duban.instants import parse_instant
    from duban.services.links import issue
    from duban.services.operators import save_operator
    from duban.settings import Settings
    from duban.store.engine import make_engine
    from duban.web import create_app

    engine = make_engine(url)
    with engine.connect() as conn:
        codes = [
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT code FROM campaign_unit WHERE campaign_id = '{CAMPAIGN}' AND kind = 'enterprise' LIMIT 5000"
            )
        ]
    settings = Settings(home=Path(home), database_url=None)
    save_operator(settings.operators_file, "bench", "bench-password-1")
    now = parse_instant(PAGES_AT, "Asia/Shanghai")
    client = TestClient(create_app(settings, engine=engine, clock=lambda: now), base_url="http://portal.bench")
    page = client.get("/ops/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    client.post(
        "/ops/login", data={"csrf": csrf, "name": "bench", "password": "bench-password-1"}, follow_redirects=False
    )
    draw = random.Random(5)

    def timed(paths: list[str]) -> float:
        times = []
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return statistics.median(times)

    link = lambda code: f"/u/{issue(settings.portal_key(), CAMPAIGN, code, now, timedelta(days=30))}"  # noqa: E731
    timed([link(codes[0]), f"/ops/c/{CAMPAIGN}"])  # warm up
    return {
        "unit_page_ms": timed([link(draw.choice(codes)) for _ in range(requests)]),
        "dashboard_ms": timed([f"/ops/c/{CAMPAIGN}"] * max(3, requests // 5)),
    }


def step_prefect_idle(url: str, api_url: str, repeats: int) -> dict:
    os.environ.update(PREFECT_API_URL=api_url, DUBAN_DATABASE_URL=url)
    from duban.instants import parse_instant
    from flows.campaign_tick import campaign_tick
    from flows.in_process import many_runs

    at = parse_instant(IDLE_AT, "Asia/Shanghai")
    times = []
    with many_runs():
        for _ in range(repeats + 1):
            started = time.perf_counter()
            campaign_tick(spec=CAMPAIGN, as_of=at)
            times.append(time.perf_counter() - started)
    return {"idle_tick_prefect_ms": statistics.median(times[1:]) * 1000}


def _child(queue, name, args):
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    try:
        result = globals()[name](*args)
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        queue.put(("ok", result))
    except BaseException as exc:  # pragma: no cover - reported to the parent
        import traceback

        queue.put(("error", f"{name}: {exc}\n{traceback.format_exc()}"))


def in_child(name: str, *args) -> dict:
    """Run a step in a fresh interpreter; its figures and peak RSS."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, name, args))
    process.start()
    status, payload = queue.get()
    process.join()
    if status != "ok":
        raise RuntimeError(payload)
    return payload


# --- the run -----------------------------------------------------------------------------------------------
def write_list(path: Path, count: int) -> float:
    from duban.domain.units import mca_divisions
    from duban.simulation.synthetic_list import write_csv

    counties = [code for lv, code, _p, _n in mca_divisions() if lv == 3]
    started = time.perf_counter()
    write_csv(path, counties, count, seed=1)
    return time.perf_counter() - started


def postgres_settings(url: str) -> dict:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        shown = {name: conn.exec_driver_sql(f"SHOW {name}").scalar() for name in ("shared_buffers", "max_wal_size")}
    engine.dispose()
    return shown


def bench_backend(kind: str, args, work: Path, csv_path: Path, sink_port: int, api_url: str | None) -> dict:
    backend = Backend(kind, work, args.pg_url)
    figures: dict = {}
    if kind == "postgres":  # the server's own settings decide much of a million-row figure: said with it
        figures["server"] = postgres_settings(args.pg_url)
    peaks: dict = {}
    try:
        base = backend.fresh("enterprises")
        imported = in_child("step_import", base, str(csv_path))
        figures.update({k: v for k, v in imported.items() if k != "peak_rss_mib"})
        peaks["import"] = imported["peak_rss_mib"]
        spec_path = work / "enterprises.yaml"
        spec_path.write_text(SPEC, encoding="utf-8")
        planned = in_child("step_plan", base, str(spec_path), args.townships)
        figures.update({k: v for k, v in planned.items() if k != "peak_rss_mib"})
        peaks["plan"] = planned["peak_rss_mib"]
        national = backend.fresh("national")
        national_spec = work / "national.yaml"
        national_spec.write_text(NATIONAL_SPEC, encoding="utf-8")
        figures["national_units"] = in_child("step_national_plan", national, str(national_spec), args.townships)[
            "units"
        ]
        from bench.national import CAMPAIGN as NATIONAL, STAGES as NATIONAL_STAGES

        idle = in_child(
            "step_idle", [base, national], [CAMPAIGN, NATIONAL], [STAGES, NATIONAL_STAGES], args.idle_rounds
        )
        figures["idle_tick_ms"], figures["idle_tick_ms_national"] = idle["idle_tick_ms"]
        peaks["idle"] = idle["peak_rss_mib"]
        if api_url:
            prefect = in_child("step_prefect_idle", base, api_url, 5)
            figures["idle_tick_prefect_ms"] = prefect["idle_tick_prefect_ms"]
            peaks["idle_prefect"] = prefect["peak_rss_mib"]
        opened = in_child("step_open", base)
        figures.update(
            open_stage_s=opened["open_stage_s"],
            open_stage_units=opened["opened"],
            messages=opened["messages"],
            tidy_s=opened["tidy_s"],
        )
        peaks["open"] = opened["peak_rss_mib"]
        pages = in_child("step_pages", base, str(work / f"home-{kind}"), args.requests)
        figures.update(unit_page_ms=pages["unit_page_ms"], dashboard_ms=pages["dashboard_ms"])
        peaks["pages"] = pages["peak_rss_mib"]
        dispatched = in_child("step_dispatch", base, sink_port, args.dispatch)
        figures["dispatch_msgs_per_s"] = dispatched["dispatch_msgs_per_s"]
        peaks["dispatch"] = dispatched["peak_rss_mib"]
        figures["peak_rss_mib"] = max(peaks.values())
        figures["peak_rss_by_step_mib"] = peaks
        return figures
    finally:
        backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    parser.add_argument(
        "--townships", type=int, default=None, help="first N townships and their counties (default: all)"
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--prefect", action="store_true", help="also time an idle tick through a Prefect flow run")
    parser.add_argument("--idle-rounds", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--dispatch", type=int, default=5000)
    parser.add_argument(
        "--pg-url", default=os.environ.get("DUBAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="duban-enterprises-"))
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    server = PrefectServer(work, None) if args.prefect else None
    report: dict = {"machine": machine(), "enterprises": args.enterprises}
    try:
        csv_path = work / "名录.csv"
        report["write_csv_s"] = write_list(csv_path, args.enterprises)
        report["csv_mib"] = csv_path.stat().st_size / 2**20
        for kind in ("sqlite",) + (() if args.no_postgres else ("postgres",)):
            started = time.perf_counter()
            report[kind] = bench_backend(
                kind, args, work, csv_path, sink.server_address[1], server.url if server else None
            )
            print(
                f"{kind}: {json.dumps(report[kind], ensure_ascii=False)} ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        report["units"] = report["sqlite"]["units"]
        for key in (
            "import_s",
            "plan_store_s",
            "open_stage_s",
            "idle_tick_ms",
            "idle_tick_prefect_ms",
            "dispatch_msgs_per_s",
            "unit_page_ms",
            "dashboard_ms",
            "peak_rss_mib",
        ):
            report[key] = {kind: report[kind].get(key) for kind in ("sqlite", "postgres") if kind in report}
    finally:
        if server:
            server.stop()
        sink.shutdown()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    main()
