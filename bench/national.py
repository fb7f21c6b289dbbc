"""National-scale benchmark of duban: every county- and township-level statistics body of the country.

    uv run python bench/national.py                 # the full run (41,568 units, 166,272 assignments)
    uv run python bench/national.py --units 2000    # the same campaign over the first 2,000 townships

Builds the national registry from the Ministry of Civil Affairs divisions and a four-stage campaign over all
county and township units, then measures (medians of --runs runs; each step in a fresh process, whose peak
RSS is reported): plan compile and store; an idle tick, with and without Prefect against a running server;
a tick that opens a stage for every unit at once, outbox writes included; outbox dispatch to a loopback HTTP
sink; a full `simulate` of the timeline. The same on PostgreSQL. A baseline runs the stage opening as one
Prefect task per unit. The last line of output is one JSON object with every figure (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import idle_ticks, open_stage  # noqa: E402

CAMPAIGN = "national-2025-lookback"
STAGES = ["self_assessment", "county_check", "city_check", "materials"]
SPEC = """\
id: national-2025-lookback
title: 全国统计基层基础工作规范化建设"回头看"（基准）
issuer: 国家统计局（基准测试）
timezone: Asia/Shanghai
registry: {divisions: []}
groups:
  bodies: [{level: county}, {level: township}]
stages:
  - {id: self_assessment, name: 自评, window: {start: 2025-03-03, end: 2025-03-21},
     items: [{id: self_report, name: 自评报告, units: bodies, formats: [docx, pdf]}]}
  - {id: county_check, name: 县级检查, window: {start: 2025-04-01, end: 2025-04-18},
     items: [{id: county_sheet, name: 检查评分表, units: bodies, formats: [xlsx]}]}
  - {id: city_check, name: 市级检查, window: {start: 2025-05-06, end: 2025-05-23},
     items: [{id: city_sheet, name: 迎检材料, units: bodies, formats: [pdf]}]}
  - {id: materials, name: 材料上报, window: {start: 2025-06-03, end: 2025-06-20},
     items: [{id: materials, name: 材料汇总, units: bodies, formats: [xlsx, pdf]}]}
"""
BASELINE_SPEC = """\
id: baseline-opening
title: 逐单位任务基准
issuer: 基准测试
registry: {divisions: []}
stages:
  - {id: open_all, name: 开启, window: {start: 2025-03-03, end: 2025-03-21},
     items: [{id: report, name: 报告, units: {level: township}}]}
