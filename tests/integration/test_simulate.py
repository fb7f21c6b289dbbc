"""`duban simulate`: the whole campaign on a throw-away database, reproducible by seed."""

from collections import Counter

from duban.instants import fmt
from duban.simulation.preview import simulate_spec
from tests.conftest import JINZHONG


def test_the_preview_is_reproducible_and_complete(tmp_path):
    first = simulate_spec(JINZHONG, seed=7)
    again = simulate_spec(JINZHONG, seed=7)
    other = simulate_spec(JINZHONG, seed=8)
    key = lambda p: [(e.at, e.recipient, e.kind) for e in p.messages]  # noqa: E731
    assert key(first) == key(again)
    assert key(first) != key(other)
    kinds = first.by_kind()
    # the notice's messages, and the 督办 loop played once (a county's 检查材料 returned, the others accepted; the
    # extension is asked only when the seeded draw has not handed the item in by then; the counties acknowledge the
    # 材料上报 stage but one, which is reminded and escalated to the city)
    loop = {"returned", "accepted", "ack_reminder", "ack_escalation"}
    assert {"opened", "reminder", "overdue", "escalation", "receipt", *loop} <= set(kinds)
    assert set(kinds) <= {"opened", "reminder", "overdue", "escalation", "receipt", "extension", *loop}
    assert kinds["returned"] == 1 and kinds["ack_reminder"] == 1 and kinds["ack_escalation"] == 1
    [acked] = [line for line in first.loop if "签收" in line]
    assert '10个单位签收了“"回头看"检查材料整理上报阶段”的通知；' in acked and "未签收" in acked
    opened_at = sorted(
        {
            fmt(__import__("datetime").datetime.fromisoformat(e.at), "Asia/Shanghai")
            for e in first.messages
            if e.kind == "opened"
        }
    )
    assert opened_at[0] == "2024-05-10 周五 08:30"
    assert kinds["receipt"] <= first.planned_submissions


def test_no_message_goes_out_in_quiet_hours():
    from datetime import datetime

    preview = simulate_spec(JINZHONG, seed=3)
    hours = Counter(fmt(datetime.fromisoformat(e.at), "Asia/Shanghai")[-5:] for e in preview.messages)
    assert all("07:30" <= hour < "22:00" for hour in hours), hours


def test_units_that_never_submit_are_escalated_to_their_county_and_leader():
    preview = simulate_spec(JINZHONG, seed=5)
    escalations = [e for e in preview.messages if e.kind == "escalation"]
    recipients = {e.recipient for e in escalations}
    assert any(r.startswith("leader:") for r in recipients)
    assert any(r.isdigit() and len(r) == 6 for r in recipients)  # a county or the city
    township_lines = [e for e in escalations if "统计站 — 【" in e.rendered.text]  # a line each, or listed under
    listed = [e for e in escalations if "统计站" in e.rendered.text.partition("逾期未报的单位（")[2]]  # the item
    assert township_lines and listed, "county bureaus hear which of their townships slipped"


def test_a_preview_counts_every_message_and_keeps_only_those_asked_for():
    """A national campaign with a million enterprises sends some 12 million messages: the run counts them as they
    go and keeps only what is asked for (`duban simulate --unit`), never all of them (issue 24)."""
    whole = simulate_spec(JINZHONG, seed=7)
    one = simulate_spec(JINZHONG, seed=7, keep=lambda m: m.recipient == "140724")
    assert one.sent == whole.sent and one.sent.count == len(whole.messages) > 300
    assert one.by_kind() == Counter(m.kind for m in whole.messages)
    mine = [(m.at, m.kind, m.key) for m in whole.messages if m.recipient == "140724"]
    assert [(m.at, m.kind, m.key) for m in one.messages] == mine and len(mine) > 3
    first = {}
    for m in whole.messages:
        first.setdefault((m.at, m.kind), []).append(m.recipient)
    assert {k: (len(v), v[:4]) for k, v in first.items()} == {k: (n, r) for k, (n, r) in one.sent.groups.items()}


def test_the_loop_extension_is_asked_by_a_unit_still_owing_the_item():
    """The first unit in code order had handed the item in by the seeded draw; the next one owing it asks instead
    of the loop saying "未提出延期申请：本事项已报送" (issue 23's tester)."""
    for seed in (7, 2024):
        preview = simulate_spec(JINZHONG, seed=seed)
        lines = [line for line in preview.loop if "延期" in line]
        assert not any("未提出延期申请" in line for line in lines), lines
        assert any("申请将自查评分表延期至" in line for line in lines), lines
        assert any("批准延期至" in line for line in lines), lines
        assert preview.by_kind()["extension"] == 1


def test_a_message_held_by_quiet_hours_goes_out_at_their_end_though_a_unit_hands_in_before(tmp_path):
    """The 自查 opens Monday 23:00 (quiet hours): its 开始办理 waits for 07:30. A unit's draw handed in at 06:00
    moved the clock to that day's 18:00 receipts, past 07:30: the preview sent the openings at 18:00 (the
    units that had handed in by then dropped as told too late) and counted their 签收 from 18:00."""
    from tests.integration.test_acknowledgements import SLIP_SPEC

    path = tmp_path / "selfcheck.yaml"
    late_night = SLIP_SPEC.replace("opens: 2021-11-29 08:30", "opens: 2021-11-29 23:00")
    path.write_text(late_night.replace("due: 2021-11-30 08:30", "due: 2021-11-30 23:00"), encoding="utf-8")
    preview = simulate_spec(path, seed=1)
    opened = Counter(
        fmt(__import__("datetime").datetime.fromisoformat(m.at), "Asia/Shanghai")
        for m in preview.messages
        if m.kind == "opened"
    )
    # the one unit that handed in before 07:30 is not told of an item it no longer owes (stale, dropped)
    assert opened == {"2021-11-30 周二 07:30": 11}, opened
