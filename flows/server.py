"""Whether the Prefect server duban reports to shows it in its own UI.

The UI in the browser calls the API at the address its server was started with: PREFECT_UI_API_URL, else
PREFECT_API_URL, else the default http://127.0.0.1:4200/api. A server started with `--port 4300` and no
PREFECT_API_URL in its environment therefore serves a UI that asks port 4200 — another server, or none — and
the operators see empty pages while duban's runs go to port 4300. The server says where its UI looks
(`/ui-settings`), so duban can compare that with PREFECT_API_URL before it works and say so.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from prefect.settings import PREFECT_API_URL


def _port_and_path(url: str) -> tuple[int | None, str]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return port, parts.path.rstrip("/")


def ui_looks_elsewhere(timeout: float = 3.0) -> str | None:
    """A warning when the server at PREFECT_API_URL serves a UI that calls another API; None when they agree, when
    no server is configured (the embedded mode) or when it cannot be asked (the command's own call says why).

    Hosts are not compared: a server reached here as 127.0.0.1 may rightly tell browsers its LAN address."""
    api = PREFECT_API_URL.value()
    if not api:
        return None
    origin = api.rstrip("/").removesuffix("/api")
    try:
        answer = httpx.get(f"{origin}/ui-settings", timeout=timeout)
        ui_api = answer.json().get("api_url") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    if not isinstance(ui_api, str) or not ui_api or _port_and_path(ui_api) == _port_and_path(api):
        return None
    return (
        f"the Prefect UI at {origin} calls its API at {ui_api}, not at {api} where duban sends its runs: "
        "its pages will be empty or show another server. Restart `prefect server start` with "
        f"PREFECT_API_URL={api} in its environment (or PREFECT_UI_API_URL), as the README's production steps say"
    )
