"""Ticks on a real database (SQLite and Postgres): idempotent, catch up after a gap, atomic, index-driven."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from duban.domain.state import State
from duban.services.tick import tick_stage
from duban.store.tables import Assignment, DraftRange, Intent, OutboxMessage, TransitionRow
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
    from duban.store.db import init_db
    from duban.store.engine import make_engine

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
        kinds = dict(
            conn.execute(select(Intent.kind, func.count()).where(Intent.created_at == end).group_by(Intent.kind)).all()
        )
    assert kinds == {"reminder": 260}
    jumped.dispose()


@pytest.mark.parametrize("many_cases", [False, True], ids=["by-case", "row-by-row"])
def test_transitions_and_intents_commit_together(engine, monkeypatch, many_cases):
    """The database refuses the intents (a trigger stands in for a full disk): nothing of the tick remains."""
    import duban.services.tick

    plan_jinzhong(engine)
    if many_cases:
        monkeypatch.setattr(duban.services.tick, "MAX_CASES", 0)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_intents BEFORE INSERT ON intent "
                "BEGIN SELECT RAISE(ABORT, 'disk full while writing intents'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_intents() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'disk full while writing intents'; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_intents BEFORE INSERT ON intent FOR EACH ROW EXECUTE FUNCTION refuse_intents()"
            )
    try:
        with pytest.raises(Exception, match="disk full while writing intents"):
            tick_stage(engine, CAMPAIGN, "self_assessment", at("2024-05-10 09:00"))
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "DROP TRIGGER refuse_intents" + ("" if engine.dialect.name == "sqlite" else " ON intent")
            )
            if engine.dialect.name != "sqlite":
                conn.exec_driver_sql("DROP FUNCTION refuse_intents()")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TransitionRow)).scalar() == 0
        assert conn.execute(select(func.count()).where(Assignment.state != State.pending.value)).scalar() == 0


def _planned_opening(engine) -> list[int]:
    """The 晋中 campaign planned: the ids of its 自评 stage's assignments, in order."""
    plan_jinzhong(engine)
    with engine.connect() as conn:
        sql = "SELECT id FROM assignment WHERE stage_id = 'self_assessment' ORDER BY id"
        return list(conn.exec_driver_sql(sql).scalars().all())


def test_a_spread_opening_whose_one_share_fails_leaves_nothing_and_its_retry_reports_every_unit(pg_engine):
    """PostgreSQL spreads a large opening over two transactions (DUBAN_WRITERS); the database refuses the intents
    of the units in the second range (a trigger stands in for a lost connection or a full disk): the first range's
    transaction, done already, is rolled back with it, as one transaction would be, so the task's retry opens every
    unit and says so — the run's log, its summary, its events and the upkeep all count what it opened."""
    ids = _planned_opening(pg_engine)
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION refuse_second_range() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.assignment_id >= {ids[len(ids) * 3 // 4]} THEN "
            "RAISE EXCEPTION 'connection lost while writing intents'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse_second_range BEFORE INSERT ON intent FOR EACH ROW "
            "EXECUTE FUNCTION refuse_second_range()"
        )
    opening = at("2024-05-10 08:30")
    try:
        with pytest.raises(Exception, match="connection lost while writing intents"):
            tick_stage(pg_engine, CAMPAIGN, "self_assessment", opening, writers=2, spread_from=1)
        with pg_engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(TransitionRow)).scalar() == 0
            assert conn.execute(select(func.count()).select_from(Intent)).scalar() == 0
            assert conn.execute(select(func.count()).where(Assignment.state != State.pending.value)).scalar() == 0
            # the messages the shares drafted went with them
            assert conn.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0
            assert conn.execute(select(func.count()).select_from(DraftRange)).scalar() == 0
    finally:
        with pg_engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_second_range ON intent")
            conn.exec_driver_sql("DROP FUNCTION refuse_second_range()")
    retried = tick_stage(pg_engine, CAMPAIGN, "self_assessment", opening, writers=2, spread_from=1)
    assert retried.events["opened"] == len(ids) and retried.intents == len(ids)


