"""The close-out report (总结报告草稿) from a campaign's record: figures that match the record, a docx that
LibreOffice opens and converts to PDF, the timeline chart, and the specs' report blocks (鞍山 003, 衡阳 001)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from duban.domain.plan import load_calendar_for
from duban.domain.scoring import UnitScores
from duban.report import write_report
from duban.report.blocks import Para, Table
from duban.report.draft import build_draft
from duban.report.record import read_record
from duban.report.wording import pct
from duban.services.amend import apply_amendment
from duban.services.lifecycle import ensure_planned, plan_file
from duban.services.scores import record_scores
from duban.services.submit import record_submission
from duban.simulation.preview import simulate_planned
from duban.spec.amendment import load_amendment
from duban.spec.load import load_spec
from duban.views.samples import sample_members
from tests.conftest import JINZHONG, SPECS
from tests.integration.helpers import at, plan_jinzhong, tick
from tests.samples import xlsx_bytes

COUNTIES = [
    "140702",
    "140703",
    "140721",
    "140722",
    "140723",
    "140724",
    "140725",
    "140727",
    "140728",
    "140729",
    "140781",
]


def _simulated(engine, path, seed=2024):
    campaign_id = ensure_planned(engine, path, now=at("2018-01-01 00:00")).campaign_id
    return campaign_id, simulate_planned(engine, campaign_id, seed=seed)


CHECK_ITEMS = [
    "duties",
    "staffing",
    "rules",
    "ledgers",
    "reporting",
    "service",
    "informatization",
    "training",
    "funding",
]


def _city_sample(engine) -> list[str]:
    return sample_members(engine, "jinzhong-2024-lookback", "city_check")


def _text(draft) -> str:
    parts = [draft.title, draft.preamble]
    for section in draft.sections:
        parts.append(section.heading)
        for block in section.blocks:
            parts.append(
                block.text if isinstance(block, Para) else " ".join(sum(([*r] for r in getattr(block, "rows", [])), []))
            )
    return "\n".join(parts)


def _squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice and poppler-utils are installed by .ci/run",
)
def test_the_jinzhong_report_opens_in_libreoffice_with_its_headings_and_figures(sqlite_engine, tmp_path):
    engine = sqlite_engine
    campaign_id, preview = _simulated(engine, JINZHONG)
    for n, county in enumerate(COUNTIES):  # the counts each county reports with its inspection (a later version)
        sheet = tmp_path / f"{county}.xlsx"
        sheet.write_bytes(xlsx_bytes())
        record_submission(
            engine,
            campaign_id,
            county,
            "county_inspection",
            at("2024-07-08 10:00"),
            files=[sheet],
            metrics={"townships_inspected": str(6 + n % 3)},
            files_dir=tmp_path / "files",
        )
    inspected = _city_sample(engine)[:3]  # the city's inspectors score three units on 6/25
    record_scores(
        engine,
        campaign_id,
        "city_check",
        [
            UnitScores(u, dict(zip(CHECK_ITEMS, p)))
            for u, p in zip(
                inspected,
                ([10, 15, 10, 10, 10, 10, 10, 10, 15], [5, 10, 5, 6, 6, 6, 6, 6, 10], [9, 14, 9, 5, 9, 9, 9, 9, 14]),
            )
        ],
        at=at("2024-06-25 10:00"),
    )
    as_of = at("2024-07-12 09:00")
    calendar = load_calendar_for(load_spec(JINZHONG))
    record = read_record(engine, campaign_id, as_of, calendar)
    out = tmp_path / "report" / "晋中-总结报告.docx"
    files = write_report(engine, campaign_id, as_of, out, calendar)
    assert files.docx.is_file() and files.chart.is_file() and files.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files.chart.name == "晋中-总结报告-时间线.png"

    profile = tmp_path / "lo-profile"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "pdf" / "晋中-总结报告.pdf"
    assert pdf.is_file()
    text = _squeeze(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout)
    for heading in ("一、加强领导、精心组织", "二、工作开展情况", "三、完成情况", "四、存在问题", "五、下一步打算"):
        assert heading in text
    overall = record.overall
    assert overall.due == 324 and overall.on_time + overall.late + overall.in_review + overall.missing == 324  # 1 整改
    # the 设管科's 市级现场检查 is 晋中市统计局's own work: said apart, in no unit's figures
    assert "晋中市统计局本级工作1项，不计入上述各单位报送情况" in text
    # two versions wait for their reviewer: not 按时报送 until accepted (the 通报 and report counted them so)
    assert overall.in_review == 2 and "已报送待审核2项" in text, text[:2000]
    # the rate is of what is decided: a version waiting for review counts on neither side (50% read as a failure)
    assert overall.rate == overall.on_time / (overall.on_time + overall.late + overall.missing)
    assert (
        f"按时报送{overall.on_time}项，逾期报送{overall.late}项，已报送待审核2项，未报送{overall.missing}项，"
        f"按时报送率{pct(overall.rate)}（不计待审核2项）" in text
    )
    township = record.by_level["township"]
    assert (
        f"乡级118{township.due}{township.on_time}{township.late}{township.in_review}{township.missing}"
        f"{pct(township.rate)}" in text
    )
    total = sum(6 + n % 3 for n in range(len(COUNTIES)))
    assert f"实地检查乡镇(街道)数{total}个11" in text  # the counties' counts summed, 11 reporting
    assert record.missing and _squeeze(record.missing[0].display) in text
    assert "市级抽查（6个县、24个乡镇）：按随机种子20240610抽取30个单位（县级6个、乡级24个）" in text
    assert "图1工作阶段与每日报送情况" in text
    lowest = _squeeze(record.campaign.display(inspected[1]))
    assert (
        f"应评分30个单位，已评分3个，尚有27个未评分；平均得分82.3分，最低60分（{lowest}）；达标2个，未达标1个" in text
    )
    assert "检查项目中得分率最低的是统计台账（70.0%）" in text
    assert "昔阳县统计局2024年5月13日以昔统字〔2024〕2号转发" in text
    page = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(page)], check=True)
    assert (tmp_path / "page-01.png").stat().st_size > 5_000  # a page with text on it, not a blank one


def test_figures_follow_the_record_and_an_amendment_is_reported(sqlite_engine):
    engine = sqlite_engine
    plan_jinzhong(engine)
    tick(engine, at("2024-06-11 09:30"))
    spec, _plan = plan_file(JINZHONG)
    calendar = load_calendar_for(spec)
    amendment = load_amendment(SPECS / "amendments" / "jinzhong-2024-county-check-extension.yaml")
    apply_amendment(engine, spec, amendment, calendar, at=at("2024-06-12 08:00"))
    record = read_record(engine, "jinzhong-2024-lookback", at("2024-06-13 09:00"), calendar)
    # nobody submitted: the 自评 stage's 260 are all missing; the county check moved to 6/20 is not due yet
    assert (record.by_stage["self_assessment"].missing, record.by_stage["county_check"].not_due) == (260, 22)
    assert {w[0]: w for w in record.windows}["county_check"][3].day == 20  # the stage window as amended
    text = _text(build_draft(record))
    assert "6月12日，晋中市统计局以示例〔2024〕1号调整时间安排" in text
    assert "县级实地检查评分表（不少于6个乡镇）截止时间由6月10日调整为6月20日" in text
    assert "一是仍有130个单位260项未报送" in text
    assert "对仍未报送的130个单位继续督办催报" in text


def test_anshan_report_follows_the_seed_s_headings_with_the_record_under_them(sqlite_engine):
    campaign_id, _preview = _simulated(sqlite_engine, SPECS / "anshan-2022-open-day-report.yaml", seed=1)
    spec = load_spec(SPECS / "anshan-2022-open-day-report.yaml")
    record = read_record(sqlite_engine, campaign_id, at("2022-05-21 09:00"), load_calendar_for(spec))
    draft = build_draft(record)
    assert draft.title == '鞍山市统计局第十六届"5·15政务公开日"活动开展情况汇报'
    assert [s.heading for s in draft.sections] == [
        "一、提高认识、加强领导",
        "二、明确任务、认真实施",
        "三、强化举措、务求实效",
        "四、完成情况",
        "五、存在问题",
        "六、下一步工作打算",
    ]  # the seed's four, with the figures and the problems added before the last
    assert draft.preamble.startswith(
        '根据鞍山市人民政府办公厅《关于组织开展全市第十六届"5·15政务公开日"活动的通知》要求，鞍山市统计局于2022年5月9日至5月20日'
    )
    measures = [b.text for b in draft.sections[2].blocks if isinstance(b, Para) and b.style == "body"]
    assert [m.split("：")[0] for m in measures] == [
        "1. 组织局机关工作人员学习政务公开重要内容和精神实质",
        "2. 发挥政务信息公开平台作用，主动公开相关信息，及时更新信息内容",
        '3. 利用工作会议、业务培训会议面向各县(市)区、"三上"企业统计员宣传政务公开政务服务工作',
        "4. 统计职称考试、统计执法等热点问题及时网上公开，并公布咨询、监督电话",
    ]  # the report's measures 1–4
    assert draft.sections[1].blocks == [
        b for b in draft.sections[1].blocks if b.style == "prompt"
    ]  # the writer's words
    assert draft.issuer == "鞍山市统计局" and draft.day == "2022年5月21日"
    assert draft.addressee == "鞍山市人民政府办公厅"  # report.to: 210300-bgt


def test_hengyang_counts_are_rolled_up_from_the_counties(sqlite_engine, tmp_path):
    path = SPECS / "hengyang-2021-law-month.yaml"
    campaign_id = ensure_planned(sqlite_engine, path, now=at("2021-11-29 09:00")).campaign_id
    counties = ["430405", "430406", "430407", "430408", "430412", "430421"]
    for n, county in enumerate(counties):
        record_submission(
            sqlite_engine,
            campaign_id,
            county,
            "activity_report",
            at("2021-12-24 16:00"),
            metrics={
                "signed_articles": "已发表",
                "quiz_participants": str(100 * (n + 1)),
                "law_talks": "2",
                "essays_submitted": "1",
            },
            files_dir=tmp_path,
        )
    # 衡阳县 corrects its figures the next day: the latest version counts
    record_submission(
        sqlite_engine,
        campaign_id,
        "430421",
        "activity_report",
        at("2021-12-25 10:00"),
        metrics={"signed_articles": "已发表", "quiz_participants": "650", "law_talks": "3", "essays_submitted": "2"},
        files_dir=tmp_path,
    )
    record = read_record(sqlite_engine, campaign_id, at("2021-12-26 09:00"), load_calendar_for(load_spec(path)))
    totals = {
        m.label: (m.total, m.reporting) for m in record.metrics if m.item.startswith("统计法治宣传活动组织开展情况")
    }
    assert totals["统计法专项答题人数"] == (100 + 200 + 300 + 400 + 500 + 650, 6)
    assert totals["普法宣讲次数"] == (5 * 2 + 3, 6)
    assert totals["征文投稿数量"] == (5 + 2, 6)
    assert totals["署名文章撰写情况"] == (6, 6)  # text: how many wrote one
    draft = build_draft(record)
    assert draft.title == "衡阳市统计法治宣传活动开展情况汇总"
    assert "衡阳市统计局印发通知（衡统〔2021〕40号），" in draft.preamble  # not the campaign's title in 书名号
    text = _text(draft)
    assert (
        "全市统计法治宣传活动开展情况汇总：衡阳市统计局汇总，所属12个单位已报6个，未报6个（" in text
        and "）；合计统计法专项答题人数2,150人、普法宣讲次数13次、征文投稿数量7篇。" in text
    )
    assert "本级及择优选取的县市区统计局负责人署名文章报省局：衡阳市统计局汇总，所属12个单位已报0个，未报12个（" in text
    assert "汇总逾期未报。" in text  # the city's report to the province was due on 12/5 17:30
    tables = [b for s in draft.sections for b in s.blocks if isinstance(b, Table)]
    rolled = next(t for t in tables if t.headers[0] == "报送事项")
    assert ["统计法治宣传活动组织开展情况（含好的经验和特色做法）", "统计法专项答题人数", "2,150人", "6"] in rolled.rows
    silent = {s.unit for s in record.missing if s.item.startswith("统计法治宣传活动组织开展情况")}
    assert silent == {"430422", "430423", "430424", "430426", "430481", "430482"}  # listed as missing


def test_duban_report_on_the_command_line_writes_the_draft_and_the_chart(tmp_path):
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.settings import get_settings
    from duban.store.db import engine_for

    out = tmp_path / "总结.docx"
    args = ["report", str(JINZHONG), "--out", str(out), "--as-of", "2024-06-01 09:00"]
    never = CliRunner().invoke(app, args)  # planned on the spot, every unit of it read 未报送
    said = " ".join(never.output.split())
    assert never.exit_code == 1 and not out.exists(), never.output
    assert "error: no database at " in said and not (get_settings().home / "duban.db").exists()
    engine = engine_for(get_settings().resolved_database_url)
    never = CliRunner().invoke(app, args)
    said = " ".join(never.output.split())
    assert never.exit_code == 1 and not out.exists(), never.output
    assert "campaign 'jinzhong-2024-lookback' is not in the database: it has not run here" in said, said
    plan_jinzhong(engine)
    tick(engine, at("2024-06-01 09:00"))
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "总结-时间线.png").is_file()
    assert f"draft report {out}" in result.output
    assert "汇总表" in result.output  # written, or said why not


def test_a_report_before_the_campaign_began_is_refused_naming_the_option_and_its_beginning(tmp_path):
    """`duban report --as-of 2024-05-01` of 晋中 (its window and first stage open 2024-05-10 08:30) drafted
    各单位均按时完成报送; now refused, naming --as-of and when the campaign began. The rule reads the notice's
    instants, not the record's: a campaign planned in 2026 over the 2024 notice, no tick replayed, still drafts
    its report as of 2024-06-12."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.settings import get_settings
    from duban.store.db import engine_for

    engine = engine_for(get_settings().resolved_database_url)
    ensure_planned(engine, JINZHONG, now=at("2026-12-07 10:00"))
    out = tmp_path / "总结.docx"
    early = CliRunner().invoke(app, ["report", str(JINZHONG), "--out", str(out), "--as-of", "2024-05-01 09:00"])
    said = " ".join(early.output.split())
    assert early.exit_code == 1 and not out.exists(), said
    assert (
        "error: --as-of '2024-05-01 09:00': 2024-05-01 周三 09:00 is before campaign 'jinzhong-2024-lookback' began "
        "(2024-05-10 周五 08:30" in said
    ), said
    later = CliRunner().invoke(app, ["report", str(JINZHONG), "--out", str(out), "--as-of", "2024-06-12 09:00"])
    assert later.exit_code == 0 and out.is_file(), later.output


