"""Ticks on a real database (SQLite and Postgres): idempotent, catch up after a gap, atomic, index-driven."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from duban.state import State
from duban.tables import Assignment, Intent, TransitionRow
from duban.tick import tick_stage
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, snapshot, tick, transitions


def test_stage_opening_opens_every_assignment_of_the_stage_only(engine):
    plan_jinzhong(engine)
    results = tick(engine, at("2024-05-10 08:30"))
    assert results["self_assessment"].events == {"opened": 260}
    assert all(r.transitions == 0 for s, r in results.items() if s != "self_assessment")
    with engine.connect() as conn:
        states = dict(conn.execute(select(Assignment.state, func.count()).group_by(Assignment.state)).all())
    assert states == {"open": 260, "pending": 64}


def test_ticking_the_same_instant_twice_writes_nothing_new(engine):
    plan_jinzhong(engine)
    moment = at("2024-05-28 09:00")
    tick(engine, moment)
    before = snapshot(engine)
    again = tick(engine, moment)
    assert all(r.examined == 0 for r in again.values())
    assert snapshot(engine) == before


def test_a_tick_after_a_three_day_gap_yields_exactly_those_days_transitions(sqlite_engine, tmp_path):
    from duban.store import init_db, make_engine

    stepped = sqlite_engine
    jumped = make_engine(f"sqlite:///{tmp_path / 'jumped.db'}")
    init_db(jumped)
    start, end = at("2024-05-21 00:00"), at("2024-05-24 00:00")
    for engine in (stepped, jumped):
        plan_jinzhong(engine)
        tick(engine, start)
    moment = start
    while moment < end:
        moment += timedelta(hours=1)
        tick(stepped, moment)
    tick(jumped, end)
    expected = transitions(stepped, start, end)
    assert expected, "the three days hold reminders"
    assert transitions(jumped, start, end) == expected
    assert {e for _u, _i, e, _s, _t in expected} == {"reminder"}
    # after the gap each unit hears once about where its item stands, not once per missed event
    with jumped.connect() as conn:
        kinds = dict(conn.execute(select(Intent.kind, func.count()).where(Intent.created_at == end).group_by(Intent.kind)).all())
    assert kinds == {"reminder": 260}
    jumped.dispose()


def test_transitions_and_intents_commit_together(engine, monkeypatch):
    from duban.fastsql import Codec

    plan_jinzhong(engine)
    real_insert = Codec.insert

    def insert(self, table, columns, rows):
        if table == "intent":
            raise RuntimeError("disk full while writing intents")
        return real_insert(self, table, columns, rows)

    monkeypatch.setattr(Codec, "insert", insert)
    with pytest.raises(RuntimeError):
        tick_stage(engine, CAMPAIGN, "self_assessment", at("2024-05-10 09:00"))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TransitionRow)).scalar() == 0
        assert conn.execute(select(func.count()).where(Assignment.state != State.pending.value)).scalar() == 0


def test_an_idle_tick_reads_nothing_and_uses_the_due_events_index(sqlite_engine):
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    idle = tick(sqlite_engine, at("2024-05-15 12:00"))
    assert sum(r.examined for r in idle.values()) == 0
    with sqlite_engine.connect() as conn:
        plan = conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM assignment WHERE campaign_id = 'x' AND stage_id = 'y' "
            "AND next_event_at <= '2024-05-15 04:00:00.000000' ORDER BY next_event_at, id"
        )).all()  # fmt: skip
    assert any("ix_assignment_due_events" in str(row) for row in plan)


def test_two_ticks_at_once_apply_each_transition_once(pg_engine):
    plan_jinzhong(pg_engine)
    moment = at("2024-05-10 08:30")
    errors = []

    def run():
        try:
            tick_stage(pg_engine, CAMPAIGN, "self_assessment", moment)
        except Exception as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TransitionRow)).scalar() == 260
        assert conn.execute(select(func.count()).select_from(Intent)).scalar() == 260