TWO_STAGES = """\
id: xiyang-2024-two-openings
title: 统计执法自查与台账整理
issuer: 昔阳县统计局
issued_on: 2024-05-06
registry: {divisions: ["140724"]}
groups:
  townships: {level: township}
stages:
  - id: self_check
    name: 自查阶段
    window: {start: 2024-05-13, end: 2024-05-24}
    items:
      - {id: self_report, name: 自查报告, units: townships}
  - id: ledgers
    name: 台账整理
    window: {start: 2024-05-13, end: 2024-05-31}
    items:
      - {id: ledger_list, name: 台账清单, units: townships}
"""


def _counts(engine) -> tuple[int, int, int, int]:
    """(messages, draft ranges, intents, intents in no message)."""
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one(),
            conn.execute(select(func.count()).select_from(DraftRange)).scalar_one(),
            conn.execute(select(func.count()).select_from(Intent)).scalar_one(),
            conn.execute(select(func.count()).where(Intent.message_id.is_(None))).scalar_one(),
        )


def _claim(engine, as_of) -> list:
    from duban.store.dispatching import claim_ready

    with engine.begin() as conn:
        return claim_ready(conn, as_of, waiting=("pending",), gone=(), worker="dispatcher-1", limit=100)


def test_the_messages_a_tick_writes_wait_for_its_compose_and_none_is_lost(engine):
    """An opening of one item writes each township's message at the tick, its intent linked; a dispatcher that
    polls between the tick and its compose takes none of them (the township may yet be told more in the same
    tick); the worker dies before composing, and the next tick's compose lets every one of them go, once."""
    from duban.services.compose import compose_messages
    from duban.services.lifecycle import ensure_planned
    from tests.conftest import ROOT

    xiyang = ensure_planned(engine, ROOT / "tests" / "specs" / "xiyang-2024-outcomes.yaml", now=at("2024-05-06 12:00"))
    opening = at("2024-05-13 08:30")
    assert tick_stage(engine, xiyang.campaign_id, "self_check", opening).intents == 10
    assert _counts(engine) == (10, 1, 10, 0)  # ten messages, held as one range; every intent in its message
    assert _claim(engine, at("2024-05-13 08:31")) == []
    assert compose_messages(engine, xiyang.campaign_id, at("2024-05-13 08:40")) == 10  # the next tick's compose
    assert _counts(engine) == (10, 0, 10, 0)
    claimed = _claim(engine, at("2024-05-13 08:41"))
    assert len(claimed) == 10 and len({c.recipient for c in claimed}) == 10
    assert compose_messages(engine, xiyang.campaign_id, at("2024-05-13 08:50")) == 0


def test_a_dispatcher_composes_drafts_whose_compose_never_came_one_message_per_unit(engine, tmp_path):
    """The worker is killed after both stages' ticks, before their compose (an outside tester's finding): past the
    hold the dispatcher sent each township two 开始办理 messages, one per stage. It now composes them first: one
    message per township with both items."""
    from duban.notify.notifier import RecordingNotifier
    from duban.services.dispatch import Dispatcher
    from duban.services.lifecycle import ensure_planned

    spec = tmp_path / "two-openings.yaml"
    spec.write_text(TWO_STAGES, encoding="utf-8")
    campaign = ensure_planned(engine, spec, now=at("2024-05-06 12:00")).campaign_id
    opening = at("2024-05-13 08:30")
    for stage in ("self_check", "ledgers"):
        assert tick_stage(engine, campaign, stage, opening).intents == 10
    sink = RecordingNotifier()
    dispatcher = Dispatcher(engine, lambda _ref: sink, ["sink"])
    assert dispatcher.run(at("2024-05-13 08:44")).claimed == 0  # held for the compose that may yet come
    dispatcher.run(at("2024-05-13 08:46"))
    sent = sink.sent["sink"]
    assert len(sent) == 10 and len({e.recipient for e in sent}) == 10
    assert all("台账清单" in e.rendered.text and "自查报告" in e.rendered.text for e in sent)
    assert _counts(engine) == (10, 0, 20, 0)


