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
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "5",
}
for _name, _value in _EMBEDDED_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
