"""Prefect flows of duban. Thin: they read the clock, call the domain, and show results in the Prefect UI.

Importing this package sets Prefect defaults for the embedded mode (a temporary local server per process)
unless the environment already says otherwise: analytics off (bureau intranets are offline), a startup
timeout long enough for the first run's database migrations, no CSRF token asked of a server that wants
none, and batched event writes so the local SQLite server is not locked by its own bookkeeping.
"""

import os

_EMBEDDED_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Prefect's server ships with CSRF protection off; a client that supports it asks for a token anyway, once
    # per flow run (a refused round trip). Set it to true where the server turns the protection on.
    "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "5",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    # A command's temporary server lives about 20 s (start-up, one tick). Prefect 3.9 cancels a periodic flush of
    # the task-run recorder that is still writing when the server stops, and logs the cancellation as an ERROR
    # with an asyncio CancelledError traceback after the tick's summary (1 run in 3 with a 5 s interval); the
    # batch is then written by the final flush at shutdown all the same. With 60 s a one-command server never
    # flushes periodically, only at its shutdown (which is not cancelled), and a long one (the demo) still
    # flushes every 200 task runs.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "60",
}
for _name, _value in _EMBEDDED_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