def test_messages_whose_compose_never_comes_are_sent_after_the_hold_and_never_taken_back(engine, tmp_path):
    """The worker dies after its tick and the campaign is not ticked again: its drafted messages would wait for
    ever. Past DRAFT_HOLD (15 minutes) the dispatcher takes them as they are; a compose that comes later lets the
    range go and takes back none of the messages already taken, though each township has a second item."""
    from duban.services.compose import compose_messages
    from duban.services.lifecycle import ensure_planned

    spec = tmp_path / "two-openings.yaml"
    spec.write_text(TWO_STAGES, encoding="utf-8")
    campaign = ensure_planned(engine, spec, now=at("2024-05-06 12:00")).campaign_id
    opening = at("2024-05-13 08:30")
    assert tick_stage(engine, campaign, "self_check", opening).intents == 10
    assert _claim(engine, at("2024-05-13 08:44")) == []
    claimed = _claim(engine, at("2024-05-13 08:46"))
    assert len(claimed) == 10
    assert tick_stage(engine, campaign, "ledgers", opening).intents == 10  # a late retry of the other stage
    assert compose_messages(engine, campaign, at("2024-05-13 08:50")) == 20
    assert _counts(engine) == (20, 0, 20, 0)
    with engine.connect() as conn:
        taken = conn.execute(select(func.count()).where(OutboxMessage.status == "sending")).scalar_one()
    assert taken == 10


def test_a_unit_opened_in_two_stages_at_once_gets_one_message(engine, tmp_path):
    """Two stages of one item each open at the same instant: each stage's tick writes a message per township, and
    the compose takes both back and tells each township of its two items in one message (no second message)."""
    from duban.services.compose import compose_messages
    from duban.services.lifecycle import ensure_planned

    spec = tmp_path / "two-openings.yaml"
    spec.write_text(TWO_STAGES, encoding="utf-8")
    campaign = ensure_planned(engine, spec, now=at("2024-05-06 12:00")).campaign_id
    opening = at("2024-05-13 08:30")
    assert tick_stage(engine, campaign, "self_check", opening).intents == 10
    assert tick_stage(engine, campaign, "ledgers", opening).intents == 10
    assert _counts(engine) == (20, 2, 20, 0)
    assert compose_messages(engine, campaign, opening) == 10
    assert _counts(engine) == (10, 0, 20, 0)
    with engine.connect() as conn:
        messages = conn.execute(select(OutboxMessage.recipient, OutboxMessage.payload)).all()
    assert len({m.recipient for m in messages}) == 10
    assert all({i["item_id"] for i in m.payload["items"]} == {"self_report", "ledger_list"} for m in messages)


def _lose_the_waiting_share(engine, statement: str, lost: list) -> None:
    """Terminate the first backend seen idle in a transaction whose last statement began with `statement` (a share
    of a spread tick or compose that has done its work and waits for the others), as a lost connection would."""
    with engine.connect() as watcher:
        for _ in range(2000):
            waiting = (
                watcher.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "  # not another run's
                    "AND state = 'idle in transaction' AND starts_with(query, %(s)s)",
                    {"s": statement},
                )
                .scalars()
                .all()
            )
            if waiting:
                watcher.exec_driver_sql(f"SELECT pg_terminate_backend({int(waiting[0])})")
                lost.append(waiting[0])
                return
            watcher.commit()  # the activity view is read once per transaction: a new one each time
            time.sleep(0.005)


