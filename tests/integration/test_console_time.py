"""Prefect's console lines are stamped in duban's zone, not the server's (an operator on a UTC server read
"16:08:19 | INFO | Flow run …" at 00:08 Beijing time, beside duban's own instants in Asia/Shanghai)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

# 2024-05-27 01:08:19 UTC is 09:08:19 in Asia/Shanghai and 21:08:19 the day before in New York
_STAMP = """
import logging
import flows.{module}
handler = next(h for h in logging.getLogger().handlers if type(h).__name__ == "PrefectConsoleHandler")
record = logging.LogRecord("prefect", logging.INFO, "flow.py", 1, "本次巡检", None, None)
record.created, record.msecs = 1716772099.25, 250.0
print(handler.formatter.format(record))
"""


def _stamped(module: str, **env: str) -> str:
    run = subprocess.run(
        [sys.executable, "-c", _STAMP.format(module=module)],
        cwd=ROOT,
        env={**os.environ, "TZ": "UTC", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.strip()


def test_a_flows_console_line_reads_beijing_time_on_a_utc_server():
    assert _stamped("campaign_tick").startswith("09:08:19.250 | INFO    | prefect - 本次巡检")


def test_duban_timezone_decides_the_console_zone():
    assert _stamped("dispatch_outbox", DUBAN_TIMEZONE="America/New_York").startswith("21:08:19.250 |")
