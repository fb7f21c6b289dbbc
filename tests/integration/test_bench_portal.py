"""A tiny run of the portal benchmark, so the script keeps working (the national run is not part of the suite)."""

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_the_portal_benchmark_runs_on_a_small_campaign():
    out = subprocess.run(
        [sys.executable, "bench/portal.py", "--units", "60", "--requests", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["units"] > 60 and report["assignments"] == 4 * report["units"]
    for state in ("ticked", "behind"):
        figures = report[state]
        assert figures["unit_page_township"]["n"] == 3 and figures["dashboard_first_page"]["n"] == 3
        assert all(0 < f["median_ms"] < 10_000 for f in figures.values())