def test_a_share_lost_while_it_waits_for_the_other_is_applied_again_and_the_tick_reports_every_unit(pg_engine):
    """The first range's transaction has done its work and waits for the second (slowed here by a trigger) when its
    connection is lost (a network drop, idle_in_transaction_session_timeout): the second commits, the first cannot.
    The tick applies the first range again in its own transaction, so it reports — and the flow's log, summary,
    events and upkeep count — every unit it opened, each once (an outside tester's finding: it said half)."""
    ids = _planned_opening(pg_engine)
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION slow_second_range() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.assignment_id > {(ids[0] + ids[-1]) // 2} THEN PERFORM pg_sleep(0.01); END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER slow_second_range BEFORE INSERT ON intent FOR EACH ROW EXECUTE FUNCTION slow_second_range()"
        )
    lost: list[int] = []
    watcher = threading.Thread(
        target=_lose_the_waiting_share, args=(pg_engine, "WITH moved AS (UPDATE assignment", lost)
    )
    watcher.start()
    try:
        opened = tick_stage(pg_engine, CAMPAIGN, "self_assessment", at("2024-05-10 08:30"), writers=2, spread_from=1)
    finally:
        watcher.join()
        with pg_engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER slow_second_range ON intent")
            conn.exec_driver_sql("DROP FUNCTION slow_second_range()")
    assert lost, "the first range's transaction was never seen waiting"
    assert opened.events["opened"] == len(ids) and opened.intents == len(ids) and opened.examined == len(ids)
    with pg_engine.connect() as conn:
        per_assignment = conn.exec_driver_sql(
            "SELECT count(*), count(DISTINCT assignment_id) FROM transition WHERE event = 'opened'"
        ).one()
    assert tuple(per_assignment) == (len(ids), len(ids))


def test_a_spread_compose_whose_one_share_fails_writes_no_message_and_its_retry_writes_each_once(pg_engine):
    """The messages of a large opening are written by two transactions at once on PostgreSQL (one item per
    township of 昔阳县: one message each); 乐平镇's message is refused by the database: no message of either share
    remains, every intent still waits, and the retry writes one message per township."""
    from duban.services.compose import compose_messages
    from duban.services.lifecycle import ensure_planned
    from tests.conftest import ROOT

    xiyang = ensure_planned(
        pg_engine, ROOT / "tests" / "specs" / "xiyang-2024-outcomes.yaml", now=at("2024-05-06 12:00")
    )
    opening = at("2024-05-13 08:30")
    opened = tick_stage(pg_engine, xiyang.campaign_id, "self_check", opening, drafts=False)  # compose writes all
    assert opened.intents == 10  # one per township
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION refuse_leping() RETURNS trigger AS $$ BEGIN IF NEW.recipient = '140724100' THEN "
            "RAISE EXCEPTION 'connection lost while writing messages'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse_leping BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_leping()"
        )
    try:
        with pytest.raises(Exception, match="connection lost while writing messages"):
            compose_messages(pg_engine, xiyang.campaign_id, opening, writers=2, spread_from=1)
        with pg_engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0
            assert conn.execute(select(func.count()).where(Intent.message_id.is_(None))).scalar() == opened.intents
    finally:
        with pg_engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_leping ON outbox")
            conn.exec_driver_sql("DROP FUNCTION refuse_leping()")
    with pg_engine.connect() as conn:
        recipients = conn.execute(select(func.count(func.distinct(Intent.recipient)))).scalar()
    assert compose_messages(pg_engine, xiyang.campaign_id, opening, writers=2, spread_from=1) == recipients
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count(func.distinct(OutboxMessage.recipient)))).scalar() == recipients
        assert conn.execute(select(func.count()).where(Intent.message_id.is_(None))).scalar() == 0


def test_a_compose_share_lost_while_it_waits_is_written_again_and_every_message_counted(pg_engine):
    """The same for the messages: one share of the recipients has written its messages and waits when its
    connection is lost; the other commits, and the compose writes the lost share's again in its own transaction,
    so it says how many it wrote and every township has one message."""
    from duban.services.compose import compose_messages
    from duban.services.lifecycle import ensure_planned
    from tests.conftest import ROOT

    spec = ROOT / "tests" / "specs" / "xiyang-2024-outcomes.yaml"
    xiyang = ensure_planned(pg_engine, spec, now=at("2024-05-06 12:00"))
    opening = at("2024-05-13 08:30")
    assert tick_stage(pg_engine, xiyang.campaign_id, "self_check", opening, drafts=False).intents == 10
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION slow_share_one() RETURNS trigger AS $$ BEGIN "
            "IF mod(hashtext(NEW.recipient) & 2147483647, 2) = 1 THEN PERFORM pg_sleep(0.2); END IF; "
            "RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER slow_share_one BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION slow_share_one()"
        )
    lost: list[int] = []
    watcher = threading.Thread(target=_lose_the_waiting_share, args=(pg_engine, "WITH pending AS", lost))
    watcher.start()
    try:
        written = compose_messages(pg_engine, xiyang.campaign_id, opening, writers=2, spread_from=1)
    finally:
        watcher.join()
        with pg_engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER slow_share_one ON outbox")
            conn.exec_driver_sql("DROP FUNCTION slow_share_one()")
    assert lost, "no share was seen waiting"
    assert written == 10
    with pg_engine.connect() as conn:
        per_recipient = conn.execute(select(func.count(), func.count(func.distinct(OutboxMessage.recipient)))).one()
        assert tuple(per_recipient) == (10, 10)
        assert conn.execute(select(func.count()).where(Intent.message_id.is_(None))).scalar() == 0


