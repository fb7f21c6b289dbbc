"""A tick of a forwarded campaign through Prefect feeds the upper campaign; the city's next tick tells the county."""

import pytest
from sqlalchemy import select

from duban.services.submit import record_submission
from duban.settings import get_settings
from duban.store.db import engine_for
from duban.store.tables import Assignment, Intent, OutboxMessage
from tests.conftest import JINZHONG, SPECS
from tests.integration.helpers import at
from tests.samples import zip_bytes

pytestmark = pytest.mark.prefect


def test_the_forwarded_tick_records_the_countys_rollup_on_the_city_item(prefect_harness, tmp_path):
    from flows.campaign_tick import campaign_tick

    settings = get_settings()
    campaign_tick(spec=str(JINZHONG), as_of=at("2024-06-11 09:00"))
    first = campaign_tick(spec=str(SPECS / "xiyang-2024-lookback.yaml"), as_of=at("2024-06-11 09:00"))
    assert first["rollups"] == {"submitted": 0, "fed_up": 0, "waiting": []}
    summary = tmp_path / "昔阳县汇总.zip"
    summary.write_bytes(zip_bytes())
    engine = engine_for(settings.resolved_database_url)
    record_submission(
        engine,
        "xiyang-2024-lookback",
        "140724",
        "materials_rollup",
        at("2024-06-26 10:00"),
        files=[summary],
        files_dir=settings.files_dir,
    )
    fed = campaign_tick(spec="xiyang-2024-lookback", as_of=at("2024-06-26 10:05"))
    assert fed["rollups"] == {"submitted": 0, "fed_up": 1, "waiting": []}
    campaign_tick(spec="jinzhong-2024-lookback", as_of=at("2024-06-26 10:10"))
    with engine.connect() as conn:
        state = conn.execute(
            select(Assignment.state).where(
                Assignment.campaign_id == "jinzhong-2024-lookback",
                Assignment.item_id == "materials_upload",
                Assignment.unit_code == "140724",
            )
        ).scalar_one()
        receipt = conn.execute(
            select(Intent.message_id)
            .join(Assignment, Assignment.id == Intent.assignment_id)
            .where(
                Assignment.campaign_id == "jinzhong-2024-lookback",
                Assignment.item_id == "materials_upload",
                Intent.recipient == "140724",
                Intent.kind == "receipt",
            )
        ).scalar_one()
        payload = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.id == receipt)).scalar_one()
    assert state == "submitted"
    assert any(i["kind"] == "receipt" and i["item_id"] == "materials_upload" for i in payload["items"])