"""
IDLE_AT = "2025-03-02 12:00"
OPEN_AT = "2025-03-03 08:30"


# --- the campaign ------------------------------------------------------------------------------------------
def registry_for(townships: int | None):
    """The national registry, or its first `townships` township units with their counties and ancestors."""
    from duban.domain.units import Registry, import_divisions

    full = import_divisions(None)
    if townships is None:
        return full
    chosen = sorted(u.code for u in full if u.level.value == "township")[:townships]
    keep: dict[str, None] = {}
    for code in chosen:
        for ancestor in reversed(full.ancestors(code)):
            keep.setdefault(ancestor.code)
        keep.setdefault(code)
    return Registry([full.units[code] for code in keep])


def plan_text(url: str, spec_text: str, townships: int | None, prefix: str):
    """Plan a campaign written as `spec_text` into `url` over the first `townships` (the loop and portal benchmarks):
    (engine, registry, plan). The spec file lives in a temporary folder only while it is planned and stored."""
    from duban.domain.calendar import WorkCalendar
    from duban.domain.plan import build_plan
    from duban.instants import parse_instant
    from duban.spec.load import load_spec
    from duban.store.db import init_db
    from duban.store.engine import make_engine
    from duban.store.plans import store_plan

    registry = registry_for(townships)
    engine = make_engine(url)
    init_db(engine)
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        spec_path = Path(folder) / "national.yaml"
        spec_path.write_text(spec_text, encoding="utf-8")
        spec = load_spec(spec_path)
        built = build_plan(spec, WorkCalendar(), registry=registry)
        store_plan(engine, spec, built, now=parse_instant("2025-03-01", "Asia/Shanghai"))
    return engine, registry, built


def plan_into(url: str, spec_path: str, townships: int | None) -> dict:
    """Plan the campaign into `url`; times the in-memory plan and the store separately."""
    from duban.domain.calendar import WorkCalendar
    from duban.domain.plan import build_plan
    from duban.instants import parse_instant
    from duban.spec.load import load_spec
    from duban.store.db import init_db
    from duban.store.engine import make_engine
    from duban.store.plans import store_plan

    registry = registry_for(townships)
    spec = load_spec(spec_path)
    started = time.perf_counter()
    plan = build_plan(spec, WorkCalendar(), registry=registry)
    compiled = time.perf_counter()
    engine = make_engine(url)
    init_db(engine)
    store_plan(engine, spec, plan, now=parse_instant("2025-03-01", "Asia/Shanghai"))
    stored = time.perf_counter()
    engine.dispose()
    units = len({a.unit_code for a in plan.assignments})
    return {
        "plan_compile_s": compiled - started,
        "plan_store_s": stored - compiled,
        "assignments": len(plan.assignments),
        "units": units,
    }


# --- steps (each runs in a fresh process) ------------------------------------------------------------------
def step_plan(url: str, spec_path: str, townships: int | None) -> dict:
    return plan_into(url, spec_path, townships)


def step_idle(urls: list[str], repeats: int) -> dict:
    """The idle tick of each planned database, interleaved round by round in this one process."""
    return idle_ticks(urls, [CAMPAIGN] * len(urls), [STAGES] * len(urls), IDLE_AT, repeats)


def step_open(url: str) -> dict:
    return open_stage(url, CAMPAIGN, STAGES[0], OPEN_AT)


def step_dispatch(url: str, sink_port: int, limit: int) -> dict:
    from bench.timing import dispatch_rate

    result, elapsed = dispatch_rate(url, LoopbackNotifier(sink_port), OPEN_AT, limit)
    assert result.sent == result.claimed, result
    return {"dispatch_msgs_per_s": result.sent / elapsed, "dispatched": result.sent}


def step_simulate(url: str) -> dict:
    from duban.simulation.preview import simulate_planned
    from duban.store.engine import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    preview = simulate_planned(engine, CAMPAIGN, seed=1)
    return {
        "simulate_s": time.perf_counter() - started,
        "simulate_messages": len(preview.messages),
        "simulate_submissions": preview.log.submissions,
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
            summary = campaign_tick(spec=CAMPAIGN, as_of=at)
            times.append(time.perf_counter() - started)
            assert all(s["examined"] == 0 for s in summary["stages"])
    return {"idle_tick_prefect_ms": statistics.median(times[1:]) * 1000}


def step_baseline(url: str, api_url: str, units: int, spec_path: str, runs: int, server_pid: int) -> dict:
    """The obvious Prefect design: the stage opening as one task per unit; then duban's tick on the same data."""
    os.environ.update(PREFECT_API_URL=api_url, DUBAN_DATABASE_URL=url)
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from duban.instants import parse_instant
    from duban.store.codec import Codec
    from duban.store.db import unit_of_work
    from duban.store.engine import make_engine
    from flows.campaign_tick import campaign_tick
    from flows.in_process import many_runs

    engine = make_engine(url)
    at = parse_instant(OPEN_AT, "Asia/Shanghai")

    @task(cache_policy=NO_CACHE)
    def open_one(assignment_id: int, unit_code: str) -> None:
        with unit_of_work(engine) as conn:
            codec = Codec(conn)
            now = codec.instant(at)
            codec.execute(
                "UPDATE assignment SET state = 'open', next_event_at = due_at, updated_at = ? WHERE id = ?",
                (now, assignment_id),
            )
            codec.insert(
                "transition",
                (
                    "campaign_id",
                    "assignment_id",
                    "event",
                    "step",
                    "from_state",
                    "to_state",
                    "event_at",
                    "recorded_at",
                    "actor",
                ),
                [("baseline-opening", assignment_id, "opened", 0, "pending", "open", now, now, "task")],
            )
            codec.insert(
                "intent",
                ("campaign_id", "assignment_id", "recipient", "kind", "step", "event_at", "created_at"),
                [("baseline-opening", assignment_id, unit_code, "opened", 0, now, now)],
            )
            # the unit's message, as duban's tick composes it (the same work on both sides of the ratio)
            payload = {
                "recipient": unit_code,
                "kind": "opened",
                "as_of": codec.iso(at),
                "items": [{"kind": "opened", "step": 0, "item_id": "report", "instance": "", "unit": unit_code}],
            }
            codec.insert(
                "outbox",
                (
                    "campaign_id",
                    "recipient",
                    "kind",
                    "idempotency_key",
                    "payload",
                    "created_at",
                    "not_before",
                    "status",
                    "attempts",
                ),
                [
                    (
                        "baseline-opening",
                        unit_code,
                        "opened",
                        f"baseline-{assignment_id}",
                        codec.json(payload),
                        now,
                        now,
                        "pending",
                        0,
                    )
                ],
            )

    @flow(name="baseline-task-per-unit")
    def open_stage_task_per_unit() -> int:
        with engine.connect() as conn:
            rows = Codec(conn).select("SELECT id, unit_code FROM assignment WHERE state = 'pending'", ())
        for assignment_id, unit_code in rows:
            open_one(assignment_id, unit_code)
        return len(rows)

    @flow(name="baseline-empty-flow")
    def empty_flow() -> int:
        return 0

    waits = []

    def back_to_planned() -> None:
        reset_to_planned(engine)
        # each run starts on a quiet server: the previous run's events recorded (5,000 task runs leave ~15,000)
        waits.append(server_quiet(server_pid))

    with many_runs():  # one API client for every run of both designs, as a process running many flows has
        campaign_tick(
            spec="baseline-opening", as_of=parse_instant(IDLE_AT, "Asia/Shanghai")
        )  # warm up client and server
        ticks = []
        for _ in range(3 * runs):  # each from the planned state: the opening, its messages and a first publication
            back_to_planned()
            started = time.perf_counter()
            summary = campaign_tick(spec="baseline-opening", as_of=at)
            ticks.append(time.perf_counter() - started)
            assert summary["stages"][0]["events"] == {"opened": units}, summary
            assert summary["messages"] == units and summary["artifacts"], summary
        floors = []
        for _ in range(max(runs, 3)):  # what any flow run costs on this server: the floor under both designs
            started = time.perf_counter()
            empty_flow()
            floors.append(time.perf_counter() - started)
        tasks = []
        for _ in range(runs):  # the obvious design, as often: its runs vary by a few seconds as much as duban's
            back_to_planned()
            started = time.perf_counter()
            opened = open_stage_task_per_unit()
            tasks.append(time.perf_counter() - started)
            assert opened == units, (opened, units)
    baseline, duban, floor = statistics.median(tasks), statistics.median(ticks), statistics.median(floors)
    return {
        "units": units,
        "task_per_unit_s": baseline,
        "task_per_unit_runs_s": tasks,
        "duban_s": duban,
        "duban_runs_s": ticks,
        "ratio": baseline / duban,
        "empty_flow_s": floor,
        "ceiling_ratio": baseline / floor,
        "server_quiet_waits_s": waits,
    }


