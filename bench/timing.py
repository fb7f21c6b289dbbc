"""The timings the benchmarks share, returned under the keys they print (see bench/README.md).

Ticks of a planned campaign (bench/national.py, bench/enterprises.py) and GETs against the portal
(bench/portal.py, bench/loop.py).
"""

from __future__ import annotations

import statistics
import time


def idle_ticks(urls: list[str], campaigns: list[str], stages: list[list[str]], at: str, repeats: int) -> dict:
    """The idle tick of each planned database at `at`, interleaved round by round in this one process; the first
    round warms up and is not counted.

    Alternating the campaigns cancels the drift of the machine between processes (0.5–2.2 ms for the same code),
    which is larger than anything the campaign's size could add: the figures compare sizes, not moments.
    """
    from duban.instants import parse_instant
    from duban.services.compose import compose_messages
    from duban.services.tick import tick_stage
    from duban.store.engine import make_engine

    engines = [make_engine(url) for url in urls]
    instant = parse_instant(at, "Asia/Shanghai")
    times: list[list[float]] = [[] for _ in engines]
    for _ in range(repeats + 1):
        for engine, campaign, stage_ids, timed in zip(engines, campaigns, stages, times, strict=True):
            started = time.perf_counter()
            examined = sum(tick_stage(engine, campaign, stage, instant).examined for stage in stage_ids)
            compose_messages(engine, campaign, instant)
            timed.append(time.perf_counter() - started)
            assert examined == 0
    return {"idle_tick_ms": [statistics.median(timed[1:]) * 1000 for timed in times]}


def open_stage(url: str, campaign: str, stage: str, at: str) -> dict:
    """The tick at `at` that opens `stage` for every unit at once, its messages composed."""
    from duban.instants import parse_instant
    from duban.services.compose import compose_messages
    from duban.services.tick import tick_stage
    from duban.store.engine import make_engine

    engine = make_engine(url)
    instant = parse_instant(at, "Asia/Shanghai")
    started = time.perf_counter()
    result = tick_stage(engine, campaign, stage, instant)
    messages = compose_messages(engine, campaign, instant)
    return {
        "open_stage_s": time.perf_counter() - started,
        "opened": result.events.get("opened", 0),
        "messages": messages,
    }


def timed(client, paths: list[str], status: int = 200) -> dict:
    """GET each path in turn with `client`, each answering `status`: how many, and their median, 90th percentile
    and slowest in ms."""
    times = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == status, (path, response.status_code, response.text[:500])
    times.sort()
    return {
        "n": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
    }


def dispatch_rate(url: str, notifier, at: str, limit: int) -> tuple:  # noqa: ANN001
    """Dispatch up to `limit` messages ready at `at` through `notifier`: (the result, seconds taken)."""
    from duban.instants import parse_instant
    from duban.services.dispatch import dispatch
    from duban.store.engine import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    result = dispatch(
        engine, parse_instant(at, "Asia/Shanghai"), lambda _ref: notifier, fallback_channels=["loopback"], limit=limit
    )
    return result, time.perf_counter() - started


def scratch_database(postgres: bool, pg_url: str, work, prefix: str) -> tuple:  # noqa: ANN001
    """A new database for one bench run: a fresh PostgreSQL database beside `pg_url`, or a SQLite file in `work`.
    (url, the admin engine that created it or None, its name or None); the caller drops it when done."""
    if not postgres:
        return f"sqlite:///{work / (prefix + '.db')}", None, None
    import uuid

    import sqlalchemy

    name = f"duban_{prefix}_bench_{uuid.uuid4().hex[:6]}"
    admin = sqlalchemy.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    return pg_url.rsplit("/", 1)[0] + f"/{name}", admin, name
