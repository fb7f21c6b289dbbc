"""The close-out report tells what the inspections scored, how the 整改 stand, and the roll-ups and forwards: the
sentences a bureau reads, the 汇总表's 检查评分 worksheet, on SQLite and Postgres."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from duban.domain.plan import load_calendar_for
from duban.domain.scoring import UnitScores
from duban.report import write_report
from duban.report.blocks import Para, Table
from duban.report.draft import build_draft
from duban.report.record import read_record
from duban.services.lifecycle import ensure_planned
from duban.services.rollups import feed_rollups
from duban.services.scores import record_scores
from duban.services.submit import record_submission
from duban.spec.load import load_spec
from duban.store.tables import SampleDraw
from duban.views.campaigns import load_campaign
from tests.conftest import JINZHONG, SPECS
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong
from tests.samples import docx_bytes, zip_bytes

XIYANG = SPECS / "xiyang-2024-lookback.yaml"
ITEMS = ["duties", "staffing", "rules", "ledgers", "reporting", "service", "informatization", "training", "funding"]
SCORES = [  # 100 达标 · 60 and 76 未达标 · 87 达标; 统计台账 scores 25 of 40
    [10, 15, 10, 10, 10, 10, 10, 10, 15],
    [5, 10, 5, 6, 6, 6, 6, 6, 10],
    [8, 12, 8, 4, 8, 8, 8, 8, 12],
    [9, 14, 9, 5, 9, 9, 9, 9, 14],
]


def _members(engine, sample_id):
    with engine.connect() as conn:
        return conn.execute(select(SampleDraw.members).where(SampleDraw.sample_id == sample_id)).scalar_one()


def _text(draft) -> str:
    return "\n".join(b.text for s in draft.sections for b in s.blocks if isinstance(b, Para))


def _tables(draft) -> dict[str, Table]:
    return {b.caption.split(" ", 1)[-1]: b for s in draft.sections for b in s.blocks if isinstance(b, Table)}


def _scored_campaign(engine, tmp_path) -> list[str]:
    """晋中 with four units of the city's sample scored on 6/20; of the two that fail, one hands in its 整改 on time."""
    plan_jinzhong(engine)
    units = _members(engine, "city_check")[:4]
    record_scores(
        engine,
        CAMPAIGN,
        "city_check",
        [UnitScores(u, dict(zip(ITEMS, p)), inspector="张检查") for u, p in zip(units, SCORES)],
        at=at("2024-06-20 10:00"),
    )
    report = tmp_path / "整改报告.docx"
    report.write_bytes(docx_bytes("整改报告"))
    record_submission(
        engine,
        CAMPAIGN,
        units[1],
        "rectification",
        at("2024-07-02 15:00"),
        files=[report],
        files_dir=tmp_path / "files",
    )
    return units


def test_the_report_tells_each_samples_scores_the_rectifications_and_the_weakest_items(engine, tmp_path):
    units = _scored_campaign(engine, tmp_path)
    campaign = load_campaign(engine, CAMPAIGN)
    names = [campaign.display(u) for u in units]
    record = read_record(engine, CAMPAIGN, at("2024-07-08 09:00"), load_calendar_for(load_spec(JINZHONG)))
    draft = build_draft(record)
    completion = next(s for s in draft.sections if s.heading.endswith("完成情况"))
    subheads = [b.text for b in completion.blocks if isinstance(b, Para) and b.style == "sub"]
    assert subheads == ["（一）报送情况", "（二）检查情况"]
    text = _text(draft)
    assert (
        "市级抽查（6个县、24个乡镇）：按随机种子20240610抽取30个单位（县级6个、乡级24个），抽取结果已存档备查。"
        f"应评分30个单位，已评分4个，尚有26个未评分；平均得分80.8分，最低60分（{names[1]}）；"
        "达标2个，未达标2个（80分及以上为达标）。未达标的2个单位均已下达整改任务（规范化建设未达标整改报告，"
        "10个工作日内报送）：按时报送1个，逾期未报1个。"
    ) in text
    assert (
        "县级检查乡镇（每县不少于6个）：按随机种子20240525抽取66个单位（乡级66个），抽取结果已存档备查。截至7月8日尚未录入检查评分（应评分66个单位）。"
        in text
    )
    assert (
        "检查项目中得分率最低的是统计台账（62.5%）、工作任务（80.0%）、制度管理（80.0%），各检查项目平均为80.8%" in text
    )
    assert f"2个单位检查得分未达标，其中1个单位的整改报告逾期未报（{names[2]}）" in text
    tables = _tables(draft)
    assert tables["检查评分情况"].rows == [["市级抽查", "30", "4", "80.8", "60", "2", "2"]]
    assert ["统计台账", "10", "6.2", "62.5%", "4"] in tables["各检查项目得分情况"].rows
    assert tables["未达标单位及整改情况"].rows == [
        [names[1], "市级抽查", "60", "7月4日", "7月2日已报送"],
        [names[2], "市级抽查", "76", "7月4日", "逾期未报（已逾期4天）"],
    ]
    assert [t.caption.split(" ")[0] for t in tables.values()][:5] == ["表1", "表2", "表3", "表4", "表5"]


