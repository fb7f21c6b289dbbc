"""`duban tick` prints how many messages the tick composed, the 签收 and 审核提醒 steps' included (an outside tester
saw "messages composed: 0" at the tick that queued nine 签收提醒)."""

from __future__ import annotations

from rich.console import Console

from duban.cli.show import print_tick


def _printed(summary: dict) -> str:
    console = Console(record=True, width=200)
    print_tick(console, summary)
    return console.export_text()


def _summary(**more) -> dict:
    stages = [{"stage": "materials", "examined": 0, "events": {}}]
    return {"campaign": "jinzhong-2024-lookback", "as_of": "2024-06-12T09:00:00+08:00", "stages": stages, **more}


def test_the_tick_counts_the_acknowledgement_and_reviewer_reminders_it_queued():
    out = _printed(_summary(messages=3, acknowledgements={"messages": 9}, review_reminders={"messages": 1}))
    assert "messages composed: 13 (stages 3, 签收提醒/催办 9, 审核提醒 1)" in out


def test_a_tick_without_the_loop_prints_its_count_alone():
    out = _printed(_summary(messages=130))
    assert "messages composed: 130\n" in out
    assert "签收" not in out


def test_the_tick_is_headed_by_its_instant_as_its_run_is_named():
    """`duban tick … --as-of "2024-06-12 09:00"` printed 2024-06-12T09:00:00+08:00 (UTC for a tick at 'now'),
    while the Prefect run, the log and the portal say 2024-06-12 周三 09:00."""
    out = _printed(_summary(messages=0, as_of="2024-06-12T01:00:00+00:00"))
    assert out.startswith("tick jinzhong-2024-lookback @ 2024-06-12 周三 09:00\n")
