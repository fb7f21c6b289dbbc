"""A province's 通报 (山西's 住建 line over its cities and counties): its late units grouped under their city, and a
unit whose name another unit in the list shares told apart by its city (阳泉市城区 beside 晋城市城区)."""

from __future__ import annotations

from collections import Counter

from docx import Document
from typer.testing import CliRunner

from duban.cli.main import app
from duban.services.compose import compose_messages
from duban.services.lifecycle import ensure_planned
from duban.services.tick import tick_stage
from duban.settings import get_settings
from duban.store.db import engine_for
from tests.conftest import SPECS
from tests.integration.helpers import at

SHANXI = SPECS / "shanxi-2025-housing-safety.yaml"


def shanxi_at(moment: str):
    """The 住建 campaign planned and ticked at `moment` (nobody has handed anything in)."""
    engine = engine_for(get_settings().resolved_database_url)
    campaign = ensure_planned(engine, SHANXI, now=at("2025-03-25 12:00")).campaign_id
    for stage in ("survey", "remedy"):
        tick_stage(engine, campaign, stage, at(moment))
    compose_messages(engine, campaign, at(moment))
    return engine, campaign


def bulletin_rows(tmp_path, as_of: str, *more: str) -> tuple[list[str], list[list[str]]]:
    out = tmp_path / "通报.docx"
    result = CliRunner().invoke(
        app, ["bulletin", str(SHANXI), "--as-of", as_of, "--out", str(out), *more], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    document = Document(str(out))
    rows = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    return [p.text for p in document.paragraphs], rows


def test_a_provinces_bulletin_groups_its_late_units_under_their_city(tmp_path):
    shanxi_at("2025-05-20 09:00")
    paragraphs, rows = bulletin_rows(tmp_path, "2025-05-20 09:00")
    assert rows[0][:2] == ["市（州、盟）", "单位"]
    assert any("按所属市（州、盟）列示如下" in p for p in paragraphs)
    cities = list(dict.fromkeys(row[0] for row in rows[1:]))
    assert cities == "太原市 大同市 阳泉市 长治市 晋城市 朔州市 晋中市 运城市 忻州市 临汾市 吕梁市".split()
    yangquan = [row[1] for row in rows[1:] if row[0] == "阳泉市"]
    assert "阳泉市城区住房和城乡建设局" in yangquan and "阳泉市城区统计局" in yangquan and "平定县统计局" in yangquan
    jincheng = [row[1] for row in rows[1:] if row[0] == "晋城市"]
    assert "晋城市城区住房和城乡建设局" in jincheng
    # every line of the list names its unit apart from the others: two rows never read the same
    same = [name for name, n in Counter((row[1], row[2]) for row in rows[1:]).items() if n > 1]
    assert same == []
    assert "小店区住房和城乡建设局" in [row[1] for row in rows[1:]]  # a name nobody shares stays as it is


def test_status_tells_apart_two_units_of_one_name_as_the_bulletin_does():
    shanxi_at("2025-05-20 09:00")
    shown = CliRunner().invoke(app, ["status", str(SHANXI), "--as-of", "2025-05-20 09:00", "--level", "county"])
    assert shown.exit_code == 0, shown.output
    names = [line.split()[0] for line in shown.output.splitlines() if " 县级 " in line]
    assert "阳泉市城区住房和城乡建设局" in names and "晋城市城区住房和城乡建设局" in names and "小店区统计局" in names
    assert [name for name, n in Counter(names).items() if n > 1] == []
