"""Score sheets (评分表) through a real xlsx: export the template, fill it with openpyxl as an inspector's Excel
would, import it; totals and 达标, errors by sheet and cell, and a 整改 the next tick opens and messages."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from duban.domain.scoring import UnitScores
from duban.domain.state import State
from duban.instants import fmt
from duban.services.score_import import export_template, import_workbook
from duban.services.scores import ScoreError, latest_scores, record_scores
from duban.store.tables import Assignment, Intent, OutboxMessage, SampleDraw
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick

TZ = "Asia/Shanghai"
ITEMS = ["工作任务", "人员配备", "制度管理", "统计台账", "报表报送", "统计服务", "信息化建设", "教育培训", "经费保障"]
FULL = [10, 15, 10, 10, 10, 10, 10, 10, 15]


def _members(engine, sample_id="city_check"):
    with engine.connect() as conn:
        return conn.execute(select(SampleDraw.members).where(SampleDraw.sample_id == sample_id)).scalar_one()


def _fill(path, scores: dict[str, list], worksheet="市级抽查"):
    """Type scores into the template's rows, by unit code, as an inspector would in Excel."""
    book = load_workbook(path)
    ws = book[worksheet]
    rows = {str(ws.cell(r, 1).value): r for r in range(4, ws.max_row + 1)}
    for code, points in scores.items():
        for offset, value in enumerate(points):
            ws.cell(rows[code], 4 + offset, value)
        ws.cell(rows[code], 4 + len(ITEMS) + 2, "张检查")
    book.save(path)
    return rows


def test_the_template_has_a_row_per_sampled_unit_and_a_column_per_check_item(sqlite_engine, tmp_path):
    plan_jinzhong(sqlite_engine)
    sheet, counts = export_template(sqlite_engine, CAMPAIGN, ["city_check"], tmp_path / "评分表.xlsx")
    assert counts == {"city_check": 30} and sheet.id == "lookback_scores"
    book = load_workbook(tmp_path / "评分表.xlsx")
    assert book.sheetnames[0] == "市级抽查" and book["_duban"].sheet_state == "hidden"
    ws = book["市级抽查"]
    assert [ws.cell(2, c).value for c in range(1, 4 + len(ITEMS))] == ["单位代码", "单位名称", "上级单位", *ITEMS]
    assert [ws.cell(3, c).value for c in range(4, 4 + len(ITEMS))] == FULL
    codes = [ws.cell(r, 1).value for r in range(4, 34)]
    assert sorted(codes) == sorted(_members(sqlite_engine))
    assert ws.cell(4, 2).value.endswith("统计局")  # the 6 counties come first (codes sort before townships)


def test_a_county_exports_only_its_own_townships(sqlite_engine, tmp_path):
    plan_jinzhong(sqlite_engine)
    _sheet, counts = export_template(sqlite_engine, CAMPAIGN, ["county_checks"], tmp_path / "昔阳.xlsx", under="140724")
    assert counts == {"county_checks": 6}
    ws = load_workbook(tmp_path / "昔阳.xlsx")["县级检查乡镇"]
    assert {ws.cell(r, 3).value for r in range(4, 10)} == {"昔阳县统计局"}


def test_import_totals_passes_and_fails_and_a_failing_unit_gets_its_rectification(engine, tmp_path):
    plan_jinzhong(engine)
    path = tmp_path / "评分表.xlsx"
    export_template(engine, CAMPAIGN, ["city_check"], path)
    members = _members(engine)
    failing, passing = members[1], members[0]
    _fill(path, {passing: [9, 14, 9, 9, 9, 9, 9, 9, 14], failing: [5, 10, 5, 6, 6, 6, 6, 6, 10]})
    result = import_workbook(engine, CAMPAIGN, path, at=at("2024-06-20 10:00"))
    outcomes = {o.unit_code: o for o in result.outcomes["city_check"]}
    assert set(outcomes) == {passing, failing}  # the 28 empty rows are not scored yet
    assert (outcomes[passing].total, outcomes[passing].passed, outcomes[passing].follow_up_due) == (91, True, None)
    assert (outcomes[failing].total, outcomes[failing].passed) == (60, False)
    # 10 working days after Thursday 6/20: 6/21, 6/24–28, 7/1–7/4
    assert fmt(outcomes[failing].follow_up_due, TZ) == "2024-07-04 周四 24:00"
    with engine.connect() as conn:
        follow = conn.execute(select(Assignment).where(Assignment.item_id == "rectification")).one()
    assert (follow.unit_code, follow.instance, follow.stage_id, follow.state) == (
        failing,
        "市级抽查",
        "materials",
        "pending",
    )
    assert {r.unit_code: (r.total, r.passed, r.inspector) for r in latest_scores(engine, CAMPAIGN)} == {
        passing: (91, True, "张检查"),
        failing: (60, False, "张检查"),
    }

    tick(engine, at("2024-06-20 10:10"))
    with engine.connect() as conn:
        opened = (
            conn.execute(
                select(Intent.kind)
                .join(Assignment, Assignment.id == Intent.assignment_id)
                .where(Assignment.item_id == "rectification")
            )
            .scalars()
            .all()
        )
        message = (
            conn.execute(
                select(OutboxMessage.payload)
                .where(OutboxMessage.recipient == failing)
                .order_by(OutboxMessage.id.desc())
            )
            .scalars()
            .first()
        )
    assert opened == ["opened"]
    assert any(i["item_id"] == "rectification" and i["kind"] == "opened" for i in message["items"])