def _record(engine) -> dict:
    """What a campaign wrote, by units and items rather than row ids (the two ways number rows differently)."""
    import json

    t, i, a, o = TransitionRow.__table__, Intent.__table__, Assignment.__table__, OutboxMessage.__table__
    with engine.connect() as conn:
        assignments = sorted(
            tuple(map(str, r))
            for r in conn.execute(
                select(
                    a.c.unit_code,
                    a.c.item_id,
                    a.c.instance,
                    a.c.state,
                    a.c.reminders_done,
                    a.c.escalations_done,
                    a.c.next_event_at,
                    a.c.updated_at,
                )
            )
        )
        moves = sorted(
            tuple(map(str, r))
            for r in conn.execute(
                select(
                    a.c.unit_code,
                    a.c.item_id,
                    t.c.event,
                    t.c.step,
                    t.c.from_state,
                    t.c.to_state,
                    t.c.event_at,
                    t.c.recorded_at,
                ).join(a, a.c.id == t.c.assignment_id)
            )
        )
        intents = sorted(
            tuple(map(str, r))
            for r in conn.execute(
                select(
                    a.c.unit_code, a.c.item_id, i.c.recipient, i.c.kind, i.c.step, i.c.event_at, i.c.created_at
                ).join(a, a.c.id == i.c.assignment_id)
            )
        )
        messages = sorted(
            (
                r.recipient,
                r.kind,
                str(r.created_at),
                str(r.not_before),
                sorted(json.dumps(item, sort_keys=True) for item in r.payload["items"]),
            )
            for r in conn.execute(select(o))
        )
    return {"assignments": assignments, "transitions": moves, "intents": intents, "messages": messages}


@pytest.mark.parametrize("dues", ["shared", "per unit"])
@pytest.mark.parametrize("limit", [0, 1, 2, "old-sqlite"])
def test_row_by_row_and_by_case_record_the_same_campaign(sqlite_engine, tmp_path, monkeypatch, jinzhong, limit, dues):
    """The 晋中 campaign ticked every few instants (so ticks catch up several events) with cases applied by
    the database, and again with rows read one by one (or a mix, when a stage has more cases than the
    limit; or all of it, as with an SQLite library older than 3.38): the same states, transitions, intents
    and messages. With every unit's dues alike a stage's due rows are one case (applied by the due range
    alone); with half the units due a day later, as after per-unit amendments, each tick has two cases."""
    import duban.services.compose
    import duban.services.tick
    from duban.domain.schedules import tick_instants
    from duban.store.db import init_db
    from duban.store.engine import make_engine

    by_rows = make_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    init_db(by_rows)
    plan_jinzhong(sqlite_engine)
    plan_jinzhong(by_rows)
    if dues == "per unit":
        for engine in (sqlite_engine, by_rows):
            with engine.begin() as conn:
                conn.execute(
                    text("UPDATE assignment SET due_at = date(due_at, '+1 day') || substr(due_at, 11) WHERE id % 2 = 0")
                )
    instants = tick_instants(jinzhong[1]).instants
    moments = [*instants[::4], instants[-1] + timedelta(days=3)]
    for moment in moments:
        tick(sqlite_engine, moment)
    if limit == "old-sqlite":
        monkeypatch.setattr(duban.services.tick, "SQLITE_BY_CASE", False)
        monkeypatch.setattr(duban.services.compose, "SQLITE_BY_CASE", False)
    else:
        monkeypatch.setattr(duban.services.tick, "MAX_CASES", limit)
    for moment in moments:
        tick(by_rows, moment)
    expected = _record(sqlite_engine)
    assert {row[2] for row in expected["transitions"]} == {"opened", "reminder", "overdue", "escalation"}
    assert len(expected["messages"]) > 300
    assert _record(by_rows) == expected
    by_rows.dispose()


