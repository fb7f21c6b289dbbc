"""Two workers ticking one campaign at the same instant — the ten-minute schedule and an exact-instant one
fire together — apply every transition once and write every notification once.

The whole 晋中 campaign is run with two tickers released together (a barrier) at each instant of its plan,
and compared with one ticker alone on SQLite: the same transitions, the same intents, each intent in exactly
one outbox message. On Postgres the rows are claimed with SKIP LOCKED; on SQLite writers queue.
"""

import json
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from duban.domain.schedules import tick_instants
from duban.store.tables import Assignment, Intent, OutboxMessage, TransitionRow
from tests.integration.helpers import plan_jinzhong, tick


def _instants(jinzhong):
    return tick_instants(jinzhong[1]).instants


def _together(engine, moment, tickers: int = 2, spreads: tuple[dict, ...] = ()) -> None:
    """`tickers` workers tick at `moment` at once; `spreads`: the first ones' writers and spread_from."""
    barrier = threading.Barrier(tickers)
    errors = []

    def run(spread: dict):
        try:
            barrier.wait()
            tick(engine, moment, **spread)
        except Exception as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)

    chosen = [*spreads, *({} for _ in range(tickers - len(spreads)))]
    threads = [threading.Thread(target=run, args=(spread,)) for spread in chosen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], f"a ticker failed at {moment}: {errors[0]!r}"


def _same_instants(text: str) -> str:
    """A payload with its instants written alike: SQLite writes zero microseconds (.000000), PostgreSQL none."""
    return text.replace(".000000+00:00", "+00:00")


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
        contents = Counter(
            (r.recipient, r.kind, r.created_at, r.not_before, _same_instants(json.dumps(r.payload, sort_keys=True)))
            for r in conn.execute(select(o.c.recipient, o.c.kind, o.c.created_at, o.c.not_before, o.c.payload))
        )
    return {
        "transitions": transitions,
        "intents": intents,
        "unsent": unsent,
        "per_message": per_message,
        "messages": messages,
        "contents": contents,
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


def _check(engine, jinzhong, alone, spreads: tuple[dict, ...] = (), tickers: int = 2) -> dict:
    plan_jinzhong(engine)
    for moment in _instants(jinzhong):
        _together(engine, moment, tickers, spreads)
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
    return record


def test_two_ticks_at_every_instant_of_the_campaign_write_everything_once(engine, jinzhong, alone):
    _check(engine, jinzhong, alone)


@pytest.mark.parametrize("round_", range(4))
def test_two_ticks_at_once_on_postgres_again_and_again(pg_engine, jinzhong, alone, round_):
    _check(pg_engine, jinzhong, alone)


SPREAD = {"writers": 2, "spread_from": 1}  # every tick and compose spread over two transactions, however small


def _transactions_of_the_opening(engine) -> int:
    """How many transactions wrote the transitions of the 自评 stage's opening (PostgreSQL's xmin)."""
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT count(DISTINCT t.xmin::text) FROM transition AS t JOIN assignment AS a ON a.id = t.assignment_id "
            "WHERE a.stage_id = 'self_assessment' AND t.event = 'opened'"
        ).scalar_one()


def test_a_tick_spread_over_two_writers_on_postgres_writes_what_one_writer_does(pg_engine, jinzhong, alone):
    """A stage opening of tens of thousands of units is applied and composed by two transactions at once on
    PostgreSQL (DUBAN_WRITERS); forced here for every tick of the campaign: the same transitions, intents and
    messages, to the byte of their payloads, as one worker alone on SQLite."""
    record = _check(pg_engine, jinzhong, alone, spreads=(SPREAD,), tickers=1)
    assert record["contents"] == alone["contents"]
    assert _transactions_of_the_opening(pg_engine) == 2


def test_a_spread_tick_and_a_plain_one_at_once_on_postgres_write_everything_once(pg_engine, jinzhong, alone):
    """The schedule's worker spreads its opening while an exact-instant one ticks the same instant in one
    transaction: each takes its turn, and every unit gets one transition, one intent and one message."""
    record = _check(pg_engine, jinzhong, alone, spreads=(SPREAD,))
    assert record["contents"] == alone["contents"]