def test_a_unit_that_passes_on_rescoring_no_longer_owes_its_rectification(sqlite_engine):
    plan_jinzhong(sqlite_engine)
    unit = _members(sqlite_engine)[0]
    low = UnitScores(
        unit,
        dict(
            zip(
                [
                    "duties",
                    "staffing",
                    "rules",
                    "ledgers",
                    "reporting",
                    "service",
                    "informatization",
                    "training",
                    "funding",
                ],
                [5] * 9,
            )
        ),
    )
    [first] = record_scores(sqlite_engine, CAMPAIGN, "city_check", [low], at=at("2024-06-20 10:00"))
    assert not first.passed and first.follow_up_due is not None
    again = UnitScores(unit, {k: 10 if k not in ("staffing", "funding") else 15 for k in low.points})
    [second] = record_scores(sqlite_engine, CAMPAIGN, "city_check", [again], at=at("2024-06-25 10:00"))
    assert second.passed and second.follow_up_excused and second.version == 2
    with sqlite_engine.connect() as conn:
        state = conn.execute(select(Assignment.state).where(Assignment.item_id == "rectification")).scalar_one()
    assert state == State.excused.value
    assert [r.version for r in latest_scores(sqlite_engine, CAMPAIGN)] == [2]


def test_errors_name_the_file_sheet_and_cell_and_nothing_is_recorded(sqlite_engine, tmp_path):
    plan_jinzhong(sqlite_engine)
    path = tmp_path / "评分表.xlsx"
    export_template(sqlite_engine, CAMPAIGN, ["city_check"], path)
    members = _members(sqlite_engine)
    rows = _fill(
        path,
        {
            members[0]: [9, 14, 9, 12, 9, 9, 9, 9, 14],
            members[1]: [9, "十", 9, 9, None, 9, 9, 9, 14],
            members[2]: [9, 14, 9, 9, 9, 9, 9, -1, 14],
        },
    )
    with pytest.raises(ScoreError) as caught:
        import_workbook(sqlite_engine, CAMPAIGN, path, at=at("2024-06-20 10:00"))
    text = str(caught.value)
    assert f"评分表.xlsx 市级抽查!G{rows[members[0]]}: 12 exceeds the maximum 10 of 统计台账" in text
    assert f"评分表.xlsx 市级抽查!E{rows[members[1]]}: '十' is not a number of points" in text
    assert f"评分表.xlsx 市级抽查!H{rows[members[1]]}: empty; score every check item" in text
    assert f"评分表.xlsx 市级抽查!K{rows[members[2]]}: -1 is below 0" in text
    assert "4 problem(s), nothing was recorded" in text
    assert latest_scores(sqlite_engine, CAMPAIGN) == []