def test_scores_recorded_after_the_reports_instant_are_not_in_it(sqlite_engine, tmp_path):
    _scored_campaign(sqlite_engine, tmp_path)
    record = read_record(sqlite_engine, CAMPAIGN, at("2024-06-19 09:00"), load_calendar_for(load_spec(JINZHONG)))
    assert "截至6月19日尚未录入检查评分（应评分30个单位）" in _text(build_draft(record))
    assert "检查评分情况" not in _tables(build_draft(record))


def test_the_summary_table_gets_a_score_sheet_with_every_sampled_unit(sqlite_engine, tmp_path):
    units = _scored_campaign(sqlite_engine, tmp_path)
    campaign = load_campaign(sqlite_engine, CAMPAIGN)
    files = write_report(
        sqlite_engine, CAMPAIGN, at("2024-07-08 09:00"), tmp_path / "晋中.docx", load_calendar_for(load_spec(JINZHONG))
    )
    book = load_workbook(io.BytesIO(files.table.read_bytes()))
    assert book.sheetnames[0] == "汇总" and book.sheetnames[-1] == "检查评分"
    rows = list(book["检查评分"].iter_rows(min_row=2, values_only=True))
    assert rows[0][:5] == ("检查", "单位代码", "单位", "上级单位", "工作任务")
    by_code = {r[1]: r for r in rows if r[1]}
    assert by_code[units[2]][2] == campaign.display(units[2])
    assert by_code[units[2]][13:15] == (76, "未达标") and by_code[units[2]][-1] == "逾期未报（已逾期4天）"
    assert sum(1 for r in rows if r[0] == "市级抽查") == 30 and sum(1 for r in rows if r[14] == "未评分") == 26 + 66
    assert rows[-1][0] == "得分率" and rows[-1][7] == "62.5%"  # 统计台账


def test_a_control_character_stored_by_an_older_duban_is_written_visibly_never_a_traceback(sqlite_engine, tmp_path):
    """F12: an 检查人 holding ESC (saved by the form before it refused one) made duban report die in openpyxl
    (IllegalCharacterError), leaving the docx and the chart without the 汇总表. The 汇总表 now writes it as \\u001b."""
    units = _scored_campaign(sqlite_engine, tmp_path)
    record_scores(
        sqlite_engine,
        CAMPAIGN,
        "city_check",
        [UnitScores(units[0], dict(zip(ITEMS, SCORES[0])), inspector="\x1b]0;PWNED\x07红色检查人", note="闪\x1b[5m")],
        at=at("2024-06-21 10:00"),
    )
    out = tmp_path / "r" / "晋中.docx"
    files = write_report(sqlite_engine, CAMPAIGN, at("2024-07-08 09:00"), out, load_calendar_for(load_spec(JINZHONG)))
    rows = list(load_workbook(io.BytesIO(files.table.read_bytes()))["检查评分"].iter_rows(min_row=2, values_only=True))
    assert {r[1]: r for r in rows if r[1]}[units[0]][15] == "\\u001b]0;PWNED\\u0007红色检查人"
    assert sorted(p.name for p in out.parent.iterdir()) == ["晋中-时间线.png", "晋中-汇总表.xlsx", "晋中.docx"]


def test_the_upper_report_names_the_county_that_forwarded_and_the_lower_one_its_rollup(sqlite_engine, tmp_path):
    plan_jinzhong(sqlite_engine)
    lower = ensure_planned(sqlite_engine, XIYANG, now=at("2024-05-13 09:00")).campaign_id
    doc, summary = tmp_path / "乡镇材料.docx", tmp_path / "昔阳县汇总.zip"
    doc.write_bytes(docx_bytes())
    summary.write_bytes(zip_bytes())
    for code in ("140724100", "140724101", "140724102"):
        record_submission(
            sqlite_engine,
            lower,
            code,
            "township_materials",
            at("2024-06-24 10:00"),
            files=[doc],
            files_dir=tmp_path / "files",
        )
    record_submission(
        sqlite_engine,
        lower,
        "140724",
        "materials_rollup",
        at("2024-06-26 16:00"),
        files=[summary],
        files_dir=tmp_path / "files",
    )
    feed_rollups(sqlite_engine, lower, at("2024-06-26 16:10"))
    as_of = at("2024-07-02 09:00")
    upper = _text(build_draft(read_record(sqlite_engine, CAMPAIGN, as_of, load_calendar_for(load_spec(JINZHONG)))))
    assert (
        "昔阳县统计局以昔统字〔2024〕2号转发本通知，所属11个单位已报3个，未报8个（" in upper
        and "；其汇总的抽查县、乡统计机构评分表、调查问卷和总结报告已于6月26日按时报送。" in upper
    )
    own = _text(build_draft(read_record(sqlite_engine, lower, as_of, load_calendar_for(load_spec(XIYANG)))))
    assert (
        "全县抽查县、乡统计机构评分表、调查问卷和总结报告（汇总报市统计局设管科）：昔阳县统计局汇总，"
        "所属11个单位已报3个，未报8个（"
    ) in own
    assert "汇总已于6月26日按时报送。" in own
    assert "应报晋中市统计局的抽查县、乡统计机构评分表、调查问卷和总结报告已于6月26日按时报送。" in own