def test_a_report_dated_ahead_is_refused_as_the_bulletin_refuses_it(tmp_path):
    """F18: `duban report --as-of 2030-01-01` drafted a 总结报告 dated 2030 stating completion figures for units
    that may yet hand in, where `duban bulletin` refuses a future --as-of; now refused the same way, nothing
    written."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.settings import get_settings
    from duban.store.db import engine_for

    engine = engine_for(get_settings().resolved_database_url)
    ensure_planned(engine, JINZHONG, now=at("2026-12-07 10:00"))
    out = tmp_path / "总结.docx"
    ahead = CliRunner().invoke(app, ["report", str(JINZHONG), "--out", str(out), "--as-of", "2030-01-01"])
    said = " ".join(ahead.output.split())
    assert ahead.exit_code == 1 and "Traceback" not in said, said
    assert "error: --as-of 2030-01-01 is later than now: a 总结报告 reports the record as it stands" in said, said
    assert list(tmp_path.glob("总结*")) == []


def test_the_chart_is_drawn_without_a_cjk_font_and_says_so(sqlite_engine, tmp_path, monkeypatch):
    from duban.report import chart

    plan_jinzhong(sqlite_engine)
    monkeypatch.setattr(chart, "CJK_FAMILIES", ("No Such Font CJK",))
    record = read_record(
        sqlite_engine, "jinzhong-2024-lookback", at("2024-06-01 09:00"), load_calendar_for(load_spec(JINZHONG))
    )
    warnings = chart.timeline_png(record, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 10_000
    assert warnings and "no CJK font found" in warnings[0]


def test_a_finished_campaign_s_report_ends_at_its_close_not_today(tmp_path):
    """`duban report` without --as-of, two years after the 2024 campaign: the record and the timeline end where the
    campaign did (its last escalation or late submission), not at today's date."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.report.record import closing_instant
    from duban.settings import get_settings
    from duban.store.db import engine_for

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-07-20 09:00"))  # everything opened, slipped and escalated
    sheet = tmp_path / "乐平镇.xlsx"
    sheet.write_bytes(xlsx_bytes())
    record_submission(
        engine,
        "jinzhong-2024-lookback",
        "140724100",
        "self_score_sheet",
        at("2024-07-25 10:00"),
        files=[sheet],
        files_dir=tmp_path / "files",
    )  # a straggler, after every due
    calendar = load_calendar_for(load_spec(JINZHONG))
    assert closing_instant(engine, "jinzhong-2024-lookback", calendar, at("2026-12-06 10:00")) == at("2024-07-25 10:00")
    assert closing_instant(engine, "jinzhong-2024-lookback", calendar, at("2024-06-01 10:00")) == at("2024-06-01 10:00")
    out = tmp_path / "总结.docx"
    result = CliRunner().invoke(app, ["report", str(JINZHONG), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "the record as of 2024-07-25 周四 10:00" in result.output
    import docx

    note = docx.Document(str(out)).paragraphs
    assert any("数据截至2024-07-25 周四 10:00" in p.text for p in note)


def test_the_report_right_after_the_demo_ends_at_its_last_bulletin_and_says_why(tmp_path):
    """After `duban demo` (its last tick 07-02 09:00, its 通报 drafted as of 07-02 24:00) `duban report` stopped at
    09:00: the 通报 the demo had just drafted was left out of the report, and nothing said why that instant."""
    import docx
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.settings import get_settings
    from duban.store.db import engine_for

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-07-02 09:00"))
    runner = CliRunner()
    drafted = runner.invoke(
        app, ["bulletin", str(JINZHONG), "--as-of", "2024-07-02 24:00", "--out", tmp_path / "通报.docx"]
    )
    assert drafted.exit_code == 0, drafted.output
    out = tmp_path / "总结.docx"
    result = runner.invoke(app, ["report", str(JINZHONG), "--out", str(out)], catch_exceptions=False)
    said = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert (
        "(the record as of 2024-07-02 周二 24:00, the campaign's close, its last 通报; --as-of names another " in said
    )
    paragraphs = [p.text for p in docx.Document(str(out)).paragraphs]
    assert any("数据截至2024-07-02 周二 24:00" in p for p in paragraphs)
    assert any(p.startswith("期间起草通报1期，均未发送：第1期（7月2日，") for p in paragraphs), paragraphs
    running = runner.invoke(app, ["report", str(JINZHONG), "--as-of", "2024-06-12 09:00", "--out", str(out)])
    assert "(the record as of 2024-06-12 周三 09:00)" in running.output  # named: as named, no reason added