def test_an_idle_tick_reads_nothing_and_uses_the_due_events_index(sqlite_engine):
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    idle = tick(sqlite_engine, at("2024-05-15 12:00"))
    assert sum(r.examined for r in idle.values()) == 0
    with sqlite_engine.connect() as conn:
        plan = conn.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT id FROM assignment WHERE campaign_id = 'x' AND stage_id = 'y' "
                "AND next_event_at <= '2024-05-15 04:00:00.000000' ORDER BY next_event_at, id"
            )
        ).all()
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


@pytest.mark.parametrize("many_cases", [False, True], ids=["by-case", "row-by-row"])
def test_a_tick_on_postgres_skips_a_row_another_transaction_holds_and_never_waits(pg_engine, monkeypatch, many_cases):
    """A unit submitting (or an amendment) holds its assignment row while a tick runs: the tick leaves that row
    for the next tick instead of waiting, so neither side can deadlock the other."""
    import duban.services.tick

    if many_cases:
        monkeypatch.setattr(duban.services.tick, "MAX_CASES", 0)
    plan_jinzhong(pg_engine)
    tick_stage(pg_engine, CAMPAIGN, "self_assessment", at("2024-05-10 09:00"))
    with pg_engine.begin() as conn:  # half the units' dues a day later (two cases, as after a per-unit amendment)
        conn.execute(
            text(
                "UPDATE assignment SET due_at = due_at + interval '1 day' "
                "WHERE stage_id = 'self_assessment' AND id % 2 = 0"
            )
        )
        held, other = conn.execute(
            text(
                "SELECT max(id) FILTER (WHERE id % 2 = 0), max(id) FILTER (WHERE id % 2 = 1) FROM assignment "
                "WHERE stage_id = 'self_assessment'"
            )
        ).one()
    moment = at("2024-06-10 09:00")
    holder = pg_engine.connect()
    holding = holder.begin()
    holder.execute(text("SELECT id FROM assignment WHERE id = :id FOR UPDATE"), {"id": held})
    done = {}
    ticker = threading.Thread(
        target=lambda: done.update(result=tick_stage(pg_engine, CAMPAIGN, "self_assessment", moment))
    )
    ticker.start()
    ticker.join(timeout=30)
    try:
        assert not ticker.is_alive(), "the tick waited for a row another transaction holds"
        # the other side can now take a row of the other case: the tick has committed and holds nothing
        holder.execute(text("SET LOCAL lock_timeout = '5s'"))
        holder.execute(text("SELECT id FROM assignment WHERE id = :id FOR UPDATE"), {"id": other})
    finally:
        holding.commit()
        holder.close()
        ticker.join()
    with pg_engine.connect() as conn:
        states = dict(
            conn.execute(text("SELECT id, state FROM assignment WHERE id IN (:a, :b)"), {"a": held, "b": other}).all()
        )
    assert states == {held: "open", other: "overdue"}
    assert done["result"].examined == 259 and done["result"].events["overdue"] == 259
    again = tick_stage(pg_engine, CAMPAIGN, "self_assessment", moment)
    assert again.examined == 1 and again.events["overdue"] == 1


def test_a_catch_up_tick_records_each_duty_s_transitions_in_the_order_they_happened(engine):
    """After two silent weeks one tick applies reminders, the slip and the escalation: the audit trail, read by
    id, tells them in the order they fell due, on both databases."""
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    tick(engine, at("2024-06-20 09:00"))
    t = TransitionRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.assignment_id, t.c.event, t.c.event_at).order_by(t.c.id)).all()
    trail: dict[int, list] = {}
    for assignment, event, event_at in rows:
        trail.setdefault(assignment, []).append((event_at, event))
    caught_up = [events for events in trail.values() if len(events) >= 4]
    assert caught_up, "the gap holds several events per duty"
    assert all(events == sorted(events, key=lambda e: e[0]) for events in trail.values())
    assert {e for events in caught_up for _at, e in events} >= {"opened", "reminder", "overdue", "escalation"}


