"""Dispatch throughput through the real channel path: Apprise, duban's WeCom plugin, per-bot rate limits.

    uv run python bench/dispatch.py                        # 3,000 messages, SQLite, concurrency 1/8/16, 0 and 50 ms
    uv run python bench/dispatch.py --messages 1000 --runs 1 --postgres

A stage opening of the national benchmark campaign over the first N townships writes one message per unit;
every unit has its own WeCom group bot (`wecombot://…?base=` a loopback server that answers like WeCom,
errcode and all, in a separate process). The dispatcher sends them as `duban dispatch` does: claim, render,
take the bot's rate-limit slot in the database, post through Apprise, read the errcode, record the delivery.
Measured as messages per second per dispatcher process (median of --runs), at each concurrency (threads per
dispatcher) and each endpoint latency; first, the ceiling: Apprise alone posting to the same server (the stock
`json://` plugin and duban's WeCom plugin, no outbox, no database). The last line of output is one JSON object
with every figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from national import CAMPAIGN, OPEN_AT, SPEC, STAGES, Backend, machine, plan_into  # noqa: E402


def _bot_server(latency: float, conn) -> None:  # noqa: ANN001
    """A child process: the fake WeCom/DingTalk/Feishu server, until told to stop."""
    from tests.integration.fake_bots import BotServer

    with BotServer(latency=latency) as server:
        conn.send(server.base)
        conn.recv()


def open_stage(url: str) -> int:
    """Tick the first stage open and compose its messages; give every unit its own bot."""
    from sqlalchemy import text

    from duban.instants import parse_instant
    from duban.services.compose import compose_messages
    from duban.services.tick import tick_stage
    from duban.store.engine import make_engine

    engine = make_engine(url)
    at = parse_instant(OPEN_AT, "Asia/Shanghai")
    for stage in STAGES:
        tick_stage(engine, CAMPAIGN, stage, at)
    messages = compose_messages(engine, CAMPAIGN, at)
    with engine.begin() as conn:
        codes = conn.execute(text("SELECT code FROM campaign_unit WHERE campaign_id = :c"), {"c": CAMPAIGN}).scalars()
        conn.execute(
            text("UPDATE campaign_unit SET channels = :ch WHERE campaign_id = :c AND code = :code"),
            [{"ch": json.dumps([f"env:BOT_{code}"]), "c": CAMPAIGN, "code": code} for code in codes],
        )
    engine.dispose()
    return messages


def run_dispatch(url: str, base: str, latency: float, concurrency: int) -> dict:
    """One dispatcher process draining the outbox; every unit's bot URL is its own (resolved like secret:NAME)."""
    import apprise
    from sqlalchemy import text

    from duban.instants import parse_instant
    from duban.notify.apprise_notifier import AppriseNotifier
    from duban.notify.secrets import install_log_masking, resolver
    from duban.services.dispatch import Dispatcher
    from duban.settings import get_settings
    from duban.store.engine import make_engine
    from duban.store.ratelimit import Limit

    engine = make_engine(url)
    with engine.connect() as conn:
        codes = conn.execute(text("SELECT code FROM campaign_unit WHERE campaign_id = :c"), {"c": CAMPAIGN}).scalars()
        prefix = "slow" if latency else "ok"
        bots = {f"BOT_{code}": f"wecombot://{prefix}{code.replace('-', '')}?base={base}" for code in codes}
    install_log_masking()
    limits = {scheme: Limit(per_minute) for scheme, per_minute in get_settings().rate_limits.items()}
    notifier = AppriseNotifier(resolver(bots.get, lambda _name: None), limits)
    dispatcher = Dispatcher(engine, lambda _ref: notifier, ["sink"], concurrency=concurrency)
    # Apprise imports its few hundred plugin modules on the first URL it parses: a once-per-process cost
    # (seconds where Python may not keep bytecode caches), not part of the throughput
    apprise.Apprise.instantiate("json://127.0.0.1/", suppress_exceptions=True)
    at = parse_instant(OPEN_AT, "Asia/Shanghai")
    started = time.perf_counter()
    cpu = time.process_time()
    result = dispatcher.run(at)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.sent == result.claimed and result.failed == 0, result
    return {"msgs_per_s": result.sent / elapsed, "sent": result.sent, "cpu_ms_per_msg": cpu * 1000 / result.sent}


