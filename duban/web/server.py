"""Serving the portal with uvicorn: `duban serve`, and a server on a free port in a thread (tests, screenshots).

The access log never shows a unit's token: paths are masked to /u/eyJbMSwi… before they are written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from duban.web.security import masked_path


class MaskTokens(logging.Filter):
    """Cuts unit tokens out of uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], masked_path(args[2]), *args[3:])
        return True


def _config(app: FastAPI, host: str, port: int, log_level: str) -> uvicorn.Config:
    # uvicorn would believe X-Forwarded-For from any loopback client: the app decides (DUBAN_TRUSTED_PROXIES)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, server_header=False, proxy_headers=False)
    logging.getLogger("uvicorn.access").addFilter(MaskTokens())
    return config


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run until interrupted (Ctrl-C)."""
    uvicorn.Server(_config(app, host, port, "info")).run()


@contextmanager
def running(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """The app served on a free port in a background thread; yields its base URL and stops it afterwards."""
    server = uvicorn.Server(_config(app, host, 0, "warning"))
    thread = threading.Thread(target=server.run, name="duban-portal", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the portal server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
