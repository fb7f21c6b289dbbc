"""Many flow runs in one process: the demo's simulated clock, the benchmarks.

Called outside a flow, each flow run opens its own API client: a TLS context built from certifi's bundle (35–50 ms
of CPU, even for an http:// API) and a version check with the server, every run. Inside `many_runs()` the runs
share one client, and the crash-detection heartbeat, which only adds a second to a run in the caller's own
process, is off. A deployed tick runs in a process of its own and pays the client once, like its imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.context import SyncClientContext
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings


@contextmanager
def many_runs() -> Iterator[None]:
    """Flow runs called inside share one API client and send no heartbeats."""
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), SyncClientContext.get_or_create():
        yield
