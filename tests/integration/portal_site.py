"""The portal app over a real database, driven over HTTP in-process: links, CSRF from the page, uploads, login."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from duban.services.links import issue
from duban.services.operators import save_operator
from duban.settings import Settings
from duban.store.tables import AuditEntry, Submission
from duban.web import create_app
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick

OPERATOR = ("duban", "晋中督办-2024")


@dataclass
class Site:
    """One portal: its settings, engine, a movable clock and a browser-like client (cookies kept)."""

    settings: Settings
    engine: object
    now: datetime
    client: TestClient = field(init=False)

    def __post_init__(self) -> None:
        self.app = create_app(self.settings, engine=self.engine, clock=lambda: self.now)
        self.client = TestClient(self.app, raise_server_exceptions=False, base_url="http://portal.test")

    def token(self, unit: str, *, days: int = 45, issued: datetime | None = None) -> str:
        return issue(self.settings.portal_key(), CAMPAIGN, unit, issued or self.now, timedelta(days=days))

    def page(self, token: str):
        return self.client.get(f"/u/{token}")

    def csrf(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return re.search(r'name="csrf" value="([^"]+)"', response.text).group(1)

    def submit(
        self,
        token: str,
        item: str,
        files: list[tuple[str, bytes]] = (),
        metrics: dict | None = None,
        *,
        csrf: str | None = None,
        instance: str = "",
    ):
        """POST the item's form as the page would (the CSRF token read from the page unless given)."""
        data = {"csrf": self.csrf(f"/u/{token}") if csrf is None else csrf, "instance": instance}
        data.update({f"m_{k}": v for k, v in (metrics or {}).items()})
        parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
        return self.client.post(f"/u/{token}/items/{item}", data=data, files=parts or None, follow_redirects=False)

    def login(self, name: str = OPERATOR[0], password: str = OPERATOR[1]):
        csrf = self.csrf("/ops/login")
        return self.client.post(
            "/ops/login", data={"csrf": csrf, "name": name, "password": password}, follow_redirects=False
        )

    def submissions(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Submission)).scalar_one()

    def audit(self, action: str | None = None) -> list:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        with self.engine.connect() as conn:
            return list(conn.execute(query))


def make_site(engine, *, now: str = "2024-05-20 10:00", ticked: str = "2024-05-10 08:30", **overrides) -> Site:
    """The 晋中 campaign planned and ticked, a portal over it, and an operator login."""
    settings = Settings(**overrides)
    plan_jinzhong(engine)
    tick(engine, at(ticked))
    save_operator(settings.operators_file, *OPERATOR)
    return Site(settings, engine, at(now))


def text_of(html: str) -> str:
    """The visible text of a page, roughly (tags dropped, spaces squeezed)."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def stored_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.files_dir.rglob("*") if p.is_file()) if settings.files_dir.exists() else []