def test_the_one_case_probe_finds_what_the_grouping_finds_at_every_instant_of_a_campaign(engine):
    """A stage opening's due rows are one case (every unit's row, one schedule and progress); the tick now finds
    that in one pass of least and greatest values instead of grouping a million rows. At each event instant of
    晋中's campaign, stage by stage, the probe gives the grouping's one case — key, count, first and last id, one
    item or not — or None where the rows fall into several (and the tick then groups)."""
    from duban.services.tick import next_instant
    from duban.store.codec import Codec
    from duban.store.tick_sql import case_key, group_cases, one_case

    plan_jinzhong(engine)
    with engine.begin() as conn:  # one township's 自评 due a day later, as a 延期 planned ahead would give
        stages = [s for (s,) in conn.execute(text("SELECT DISTINCT stage_id FROM assignment ORDER BY stage_id"))]
        first = conn.execute(text("SELECT MIN(id) FROM assignment WHERE stage_id = 'self_assessment'")).scalar()
        due = conn.execute(select(Assignment.due_at).where(Assignment.id == first)).scalar_one()
        conn.execute(update(Assignment).where(Assignment.id == first).values(due_at=due + timedelta(days=1)))
    found = {"one": 0, "several": 0, "none": 0}
    moment = next_instant(engine, CAMPAIGN, stages)
    while moment is not None and moment < at("2024-07-10 00:00"):
        with engine.connect() as conn:
            codec = Codec(conn)
            key = case_key(codec)
            for stage in stages:
                due = (CAMPAIGN, stage, codec.instant(moment))
                probed, grouped = one_case(codec, key, due), group_cases(codec, key, due)
                if probed is None:
                    assert len(grouped) > 1, (stage, moment)
                    found["several"] += 1
                elif not probed:
                    assert grouped == [], (stage, moment)
                    found["none"] += 1
                else:
                    (case,) = grouped
                    assert tuple(probed[0][:]) == tuple(case), (stage, moment)
                    assert (probed[0].count, probed[0].one_item) == (case.count, case.one_item)
                    found["one"] += 1
        tick(engine, moment)
        moment = next_instant(engine, CAMPAIGN, stages, after=moment)
    assert found["one"] >= 5 and found["several"] >= 1 and found["none"] >= 5, found


def test_the_issuers_own_office_slipping_is_counted_but_not_escalated_to_the_issuer(engine):
    """A 晋中市统计局 operator ticking the campaign saw the bureau told to 督促 its own 设管科 about the 设管科's
    市级现场检查 (the parent of the issuer's own office is the issuer): noise, the 设管科 had its own 逾期未报. Past
    the grace the slip is recorded as escalated, and nobody is told of it; the counties' slips of the same tick
    still reach the bureau and their leaders."""
    plan_jinzhong(engine)
    tick(engine, at("2024-06-10 08:30"))
    tick(engine, at("2024-07-02 09:00"))
    a, i, o = Assignment.__table__, Intent.__table__, OutboxMessage.__table__
    with engine.connect() as conn:
        office = conn.execute(
            select(a.c.id, a.c.state, a.c.escalations_done).where(
                a.c.unit_code == "140700-sgk", a.c.item_id == "city_inspection"
            )
        ).one()
        intents = conn.execute(select(i.c.assignment_id, i.c.recipient, i.c.kind)).all()
        escalated = conn.execute(select(o.c.recipient, o.c.payload).where(o.c.kind == "escalation")).all()
    assert office.state == State.overdue.value and office.escalations_done == 1  # status and the report count it
    told = [(r, k) for aid, r, k in intents if aid == office.id]
    assert ("140700-sgk", "overdue") in told and not [r for r, k in told if k == "escalation"], told
    to_city = [p for r, p in escalated if r == "140700"]
    assert to_city, "the counties' slips still reach the city"
    assert all(item["unit"] != "140700-sgk" for p in to_city for item in p["items"])
    assert any(r.startswith("leader:") for r, _p in escalated)
