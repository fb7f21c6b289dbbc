"""A 配合 unit's item that its 牵头 unit has handed in: the stored state stays (the unit owes its part), but status,
the digest and the 通报 do not call it 逾期 — they show it handed in by its lead, counted with the handed-in ones."""

from __future__ import annotations

from typer.testing import CliRunner

from duban.cli.main import app
from duban.services.submit import record_submission
from duban.store.tables import Assignment
from tests.integration.helpers import at
from tests.integration.test_bulletin_groups import SHANXI, bulletin_rows, shanxi_at
from tests.samples import write, xlsx_bytes

XIAODIAN, XIAODIAN_STATS = "140105", "140105@stats"  # 小店区住房和城乡建设局 leads the 台账, 小店区统计局 cooperates


def _lead_hands_in(tmp_path, when: str, metrics: dict | None = None):
    engine, campaign = shanxi_at("2025-05-10 09:00")
    ledger = write(tmp_path / "台账.xlsx", xlsx_bytes())
    record_submission(
        engine,
        campaign,
        XIAODIAN,
        "county_ledger",
        at(when),
        files=[ledger],
        metrics=metrics or {"buildings_checked": "1200", "hazards_found": "31"},
        files_dir=tmp_path / "files",
    )
    engine2, _ = shanxi_at("2025-05-20 09:00")
    return engine2, campaign


def _state(engine, unit: str) -> str:
    a = Assignment.__table__
    with engine.connect() as conn:
        return conn.execute(
            a.select().with_only_columns(a.c.state).where(a.c.unit_code == unit, a.c.item_id == "county_ledger")
        ).scalar_one()


def test_status_shows_a_cooperating_unit_handed_in_by_its_lead_not_overdue(tmp_path):
    engine, _campaign = _lead_hands_in(tmp_path, "2025-05-12 10:00")
    assert _state(engine, XIAODIAN_STATS) == "overdue"  # the record keeps what the unit owes
    shown = CliRunner().invoke(app, ["status", str(SHANXI), "--as-of", "2025-05-20 09:00", "--level", "county"])
    assert shown.exit_code == 0, shown.output
    rows = {line.split()[0]: line.split()[1:] for line in shown.output.splitlines() if " 县级 " in line}
    assert rows["小店区统计局"][1] == "绿" and rows["小店区住房和城乡建设局"][1] == "绿"
    assert rows["迎泽区统计局"][1] == "红"  # its lead has handed in nothing
    tally = shown.output.split("这些单位的事项：")[1]
    assert tally.startswith("应报 351 · 已报 2（按时 2、逾期 0），含已报送（牵头单位）1 · ")
    assert "逾期未报 232 · " in tally  # 117 县 × 2 bodies, less 小店区's two


def test_the_bulletin_leaves_out_a_cooperating_unit_its_lead_handed_in_for(tmp_path):
    _lead_hands_in(tmp_path, "2025-05-12 10:00")
    paragraphs, rows = bulletin_rows(tmp_path, "2025-05-20 09:00")
    named = {row[1] for row in rows[1:]}
    assert "小店区统计局" not in named and "小店区住房和城乡建设局" not in named and "迎泽区统计局" in named
    said = "\n".join(paragraphs)
    assert "应报234项，按时报送2项，逾期报送0项，未报送232项" in said, said
    assert "配合单位的事项已由牵头单位报送的，计入已报送（1项）" in said


def test_a_lead_late_is_named_late_and_its_cooperating_unit_reads_as_its_late_hand_in(tmp_path):
    _lead_hands_in(tmp_path, "2025-05-19 10:00")  # after the due of 5/16
    shown = CliRunner().invoke(app, ["status", str(SHANXI), "--as-of", "2025-05-20 09:00", "--level", "county"])
    rows = {line.split()[0]: line.split()[1:] for line in shown.output.splitlines() if " 县级 " in line}
    assert rows["小店区统计局"][1] == "黄" and rows["小店区住房和城乡建设局"][1] == "黄"
    assert "已报 2（按时 0、逾期 2），含已报送（牵头单位）1 · " in shown.output
    _paragraphs, table = bulletin_rows(tmp_path, "2025-05-20 09:00")
    xiaodian = [row for row in table[1:] if row[1].startswith("小店区")]
    assert [(row[1], row[4]) for row in xiaodian] == [("小店区住房和城乡建设局", "逾期2天报送")]
