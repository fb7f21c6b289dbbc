"""From intents to messages to the sink: one message per unit per tick, stable keys, retries, dead letter."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from duban.notify.notifier import RecordingNotifier, SinkNotifier
from duban.services.compose import compose_messages
from duban.services.dispatch import dispatch
from duban.store.tables import Delivery, OutboxMessage
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick


def _messages(engine):
    with engine.connect() as conn:
        return [
            OutboxMessage.model_validate(r._mapping)
            for r in conn.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def test_one_message_per_unit_per_tick_listing_all_its_items(engine):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    messages = _messages(engine)
    assert len(messages) == 130  # 2 items each, one message
    leping = next(m for m in messages if m.recipient == "140724100")
    assert leping.kind == "opened"
    assert [i["item_id"] for i in leping.payload["items"]] == ["self_score_sheet", "self_report"]
    assert len({m.idempotency_key for m in messages}) == 130


def test_composing_again_never_makes_a_second_message(engine):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    assert compose_messages(engine, CAMPAIGN, at("2024-05-10 08:31")) == 0
    assert len(_messages(engine)) == 130


def test_night_messages_wait_for_the_morning(engine):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    tick(engine, at("2024-05-26 00:00"))  # overdue at 5/25 23:59:59
    overdue = [m for m in _messages(engine) if m.kind == "overdue"]
    assert overdue and {m.not_before for m in overdue} == {at("2024-05-26 07:30")}
    sent = dispatch(engine, at("2024-05-26 01:00"), lambda _: RecordingNotifier(), fallback_channels=["sink"])
    assert sent.by_kind.get("overdue") is None


def test_dispatch_writes_readable_chinese_to_the_sink(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    sink = SinkNotifier(tmp_path / "sink")
    result = dispatch(engine, at("2024-05-10 08:30"), lambda _: sink, fallback_channels=["sink"])
    assert result.sent == 130 and result.failed == 0
    text = (tmp_path / "sink" / "messages.txt").read_text(encoding="utf-8")
    assert "乐平镇统计站：\n以下事项已开始办理，请按时报送：" in text
    assert "截止：5月25日 周六 24:00前（还有15天15小时）" in text
    lines = (tmp_path / "sink" / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 130 and json.loads(lines[0])["kind"] == "opened"
    again = dispatch(engine, at("2024-05-10 09:00"), lambda _: sink, fallback_channels=["sink"])
    assert again.claimed == 0


def test_the_design_office_is_never_told_to_contact_itself(engine, tmp_path):
    """晋中's 联系人 is the 市局设管科: its own 逾期 of the 市级现场检查 ended 联系人：晋中市统计局设管科, telling it to
    contact itself. A unit's messages name no contact that is the unit itself; the others' still name the 设管科, and
    `duban simulate --unit` previews the same text."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from tests.conftest import JINZHONG

    plan_jinzhong(engine)
    tick(engine, at("2024-07-01 09:00"))  # the 市级现场检查 was due 6/30 24:00: the 设管科 is 逾期
    sink = SinkNotifier(tmp_path / "sink")
    dispatch(engine, at("2024-07-01 09:00"), lambda _: sink, fallback_channels=["sink"])
    text = (tmp_path / "sink" / "messages.txt").read_text(encoding="utf-8")
    blocks = text.split("──── ")
    own = [b for b in blocks if "→ 晋中市统计局设管科 (140700-sgk) [overdue]" in b]
    assert own and "市级现场检查" in own[0], text[:2000]
    assert all("联系人：晋中市统计局设管科" not in b for b in own), own
    others = [b for b in blocks if "[overdue]" in b and "(140700-sgk)" not in b]
    assert others and all("联系人：晋中市统计局设管科" in b for b in others), others
    preview = CliRunner().invoke(app, ["simulate", str(JINZHONG), "--unit", "140700-sgk"], catch_exceptions=False)
    assert preview.exit_code == 0 and "晋中市统计局设管科：" in preview.output, preview.output
    assert "联系人：晋中市统计局设管科" not in preview.output, preview.output


