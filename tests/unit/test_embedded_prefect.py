"""The embedded Prefect server a command starts (issue 25: `duban tick` once ended with an asyncio CancelledError
traceback from Prefect's task-run recorder, cancelled mid-flush as the temporary server stopped)."""

from __future__ import annotations


def test_a_one_command_server_writes_task_runs_at_its_shutdown_not_in_a_periodic_flush_it_would_cancel():
    import flows

    defaults = flows._EMBEDDED_DEFAULTS
    interval = int(defaults["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL"])
    # a tick's server starts and stops within about 20 s: its first periodic flush must come later than that
    assert interval >= 60
    assert int(defaults["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"]) <= 500  # a long run still flushes
