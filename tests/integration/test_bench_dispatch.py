"""A tiny run of the dispatch benchmark, so the script keeps working (the full run is not part of the suite)."""

from tests.conftest import run_bench


def test_the_dispatch_benchmark_sends_every_message_through_the_wecom_path():
    report = run_bench(
        "bench/dispatch.py",
        "--messages",
        "40",
        "--runs",
        "1",
        "--concurrency",
        "1,4",
        "--latency",
        "0",
        "--ceiling",
        "20",
    )
    assert report["backend"] == "sqlite" and report["messages"] >= 36  # one message per unit opened
    assert [(row["concurrency"], row["latency_ms"]) for row in report["figures"]] == [(1, 0.0), (4, 0.0)]
    assert all(row["msgs_per_s"] > 0 and row["cpu_ms_per_msg"] > 0 for row in report["figures"])
    assert set(report["ceiling"]) == {"apprise_json", "apprise_wecombot"}
