"""`duban amend --dry-run` before the campaign is in a database (issue 25): compared on the plan alone, with the
items that count from the moved one through a chain listed (2024: Friday 5/24 → Wednesday 5/29)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from duban.cli.main import app
from duban.domain.calendar import WorkCalendar
from duban.errors import SpecError
from duban.instants import fmt
from duban.services.amend import preview_amendment
from duban.spec.amendment import load_amendment
from duban.spec.load import load_spec
from tests.conftest import JINZHONG, ROOT

SPEC = ROOT / "tests" / "specs" / "xiyang-2024-amend-chain.yaml"
TZ = "Asia/Shanghai"
AMENDMENT = ROOT / "tests" / "specs" / "amendments" / "xiyang-2024-amend-chain-move.yaml"


def test_a_preview_on_the_plan_alone_lists_the_chain_of_dependants():
    result = preview_amendment(load_spec(SPEC), load_amendment(AMENDMENT), WorkCalendar())
    [changed] = result.changed
    assert (fmt(changed.old_due, "Asia/Shanghai"), fmt(changed.new_due, "Asia/Shanghai")) == (
        "2024-05-24 周五 24:00",
        "2024-05-29 周三 24:00",
    )
    assert result.dependents == ["rectification", "summary"]
    assert result.chains["rectification"] == "event:review_meeting, which counts from item:county_report"
    assert result.chains["summary"] == (
        "item:rectification, which counts from event:review_meeting, which counts from item:county_report"
    )


def test_the_cli_dry_run_works_before_the_campaign_is_in_a_database(tmp_path, monkeypatch):
    from duban.settings import get_settings

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["amend", str(SPEC), str(AMENDMENT), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "not in the database yet" in result.output and "would re-plan 1 assignment(s)" in result.output
    assert "2024-05-24 周五 24:00 → 2024-05-29 周三 24:00" in result.output
    assert "item summary counts from item:rectification, which counts from event:review_meeting" in result.output
    assert not (tmp_path / "home" / "duban.db").exists()  # nothing is created to find out


def test_without_dry_run_a_campaign_not_in_the_database_is_still_refused(tmp_path, monkeypatch):
    from duban.settings import get_settings

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["amend", str(SPEC), str(AMENDMENT), "--at", "2024-05-20 09:00"])
    assert result.exit_code == 1 and "is not in the database" in result.output


def test_stages_that_follow_a_moved_stage_are_listed_with_their_items():
    """县级检查 follows 自查 (自查结束后), 市级抽查 follows 县级检查, 材料上报 follows 市级抽查: moving the end of 自查
    lists the three stages, directly or through the chain. 县级检查 moves with 自查 (its opening at 自查's new end,
    its `lasts: 10 working days` due counted from there); 市级抽查 waits for the counties' record and 材料上报 for
    it, so they stay held and nothing of theirs is left behind."""
    spec = load_spec(ROOT / "tests" / "specs" / "jinzhong-2024-stage-order.yaml")
    moved = ROOT / "tests" / "specs" / "amendments" / "jinzhong-2024-stage-order-move.yaml"
    result = preview_amendment(spec, load_amendment(moved), WorkCalendar())
    assert result.stages == ["county_check", "city_check", "materials"]
    assert result.stage_chains == {
        "county_check": "stage:self_assessment",
        "city_check": "stage:county_check, which counts from stage:self_assessment",
        "materials": "stage:city_check, which counts from stage:county_check, which counts from stage:self_assessment",
    }
    assert (result.moving, result.waiting) == (["county_check"], ["city_check", "materials"])
    assert result.dependents == []
    report = {(c.item_id, fmt(c.new_open, TZ), fmt(c.new_due, TZ)) for c in result.changed}
    # 自查 to Wednesday 6/5; 10 working days after: 6/6, 6/7, 6/11 (端午 6/10), 6/12, 6/13, 6/14, 6/17 … 6/20
    assert ("county_report", "2024-06-05 周三 24:00", "2024-06-20 周四 24:00") in report


def test_the_cli_dry_run_names_the_stages_that_follow(tmp_path, monkeypatch):
    from duban.settings import get_settings

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    spec = ROOT / "tests" / "specs" / "jinzhong-2024-stage-order.yaml"
    moved = ROOT / "tests" / "specs" / "amendments" / "jinzhong-2024-stage-order-move.yaml"
    result = CliRunner().invoke(app, ["amend", str(spec), str(moved), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "stage county_check follows stage:self_assessment, which the amendment moves, and moves with it: opens " in (
        result.output
    )
    assert "opens 2024-05-31 周五 24:00 → 2024-06-05 周三 24:00, due 2024-06-17 周一 24:00 → 2024-06-20 周四 24:00" in (
        result.output
    )
    assert "stage materials counts from stage:city_check, which counts from stage:county_check" in result.output


ZJ = ROOT / "tests" / "specs" / "zj-2025-gas.yaml"
ZJ_MOVE = ROOT / "tests" / "specs" / "amendments" / "zj-2025-gas-move.yaml"
ZJ_MOVE_WITH_DUE = ROOT / "tests" / "specs" / "amendments" / "zj-2025-gas-move-with-due.yaml"


def test_a_stage_moved_past_an_items_due_is_an_error_unless_the_amendment_names_its_due():
    """自查 to Friday 10/10: 县级复查 follows it and opens then, but its 节日值班表 stays due Wednesday 10/8, so no
    county could hand it in on time (the next tick would send 开始办理, 逾期 and 催办 at once): validate's error
    for a due before opening. Naming its new due (10月15日) in the amendment clears it."""
    result = preview_amendment(load_spec(ZJ), load_amendment(ZJ_MOVE), WorkCalendar())
    assert result.errors == [
        "item 'holiday_due' is due 2025-10-08 周三 24:00, before it opens (2025-10-10 周五 24:00 at the earliest, "
        "the start of its stage 县级复查阶段): no unit could hand it in on time; move the due, or give the item "
        "`opens:` if it opens before its stage; the amendment must name its new due (`- {item: holiday_due, due: …}`)"
    ]
    named = preview_amendment(load_spec(ZJ), load_amendment(ZJ_MOVE_WITH_DUE), WorkCalendar())
    assert named.errors == []
    assert {(c.item_id, fmt(c.new_due, TZ)) for c in named.changed if c.item_id == "holiday_due"} == {
        ("holiday_due", "2025-10-15 周三 24:00")
    }


def test_the_cli_dry_run_lists_an_item_opening_after_its_due_as_an_error(tmp_path, monkeypatch):
    from duban.settings import get_settings

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["amend", str(ZJ), str(ZJ_MOVE), "--dry-run"])
    assert result.exit_code == 1, result.output
    assert "error item 'holiday_due' is due 2025-10-08 周三 24:00, before it opens" in result.output
    assert "would re-plan 26 assignment(s)" in result.output  # the rest of the dry run is still shown
    assert "the amendment would be refused: 1 error(s) above" in result.output
    assert "note item holiday_due" not in result.output


YJ = ROOT / "tests" / "specs" / "yj-2026-safety.yaml"
YJ_SHORTEN = ROOT / "tests" / "specs" / "amendments" / "yj-2026-safety-shorten.yaml"


def test_a_stage_shortened_before_its_items_dues_gets_validates_outside_its_stage_warning(tmp_path, monkeypatch):
    """乡镇自查 shortened to end Tuesday 9/22 while its 隐患自查台账 stays due 9/25 and 县级汇总表 9/30: the warning
    validate gives a due outside its stage, in the amended window (动员情况, due 9/20, is inside it)."""
    from duban.settings import get_settings

    result = preview_amendment(load_spec(YJ), load_amendment(YJ_SHORTEN), WorkCalendar())
    window = "乡镇自查阶段 (2026-09-14 周一 08:30 — 2026-09-22 周二 24:00)"
    assert result.warnings == [
        f"item 'self_ledger' is due 2026-09-25 周五 24:00, outside its stage {window}",
        f"item 'county_sum' is due 2026-09-30 周三 24:00, outside its stage {window}",
    ]
    assert result.errors == []
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    shown = CliRunner().invoke(app, ["amend", str(YJ), str(YJ_SHORTEN), "--dry-run"])
    assert shown.exit_code == 0, shown.output
    assert f"warning item 'county_sum' is due 2026-09-30 周三 24:00, outside its stage {window}" in shown.output


def _jinzhong_amendment(tmp_path, *changes: str):
    """An amendment of the 晋中 "回头看" campaign with these `changes:` lines, and its path."""
    path = tmp_path / "amend.yaml"
    path.write_text(
        "campaign: jinzhong-2024-lookback\nissuer: 晋中市统计局\ndoc_no: 晋统字〔2024〕15号\nissued_on: 2024-06-12\n"
        "reason: 因防汛工作安排调整时间\nchanges:\n" + "".join(f"  - {c}\n" for c in changes),
        encoding="utf-8",
    )
    return path


def test_an_amendment_ending_a_stage_before_it_starts_is_an_error(tmp_path, monkeypatch):
    """县级检查 (from 5/25) ending 5/20 — a typo of 6/20 — passed a dry run with only a due-outside-its-stage warning,
    where validate calls such a window an error (an outside tester's finding)."""
    from duban.settings import get_settings

    path = _jinzhong_amendment(tmp_path, "{stage: county_check, end: 2024-05-20}")
    result = preview_amendment(load_spec(JINZHONG), load_amendment(path), WorkCalendar())
    assert any(
        e.startswith("the window of stage 县级检查阶段 ends (2024-05-20 周一 24:00) before it starts (2024-05-25")
        for e in result.errors
    ), result.errors
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    shown = CliRunner().invoke(app, ["amend", str(JINZHONG), str(path), "--dry-run"])
    assert shown.exit_code == 1, shown.output
    assert "error the window of stage 县级检查阶段 ends" in shown.output


def test_an_amendment_changing_one_item_twice_is_an_error_at_the_second(tmp_path):
    """材料上报 moved to 7/5 and then to 7/10 in one notice: the last silently won, where a spec refuses an id given
    twice (an outside tester's finding)."""
    path = _jinzhong_amendment(
        tmp_path, "{item: materials_upload, due: 2024-07-05}", "{item: materials_upload, due: 2024-07-10}"
    )
    with pytest.raises(SpecError) as caught:
        preview_amendment(load_spec(JINZHONG), load_amendment(path), WorkCalendar())
    assert str(caught.value).startswith(
        f"{path}:8 changes[1]: item 'materials_upload' is changed twice (first in changes[0], line 7)"
    ), str(caught.value)


def test_an_amendment_applied_for_real_later_than_now_is_refused_and_a_dry_run_may_look_ahead(tmp_path, monkeypatch):
    """`duban amend … --at "2027-03-01 09:00"` was applied for real (an outside tester's finding): the amendment
    re-planned and queued its 截止时间调整 messages dated ahead, where submit and excuse refuse a future --at. It is
    refused now before anything is opened or written; a --dry-run may still look ahead."""
    from datetime import datetime, timedelta, timezone

    from duban.settings import get_settings

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    ahead = (datetime.now(timezone.utc) + timedelta(days=90)).strftime("%Y-%m-%d 09:00")
    result = CliRunner().invoke(app, ["amend", str(SPEC), str(AMENDMENT), "--at", ahead])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "Traceback" not in said, said
    assert f"--at {ahead}:" in said and "is later than now" in said and "--dry-run" in said, said
    assert not (tmp_path / "home" / "duban.db").exists()  # refused before anything was opened
    looked = CliRunner().invoke(app, ["amend", str(SPEC), str(AMENDMENT), "--at", ahead, "--dry-run"])
    assert looked.exit_code == 0 and "would re-plan" in looked.output, looked.output