def test_duban_scores_import_names_each_bad_cell_in_chinese_and_refuses_an_exponent(tmp_path):
    """`duban scores import` said its cell errors in English ('十' is not a number of points) where every other
    word to staff is Chinese; and "1e1" in a cell was kept as 10 points. Now each cell is named (sheet!cell) in
    Chinese, "1e1" among them, and nothing is recorded."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.settings import get_settings
    from duban.store.db import engine_for
    from tests.conftest import JINZHONG

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    path = tmp_path / "评分表.xlsx"
    export_template(engine, CAMPAIGN, ["city_check"], path)
    members = _members(engine)
    rows = _fill(
        path,
        {
            members[0]: [9, 14, 9, 12, 9, 9, 9, 9, 14],
            members[1]: ["1e1", "十", 9, 9, 9, 9, 9, 9, "１４"],
        },
    )
    result = CliRunner().invoke(app, ["scores", "import", str(JINZHONG), str(path), "--at", "2024-06-20 10:00"])
    said = result.output
    assert result.exit_code == 1, said
    assert "有 3 处问题，评分均未保存" in said, said
    assert f"评分表.xlsx 市级抽查!D{rows[members[1]]}：工作任务填写的「1e1」不是分数" in said, said
    assert f"评分表.xlsx 市级抽查!E{rows[members[1]]}：人员配备填写的「十」不是分数" in said, said
    assert f"评分表.xlsx 市级抽查!G{rows[members[0]]}：" in said, said
    assert "is not a number" not in said and "problem(s)" not in said, said
    assert latest_scores(engine, CAMPAIGN) == []


def test_points_in_other_scripts_digits_are_refused_by_cell_and_full_width_ones_are_read(sqlite_engine, tmp_path):
    """An inspector's sheet is read by the figures' rule: ASCII or full-width digits (a Chinese IME's ９) only; `1_0`
    and other scripts' digits (Arabic-Indic ٩, Persian ۹, Devanagari ९) were kept as 10 and 9."""
    plan_jinzhong(sqlite_engine)
    path = tmp_path / "评分表.xlsx"
    export_template(sqlite_engine, CAMPAIGN, ["city_check"], path)
    members = _members(sqlite_engine)
    rows = _fill(
        path,
        {
            members[0]: ["٩", 14, "1_0", 9, "۹", "९", 9, 9, 14],
            members[1]: ["９", "１４", 9, 9, 9, 9, 9, 9, "１４．５"],
        },
    )
    with pytest.raises(ScoreError) as caught:
        import_workbook(sqlite_engine, CAMPAIGN, path, at=at("2024-06-20 10:00"))
    row = rows[members[0]]
    refused = (("D", "工作任务", "٩"), ("F", "制度管理", "1_0"), ("H", "报表报送", "۹"), ("I", "统计服务", "९"))
    for cell, item, typed in refused:
        assert f"评分表.xlsx 市级抽查!{cell}{row}: {typed!r} is not a number of points" in str(caught.value)
        assert f"评分表.xlsx 市级抽查!{cell}{row}：{item}填写的「{typed}」不是分数" in caught.value.cn
    assert "4 problem(s), nothing was recorded" in str(caught.value)
    assert latest_scores(sqlite_engine, CAMPAIGN) == []

    book = load_workbook(path)
    for col in range(4, 13):
        book["市级抽查"].cell(row, col).value = None
    book.save(path)
    result = import_workbook(sqlite_engine, CAMPAIGN, path, at=at("2024-06-20 10:00"))
    assert [(o.unit_code, o.total) for o in result.outcomes["city_check"]] == [(members[1], 91.5)]


def test_a_unit_outside_the_sample_is_refused(sqlite_engine, tmp_path):
    plan_jinzhong(sqlite_engine)
    path = tmp_path / "评分表.xlsx"
    export_template(sqlite_engine, CAMPAIGN, ["city_check"], path)
    outsider = next(code for code in ("140724100", "140724101", "140724102") if code not in _members(sqlite_engine))
    book = load_workbook(path)
    book["市级抽查"].cell(4, 1, outsider)
    for col in range(4, 13):
        book["市级抽查"].cell(4, col, 5)
    book.save(path)
    with pytest.raises(ScoreError, match=f"市级抽查!A4: .* \\({outsider}\\) is not in the sample"):
        import_workbook(sqlite_engine, CAMPAIGN, path, at=at("2024-06-20 10:00"))


def test_a_file_that_is_not_a_workbook_is_refused_by_name(sqlite_engine, tmp_path):
    plan_jinzhong(sqlite_engine)
    path = tmp_path / "评分表.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(ScoreError, match="评分表.xlsx: not an xlsx workbook"):
        import_workbook(sqlite_engine, CAMPAIGN, path, at=at("2024-06-20 10:00"))


def test_a_workbook_resaved_without_the_hidden_sheet_and_with_numeric_codes_still_imports(sqlite_engine, tmp_path):
    """Spreadsheet programs may drop a hidden sheet or turn a code typed as text into a number."""
    plan_jinzhong(sqlite_engine)
    path = tmp_path / "评分表.xlsx"
    export_template(sqlite_engine, CAMPAIGN, ["city_check"], path)
    unit = _members(sqlite_engine)[0]
    rows = _fill(path, {unit: FULL})
    book = load_workbook(path)
    del book["_duban"]
    book["市级抽查"].cell(rows[unit], 1, int(unit))
    book.save(path)
    result = import_workbook(sqlite_engine, CAMPAIGN, path, at=at("2024-06-20 10:00"))
    assert [(o.unit_code, o.total, o.passed) for o in result.outcomes["city_check"]] == [(unit, 100, True)]
