"""Two workers ticking one campaign at the same instant — the ten-minute schedule and an exact-instant one
fire together — apply every transition once and write every notification once.

The whole 晋中 campaign is run with two tickers released together (a barrier) at each instant of its plan,
and compared with one ticker alone on SQLite: the same transitions, the same intents, each intent in exactly
one outbox message. On Postgres the rows are claimed with SKIP LOCKED; on SQLite writers queue.
"""

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from duban.domain.schedules import tick_instants
from duban.store.tables import Assignment, Intent, OutboxMessage, TransitionRow
from tests.integration.helpers import plan_jinzhong, tick


def _instants(jinzhong):
    return tick_instants(jinzhong[1]).instants


def _together(engine, moment, tickers: int = 2) -> None:
    barrier = threading.Barrier(tickers)
    errors = []

    def run():
        try:
            barrier.wait()
            tick(engine, moment)
        except Exception as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(tickers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], f"a ticker failed at {moment}: {errors[0]!r}"


def _record(engine) -> dict:
    """What the campaign did, keyed by units and items (ids differ between databases)."""
    t, i, a, o = TransitionRow.__table__, Intent.__table__, Assignment.__table__, OutboxMessage.__table__
    with engine.connect() as conn:
        transitions = Counter(
            tuple(r)
            for r in conn.execute(
                select(a.c.unit_code, a.c.item_id, t.c.event, t.c.step, t.c.event_at).join(
                    a, a.c.id == t.c.assignment_id
                )
            )
        )
        intents = Counter(
            tuple(r)
            for r in conn.execute(
                select(i.c.recipient, i.c.kind, i.c.step, a.c.unit_code, a.c.item_id, i.c.created_at).join(
                    a, a.c.id == i.c.assignment_id
                )
            )
        )
        unsent = conn.execute(select(func.count()).where(i.c.message_id.is_(None))).scalar_one()
        per_message = Counter(conn.execute(select(i.c.message_id)).scalars())
        messages = conn.execute(select(o.c.id, o.c.recipient, o.c.created_at)).all()
    return {
        "transitions": transitions,
        "intents": intents,
        "unsent": unsent,
        "per_message": per_message,
        "messages": messages,
    }


@pytest.fixture(scope="module")
def alone(jinzhong, tmp_path_factory):
    """The campaign ticked by one worker at each instant (the reference)."""
    from duban.store.db import init_db
    from duban.store.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('alone') / 'duban.db'}")
    init_db(engine)
    plan_jinzhong(engine)
    for moment in _instants(jinzhong):
        tick(engine, moment)
    record = _record(engine)
    engine.dispose()
    return record


def _check(engine, jinzhong, alone) -> None:
    plan_jinzhong(engine)
    for moment in _instants(jinzhong):
        _together(engine, moment)
    record = _record(engine)
    assert max(record["transitions"].values()) == 1, "a transition was applied twice"
    assert record["transitions"] == alone["transitions"]
    assert max(record["intents"].values()) == 1 and record["intents"] == alone["intents"]
    assert record["unsent"] == 0, "an intent was left out of every message"
    assert set(record["per_message"]) == {m.id for m in record["messages"]}, "a message carries no intent"
    # one message per recipient per tick, as with one worker
    assert Counter((m.recipient, m.created_at) for m in record["messages"]) == Counter(
        (m.recipient, m.created_at) for m in alone["messages"]
    )


def test_two_ticks_at_every_instant_of_the_campaign_write_everything_once(engine, jinzhong, alone):
    _check(engine, jinzhong, alone)


@pytest.mark.parametrize("round_", range(4))
def test_two_ticks_at_once_on_postgres_again_and_again(pg_engine, jinzhong, alone, round_):
    _check(pg_engine, jinzhong, alone)
