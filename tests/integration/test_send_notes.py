"""What a message adds when it goes out: a roll-up's units below still missing, a 牵头/配合 unit's partners.

晋中市住建局's 全市排查情况汇总表 adds up its eleven counties' 台账; an outside tester found its overdue notice said
only "以下事项已逾期未报，请尽快报送" — the city could not tell whom to chase — and that 昔阳县统计局, cooperating on
the 台账 its 住建局 leads, was pressed to hand in what its lead had filed. Both are read from the record at the send.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from duban.notify.notifier import RecordingNotifier
from duban.services import outbox
from duban.services.compose import compose_messages
from duban.services.dispatch import dispatch
from duban.services.lifecycle import ensure_planned
from duban.services.submit import record_excuse
from duban.services.tick import tick_stage
from duban.store.db import init_db
from duban.store.engine import make_engine
from duban.store.tables import OutboxMessage
from tests.integration.helpers import at
from tests.integration.test_new_shapes import HOUSING

JINZHONG_COUNTIES = (
    "140702 140703 140721 140722 140723 140724 140725 140727 140728 140729 140781".split()
)  # 榆次 太谷 榆社 左权 和顺 昔阳 寿阳 祁县 平遥 灵石 介休


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_citys_overdue_roll_up_names_the_counties_missing_at_the_send(backend, tmp_path, pg_database):
    url = f"sqlite:///{tmp_path / 'housing.db'}" if backend == "sqlite" else pg_database("rollup_notes")
    engine = make_engine(url)
    init_db(engine)
    campaign = ensure_planned(engine, HOUSING, now=at("2025-03-25 12:00")).campaign_id
    tick_stage(engine, campaign, "survey", at("2025-04-01 08:30"))
    compose_messages(engine, campaign, at("2025-04-01 08:30"))
    for county in JINZHONG_COUNTIES:
        if county not in ("140723", "140728"):  # 和顺县 and 平遥县 have not handed in their 台账
            record_excuse(engine, campaign, county, "county_ledger", at("2025-05-10 10:00"), reason="test")
    late = at("2025-05-24 09:00")
    tick_stage(engine, campaign, "survey", late)
    compose_messages(engine, campaign, late)
    # 和顺县 is in after the tick wrote the city's notice and before it goes out: the notice says what is true then
    record_excuse(engine, campaign, "140723", "county_ledger", at("2025-05-24 09:10"), reason="test")
    with engine.connect() as conn:
        waiting = conn.execute(
            select(OutboxMessage.id, OutboxMessage.payload).where(OutboxMessage.recipient == "140700")
        ).all()
    ids = [mid for mid, p in waiting if any(i["item_id"] == "city_summary" for i in p["items"])]
    assert ids, waiting
    waiting_id = max(ids)
    # the operator checking the message before it goes reads it as it will go (an outside tester's finding)
    assert "下级尚未报送（1个）：平遥县住房和城乡建设局" in outbox.show(engine, waiting_id).text
    sink = RecordingNotifier()
    dispatch(engine, at("2025-05-24 09:15"), lambda _ref: sink, fallback_channels=["sink"])
    [city] = [e for e in sink.sent["sink"] if e.recipient == "140700" and "全市排查情况汇总表" in e.rendered.text]
    text = city.rendered.text
    assert "以下事项已逾期未报" in text
    assert "下级尚未报送（1个）：平遥县住房和城乡建设局" in text, text
    assert "和顺县" not in text and "太原" not in text  # in by the send; and another city's counties are not its own
    with engine.connect() as conn:  # the record keeps what was said
        payload = conn.execute(
            select(OutboxMessage.payload).where(OutboxMessage.idempotency_key == city.key)
        ).scalar_one()
    assert [i["missing"] for i in payload["items"] if i["item_id"] == "city_summary"] == [["140728"]]
    engine.dispose()


def test_a_roll_up_handed_in_while_units_below_are_missing_is_told_so_in_its_receipt(tmp_path):
    """北京市住建委's 汇总 went in with 14 of its 16 districts missing and its receipt read a plain 已收到 … 按时报送
    (an outside tester's finding): the receipt now names those still missing; one with all in says nothing more."""
    from duban.services.submit import record_submission
    from tests.samples import xlsx_bytes

    engine = make_engine(f"sqlite:///{tmp_path / 'housing.db'}")
    init_db(engine)
    campaign = ensure_planned(engine, HOUSING, now=at("2025-03-25 12:00")).campaign_id
    tick_stage(engine, campaign, "survey", at("2025-04-01 08:30"))
    compose_messages(engine, campaign, at("2025-04-01 08:30"))
    for county in JINZHONG_COUNTIES[:-1]:  # all but 介休市
        record_excuse(engine, campaign, county, "county_ledger", at("2025-05-10 10:00"), reason="test")
    for city in ("140400", "140700"):  # 长治市 before any county is in; 晋中市 with one missing
        sheet = tmp_path / f"{city}.xlsx"
        sheet.write_bytes(xlsx_bytes())
        record_submission(
            engine,
            campaign,
            city,
            "city_summary",
            at("2025-05-20 10:00"),
            files=[sheet],
            metrics={"buildings_checked": "10", "hazards_found": "1"},
            files_dir=tmp_path / "files",
        )
    compose_messages(engine, campaign, at("2025-05-20 10:00"))
    sink = RecordingNotifier()
    dispatch(engine, at("2025-05-20 10:05"), lambda _ref: sink, fallback_channels=["sink"])
    receipts = {e.recipient: e.rendered.text for e in sink.sent["sink"] if "报送回执" in e.rendered.subject}
    assert "注意：下级尚未报送（1个）：介休市住房和城乡建设局" in receipts["140700"], receipts["140700"]
    assert "注意：下级尚未报送（" in receipts["140400"] and "长治" not in receipts["140700"]
    engine.dispose()


def test_a_cooperating_unit_is_told_when_its_lead_has_handed_the_item_in(tmp_path):
    """昔阳县统计局 cooperates on the 排查台账 that 昔阳县住房和城乡建设局 leads; the 住建局 filed it on 4月10日 and the
    统计局 was still reminded to 报送 with no word of it (an outside tester's finding). Its reminder names its lead
    and the hand-in; the lead's names the 统计局."""
    from duban.services.submit import record_submission
    from tests.samples import xlsx_bytes

    engine = make_engine(f"sqlite:///{tmp_path / 'housing.db'}")
    init_db(engine)
    campaign = ensure_planned(engine, HOUSING, now=at("2025-03-25 12:00")).campaign_id
    tick_stage(engine, campaign, "survey", at("2025-04-01 08:30"))
    compose_messages(engine, campaign, at("2025-04-01 08:30"))
    sheet = tmp_path / "ledger.xlsx"
    sheet.write_bytes(xlsx_bytes())
    record_submission(
        engine,
        campaign,
        "140724",
        "county_ledger",
        at("2025-04-10 10:00"),
        files=[sheet],
        metrics={"buildings_checked": "10", "hazards_found": "2"},
        files_dir=tmp_path / "files",
    )
    reminded = at("2025-05-13 09:00")  # three working days before the 5/16 due
    tick_stage(engine, campaign, "survey", reminded)
    compose_messages(engine, campaign, reminded)
    sink = RecordingNotifier()
    dispatch(engine, at("2025-05-13 09:05"), lambda _ref: sink, fallback_channels=["sink"])
    sent = [e for channel in sink.sent.values() for e in channel]  # 昔阳's bodies have their own WeCom groups
    told = {e.recipient: e.rendered.text for e in sent if "即将截止" in e.rendered.subject}
    assert (
        "本单位为配合单位：请配合牵头单位（昔阳县住房和城乡建设局）办理，按其要求提供材料；"
        "牵头单位昔阳县住房和城乡建设局已于4月10日 周四 10:00报送" in told["140724@stats"]
    ), told["140724@stats"]
    assert "本单位为牵头单位：请组织配合单位（寿阳县统计局）共同办理，并按时报送" in told["140725"], told["140725"]
    engine.dispose()


def test_a_leads_extension_moves_its_cooperating_bodys_due_with_it(tmp_path):
    """昔阳县住房和城乡建设局 (牵头) got its 台账 extended to 5/23; 昔阳县统计局 (配合) stayed at 5/16 and was told 逾期
    while its lead still had days (an outside tester's finding). Its due moves too, it is told why, and another
    county's 统计局 keeps the due it had."""
    import shutil

    from duban.services.extension import decide_extension, request_extension
    from duban.store.tables import Assignment

    shutil.copytree(HOUSING.parent / "units", tmp_path / "units")
    spec = tmp_path / HOUSING.name  # the notice as shipped, with extensions allowed
    spec.write_text(
        HOUSING.read_text(encoding="utf-8").replace("\ngroups:", "\nextensions: {max: 5 working days}\n\ngroups:", 1),
        encoding="utf-8",
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'housing.db'}")
    init_db(engine)
    campaign = ensure_planned(engine, spec, now=at("2025-03-25 12:00")).campaign_id
    tick_stage(engine, campaign, "survey", at("2025-04-01 08:30"))
    compose_messages(engine, campaign, at("2025-04-01 08:30"))
    until = at("2025-05-23 23:59")
    asked = request_extension(engine, campaign, "140724", "county_ledger", until, at("2025-05-12 10:00"), reason="test")
    decide_extension(engine, asked.id, at("2025-05-12 15:00"), approve=True)

    def due(unit):
        a = Assignment.__table__
        with engine.connect() as conn:
            return conn.execute(
                select(a.c.due_at).where(a.c.unit_code == unit, a.c.item_id == "county_ledger")
            ).scalar_one()

    assert due("140724@stats") == due("140724") != due("140725@stats")
    late = at("2025-05-19 09:00")  # past the old due, before the new
    tick_stage(engine, campaign, "survey", late)
    compose_messages(engine, campaign, late)
    sink = RecordingNotifier()
    dispatch(engine, at("2025-05-19 09:05"), lambda _ref: sink, fallback_channels=["sink"])
    told = {}
    for envelope in (e for channel in sink.sent.values() for e in channel):
        told.setdefault(envelope.recipient, []).append(envelope.rendered.text)
    stats = "\n".join(told["140724@stats"])
    assert "截止时间调整为：5月23日 周五" in stats and "随牵头单位延期" in stats, stats
    assert "请配合牵头单位（昔阳县住房和城乡建设局）办理" in stats and "逾期未报" not in stats, stats
    assert any("逾期未报" in text for text in told["140725@stats"])  # 寿阳's lead asked for nothing
    engine.dispose()
