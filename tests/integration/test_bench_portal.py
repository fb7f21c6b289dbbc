"""A tiny run of the portal benchmark, so the script keeps working (the national run is not part of the suite)."""

from tests.conftest import run_bench


def test_the_portal_benchmark_runs_on_a_small_campaign():
    report = run_bench("bench/portal.py", "--units", "60", "--requests", "3", timeout=300)
    assert report["units"] > 60 and report["assignments"] == 4 * report["units"]
    for state in ("ticked", "behind"):
        figures = report[state]
        assert figures["unit_page_township"]["n"] == 3 and figures["dashboard_first_page"]["n"] == 3
        assert all(0 < f["median_ms"] < 10_000 for f in figures.values())
