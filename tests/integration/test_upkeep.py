"""Upkeep after a large tick: on PostgreSQL the superseded row versions a stage opening leaves are vacuumed at once.

At a million listed enterprises an opening leaves a million dead versions in the due-events index that every later
tick and the dashboard read past until autovacuum comes (the dashboard's stale-state query: 40 ms before a vacuum,
1.7 ms after, at 141,568 units). The tick flow asks for VACUUM (ANALYZE) after a tick that changed many
assignments; these tests hold the service it calls, on both databases.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from duban.services.tick import tick_stage
from duban.services.upkeep import tidy_after_tick
from duban.settings import get_settings
from duban.store.db import init_db
from duban.store.engine import make_engine
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong


def _vacuumed(engine) -> dict[str, bool]:
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        rows = conn.execute(
            text(
                "SELECT relname, last_vacuum IS NOT NULL AND last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname IN ('assignment', 'intent')"
            )
        )
        return dict(rows.all())


def _dead_due_entries(engine, as_of) -> int:
    """Index entries of the due range the tick's query visits that lead to no live row (EXPLAIN ANALYZE)."""
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = conn.execute(
            text(
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM assignment WHERE campaign_id = :c "
                "AND stage_id = 'self_assessment' AND next_event_at <= :t"
            ),
            {"c": CAMPAIGN, "t": as_of},
        ).scalar_one()
    node = plan[0]["Plan"]
    while node.get("Plans") and "Index" not in node["Node Type"]:
        node = node["Plans"][0]
    index_rows = node["Actual Rows"]
    live = plan[0]["Plan"]["Actual Rows"]
    return index_rows - live


def test_a_large_tick_is_tidied_on_postgres(pg_database):
    engine = make_engine(pg_database("upkeep"))
    init_db(engine)
    plan_jinzhong(engine)
    opened_at = at("2024-05-10 08:30")
    result = tick_stage(engine, CAMPAIGN, "self_assessment", opened_at)
    assert result.transitions > 100
    assert _vacuumed(engine) == {"assignment": False, "intent": False}
    assert _dead_due_entries(engine, opened_at) >= result.transitions  # the opened rows' old versions
    # fewer changes than asked for: nothing done
    assert tidy_after_tick(engine, result.transitions, at_least=result.transitions + 1) is None
    assert _vacuumed(engine) == {"assignment": False, "intent": False}
    taken = tidy_after_tick(engine, result.transitions, at_least=100)
    assert taken is not None and taken >= 0
    assert _vacuumed(engine) == {"assignment": True, "intent": True}
    # the next tick's range scan meets no superseded version of the opened rows
    assert _dead_due_entries(engine, opened_at) == 0


def test_the_default_threshold_spares_small_ticks(pg_database):
    engine = make_engine(pg_database("upkeep_small"))
    init_db(engine)
    plan_jinzhong(engine)
    result = tick_stage(engine, CAMPAIGN, "self_assessment", at("2024-05-10 08:30"))
    assert result.transitions < get_settings().tidy_after
    assert tidy_after_tick(engine, result.transitions) is None
    assert _vacuumed(engine) == {"assignment": False, "intent": False}


@pytest.mark.parametrize("changed", [1, 10**6])
def test_sqlite_has_nothing_to_tidy(tmp_path, changed):
    engine = make_engine(f"sqlite:///{tmp_path / 'duban.db'}")
    init_db(engine)
    assert tidy_after_tick(engine, changed, at_least=1) is None


@pytest.mark.prefect
def test_the_tick_flow_tidies_after_a_large_tick(prefect_harness, pg_database, monkeypatch):
    """Through Prefect: the campaign-tick flow that opens a stage for at least DUBAN_TIDY_AFTER assignments runs
    its tidy-database task (here from 100, so 晋中's 130-unit opening counts as large), and says so."""
    from flows.campaign_tick import campaign_tick
    from tests.conftest import JINZHONG

    url = pg_database("upkeep_flow")
    monkeypatch.setenv("DUBAN_DATABASE_URL", url)
    monkeypatch.setenv("DUBAN_TIDY_AFTER", "100")
    get_settings.cache_clear()
    idle = campaign_tick(spec=str(JINZHONG), as_of=at("2024-05-09 12:00"))  # nothing opens yet
    assert "tidied_s" not in idle
    engine = make_engine(url)
    assert _vacuumed(engine) == {"assignment": False, "intent": False}
    opened = campaign_tick(spec=str(JINZHONG), as_of=at("2024-05-10 08:30"))
    assert opened["tidied_s"] >= 0
    assert _vacuumed(engine) == {"assignment": True, "intent": True}
    assert _dead_due_entries(engine, at("2024-05-10 08:30")) == 0