def reset_to_planned(engine) -> None:
    """The baseline campaign back to its planned state: no transitions, intents, messages or publication."""
    from duban.store.db import unit_of_work

    with unit_of_work(engine) as conn:
        for table in ("intent", "outbox", "transition", "view_mark"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("UPDATE assignment SET state = 'pending', next_event_at = open_at")


def server_quiet(pid: int, *, window: float = 1.0, busy: float = 0.05, limit: float = 120.0) -> float:
    """Wait until the Prefect server process has used under `busy` of a core for a whole `window` (its services
    done with the last run's events), at least one window; the seconds waited."""
    started = time.perf_counter()
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    before = cpu()
    while True:
        time.sleep(window)
        now = cpu()
        if now - before < busy * window or time.perf_counter() - started > limit:
            return time.perf_counter() - started
        before = now


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
    """Run a step in a fresh interpreter and return its figures and peak RSS."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, name, args))
    process.start()
    status, payload = queue.get()
    process.join()
    if status != "ok":
        raise RuntimeError(payload)
    return payload


# --- infrastructure ----------------------------------------------------------------------------------------
class LoopbackNotifier:
    """POSTs each message as JSON to the loopback sink over one kept-alive connection."""

    def __init__(self, port: int) -> None:
        import http.client

        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.connection.connect()
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, channel, envelope):
        from duban.notify.notifier import SendResult

        body = json.dumps(
            {"key": envelope.key, "to": envelope.recipient, "text": envelope.rendered.text}, ensure_ascii=False
        ).encode()
        self.connection.request("POST", "/notify", body=body, headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        response.read()
        return SendResult(response.status == 200, f"HTTP {response.status}")


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received = 0

    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Backend:
    """Where the campaign lives: a SQLite file copied per run, or a Postgres template database cloned per run."""

    def __init__(self, kind: str, workdir: Path, pg_url: str) -> None:
        self.kind, self.workdir, self.pg_url = kind, workdir, pg_url
        self.databases: list[str] = []

    def fresh(self, name: str) -> str:
        if self.kind == "sqlite":
            path = self.workdir / f"{name}-{uuid.uuid4().hex[:6]}.db"
            return f"sqlite:///{path}"
        return self._pg_create(f"duban_bench_{name}_{uuid.uuid4().hex[:6]}")

    def clone(self, base_url: str, name: str) -> str:
        if self.kind == "sqlite":
            import sqlite3

            source = Path(base_url.split("///", 1)[1])
            target = self.workdir / f"{name}-{uuid.uuid4().hex[:6]}.db"
            # SQLite's online backup: the file and whatever of its WAL the checkpoints have not folded in yet
            reader, writer = sqlite3.connect(source), sqlite3.connect(target)
            try:
                reader.backup(writer)
            finally:
                reader.close()
                writer.close()
            return f"sqlite:///{target}"
        return self._pg_create(f"duban_bench_{name}_{uuid.uuid4().hex[:6]}", template=base_url.rsplit("/", 1)[1])

    def _pg_create(self, name: str, template: str | None = None) -> str:
        import sqlalchemy

        admin = sqlalchemy.create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        admin.dispose()
        self.databases.append(name)
        return self.pg_url.rsplit("/", 1)[0] + f"/{name}"

    def close(self) -> None:
        if self.kind != "postgres":
            return
        import sqlalchemy

        admin = sqlalchemy.create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.databases:
                conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class PrefectServer:
    """`prefect server start` on loopback with its own home, analytics off; backed by Postgres when given."""

    def __init__(self, workdir: Path, database_url: str | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        import flows  # noqa: F401  (duban's embedded-server defaults, inherited by the server process)

        env = dict(
            os.environ,
            PREFECT_HOME=str(workdir / "prefect"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_API_URL=self.url,
        )
        if database_url:
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
        self.log = open(workdir / "prefect-server.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait()

    def _wait(self) -> None:
        import urllib.request

        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(1)
        raise RuntimeError("the Prefect server did not start within 180 s (see prefect-server.log)")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()


# --- the run -----------------------------------------------------------------------------------------------
def median_of(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def bench_backend(kind: str, args, workdir: Path, spec_path: Path, sink_port: int, api_url: str | None) -> dict:
    backend = Backend(kind, workdir, args.pg_url)
    peaks: dict[str, float] = {}
    figures: dict[str, float] = {}
    try:
        plans = []
        base = None
        for run in range(args.runs):
            url = backend.fresh("base" if run == 0 else "plan")
            plans.append(in_child("step_plan", url, str(spec_path), args.units))
            base = base or url
        figures.update(
            plan_compile_s=median_of(plans, "plan_compile_s"),
            plan_store_s=median_of(plans, "plan_store_s"),
            assignments=plans[0]["assignments"],
            units=plans[0]["units"],
        )
        peaks["plan"] = max(p["peak_rss_mib"] for p in plans)
        small_units = max(1, min(args.units or 10**9, 2_500))
        small = backend.fresh("small")
        small_plan = in_child("step_plan", small, str(spec_path), small_units)
        idle = in_child("step_idle", [base, small], max(args.runs, 200))
        figures["idle_tick_ms"], figures["idle_tick_ms_small"] = idle["idle_tick_ms"]
        figures["small_assignments"] = small_plan["assignments"]
        peaks["idle"] = idle["peak_rss_mib"]
        if api_url:
            prefect_idle = in_child("step_prefect_idle", base, api_url, max(args.runs, 5))
            figures["idle_tick_prefect_ms"] = prefect_idle["idle_tick_prefect_ms"]
            peaks["idle_prefect"] = prefect_idle["peak_rss_mib"]
        opens, opened_url = [], None
        for _run in range(args.runs):
            opened_url = backend.clone(base, "open")
            opens.append(in_child("step_open", opened_url))
        figures.update(open_stage_s=median_of(opens, "open_stage_s"), open_stage_units=opens[0]["opened"])
        peaks["open"] = max(o["peak_rss_mib"] for o in opens)
        dispatches = []
        for _run in range(args.runs):
            url = backend.clone(opened_url, "dispatch")
            dispatches.append(in_child("step_dispatch", url, sink_port, args.dispatch))
        figures["dispatch_msgs_per_s"] = median_of(dispatches, "dispatch_msgs_per_s")
        figures["dispatched_per_run"] = dispatches[0]["dispatched"]
        peaks["dispatch"] = max(d["peak_rss_mib"] for d in dispatches)
        sims = []
        for _run in range(args.simulate_runs):
            sims.append(in_child("step_simulate", backend.clone(base, "simulate")))
        if sims:
            figures.update(simulate_s=median_of(sims, "simulate_s"), simulate_messages=sims[0]["simulate_messages"])
            peaks["simulate"] = max(s["peak_rss_mib"] for s in sims)
        figures["peak_rss_mib"] = peaks
        return figures
    finally:
        backend.close()


def baseline_runs(args, workdir: Path, api_url: str, server_pid: int) -> list[dict]:
    spec_path = workdir / "baseline.yaml"
    spec_path.write_text(BASELINE_SPEC, encoding="utf-8")
    results = []
    backend = Backend("sqlite", workdir, args.pg_url)
    for units in args.baseline:
        url = backend.fresh(f"baseline{units}")
        in_child("step_plan", url, str(spec_path), units)
        results.append(in_child("step_baseline", url, api_url, units, str(spec_path), args.runs, server_pid))
    return results


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=None, help="first N township units (default: all 38,723)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--simulate-runs", type=int, default=None, help="runs of the full simulate (default --runs)")
    parser.add_argument("--dispatch", type=int, default=5000, help="messages dispatched per run")
    parser.add_argument(
        "--baseline",
        type=lambda t: [int(x) for x in t.split(",") if x],
        default=[1000, 5000],
        help="unit counts for the task-per-unit baseline (empty to skip)",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-prefect", action="store_true", help="skip the Prefect figures and the baseline")
    parser.add_argument(
        "--pg-url", default=os.environ.get("DUBAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.simulate_runs is None:
        args.simulate_runs = args.runs
    workdir = Path(tempfile.mkdtemp(prefix="duban-bench-"))
    spec_path = workdir / "national.yaml"
    spec_path.write_text(SPEC, encoding="utf-8")
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    # The Prefect server runs on Postgres, as in production (its SQLite default locks under bursts of task events).
    prefect_backend = Backend("postgres", workdir, args.pg_url) if not args.no_postgres else None
    prefect_db = prefect_backend.fresh("prefect").replace("+psycopg", "+asyncpg") if prefect_backend else None
    server = None if args.no_prefect else PrefectServer(workdir, prefect_db)
    report: dict = {
        "machine": machine(),
        "units_arg": args.units,
        "runs": args.runs,
        "prefect_server_db": None if server is None else ("postgres" if prefect_db else "sqlite"),
    }
    try:
        for kind in ("sqlite",) + (() if args.no_postgres else ("postgres",)):
            started = time.perf_counter()
            report[kind] = bench_backend(
                kind, args, workdir, spec_path, sink.server_address[1], server.url if server else None
            )
            print(
                f"{kind}: {json.dumps(report[kind], ensure_ascii=False)} ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        report["assignments"] = report["sqlite"]["assignments"]
        report["units"] = report["sqlite"]["units"]
        if server and args.baseline:
            report["baseline"] = baseline_runs(args, workdir, server.url, server.process.pid)
            report["baseline_ratio"] = report["baseline"][-1]["ratio"]
            if len(report["baseline"]) >= 2:  # what one more unit costs each design, between the two sizes
                small, large = report["baseline"][0], report["baseline"][-1]
                extra = large["units"] - small["units"]
                per_task = (large["task_per_unit_s"] - small["task_per_unit_s"]) / extra
                per_unit = (large["duban_s"] - small["duban_s"]) / extra
                report["baseline_marginal"] = {
                    "task_per_unit_ms": per_task * 1000,
                    "duban_per_unit_ms": per_unit * 1000,
                    "ratio": per_task / per_unit if per_unit > 0 else None,
                }
            for row in report["baseline"]:
                print(
                    f"baseline {row['units']} units: task per unit {row['task_per_unit_s']:.1f} s, "
                    f"duban {row['duban_s']:.2f} s, ratio {row['ratio']:.0f} (an empty flow run "
                    f"{row['empty_flow_s']:.2f} s: no design beats {row['ceiling_ratio']:.0f})",
                    flush=True,
                )
    finally:
        if server:
            server.stop()
        if prefect_backend:
            prefect_backend.close()
        sink.shutdown()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    main()
