"""One urgency rule for every caller: with DUBAN_URGENT_KINDS=["overdue"], a tick at 23:00 sends its overdue
messages at once — through Prefect's flows, through `duban simulate`'s tick and dispatcher, and through a
dispatcher built without naming a policy (which used to hold them until 07:30)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from duban.notify.notifier import RecordingNotifier
from duban.services.dispatch import Dispatcher
from duban.settings import get_settings
from duban.store.tables import OutboxMessage
from tests.conftest import JINZHONG
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick

OPEN = at("2024-05-10 08:30")
NIGHT = at("2024-05-26 23:00")  # the self-assessment was due 5/25 24:00, and no tick ran on the 26th before 23:00


@pytest.fixture
def overdue_is_urgent(monkeypatch):
    monkeypatch.setenv("DUBAN_URGENT_KINDS", '["overdue"]')
    get_settings.cache_clear()


def _messages(engine) -> list[OutboxMessage]:
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return [OutboxMessage.model_validate(r._mapping) for r in rows]


@pytest.mark.prefect
def test_through_prefect_a_tick_at_23_sends_its_overdue_messages_at_once(prefect_harness, overdue_is_urgent):
    from duban.services.database import open_database
    from flows.campaign_tick import campaign_tick
    from flows.dispatch_outbox import dispatch_outbox

    campaign_tick(spec=str(JINZHONG), as_of=OPEN)
    dispatch_outbox(as_of=OPEN)
    campaign_tick(spec=str(JINZHONG), as_of=NIGHT)
    dispatch_outbox(as_of=NIGHT)
    made = [m for m in _messages(open_database()) if m.created_at == NIGHT]
    overdue = [m for m in made if m.kind == "overdue"]
    assert len(overdue) == 130 and {(m.status, m.not_before, m.sent_at) for m in overdue} == {("sent", NIGHT, NIGHT)}
    # the counties' county check, opened the same day, is not urgent: written apart, it waits for the morning
    later = [m for m in made if m.kind != "overdue"]
    assert later and {(m.kind, m.status, m.not_before) for m in later} == {
        ("opened", "pending", at("2024-05-27 07:30"))
    }


def test_through_simulate_a_tick_at_23_sends_its_overdue_messages_at_once(sqlite_engine, overdue_is_urgent):
    from duban.simulation.preview import release_ready
    from duban.simulation.simulate import domain_tick
    from duban.views.campaigns import load_campaign

    plan_jinzhong(sqlite_engine)
    campaign = load_campaign(sqlite_engine, CAMPAIGN)
    simulated_tick = domain_tick(sqlite_engine, CAMPAIGN, campaign.stage_ids())
    simulated_tick(OPEN)
    assert release_ready(sqlite_engine, campaign, OPEN)
    simulated_tick(NIGHT)
    sent = release_ready(sqlite_engine, campaign, NIGHT)
    assert len(sent) == 130 and {(m.kind, m.at[:16]) for m in sent} == {("overdue", "2024-05-26T15:00")}


def test_a_dispatcher_built_without_a_policy_follows_the_settings(sqlite_engine, overdue_is_urgent):
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, OPEN)
    sink = RecordingNotifier()
    Dispatcher(sqlite_engine, lambda _ref: sink, ["sink"]).run(OPEN)
    tick(sqlite_engine, NIGHT)
    result = Dispatcher(sqlite_engine, lambda _ref: sink, ["sink"]).run(NIGHT)
    assert result.by_kind.get("overdue") == 130 and set(result.by_kind) == {"overdue"}
