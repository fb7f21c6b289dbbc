"""A production stack on loopback, as the README builds it: `prefect server` on its own Postgres database,
the `duban-process` work pool, a worker, duban's schema migrated, prefect.yaml deployed.

Every process starts in its own session and is stopped by its group id, so nothing outlives the stack.
Analytics are off, every address is 127.0.0.1, and HTTP to anywhere else goes to a closed local proxy port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POOL = "duban-process"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """Start with `with Stack(tmp, prefect_db_url, duban_db_url) as stack:`; `stack.env` is the admin's shell."""

    def __init__(self, home: Path, prefect_db: str, duban_db: str) -> None:
        self.home = home
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.ui = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("PREFECT_", "DUBAN_")) and k != "PYTHONDONTWRITEBYTECODE"
            },
            # compiled modules, as an installed duban has them, kept with the stack (not in the checkout)
            "PYTHONPYCACHEPREFIX": str(home / "pycache"),
            # any HTTP client that tried to leave the machine would meet a closed port
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
            "PREFECT_HOME": str(home / "prefect"),
            "PREFECT_API_URL": self.api,
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",  # the test triggers runs; no clock-driven ones
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "DUBAN_HOME": str(home / "duban"),
            "DUBAN_DATABASE_URL": duban_db,
        }
        self.stderr = ""  # of the last admin command
        self.processes: dict[str, subprocess.Popen] = {}
        self.timings: dict[str, float] = {}
        self._exit = ExitStack()

    def run(self, *args: str, timeout: float = 120) -> str:
        """Run one admin command to completion (as the README writes it); its output, or an error with it."""
        out = subprocess.run(
            [str(BIN / args[0]), *args[1:]], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if out.returncode:
            raise RuntimeError(f"{' '.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
        self.stderr = out.stderr
        return out.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.home / f"{name}.log", "w")
        self._exit.callback(log.close)
        process = subprocess.Popen(
            [str(BIN / args[0]), *args[1:]],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    def _timed(self, step: str, started: float) -> None:
        self.timings[step] = round(time.monotonic() - started, 1)

    def __enter__(self) -> Stack:
        (self.home / "prefect").mkdir(parents=True, exist_ok=True)
        try:
            t = time.monotonic()
            self.start("server", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port))
            self.run("duban", "db", "upgrade")  # duban's own database, while the server migrates its one
            self._timed("duban db upgrade", t)
            self._wait_healthy(timeout=120)
            self._timed("server", t)
            t = time.monotonic()
            self.run("prefect", "work-pool", "create", POOL, "--type", "process")
            self._timed("pool", t)
            t = time.monotonic()
            self.start("worker", "prefect", "worker", "start", "--pool", POOL, "--limit", "4")
            self.run("prefect", "--no-prompt", "deploy", "--all")
            self._timed("worker+deploy", t)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes["server"].poll() is not None:
                raise RuntimeError(f"prefect server exited:\n{self.log('server')[-3000:]}")
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"prefect server not healthy after {timeout} s:\n{self.log('server')[-3000:]}")

    def stop(self) -> None:
        """Stop the portal and the worker, then the server: SIGTERM to each process group, SIGKILL after a grace
        period."""
        for name in ("portal", "worker", "server"):
            process = self.processes.get(name)
            if process is None:
                continue
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
            _signal_group(process, signal.SIGKILL)  # stragglers of the group (uvicorn, flow-run children)
        self._exit.close()

    def leftovers(self) -> list[int]:
        """Process groups of this stack that still have a member (should be none after stop)."""
        alive = []
        for process in self.processes.values():
            try:
                os.killpg(process.pid, 0)
                alive.append(process.pid)
            except ProcessLookupError:
                pass
        return alive


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
