"""A version waiting for review (待审核) in `duban status` and the daily digest: handed in (已报送（待审核）), as the
unit's portal page says; a late one is yellow like a late hand-in; the digest's stage line adds up."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from duban.cli.main import app
from duban.notify.notifier import RecordingNotifier
from duban.services.dispatch import dispatch
from duban.services.submit import record_submission
from duban.settings import get_settings
from duban.store.db import engine_for
from duban.views.digest import compose_digest
from tests.conftest import JINZHONG
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import xlsx_bytes

XIYANG, SHOUYANG = "140724", "140725"
ITEM = "materials_upload"  # reviewed by the city's 设管科 (review: operators), due 7/1 24:00


def _two_in_review(tmp_path):
    """昔阳 hands its 检查材料 in on 6/20 (on time), 寿阳 on 7/2 (late); neither is reviewed yet."""
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    for unit, when in ((XIYANG, "2024-06-20 09:00"), (SHOUYANG, "2024-07-02 10:00")):
        path = tmp_path / f"{unit}.xlsx"
        path.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
        record_submission(engine, CAMPAIGN, unit, ITEM, at(when), files=[path], files_dir=tmp_path / "files")
    tick(engine, at("2024-07-02 10:30"))
    return engine


def test_status_counts_a_version_in_review_as_handed_in_and_a_late_one_yellow(tmp_path):
    _two_in_review(tmp_path)
    shown = CliRunner().invoke(app, ["status", str(JINZHONG), "--as-of", "2024-07-02 10:30", "--level", "county"])
    assert shown.exit_code == 0, shown.output
    rows = {line.split()[0]: line.split() for line in shown.output.splitlines() if " 县级 " in line}
    assert rows["昔阳县统计局"][-1] == "绿" and rows["寿阳县统计局"][-1] == "黄"  # ④ 材料上报: late, in review
    assert rows["榆次区统计局"][-1] == "红"
    tally = shown.output.split("这些单位的事项：")[1]
    assert re.match(r"应报 \d+ · 已报 2（按时 0、逾期 0、待审核 2）", tally), tally
    assert "已报＝按时报送＋逾期报送＋已报送（待审核）" in shown.output


def test_the_digests_stage_line_adds_up_with_versions_in_review(tmp_path):
    engine = _two_in_review(tmp_path)
    assert compose_digest(engine, CAMPAIGN, at("2024-07-02 10:30"))
    notifier = RecordingNotifier()
    dispatch(engine, at("2024-07-02 10:30"), lambda _: notifier, fallback_channels=["sink"], operator_channels=["x"])
    text = next(e for e in notifier.sent["x"] if e.kind == "digest").rendered.text
    line = next((line for line in text.splitlines() if line.startswith('【"回头看"检查材料整理上报阶段】')), text)
    assert "已报2项（其中待审核2项）" in line, line
    for stage_line in (line for line in text.splitlines() if re.match(r"【.*阶段】应报", line)):
        total, *parts = _counts(stage_line)
        assert total == sum(parts), stage_line  # every assignment in exactly one count


def _counts(line: str) -> list[int]:
    """The 应报 figure, then the figures outside the brackets (the brackets break a figure down)."""
    outside = re.sub(r"（[^）]*）", "", line)
    return [int(n) for n in re.findall(r"(\d+)项", outside)]


def test_the_operators_matrix_shows_a_late_version_in_review_yellow(tmp_path):
    from duban.domain.state import Color
    from duban.views.matrix import matrix

    engine = _two_in_review(tmp_path)
    whole = matrix(engine, CAMPAIGN, at("2024-07-02 10:30"), level="county")
    cells = {row.display: row.cells[ITEM].color.value for row in whole.rows if ITEM in row.cells}
    assert cells["寿阳县统计局"] == "黄" and cells["昔阳县统计局"] == "绿"
    everyone = matrix(engine, CAMPAIGN, at("2024-07-02 10:30"))  # the campaign's kept counts
    assert everyone.counts[ITEM][Color.yellow] == 1 and everyone.counts[ITEM][Color.green] == 1
    assert whole.counts[ITEM][Color.yellow] == 1
    red = matrix(engine, CAMPAIGN, at("2024-07-02 10:30"), level="county", only="red")  # 寿阳 is behind elsewhere
    assert "寿阳县统计局" in {row.display for row in red.rows} and red.counts[ITEM][Color.yellow] == 1


def test_the_prefect_summary_counts_versions_in_review_as_status_does(tmp_path):
    from duban.views.artifacts import summary_markdown
    from duban.views.progress import campaign_view

    engine = _two_in_review(tmp_path)
    text = summary_markdown(campaign_view(engine, CAMPAIGN, at("2024-07-02 10:30")))
    row = next(line for line in text.splitlines() if '"回头看"检查材料整理上报阶段 |' in line)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    due, handed, _late, excused, overdue, working, pending = (int(c) for c in cells[2:9])
    assert (due, handed, overdue) == (11, 2, 9), row
    assert due == handed + excused + overdue + working + pending, row
    assert "已报＝按时报送＋逾期报送＋已报送（待审核）" in text
