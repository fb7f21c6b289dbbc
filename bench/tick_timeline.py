"""Where one stage-opening tick spends its time: each Prefect request and each of duban's statements, in order.

    uv run python bench/tick_timeline.py                  # 5,000 townships, 9 openings, the median one shown
    uv run python bench/tick_timeline.py --units 1000 --runs 5

The same opening as the baseline of bench/national.py (one stage, one item per township; SQLite for duban, a
`prefect server` of its own on loopback backed by a fresh PostgreSQL database), run --runs times from the planned
state, each on a quiet server. Prints the median run's timeline: start and end in ms from the flow call, duration,
thread, and what ran — `HTTP …` a request to the Prefect API, `sql …` one of duban's statements, the other names
duban's steps (each task run as the flow sees it, the stage's tick, the publication's start, the events task, the
compose, the view, the publication's marks). The last line is one JSON object:
the runs' wall times and the median run's events.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import national  # noqa: E402  (bench/national.py: the campaign, the server, the quiet wait)


def timeline(url: str, runs: int, server_pid: int) -> list[dict]:
    """Open the stage `runs` times against the running server (PREFECT_API_URL set); each run's timed events."""
    import prefect.client.base

    import duban.store.codec
    import flows.campaign_tick
    import tasks.stages
    import tasks.views
    from duban.instants import parse_instant
    from duban.store.engine import make_engine
    from flows.in_process import many_runs

    events: list[tuple[str, float, float, str]] = []
    origin = [0.0]

    def timed(owner, name: str, label) -> None:
        inner = getattr(owner, name)

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                what = label(*args) if callable(label) else label
                events.append(
                    (what, started - origin[0], time.perf_counter() - origin[0], threading.current_thread().name)
                )

        setattr(owner, name, wrapper)

    for owner, name in (
        (tasks.stages, "tick_stage"),
        (tasks.stages, "compose_messages"),
        (tasks.views, "campaign_view"),
        (tasks.views, "views_stale"),
        (tasks.views, "views_published"),
        (flows.campaign_tick, "planned_campaign_id"),
        (flows.campaign_tick, "load_campaign"),
        (flows.campaign_tick, "Publication"),
        (tasks.views.emit_events, "fn"),
    ):
        timed(owner, name, "emit_events" if name == "fn" else name)
    for name in ("tick_stage_task", "compose_task"):  # the task call as the flow sees it: task run start to end
        timed(flows.campaign_tick, name, f"{name} (task run)")
    timed(duban.store.codec.Codec, "execute", lambda _codec, sql, *rest: "  sql " + " ".join(sql.split()[:4])[:48])
    timed(
        prefect.client.base.PrefectHttpxSyncClient,
        "send",
        lambda _client, request, *rest: f"HTTP {request.method} {request.url.path.split('/api', 1)[-1][:40]}",
    )
    from flows.campaign_tick import campaign_tick

    engine = make_engine(url)
    at = parse_instant(national.OPEN_AT, "Asia/Shanghai")
    results = []
    with many_runs():
        campaign_tick(spec="baseline-opening", as_of=parse_instant(national.IDLE_AT, "Asia/Shanghai"))  # warm up
        for _ in range(runs):
            national.reset_to_planned(engine)
            national.server_quiet(server_pid)
            events.clear()
            origin[0] = time.perf_counter()
            summary = campaign_tick(spec="baseline-opening", as_of=at)
            wall = time.perf_counter() - origin[0]
            assert summary["messages"] == summary["stages"][0]["events"]["opened"] > 0, summary
            results.append({"wall_ms": wall * 1000, "events": sorted(events, key=lambda e: e[1])})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=5000, help="township units opened (default 5,000)")
    parser.add_argument("--runs", type=int, default=9, help="openings; the median one is shown")
    parser.add_argument(
        "--pg-url", default=os.environ.get("DUBAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="duban-timeline-"))
    spec_path = workdir / "baseline.yaml"
    spec_path.write_text(national.BASELINE_SPEC, encoding="utf-8")
    url = f"sqlite:///{workdir / 'opening.db'}"
    national.in_child("step_plan", url, str(spec_path), args.units)
    prefect_db = national.Backend("postgres", workdir, args.pg_url)
    server = national.PrefectServer(workdir, prefect_db.fresh("prefect").replace("+psycopg", "+asyncpg"))
    try:
        os.environ.update(PREFECT_API_URL=server.url, DUBAN_DATABASE_URL=url)
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        results = timeline(url, args.runs, server.process.pid)
    finally:
        server.stop()
        prefect_db.close()
        shutil.rmtree(workdir, ignore_errors=True)
    walls = [r["wall_ms"] for r in results]
    median = sorted(results, key=lambda r: r["wall_ms"])[len(results) // 2]
    print(
        f"{args.units} units, {len(walls)} openings: median {statistics.median(walls):.0f} ms "
        f"({', '.join(f'{w:.0f}' for w in walls)}); the median run:"
    )
    for what, start, end, thread in median["events"]:
        print(f"{start * 1000:7.1f} → {end * 1000:7.1f}  ({(end - start) * 1000:6.1f})  {thread[:18]:18s} {what}")
    print(
        json.dumps(
            {
                "units": args.units,
                "runs_ms": walls,
                "median_ms": statistics.median(walls),
                "median_run": [
                    {"what": w, "start_ms": s * 1000, "end_ms": e * 1000, "thread": t}
                    for w, s, e, t in median["events"]
                ],
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