def apprise_ceiling(base: str, messages: int) -> dict:
    """Apprise alone, no duban: the stock `json://` plugin and duban's WeCom plugin posting to the same server.

    The ceiling a dispatcher process can reach on this machine (one thread; Apprise's per-object sleep off).
    """
    import apprise

    from duban.notify.apprise_notifier import register_plugins

    register_plugins()
    host = base.split("://", 1)[1].rstrip("/")
    text = "【督办】自评报告 已开始报送，请于3月21日 周五 24:00前上传。" * 4
    figures = {}
    for name, url in (
        ("apprise_json", f"json://{host}/cgi-bin/webhook/send?-key=ok1"),
        ("apprise_wecombot", f"wecombot://ok1?base={base}"),
    ):
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=False)
        plugin.request_rate_per_sec = 0
        plugin.notify(body=text, title="")  # warm up the connection
        started, cpu = time.perf_counter(), time.process_time()
        sent = sum(bool(plugin.notify(body=text, title="")) for _ in range(messages))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert sent == messages, (name, sent)
        figures[name] = {"msgs_per_s": round(messages / elapsed, 1), "cpu_ms_per_msg": round(cpu * 1000 / messages, 2)}
    return figures


def in_child(fn, *args) -> dict:  # noqa: ANN001
    """Run one measurement in a fresh process (fresh caches, its own peak memory)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000, help="about this many messages (one per unit)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--concurrency", type=lambda t: [int(x) for x in t.split(",")], default=[1, 8, 16])
    parser.add_argument("--latency", type=lambda t: [float(x) for x in t.split(",")], default=[0.0, 0.05])
    parser.add_argument("--ceiling", type=int, default=1000, help="messages sent through Apprise alone, per plugin")
    parser.add_argument("--postgres", action="store_true", help="the outbox on PostgreSQL instead of SQLite")
    parser.add_argument(
        "--pg-url", default=os.environ.get("DUBAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    workdir = Path(tempfile.mkdtemp(prefix="duban-dispatch-"))
    spec_path = workdir / "national.yaml"
    spec_path.write_text(SPEC, encoding="utf-8")
    kind = "postgres" if args.postgres else "sqlite"
    backend = Backend(kind, workdir, args.pg_url)
    townships = max(args.messages - args.messages // 12, 1)  # about one county per dozen townships
    report: dict = {"machine": machine(), "backend": kind, "runs": args.runs, "figures": []}
    try:
        base_url = backend.fresh("base")
        in_child(plan_into, base_url, str(spec_path), townships)
        opened = backend.clone(base_url, "opened")
        report["messages"] = in_child(open_stage, opened)
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        server = ctx.Process(target=_bot_server, args=(0.0, child), daemon=True)
        server.start()
        try:
            report["ceiling"] = in_child(apprise_ceiling, parent.recv(), args.ceiling)
        finally:
            parent.send("stop")
            server.join(10)
        for name, row in report["ceiling"].items():
            print(
                f"ceiling, {name} alone: {row['msgs_per_s']:.0f} msg/s, {row['cpu_ms_per_msg']:.2f} ms CPU/msg",
                flush=True,
            )
        for latency in args.latency:
            ctx = multiprocessing.get_context("spawn")
            parent, child = ctx.Pipe()
            server = ctx.Process(target=_bot_server, args=(latency, child), daemon=True)
            server.start()
            base = parent.recv()
            try:
                for concurrency in args.concurrency:
                    runs = [
                        in_child(run_dispatch, backend.clone(opened, "run"), base, latency, concurrency)
                        for _ in range(args.runs)
                    ]
                    row = {
                        "latency_ms": latency * 1000,
                        "concurrency": concurrency,
                        "msgs_per_s": round(statistics.median(r["msgs_per_s"] for r in runs), 1),
                        "cpu_ms_per_msg": round(statistics.median(r["cpu_ms_per_msg"] for r in runs), 2),
                    }
                    report["figures"].append(row)
                    print(
                        f"{kind} latency {row['latency_ms']:.0f} ms, {concurrency} thread(s): "
                        f"{row['msgs_per_s']:.0f} msg/s, {row['cpu_ms_per_msg']:.2f} ms CPU/msg",
                        flush=True,
                    )
            finally:
                parent.send("stop")
                server.join(10)
    finally:
        backend.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    main()
