"""`duban sample show`, `duban scores`, `duban rollup show` and the forward chain in `duban plan`, as an
administrator runs them."""

from __future__ import annotations

import json

from openpyxl import load_workbook
from sqlalchemy import select, update
from typer.testing import CliRunner

from duban.cli.main import app
from duban.domain.scoring import UnitScores
from duban.services.lifecycle import ensure_planned
from duban.services.scores import record_scores
from duban.settings import get_settings
from duban.store.db import engine_for
from duban.store.tables import SampleDraw
from tests.conftest import JINZHONG, SPECS
from tests.integration.helpers import at

runner = CliRunner()
XIYANG = SPECS / "xiyang-2024-lookback.yaml"


def _run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, env={"COLUMNS": "200"})


def test_sample_show_prints_members_seed_rule_and_where_a_rule_falls_short():
    result = _run("sample", "show", JINZHONG)
    assert result.exit_code == 0, result.output
    assert (
        "市级抽查（6个县、24个乡镇） (city_check) seed 20240610 · 隐藏至 2024-06-10 周一 08:30 · 30 个单位"
        in result.output
    )
    assert "rule 1 (from counties, 11 units): 6 of 11" in result.output
    assert "rule 2 (from townships, 118 units): 24 of 118" in result.output
    assert "not recorded yet" in result.output


def test_sample_show_compares_the_recorded_draw_with_a_redraw():
    engine = engine_for(get_settings().resolved_database_url)
    ensure_planned(engine, JINZHONG, now=at("2024-05-09 12:00"))
    same = _run("sample", "show", JINZHONG, "--sample", "city_check")
    assert "recorded 2024-05-09 周四 12:00 with seed 20240610: same members" in same.output
    other = _run("sample", "show", JINZHONG, "--sample", "city_check", "--seed", "7")
    assert "seed 7" in other.output and "differs" in other.output
    with engine.begin() as conn:  # someone edits the record behind duban's back
        conn.execute(update(SampleDraw).where(SampleDraw.sample_id == "county_checks").values(members=["140724100"]))
    edited = _run("sample", "show", JINZHONG, "--sample", "county_checks")
    assert "differs" in edited.output and "only in the record: 乐平镇" in edited.output
    assert "(66 in all)" in edited.output


def test_sample_show_names_an_unknown_sample():
    result = _run("sample", "show", JINZHONG, "--sample", "nope")
    assert result.exit_code == 1 and "has no sample 'nope' (samples: county_checks, city_check)" in result.output


def test_plan_shows_the_forward_chain_city_county_township():
    result = _run("plan", XIYANG)
    assert result.exit_code == 0, result.output
    text = result.output
    city, county, town = (
        text.index(s) for s in ("2024-07-01 周一 24:00", "2024-06-27 周四 24:00", "2024-06-25 周二 24:00")
    )
    assert "转发链 每级提前 2个工作日" in text and city < county < town
    assert "晋中市统计局  (jinzhong-2024-lookback) → 昔阳县统计局" in text
    chain = json.loads(_run("plan", XIYANG, "--json").output)["chain"]
    link = chain["links"][0]
    assert link["from_due"] < link["into_due"] < link["upper_due"]


def test_scores_template_and_import_from_the_command_line(tmp_path):
    out = tmp_path / "评分表.xlsx"
    made = _run("scores", "template", JINZHONG, "--sample", "city_check", "--out", out)
    assert made.exit_code == 0, made.output
    assert "city_check 30 个单位" in made.output
    book = load_workbook(out)
    ws = book["市级抽查"]
    for col, value in zip(range(4, 13), [5, 10, 5, 12, 5, 5, 5, 5, 10]):
        ws.cell(4, col, value)
    book.save(out)
    bad = _run("scores", "import", JINZHONG, out, "--at", "2024-06-20 10:00")
    assert bad.exit_code == 1
    assert "error: " in bad.output and "评分表.xlsx 市级抽查!G4：统计台账 12 分超过满分 10 分" in bad.output
    ws.cell(4, 7, 3)
    book.save(out)
    good = _run("scores", "import", JINZHONG, out, "--at", "2024-06-20 10:00")
    assert good.exit_code == 0, good.output
    assert "未达标" in good.output and "截止 2024-07-04 周四 24:00" in good.output
    assert "1 units scored, 1 below 80" in good.output
    shown = _run("scores", "show", JINZHONG)
    assert "未达标" in shown.output and "1 units scored" in shown.output


def test_scores_show_never_sends_a_stored_control_character_to_the_terminal():
    """F13: an 检查人 holding ESC]0;…BEL ESC[2J (saved by the portal's form before it refused one) was printed raw:
    on a terminal it retitled the window and cleared the screen. It now prints as \\u001b…."""
    engine = engine_for(get_settings().resolved_database_url)
    ensure_planned(engine, JINZHONG, now=at("2024-06-20 09:00"))
    with engine.connect() as conn:
        unit = conn.execute(select(SampleDraw.members).where(SampleDraw.sample_id == "city_check")).scalar_one()[0]
    items = ["duties", "staffing", "rules", "ledgers", "reporting", "service", "informatization", "training", "funding"]
    points = dict(zip(items, [9, 14, 9, 9, 9, 9, 9, 9, 14]))
    hostile = "\x1b]0;PWNED\x07\x1b[2J\u202e红色检查人"
    record_scores(
        engine,
        "jinzhong-2024-lookback",
        "city_check",
        [UnitScores(unit, points, inspector=hostile)],
        at=at("2024-06-20 10:00"),
    )
    shown = _run("scores", "show", JINZHONG)
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.output and "\x07" not in shown.output and "\u202e" not in shown.output
    assert "\\u001b]0;PWNED\\u0007\\u001b[2J\\u202e红色检查人" in shown.output


def test_rollup_show_lists_who_has_handed_in():
    result = _run("rollup", "show", XIYANG)
    assert result.exit_code == 0, result.output
    assert "昔阳县统计局: 已报 0/11" in result.output and "城区社会事务服务中心" in result.output
