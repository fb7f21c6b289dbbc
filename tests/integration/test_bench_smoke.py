"""A tiny run of the national benchmark, so the script keeps working (the full run is not part of the suite)."""

from tests.conftest import run_bench


def test_the_benchmark_runs_end_to_end_on_a_small_campaign_with_its_prefect_baseline():
    """Both backends, then the task-per-unit baseline and duban's tick as flow runs on the benchmark's own Prefect
    server (on PostgreSQL, as in production): one run of the script, which starts its server once."""
    report = run_bench(
        "bench/national.py", "--units", "60", "--runs", "1", "--dispatch", "40", "--baseline", "20,60", timeout=900
    )
    for backend in ("sqlite", "postgres"):
        figures = report[backend]
        units = figures["units"]
        assert figures["assignments"] == 4 * units and units > 60  # the townships and their counties
        assert figures["open_stage_units"] == units
        assert figures["dispatched_per_run"] == 40 and figures["dispatch_msgs_per_s"] > 0
        assert figures["simulate_messages"] > units
        assert 0 < figures["idle_tick_ms"] < 1000
        assert figures["idle_tick_prefect_ms"] > 0
        assert set(figures["peak_rss_mib"]) == {"plan", "idle", "idle_prefect", "open", "dispatch", "simulate"}
    assert report["prefect_server_db"] == "postgres"
    assert [row["units"] for row in report["baseline"]] == [20, 60]
    for row in report["baseline"]:
        assert len(row["duban_runs_s"]) == 3 and row["duban_s"] > 0 and row["task_per_unit_s"] > 0  # a tick is cheap
        assert len(row["server_quiet_waits_s"]) == 4 and min(row["server_quiet_waits_s"]) >= 1  # before each run
        assert row["task_per_unit_runs_s"] == [row["task_per_unit_s"]]  # one run each: its median is itself
        assert row["ratio"] == row["task_per_unit_s"] / row["duban_s"]
        # the ceiling is the task-per-unit run over an empty flow run's time (which of an empty flow run and duban's
        # tick of 20 units is quicker is the machine's noise: 0.119 s against 0.114 s once on a fast machine)
        assert row["empty_flow_s"] > 0 and row["ceiling_ratio"] == row["task_per_unit_s"] / row["empty_flow_s"]
        assert row["empty_flow_s"] < row["task_per_unit_s"]  # a flow run of 20 tasks costs more than one of none
    assert report["baseline_ratio"] == report["baseline"][-1]["ratio"]
    assert set(report["baseline_marginal"]) == {"task_per_unit_ms", "duban_per_unit_ms", "ratio"}


def test_the_tick_timeline_shows_where_an_opening_spends_its_time():
    """bench/tick_timeline.py: the median opening's Prefect requests and duban's statements, in order."""
    report = run_bench("bench/tick_timeline.py", "--units", "30", "--runs", "1")
    assert report["units"] == 30 and len(report["runs_ms"]) == 1
    events = report["median_run"]
    names = [event["what"] for event in events]
    assert names[:2] == ["HTTP POST /flows/", "HTTP POST /flow_runs/"]  # Prefect's start of the run comes first
    assert names[-1].startswith("HTTP POST /flow_runs/")  # and its completion last
    stage, compose = names.index("tick_stage"), names.index("compose_messages")
    assert stage < compose and any(name.startswith("  sql UPDATE assignment") for name in names[stage:compose])
    assert names.count("HTTP POST /artifacts/") == 3  # progress, unit table, summary
    assert all(0 <= event["start_ms"] <= event["end_ms"] <= report["median_ms"] for event in events)


def test_the_loop_benchmark_runs_on_a_small_campaign():
    """bench/loop.py: the review page and the idle tick with 签收, on 60 townships and their counties."""
    report = run_bench("bench/loop.py", "--units", "60", "--requests", "2", "--repeats", "5")
    assert report["acknowledgements"] == report["units"] and report["in_review"] == 60
    assert report["review_page"]["median_ms"] > 0 and 0 < report["idle_tick"]["median_ms"] < 1000


def test_the_enterprise_benchmark_runs_end_to_end_on_a_small_list():
    """bench/enterprises.py: import, plan, idle tick, opening, pages and dispatch over a small synthetic 名录."""
    report = run_bench(
        "bench/enterprises.py",
        "--enterprises",
        "3000",
        "--townships",
        "60",
        "--dispatch",
        "30",
        "--idle-rounds",
        "3",
        "--requests",
        "3",
        "--no-postgres",
    )
    figures = report["sqlite"]
    assert figures["imported"] == 3000 and figures["attached"] > 0
    assert figures["units"] == figures["attached"] + figures["national_units"]  # the enterprises and the bodies
    assert figures["open_stage_units"] == figures["units"] and figures["messages"] == figures["units"]
    assert 0 < figures["idle_tick_ms"] < 1000 and figures["unit_page_ms"] > 0 and figures["dashboard_ms"] > 0
    assert set(report) >= {
        "import_s",
        "plan_store_s",
        "open_stage_s",
        "idle_tick_ms",
        "dispatch_msgs_per_s",
        "unit_page_ms",
        "dashboard_ms",
        "peak_rss_mib",
        "units",
    }


def test_the_opening_floor_benchmark_writes_what_each_variant_says():
    """bench/opening_floor.py: duban's opening and the leaner variants each open the stage for every unit."""
    report = run_bench("bench/opening_floor.py", "--enterprises", "300", "--townships", "60", "--rounds", "1")
    units = report["units"]
    assert units > 60
    assert report["duban"]["messages"] == report["duban"]["assignments"] == units
    assert report["drafts"]["messages"] == units and report["drafts"]["assignments"] == 0
    assert report["assignments"]["assignments"] == units and report["assignments"]["messages"] == 0
    assert report["assignments+messages"]["assignments"] == report["assignments+messages"]["messages"] == units
    assert report["messages"]["messages"] == units and report["messages"]["assignments"] == 0
    assert all(report[v]["wal_mb"] > 0 for v in ("assignments", "assignments+messages", "messages"))
