"""A unit told 逾期未报 whose hand-in is then entered with its real, earlier time (补登) — or whose version a reviewer
accepts as handed in before the due — is sent a correction (更正), and so is each one its 催办 reached (an outside
tester's finding, a 晋中市统计局 operator): the status said 按时报送, the last message they read said 逾期未报.

昔阳县统计局 slips on its 自查评分表 (due 5月25日 24:00); on 5月28日 it is told 逾期 and its parent 晋中市统计局
and its 包联领导 (东片) are sent the 催办, through a local WeCom-like bot. The operator then enters the paper 昔阳
handed in on 5月24日 16:00. Each of the three gets one correction naming the item and the hand-in; nobody else does
(寿阳, the 西片 leader), nobody gets a second one, and nobody is corrected about a 逾期 that never went out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from duban.instants import parse_instant
from duban.notify.channels import notifier_for
from duban.services.compose import compose_messages
from duban.services.dispatch import Dispatcher
from duban.services.extension import decide_extension, request_extension
from duban.services.review import record_review
from duban.services.submit import record_submission
from duban.settings import get_settings
from duban.store.tables import OutboxMessage
from tests.integration.fake_bots import BotServer
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import xlsx_bytes

XIYANG, ITEM = "140724", "self_score_sheet"
NAMES = {"140724": "昔阳县统计局", "140700": "晋中市统计局", "leader:leader_east": "市局包县区领导（东片）"}
BOT = "okjinzhong-corrections"
PART = re.compile(r"（第\d+/\d+条·编号 (\w+)）\n")


@pytest.fixture
def bots(monkeypatch):
    with BotServer() as server:
        monkeypatch.setenv("JZ_BOT", f"wecombot://{BOT}?base={server.base}")
        monkeypatch.setenv("DUBAN_RATE_LIMITS", "{}")  # every unit's message to one bot: this test is not about rates
        get_settings.cache_clear()
        yield server


def _send(engine, when: datetime, *, concurrency: int = 8) -> None:
    Dispatcher(engine, notifier_for(get_settings()), ["env:JZ_BOT"], concurrency=concurrency).run(when)


def _by_recipient(texts: list[str]) -> dict[str, list[str]]:
    """The messages the bot's group shows (a long one's parts, （第1/2条·编号 …）, put back together), by the name
    each is addressed to (its second line, 昔阳县统计局：)."""
    whole: dict[str, str] = {}
    for n, text in enumerate(texts):
        part = PART.match(text)
        key, body = (part[1], text[part.end() :]) if part else (str(n), text)
        whole[key] = whole.get(key, "") + body
    read = defaultdict(list)
    for text in whole.values():
        read[text.splitlines()[1].rstrip("：")].append(text)
    return read


def _hand_in_late_entry(engine, tmp_path, item: str = ITEM, when: str = "2024-05-24 16:00") -> None:
    """The operator enters (duban submit --at) the paper 昔阳 handed in before the due, as the CLI does it."""
    path = tmp_path / f"{XIYANG}-{item}-{when[-5:].replace(':', '')}.xlsx"
    path.write_bytes(xlsx_bytes([["项目", "得分"], ["工作任务", 9]]))
    receipt = record_submission(engine, CAMPAIGN, XIYANG, item, at(when), files=[path], files_dir=tmp_path / "files")
    recipients = [XIYANG, *(r for r in getattr(receipt, "corrected", ()) if r != XIYANG)]
    compose_messages(engine, CAMPAIGN, at(when), recipients=recipients)


def _section(text: str, lead: str) -> str:
    """The entries of one section of a message (those under `lead`, up to the next section's lead)."""
    if lead not in text:
        return ""
    lines = text.split(lead, 1)[1].splitlines()[1:]
    taken = []
    for line in lines:
        if not line[:1].isdigit() and not line[:1].isspace():
            break
        taken.append(line)
    return "\n".join(taken)


def _corrections(texts: list[str]) -> dict[str, list[str]]:
    """recipient → the messages it was sent that carry a correction (更正), for those sent any."""
    found = {who: [t for t in told if "更正" in t] for who, told in _by_recipient(texts).items()}
    return {who: texts for who, texts in found.items() if texts}


def test_a_hand_in_entered_later_with_its_on_time_instant_corrects_every_overdue_notice(engine, bots, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-28 09:30"))  # 逾期 at 5月26日 00:00, 催办 at 5月28日 09:00
    _send(engine, at("2024-05-28 09:30"))
    told = _by_recipient(bots.received[BOT])
    assert any("以下事项已逾期未报" in t and "自查评分表" in t for t in told[NAMES[XIYANG]]), told[NAMES[XIYANG]]
    for target in ("140700", "leader:leader_east"):
        assert any("逾期未报" in t and "昔阳县统计局" in t and "自查评分表" in t for t in told[NAMES[target]])
    before = len(bots.received[BOT])

    _hand_in_late_entry(engine, tmp_path)
    tick(engine, at("2024-05-28 10:00"))
    _send(engine, at("2024-05-28 10:00"))
    corrections = _corrections(bots.received[BOT][before:])
    assert sorted(corrections) == sorted(NAMES.values()), corrections  # not 寿阳, not the 西片 leader
    assert all(len(texts) == 1 for texts in corrections.values()), corrections
    [own] = corrections[NAMES[XIYANG]]
    lead = "更正：下列事项此前通知您单位逾期未报，经核实已按时报送，对其的逾期通知作废；原通知中的其他事项仍须办理："
    assert lead in own, own
    assert "1. 【规范化建设自评阶段】自查评分表" in own, own
    assert "已于5月24日 周五 16:00按时报送（截止5月25日 周六 24:00）" in own, own
    assert "本单位统计基层基础规范化建设总结报告" not in own.split("更正：")[1], own  # still overdue: not corrected
    for target in ("140700", "leader:leader_east"):
        [text] = corrections[NAMES[target]]
        assert "对其的催办作废；催办中的其他事项不变" in text, text
        assert "1. 昔阳县统计局 — 【规范化建设自评阶段】自查评分表" in text, text
        assert "已于5月24日 周五 16:00按时报送" in text and "总结报告" not in text.split("更正：")[1], text

    seen = len(bots.received[BOT])  # a second run: another tick and send, a second version entered — no more
    tick(engine, at("2024-05-28 10:30"))
    _send(engine, at("2024-05-28 10:30"))
    _hand_in_late_entry(engine, tmp_path, when="2024-05-24 17:00")
    tick(engine, at("2024-05-28 11:00"))
    _send(engine, at("2024-05-28 11:00"))
    assert _corrections(bots.received[BOT][seen:]) == {}, bots.received[BOT][seen:]


def test_no_correction_for_an_overdue_notice_that_never_went_out(engine, bots, tmp_path):
    """The 逾期 and the 催办 are still waiting when the hand-in is entered: the dispatcher drops them as no longer
    true, and nobody is corrected about what they never read."""
    plan_jinzhong(engine)
    tick(engine, at("2024-05-28 09:30"))
    _hand_in_late_entry(engine, tmp_path)
    tick(engine, at("2024-05-28 10:00"))
    _send(engine, at("2024-05-28 10:00"))
    texts = bots.received[BOT]
    assert _corrections(texts) == {}, [t for t in texts if "更正" in t]
    own = [_section(t, "以下事项已逾期未报，请尽快报送：") for t in _by_recipient(texts)[NAMES[XIYANG]]]
    assert not any("自查评分表" in section for section in own), own  # its 逾期 was dropped, not sent
    assert any("本单位统计基层基础规范化建设总结报告" in section for section in own), own  # still overdue


def test_a_reviewer_accepting_a_version_handed_in_before_the_due_corrects_the_overdue_notices(engine, bots, tmp_path):
    """材料上报 is reviewed: 昔阳's paper of 6月30日, entered on 7月3日, waits for review (截止前报送，待审核) — not yet
    按时报送, so no correction; the 设管科 accepts it and the 逾期 and 催办 are corrected."""
    plan_jinzhong(engine)
    tick(engine, at("2024-07-03 09:30"))  # 材料 due 7月1日 24:00, 催办 7月3日 09:00
    _send(engine, at("2024-07-03 09:30"))
    told = _by_recipient(bots.received[BOT])
    assert any("抽查县、乡统计机构评分表" in t and "昔阳县统计局" in t for t in told[NAMES["140700"]])
    before = len(bots.received[BOT])
    _hand_in_late_entry(engine, tmp_path, item="materials_upload", when="2024-06-30 10:00")
    tick(engine, at("2024-07-03 10:00"))
    _send(engine, at("2024-07-03 10:00"))
    assert _corrections(bots.received[BOT][before:]) == {}  # 待审核: not yet on time
    record_review(engine, CAMPAIGN, XIYANG, "materials_upload", at("2024-07-03 10:30"), accept_it=True)
    tick(engine, at("2024-07-03 11:00"))
    _send(engine, at("2024-07-03 11:00"))
    corrections = _corrections(bots.received[BOT][before:])
    assert sorted(corrections) == sorted(NAMES.values()), corrections
    assert all(len(texts) == 1 and "已于6月30日 周日 10:00按时报送" in texts[0] for texts in corrections.values())


def test_an_extension_that_makes_a_late_hand_in_on_time_corrects_the_overdue_notices(engine, bots, tmp_path):
    """昔阳 asked on 6月7日 to hand in its 县级实地检查评分表 on 6月14日; undecided, it was told 逾期 and 催办 went out,
    and it handed in on 6月12日. The approval makes that hand-in on time: the three are corrected."""
    plan_jinzhong(engine)
    tick(engine, at("2024-06-07 09:30"))
    until = parse_instant("2024-06-14", "Asia/Shanghai", end_of_day=True)
    asked = request_extension(
        engine, CAMPAIGN, XIYANG, "county_inspection", until, at("2024-06-07 10:00"), reason="端午假期后检查未完成"
    )
    tick(engine, at("2024-06-12 09:30"))  # due 6月10日 24:00, 催办 6月12日 09:00
    _send(engine, at("2024-06-12 09:30"))
    before = len(bots.received[BOT])
    sheet = tmp_path / "昔阳.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 88]]))
    record_submission(
        engine,
        CAMPAIGN,
        XIYANG,
        "county_inspection",
        at("2024-06-12 10:00"),
        files=[sheet],
        metrics={"townships_inspected": "6"},
        files_dir=tmp_path / "files",
    )
    decide_extension(engine, asked.id, at("2024-06-12 11:00"), approve=True)
    tick(engine, at("2024-06-12 11:30"))
    _send(engine, at("2024-06-12 11:30"))
    corrections = _corrections(bots.received[BOT][before:])
    assert sorted(corrections) == sorted(NAMES.values()), corrections
    for texts in corrections.values():
        assert len(texts) == 1 and "县级实地检查评分表" in texts[0], texts
        assert "已于6月12日 周三 10:00按时报送（截止6月14日 周五 24:00）" in texts[0], texts


class _EnteredMidSend(BotServer):
    """A bot at whose first post the operator enters 昔阳's hand-in (the dispatcher has claimed the whole batch and
    judged it true: the 逾期 and 催办 are in flight); 昔阳's own group then fails once (HTTP 500)."""

    def __init__(self, enter) -> None:  # noqa: ANN001
        super().__init__()
        self.enter, self.entered, self.failed = enter, False, False

    def answer(self, path: str, body: dict) -> tuple[int, dict]:
        if not self.entered:
            self.entered = True
            self.enter()
        elif not self.failed and body.get("text", {}).get("content", "").split("\n")[1] == f"{NAMES[XIYANG]}：":
            self.failed = True
            return 500, {"error": "internal server error"}
        return super().answer(path, body)


def test_a_hand_in_entered_while_the_overdue_notices_are_in_flight_corrects_those_that_arrive(
    engine, monkeypatch, tmp_path
):
    """The 逾期 and 催办 were claimed and judged true before the entry, and the record of their posts comes in
    batches: those that arrive are corrected; 昔阳's own failed, was dropped at its next try (handed in), and 昔阳
    is corrected about nothing it read."""
    plan_jinzhong(engine)
    tick(engine, at("2024-05-28 09:30"))
    with _EnteredMidSend(lambda: _hand_in_late_entry(engine, tmp_path)) as bots:
        monkeypatch.setenv("JZ_BOT", f"wecombot://{BOT}?base={bots.base}")
        monkeypatch.setenv("DUBAN_RATE_LIMITS", "{}")
        get_settings.cache_clear()
        _send(engine, at("2024-05-28 09:30"), concurrency=1)  # in the order they were written: 昔阳's after 晋中's
        tick(engine, at("2024-05-28 09:40"))
        _send(engine, at("2024-05-28 09:40"))  # 昔阳's failed message again, past its backoff
        assert bots.failed
        read = _by_recipient(bots.received[BOT])
    corrections = _corrections(bots.received[BOT])
    assert sorted(corrections) == sorted([NAMES["140700"], NAMES["leader:leader_east"]]), corrections
    for target in ("140700", "leader:leader_east"):
        [text] = corrections[NAMES[target]]
        assert "昔阳县统计局 — 【规范化建设自评阶段】自查评分表" in text, text
        assert "对其的催办作废；催办中的其他事项不变" in text, text
    own = [_section(t, "以下事项已逾期未报，请尽快报送：") for t in read[NAMES[XIYANG]]]
    assert own and not any("自查评分表" in section for section in own), read[NAMES[XIYANG]]
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        payloads = conn.execute(select(o.c.payload).where(o.c.recipient == XIYANG, o.c.status == "sent")).scalars()
        dropped = [d for p in payloads for d in p.get("dropped", ()) if d["kind"] == "corrected"]
    assert [d["why"] for d in dropped] == ["原逾期通知未发出，无需更正"], dropped


def test_duban_submit_of_an_on_time_hand_in_names_those_it_corrects_and_queues_their_corrections(tmp_path):
    """`duban submit --at` (the operator's 补登) says who will read the 更正, and their messages wait in the outbox."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from tests.conftest import JINZHONG

    engine = _the_clis_database()
    _told(engine, "2024-05-28 09:30")
    sheet = tmp_path / "昔阳自查评分表.xlsx"
    sheet.write_bytes(xlsx_bytes([["项目", "得分"], ["工作任务", 9]]))
    args = ["submit", JINZHONG, "--unit", "昔阳县统计局", "--item", ITEM, "--file", sheet, "--at", "2024-05-24 16:00"]
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    told = "此前已收到逾期通知的昔阳县统计局、晋中市统计局、市局包县区领导（东片）将收到更正"
    assert told in result.output.replace("\n", ""), result.output
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        waiting = conn.execute(select(o.c.recipient, o.c.kind).where(o.c.status == "pending")).all()
    engine.dispose()
    assert sorted(waiting) == [("140700", "corrected"), ("140724", "corrected"), ("leader:leader_east", "corrected")]


def _waiting(engine) -> list[tuple[str, str]]:
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        return sorted(conn.execute(select(o.c.recipient, o.c.kind).where(o.c.status == "pending")).all())


def test_a_review_accepted_in_the_portal_queues_its_corrections_at_once(sqlite_engine, tmp_path):
    """dev4's leftover: `duban review` queues the 更正 at once, the /ops review form left them to the next tick (up
    to an hour or a night with the ticks' schedule): the parent and the leader still read 逾期 meanwhile."""
    from duban.notify.notifier import RecordingNotifier
    from duban.services.dispatch import dispatch
    from tests.integration.portal_site import make_site

    site = make_site(sqlite_engine, now="2024-07-03 10:30", ticked="2024-07-03 09:30")  # 材料 逾期, 催办 09:00
    dispatch(site.engine, at("2024-07-03 09:30"), lambda _ref: RecordingNotifier(), fallback_channels=["sink"])
    path = tmp_path / "昔阳检查材料.xlsx"
    path.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    handed = record_submission(
        site.engine, CAMPAIGN, XIYANG, "materials_upload", at("2024-06-30 10:00"), files=[path], files_dir=tmp_path
    )
    assert _waiting(site.engine) == []
    assert site.login().status_code == 303
    loop = f"/ops/c/{CAMPAIGN}/loop"
    data = {"csrf": site.csrf(loop), "decision": "accept", "reason": "", "version": "1"}
    done = site.client.post(f"/ops/c/{CAMPAIGN}/reviews/{handed.assignment_id}", data=data, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert _waiting(site.engine) == [
        ("140700", "corrected"),
        ("140724", "accepted"),
        ("140724", "corrected"),
        ("leader:leader_east", "corrected"),
    ]


def test_an_amendment_that_makes_a_late_hand_in_on_time_corrects_every_overdue_notice(engine, bots, tmp_path):
    """dev4's leftover: 昔阳 was told 逾期 on its 县级实地检查评分表 (due 6月10日) and 晋中 and the 东片 leader were
    sent the 催办; it handed in on 6月12日, and the 调整通知 then moved the due to 6月20日. The unit read
    按调整后的时间计为按时报送 — its parent and leader still held the 催办. Each of the three now gets one 更正."""
    from duban.domain.plan import load_calendar_for
    from duban.services.amend import apply_amendment
    from duban.services.lifecycle import plan_file
    from duban.spec.amendment import load_amendment
    from tests.conftest import JINZHONG, SPECS

    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))  # due 6月10日 24:00, 催办 6月12日 09:00
    _send(engine, at("2024-06-12 09:30"))
    before = len(bots.received[BOT])
    sheet = tmp_path / "昔阳.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 88]]))
    record_submission(
        engine,
        CAMPAIGN,
        XIYANG,
        "county_inspection",
        at("2024-06-12 10:00"),
        files=[sheet],
        metrics={"townships_inspected": "6"},
        files_dir=tmp_path / "files",
    )
    spec, _plan = plan_file(JINZHONG)
    amendment = load_amendment(SPECS / "amendments" / "jinzhong-2024-county-check-extension.yaml")
    result = apply_amendment(engine, spec, amendment, load_calendar_for(spec), at=at("2024-06-12 11:00"))
    assert sorted(result.corrected) == sorted(NAMES), result.corrected  # said by `duban amend`, queued by it
    tick(engine, at("2024-06-12 11:30"))
    _send(engine, at("2024-06-12 11:30"))
    corrections = _corrections(bots.received[BOT][before:])
    assert sorted(corrections) == sorted(NAMES.values()), corrections
    for texts in corrections.values():
        assert len(texts) == 1 and "县级实地检查评分表" in texts[0], texts
        assert "已于6月12日 周三 10:00按时报送（截止6月20日 周四 24:00）" in texts[0], texts
    again = apply_amendment(engine, spec, amendment, load_calendar_for(spec), at=at("2024-06-12 12:00"))
    assert again.already  # nothing twice


def test_duban_amend_names_those_it_corrects_and_queues_their_corrections(tmp_path):
    """`duban amend` of a due a late hand-in now meets says who reads the 更正; their messages wait in the outbox."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from tests.conftest import JINZHONG, SPECS

    engine = _the_clis_database()
    _told(engine, "2024-06-12 09:30")
    sheet = tmp_path / "昔阳.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 88]]))
    record_submission(
        engine,
        CAMPAIGN,
        XIYANG,
        "county_inspection",
        at("2024-06-12 10:00"),
        files=[sheet],
        metrics={"townships_inspected": "6"},
        files_dir=tmp_path / "files",
    )
    amendment = SPECS / "amendments" / "jinzhong-2024-county-check-extension.yaml"
    args = ["amend", JINZHONG, amendment, "--at", "2024-06-12 11:00"]
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    said = "3 recipient(s) told 逾期/催办 of a hand-in now on time are sent a correction (更正): 140700, 140724, "
    assert said + "leader:leader_east" in result.output.replace("\n", ""), result.output
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        waiting = conn.execute(select(o.c.recipient).where(o.c.status == "pending", o.c.kind == "corrected")).all()
    engine.dispose()
    assert sorted(waiting) == [("140700",), ("140724",), ("leader:leader_east",)]


def test_an_extension_of_an_item_still_owed_tells_those_its_cuiban_reached_once(engine, bots, tmp_path):
    """dev4's leftover: 昔阳 asked on 6月7日 to hand in its 县级实地检查评分表 by 6月14日; undecided at its 6月10日 due,
    it was told 逾期 and 晋中 and the 东片 leader were sent the 催办. The approval told 昔阳 only: its parent and
    leader still thought it overdue. Each now reads one message: 延期至6月14日，此前的催办暂缓."""
    plan_jinzhong(engine)
    tick(engine, at("2024-06-07 09:30"))
    until = parse_instant("2024-06-14", "Asia/Shanghai", end_of_day=True)
    asked = request_extension(
        engine, CAMPAIGN, XIYANG, "county_inspection", until, at("2024-06-07 10:00"), reason="端午假期后检查未完成"
    )
    tick(engine, at("2024-06-12 09:30"))  # due 6月10日 24:00, 催办 6月12日 09:00
    _send(engine, at("2024-06-12 09:30"))
    before = len(bots.received[BOT])
    decided = decide_extension(engine, asked.id, at("2024-06-12 11:00"), approve=True)
    assert decided.new_state.value in ("open", "due_soon")  # not handed in: owed again, by 6月14日
    tick(engine, at("2024-06-12 11:30"))
    _send(engine, at("2024-06-12 11:30"))
    later = parse_instant("2024-06-17", "Asia/Shanghai", end_of_day=True)  # asked again, granted: no 催办 since
    again = request_extension(
        engine, CAMPAIGN, XIYANG, "county_inspection", later, at("2024-06-12 14:00"), reason="检查组仍在防汛一线"
    )
    decide_extension(engine, again.id, at("2024-06-12 14:30"), approve=True)
    tick(engine, at("2024-06-12 15:30"))
    _send(engine, at("2024-06-12 15:30"))
    read = _by_recipient(bots.received[BOT][before:])
    held = {who: [t for t in texts if "此前的催办暂缓" in t] for who, texts in read.items()}
    held = {who: texts for who, texts in held.items() if texts}
    assert sorted(held) == sorted([NAMES["140700"], NAMES["leader:leader_east"]]), read
    for texts in held.values():
        assert len(texts) == 1, texts
        assert "昔阳县统计局" in texts[0] and "县级实地检查评分表" in texts[0], texts[0]
        assert "已批准延期至6月14日 周五 24:00" in texts[0], texts[0]
    assert any("同意延期" in t for t in read[NAMES[XIYANG]])  # the unit reads its answer, not a 暂缓
    assert _corrections(bots.received[BOT][before:]) == {}  # nothing was handed in: nothing is 按时报送


def test_an_extension_approved_in_the_portal_queues_its_corrections_and_notices_at_once(sqlite_engine, tmp_path):
    """An approval at /ops that makes 昔阳's late hand-in on time left its 更正 to the next tick, as a review did:
    they are queued with the decision now, as its 延期告知 are."""
    from duban.notify.notifier import RecordingNotifier
    from duban.services.dispatch import dispatch
    from tests.integration.portal_site import make_site

    site = make_site(sqlite_engine, now="2024-06-12 11:00", ticked="2024-06-07 09:30")
    until = parse_instant("2024-06-14", "Asia/Shanghai", end_of_day=True)
    asked = request_extension(
        site.engine, CAMPAIGN, XIYANG, "county_inspection", until, at("2024-06-07 10:00"), reason="端午假期后检查未完成"
    )
    tick(site.engine, at("2024-06-12 09:30"))  # 逾期, 催办 6月12日 09:00
    dispatch(site.engine, at("2024-06-12 09:30"), lambda _ref: RecordingNotifier(), fallback_channels=["sink"])
    sheet = tmp_path / "昔阳.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 88]]))
    record_submission(
        site.engine,
        CAMPAIGN,
        XIYANG,
        "county_inspection",
        at("2024-06-12 10:00"),
        files=[sheet],
        metrics={"townships_inspected": "6"},
        files_dir=tmp_path / "files",
    )
    compose_messages(site.engine, CAMPAIGN, at("2024-06-12 10:00"), recipients=[XIYANG])  # its receipt
    dispatch(site.engine, at("2024-06-12 10:00"), lambda _ref: RecordingNotifier(), fallback_channels=["sink"])
    assert _waiting(site.engine) == []
    assert site.login().status_code == 303
    data = {"csrf": site.csrf(f"/ops/c/{CAMPAIGN}/loop"), "decision": "approve", "until": "", "note": ""}
    done = site.client.post(f"/ops/c/{CAMPAIGN}/extensions/{asked.id}", data=data, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert _waiting(site.engine) == [
        ("140700", "corrected"),
        ("140724", "corrected"),
        ("140724", "extension"),
        ("leader:leader_east", "corrected"),
    ]


def test_duban_extension_decide_queues_the_corrections_of_a_hand_in_now_on_time(tmp_path):
    from typer.testing import CliRunner

    from duban.cli.main import app

    engine = _the_clis_database()
    tick(engine, at("2024-06-07 09:30"))
    until = parse_instant("2024-06-14", "Asia/Shanghai", end_of_day=True)
    asked = request_extension(
        engine, CAMPAIGN, XIYANG, "county_inspection", until, at("2024-06-07 10:00"), reason="端午假期后检查未完成"
    )
    _told(engine, "2024-06-12 09:30")
    sheet = tmp_path / "昔阳.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 88]]))
    record_submission(
        engine,
        CAMPAIGN,
        XIYANG,
        "county_inspection",
        at("2024-06-12 10:00"),
        files=[sheet],
        metrics={"townships_inspected": "6"},
        files_dir=tmp_path / "files",
    )
    args = ["extension", "decide", str(asked.id), "--approve", "--at", "2024-06-12 11:00"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        waiting = conn.execute(select(o.c.recipient).where(o.c.status == "pending", o.c.kind == "corrected")).all()
    engine.dispose()
    assert sorted(waiting) == [("140700",), ("140724",), ("leader:leader_east",)]


def test_a_correction_is_dated_when_the_late_entry_is_made_not_at_the_hand_in(engine, bots, tmp_path, monkeypatch):
    """`duban submit --at` of 昔阳's paper of 5月24日, entered after it was told 逾期 on 5月28日: its 更正 was dated
    5月24日 16:00, so the 总结报告 --as-of 5月28日 10:00 counted a 更正 sent before the 逾期 it corrects — and
    before anybody entered the paper. It is dated when the entry is made."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.store.db import reading
    from duban.store.record import sent_until
    from tests.conftest import JINZHONG

    plan_jinzhong(engine)
    tick(engine, at("2024-05-28 09:30"))
    _send(engine, at("2024-05-28 09:30"))
    monkeypatch.setenv("DUBAN_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DUBAN_QUIET_HOURS", "off")  # the 更正 goes out at the real now, whatever the hour
    get_settings.cache_clear()
    paper = tmp_path / "自查评分表.xlsx"
    paper.write_bytes(xlsx_bytes([["项目", "得分"], ["工作任务", 9]]))
    entered = datetime.now(timezone.utc).replace(microsecond=0)
    args = ["submit", str(JINZHONG), "--unit", XIYANG, "--item", ITEM, "--file", str(paper), "--at", "2024-05-24 16:00"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    _send(engine, datetime.now(timezone.utc))
    with engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.kind, OutboxMessage.created_at, OutboxMessage.status).where(
                OutboxMessage.kind == "corrected"
            )
        ).all()
    assert len(rows) == 3 and all(status == "sent" for _kind, _created, status in rows), rows
    assert all(created >= entered for _kind, created, _status in rows), rows  # not 5月24日 16:00
    with reading(engine) as conn:
        assert sent_until(conn, CAMPAIGN, at("2024-05-28 10:00"))["corrected"] == 0
        assert sent_until(conn, CAMPAIGN, datetime.now(timezone.utc))["corrected"] == 3


def _the_clis_database():
    """The database `duban` commands use (DUBAN_HOME), with 晋中's campaign planned in it."""
    from duban.store.db import init_db
    from duban.store.engine import make_engine

    engine = make_engine(get_settings().resolved_database_url)
    init_db(engine)
    plan_jinzhong(engine)
    return engine


def _told(engine, instant: str) -> None:
    """A tick at `instant` and the dispatch of what it wrote (the units and their parents told 逾期 or 催办)."""
    from duban.notify.notifier import RecordingNotifier
    from duban.services.dispatch import dispatch

    tick(engine, at(instant))
    dispatch(engine, at(instant), lambda _ref: RecordingNotifier(), fallback_channels=["sink"])
