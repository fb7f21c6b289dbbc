"""A whole campaign over bots with keys: no key appears in any log line, artifact, record or file.

The 晋中 demo runs through the Prefect flows with every unit's messages going first to a bot whose key is
refused (so failure paths write their details too) and then to a working bot. Afterwards everything duban
and Prefect wrote is searched for the keys.
"""

import asyncio
import logging

import pytest
from sqlalchemy import MetaData, select

from duban.settings import get_settings
from duban.store.db import engine_for
from tests.integration.fake_bots import BotServer

pytestmark = pytest.mark.prefect

GOOD_KEY = "okJinzhongSECRET7f3a9b"
BAD_KEY = "badkeyXiyangSECRET55c1"


def _prefect_logs_and_artifacts() -> str:
    """Every log line and artifact the Prefect server holds (read over its REST API)."""
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            logs = await client._client.post("/logs/filter", json={"limit": 200, "offset": 0, "sort": "TIMESTAMP_ASC"})
            artifacts = await client._client.post(
                "/artifacts/filter", json={"limit": 200, "offset": 0, "sort": "CREATED_DESC"}
            )
            return [log["message"] for log in logs.json()], [str(a) for a in artifacts.json()]

    logs, artifacts = asyncio.run(read())
    assert logs and artifacts  # the search below looks at something
    return "\n".join(logs + artifacts)


def test_no_secret_leaks_anywhere_in_a_campaign(prefect_harness, monkeypatch, caplog, capfd):
    from duban.simulation.demo import run_demo

    with BotServer() as bots:
        monkeypatch.setenv("JZ_GOOD", f"wecombot://{GOOD_KEY}?base={bots.base}")
        monkeypatch.setenv("JZ_BAD", f"wecombot://{BAD_KEY}?base={bots.base}")
        monkeypatch.setenv("DUBAN_FALLBACK_CHANNELS", '["env:JZ_BAD", "env:JZ_GOOD"]')
        monkeypatch.setenv("DUBAN_RATE_LIMITS", "{}")
        get_settings.cache_clear()
        caplog.set_level(logging.DEBUG)
        result = run_demo(get_settings())
        assert sum(result.sent_by_kind.values()) > 700 and len(bots.received[GOOD_KEY]) > 700

    engine = engine_for(get_settings().resolved_database_url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        database = "\n".join(str(row) for table in meta.sorted_tables for row in conn.execute(select(table)))
    assert "errcode 93000" in database  # the refusals were recorded …
    files = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in get_settings().home.rglob("*")
        if p.is_file() and p.suffix in (".txt", ".jsonl")
    )
    out, err = capfd.readouterr()
    texts = {
        "database": database,
        "files": files,
        "prefect": _prefect_logs_and_artifacts(),
        "log records": caplog.text,
        "output": out + err,
    }
    for where, text in texts.items():
        for secret in (GOOD_KEY, BAD_KEY, "SECRET"):
            assert secret not in text, f"{secret} found in {where}"