def test_a_refused_channel_falls_back_then_retries_then_dead_letters(engine):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    notifier = RecordingNotifier(refuse={"env:WECOM", "env:MAIL"})
    pick = lambda _ref: notifier  # noqa: E731
    moment = at("2024-05-10 08:30")
    first = dispatch(engine, moment, pick, fallback_channels=["env:WECOM", "env:MAIL"], max_attempts=3)
    assert first.failed == 130 and first.sent == 0
    with engine.connect() as conn:
        per_message = conn.execute(select(func.count()).select_from(Delivery)).scalar()
    assert per_message == 260  # both channels tried, in order
    assert dispatch(engine, moment + timedelta(seconds=30), pick, fallback_channels=["env:WECOM"]).claimed == 0
    second = dispatch(engine, moment + timedelta(minutes=1), pick, fallback_channels=["env:WECOM"], max_attempts=3)
    assert second.failed == 130
    third = dispatch(engine, moment + timedelta(minutes=3), pick, fallback_channels=["env:WECOM"], max_attempts=3)
    assert third.dead == 130
    assert {m.status for m in _messages(engine)} == {"dead"}
    assert "refused" in _messages(engine)[0].last_error


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("composed", ["per tick", "per stage"])
def test_messages_the_database_builds_are_the_ones_grouped_in_python(
    backend, composed, tmp_path, pg_database, jinzhong
):
    """Recipients with one pending intent get their message from an INSERT … SELECT, and those of a one-item
    case from the tick itself (drafts, let go or merged by the compose); ticking intents only and forcing every
    recipient through the grouping in Python instead gives the same messages: kind, key, payload, instants,
    intents.
    Composed after each stage as well, some composes find every recipient with one intent (a stage opening),
    which SQLite writes without the window that finds the singles among shared recipients."""
    from duban.domain.schedules import tick_instants
    from duban.services.tick import tick_stage
    from duban.store.db import init_db
    from duban.store.engine import make_engine
    from duban.store.tables import Intent
    from tests.integration.helpers import STAGES

    if backend == "sqlite":
        urls = [f"sqlite:///{tmp_path / name}.db" for name in ("database", "python")]
    else:
        urls = [pg_database("compose_db"), pg_database("compose_py")]
    engines = [make_engine(url) for url in urls]
    for engine in engines:
        init_db(engine)
        plan_jinzhong(engine)
    instants = tick_instants(jinzhong[1]).instants

    def compose_both(moment):
        compose_messages(engines[0], CAMPAIGN, moment)
        with engines[1].connect() as conn:
            pending = sorted(set(conn.execute(select(Intent.recipient).where(Intent.message_id.is_(None))).scalars()))
        compose_messages(engines[1], CAMPAIGN, moment, recipients=pending)

    for moment in [*instants[::3], instants[-1]]:
        for stage in STAGES:
            for engine, drafts in zip(engines, (True, False)):  # the tick writes one-item messages itself, or not
                tick_stage(engine, CAMPAIGN, stage, moment, drafts=drafts)
            if composed == "per stage":
                compose_both(moment)
        compose_both(moment)

    def written(engine):
        o, i = OutboxMessage.__table__, Intent.__table__
        with engine.connect() as conn:
            messages = sorted(
                (
                    r.recipient,
                    r.kind,
                    r.idempotency_key,
                    json.dumps(r.payload, sort_keys=True),
                    str(r.created_at),
                    str(r.not_before),
                )
                for r in conn.execute(select(o))
            )
            carried = sorted(conn.execute(select(i.c.id, o.c.idempotency_key).join(o, o.c.id == i.c.message_id)).all())
            unsent = conn.execute(select(func.count()).where(i.c.message_id.is_(None))).scalar_one()
        return messages, [tuple(r) for r in carried], unsent

    by_database, by_python = written(engines[0]), written(engines[1])
    sizes = {len(json.loads(m[3])["items"]) for m in by_database[0]}
    assert 1 in sizes and max(sizes) > 1, sizes
    assert by_database[2] == 0
    assert by_database == by_python
    for engine in engines:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_every_way_of_writing_a_message_says_the_units_role(backend, tmp_path, pg_database):
    """A 牵头 or 配合 unit's item carries its role whichever path writes the message: drafted by the tick,
    written by the compose's INSERT … SELECT, or grouped in Python; a responsible unit's carries none."""
    from duban.services.lifecycle import ensure_planned
    from duban.services.tick import tick_stage
    from duban.store.db import init_db
    from duban.store.engine import make_engine
    from duban.store.tables import Intent
    from tests.integration.test_new_shapes import HOUSING

    if backend == "sqlite":
        urls = [f"sqlite:///{tmp_path / name}.db" for name in ("drafted", "inserted", "python")]
    else:
        urls = [pg_database(name) for name in ("roles_drafted", "roles_inserted", "roles_python")]
    engines = [make_engine(url) for url in urls]
    opening = at("2025-04-01 08:30")
    payloads = []
    for n, engine in enumerate(engines):
        init_db(engine)
        campaign = ensure_planned(engine, HOUSING, now=at("2025-03-25 12:00")).campaign_id
        tick_stage(engine, campaign, "survey", opening, drafts=n == 0)
        pending = None
        if n == 2:  # every recipient through the grouping in Python
            with engine.connect() as conn:
                pending = sorted(set(conn.execute(select(Intent.recipient)).scalars()))
        compose_messages(engine, campaign, opening, recipients=pending)
        with engine.connect() as conn:
            rows = conn.execute(select(OutboxMessage.recipient, OutboxMessage.payload)).all()
        payloads.append({r: [(i["item_id"], i.get("role")) for i in p["items"]] for r, p in rows})
        engine.dispose()
    assert payloads[0] == payloads[1] == payloads[2]
    assert payloads[0]["140724"] == [("county_ledger", "lead")]
    assert payloads[0]["140724@stats"] == [("county_ledger", "cooperating")]
    assert payloads[0]["140700"] == [("city_summary", None)]
