"""通报 of the 晋中 县级检查 stage as of 6/14: the counties late or missing, grouped by county, with days late and
the extension 昔阳县 was granted; the same shape as the close-out report; `--send` posts a short text once."""

from __future__ import annotations

from docx import Document
from sqlalchemy import func, select
from typer.testing import CliRunner

from duban.cli.main import app
from duban.instants import parse_instant
from duban.services.extension import decide_extension, request_extension
from duban.settings import get_settings
from duban.store.db import engine_for
from duban.store.tables import Assignment, CampaignUnit, OutboxMessage
from tests.conftest import JINZHONG
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick

XIYANG, SHOUYANG = "140724", "140725"


def _text(path):
    document = Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    rows = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    return paragraphs, rows


def _materials_bulletin(tmp_path, as_of: str):
    """`duban bulletin` of the 检查材料整理上报 stage as of `as_of`: its paragraphs and table rows."""
    out = tmp_path / "通报.docx"
    result = CliRunner().invoke(
        app,
        ["bulletin", str(JINZHONG), "--stage", "materials", "--as-of", as_of, "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return _text(out)


def test_the_bulletin_lists_the_late_and_missing_by_county_and_is_sent_once(tmp_path):
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-05 09:30"))
    asked = request_extension(
        engine,
        CAMPAIGN,
        XIYANG,
        "county_inspection",
        parse_instant("2024-06-13", "Asia/Shanghai", end_of_day=True),
        at("2024-06-06 10:00"),
        reason="端午假期",
    )
    decide_extension(engine, asked.id, at("2024-06-07 10:00"), approve=True)
    tick(engine, at("2024-06-14 09:00"))
    out = tmp_path / "通报.docx"

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)

    result = run("bulletin", JINZHONG, "--stage", "county_check", "--as-of", "2024-06-14 09:00", "--out", out, "--send")
    assert result.exit_code == 0, result.output
    assert f"✓ 通报 {out}" in result.output and "逾期未报 22 项" in result.output
    paragraphs, rows = _text(out)
    assert paragraphs[0] == '关于统计基层基础工作规范化建设"回头看"县级检查阶段进展情况的通报'
    assert any("截至2024年6月14日，应报22项，按时报送0项，逾期报送0项，未报送22项" in p for p in paragraphs)
    assert any("延期申请1件，批准1件" in p for p in paragraphs)
    assert rows[0] == ["县（区、市）", "单位", "事项", "截止", "情况", "退回", "延期"]
    xiyang = [r for r in rows if r[1] == "昔阳县统计局" and r[2].startswith("县级实地检查评分表")]
    assert xiyang and xiyang[0][3] == "6月13日" and xiyang[0][4] == "逾期不足1天未报" and xiyang[0][6] == "延至6月13日"
    shouyang = [r for r in rows if r[1] == "寿阳县统计局" and r[2].startswith("县级实地检查评分表")]
    assert shouyang and shouyang[0][4] == "逾期3天未报" and shouyang[0][0] == "寿阳县"  # the county, by its name
    assert paragraphs[-2:] == ["晋中市统计局", "2024年6月14日"]

    o = OutboxMessage.__table__
    a = Assignment.__table__
    with engine.connect() as conn:
        units = conn.execute(
            select(func.count()).select_from(CampaignUnit).where(CampaignUnit.kind != "leader")
        ).scalar()
        owing = set(conn.execute(select(a.c.unit_code).where(a.c.stage_id == "county_check").distinct()).scalars())
        sent = conn.execute(select(o.c.payload).where(o.c.kind == "bulletin")).scalars().all()
    # the stage's 通报 goes to the units holding a duty in the stage (11 county bodies), not to all 130 units of the
    # registry (a tester's finding: enterprises not drawn in a sample were told the drawn ones' names)
    assert {p["recipient"] for p in sent} == owing and len(owing) == 11 and units > 100
    assert "短文本已排入发送队列：11 个单位" in result.output
    assert "逾期未报的单位：" in sent[0]["text"] and "寿阳县统计局" in sent[0]["text"]
    again = run("bulletin", JINZHONG, "--stage", "county_check", "--as-of", "2024-06-14 09:00", "--out", out, "--send")
    assert "短文本已排入发送队列：0 个单位" in again.output


def test_each_bulletin_is_kept_numbered_and_the_close_out_report_cites_them(tmp_path):
    """The 通报 of 6/14 (县级检查) is 第1期 however often it is redrafted; the campaign's of 7/2 is 第2期; the
    close-out report names both, with their dates and how many units each named."""
    from duban.domain.calendar import load_calendar
    from duban.notify.notifier import RecordingNotifier
    from duban.report.draft import build_draft
    from duban.report.record import read_record
    from duban.services.dispatch import Dispatcher
    from duban.store.bulletins import bulletins_of

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-14 09:00"))

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)

    first = tmp_path / "通报-县级检查.docx"
    stage = ("bulletin", JINZHONG, "--stage", "county_check", "--as-of", "2024-06-14 09:00", "--out", first)
    assert "已存档为第1期通报（点名 11 个单位" in run(*stage).output
    assert "已存档为第1期通报" in run(*stage, "--send").output  # redrafted: the same 通报, now queued
    Dispatcher(engine, lambda _ref: RecordingNotifier(), ["sink"]).run(at("2024-06-14 09:05"))  # and sent
    tick(engine, at("2024-07-02 09:00"))
    second = tmp_path / "通报.docx"
    result = run("bulletin", JINZHONG, "--as-of", "2024-07-02 09:00", "--out", second)
    assert result.exit_code == 0 and "已存档为第2期通报" in result.output

    with engine.connect() as conn:
        kept = bulletins_of(conn, CAMPAIGN)
    assert [(b.number, b.stage_id, b.as_of, b.missing, b.units_named, b.file) for b in kept] == [
        (1, "county_check", at("2024-06-14 09:00"), 22, 11, str(first.resolve())),
        (2, "", at("2024-07-02 09:00"), kept[1].missing, kept[1].units_named, str(second.resolve())),
    ]
    assert kept[0].sent > 0 and kept[1].sent == 0 and kept[1].units_named > 11

    record = read_record(engine, CAMPAIGN, at("2024-07-03 09:00"), load_calendar(None))
    text = "\n".join(
        block.text for section in build_draft(record).sections for block in section.blocks if hasattr(block, "text")
    )
    assert (  # the second was only drafted: not 印发 (a tester's finding)
        "期间起草通报2期，其中1期已发送：第1期（6月14日，县级检查阶段，点名逾期单位11个）；"
        f"第2期（7月2日，点名逾期单位{kept[1].units_named}个，未发送）。" in text
    )
    earlier = read_record(engine, CAMPAIGN, at("2024-06-20 09:00"), load_calendar(None))
    assert [b.number for b in earlier.bulletins] == [1]  # a report as of 6/20 knows only the first
    assert "期间印发通报1期：第1期（6月14日，县级检查阶段，点名逾期单位11个）。" in "\n".join(
        block.text for section in build_draft(earlier).sections for block in section.blocks if hasattr(block, "text")
    )


def test_a_bulletin_of_a_stage_the_campaign_lacks_is_refused_by_name(tmp_path):
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    result = CliRunner().invoke(
        app,
        [
            "bulletin",
            str(JINZHONG),
            "--stage",
            "no_such",
            "--as-of",
            "2024-06-14 09:00",
            "--out",
            str(tmp_path / "x.docx"),
        ],
    )
    assert result.exit_code == 1 and "no stage 'no_such'" in result.output and "Traceback" not in result.output
    bad = CliRunner().invoke(app, ["bulletin", str(JINZHONG), "--as-of", "六月", "--out", str(tmp_path / "x.docx")])
    assert bad.exit_code != 0 and "as-of" in bad.output.lower() and "Traceback" not in bad.output


def test_a_bulletin_dated_ahead_is_refused_and_nothing_kept_or_queued(tmp_path):
    """`--as-of` a fortnight ahead (a typo in the month) was kept as the next 第N期 and, with --send, queued to go
    out then, naming units late that could still hand in (a tester's finding)."""
    from datetime import datetime, timedelta, timezone

    from duban.store.bulletins import bulletins_of

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    ahead = (datetime.now(timezone.utc) + timedelta(days=14)).astimezone(timezone(timedelta(hours=8)))
    when = ahead.strftime("%Y-%m-%d %H:%M")
    result = CliRunner().invoke(
        app, ["bulletin", str(JINZHONG), "--as-of", when, "--out", str(tmp_path / "x.docx"), "--send"]
    )
    assert result.exit_code == 1 and "is later than now" in result.output and "Traceback" not in result.output
    with engine.connect() as conn:
        assert bulletins_of(conn, CAMPAIGN) == []
        assert conn.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0
    assert not (tmp_path / "x.docx").exists()


def test_a_bulletin_before_the_record_begins_is_refused_as_status_refuses_it(tmp_path):
    """F7: 晋中 planned today (not in 2024) and never ticked: `status --as-of "2024-07-01 24:00"` is refused (its
    record holds nothing then), but `bulletin` drafted and archived 第1期 naming every unit 逾期 at that instant,
    to be cited by the 总结报告 and to bar every earlier 通报. Now refused with status's words, nothing kept."""
    from duban.services.lifecycle import ensure_planned
    from duban.store.bulletins import bulletins_of

    engine = engine_for(get_settings().resolved_database_url)
    ensure_planned(engine, JINZHONG, now=at("2026-12-07 10:00"))
    out = tmp_path / "通报.docx"
    argv = ["--as-of", "2024-07-01 24:00", "--out", str(out)]
    status = CliRunner().invoke(app, ["status", str(JINZHONG), "--as-of", "2024-07-01 24:00"])
    refused = CliRunner().invoke(app, ["bulletin", str(JINZHONG), *argv, "--send"])
    said = " ".join(refused.output.split())
    assert refused.exit_code == status.exit_code == 1 and "Traceback" not in said, said
    assert (
        "is before campaign 'jinzhong-2024-lookback' was planned (2026-12-07 周一 10:00), and its record holds "
        "nothing then" in said
    ), said
    assert not out.exists()
    with engine.connect() as conn:
        assert bulletins_of(conn, CAMPAIGN) == []
        assert conn.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0


ZUOQUAN = "140722"


def test_the_bulletin_shows_the_approved_extension_of_a_unit_late_after_it(tmp_path):
    """左权县 granted 7/3 for its materials, still owed on 7/4: its row says 延至7月3日, also when the approval was
    recorded at the wall clock (`duban extension decide` without --at), after the bulletin's instant."""
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-28 09:30"))
    asked = request_extension(
        engine,
        CAMPAIGN,
        ZUOQUAN,
        "materials_upload",
        parse_instant("2024-07-03", "Asia/Shanghai", end_of_day=True),
        at("2024-06-28 10:00"),
        reason="材料较多",
    )
    decide_extension(engine, asked.id, at("2026-12-06 11:00"), approve=True)
    tick(engine, at("2024-07-04 09:00"))
    paragraphs, rows = _materials_bulletin(tmp_path, "2024-07-04 09:00")
    zuoquan = [r for r in rows if r[1] == "左权县统计局"]
    assert zuoquan and zuoquan[0][3] == "7月3日" and zuoquan[0][6] == "延至7月3日", zuoquan


def test_the_title_writes_the_overlap_of_the_campaign_title_and_the_stage_name_once(tmp_path):
    """The campaign title ends with "回头看" and the materials stage's name starts with it: written once."""
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-07-02 09:00"))
    out = tmp_path / "通报.docx"
    result = CliRunner().invoke(
        app,
        ["bulletin", str(JINZHONG), "--stage", "materials", "--as-of", "2024-07-02 09:00", "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    paragraphs, _rows = _text(out)
    assert paragraphs[0] == '关于统计基层基础工作规范化建设"回头看"检查材料整理上报阶段进展情况的通报'


def test_a_bulletin_with_nobody_late_says_so_and_counts_what_waits_for_review(tmp_path):
    """Two counties' 检查材料 waiting for review, nobody late: the 通报 said 按时报送0项 and then 各单位均按时报送, and
    asked 上述单位 (none named) to 补报."""
    from duban.services.submit import record_submission
    from tests.samples import xlsx_bytes

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-11 09:00"))
    for unit in (XIYANG, SHOUYANG):
        path = tmp_path / f"{unit}.xlsx"
        path.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
        record_submission(
            engine, CAMPAIGN, unit, "materials_upload", at("2024-06-12 10:00"), files=[path], files_dir=tmp_path / "f"
        )
    paragraphs, _rows = _materials_bulletin(tmp_path, "2024-06-13 09:00")
    text = "\n".join(paragraphs)
    assert "按时报送0项，逾期报送0项，已报送待审核2项，未报送0项，按时报送率—（不计待审核2项）" in text, text
    assert "截至目前，没有逾期未报或逾期报送的单位；已报送待审核2项，审核通过后计入按时或逾期报送。" in text, text
    assert "各单位均按时报送" not in text and "请上述单位" not in text and "请各单位继续按时报送" in text, text


def test_a_bulletin_counts_whole_days_late_never_more():
    """Due 6/7 24:00, drafted 6/9 12:00: the 通报 said 逾期2天未报 (1天12小时, rounded), where a message said
    已逾期1天12小时."""
    from duban.report.bulletin import _days

    assert _days(1.5 * 86400) == "1天" and _days(2.49 * 86400) == "2天" and _days(86399) == "不足1天"
    assert _days(3 * 86400) == "3天"


def test_a_bulletin_of_a_campaign_the_database_never_ran_is_refused_not_planned(tmp_path):
    """`duban bulletin SPEC --send` on a database that never ran the campaign planned it on the spot and queued a
    通报 naming all 131 units 逾期未报, none of them ever told of the campaign (a second tester's finding)."""
    engine = engine_for(get_settings().resolved_database_url)
    out = tmp_path / "x.docx"
    result = CliRunner().invoke(
        app, ["bulletin", str(JINZHONG), "--as-of", "2024-07-02 09:00", "--out", str(out), "--send"]
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "is not in the database: it has not run here" in said, result.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(CampaignUnit)).scalar() == 0
    assert not out.exists()


def test_a_queued_bulletin_is_not_issued_in_the_close_out_report_until_the_outbox_has_sent_it(tmp_path):
    """`duban bulletin --send` queues the short text; the close-out report said 印发通报 at once, before the
    dispatcher had sent any of it (an outside tester's finding). It says 待发送 while the outbox holds it, 印发 once
    the outbox records it sent."""
    from docx import Document

    from duban.notify.notifier import RecordingNotifier
    from duban.services.dispatch import Dispatcher

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-14 09:00"))
    runner = CliRunner()
    stage = ["bulletin", str(JINZHONG), "--stage", "county_check", "--as-of", "2024-06-14 09:00"]
    sent = runner.invoke(app, [*stage, "--out", str(tmp_path / "通报.docx"), "--send"], catch_exceptions=False)
    assert "短文本已排入发送队列：11 个单位" in sent.output, sent.output

    def said() -> str:
        out = tmp_path / "总结.docx"
        report = ["report", str(JINZHONG), "--as-of", "2024-06-20 09:00", "--out", str(out)]
        assert runner.invoke(app, report, catch_exceptions=False).exit_code == 0
        return next(p.text for p in Document(str(out)).paragraphs if "通报" in p.text)

    queued = "期间起草通报1期，均未发送：第1期（6月14日，县级检查阶段，点名逾期单位11个，待发送）。"
    assert said() == queued
    down = Dispatcher(engine, lambda _ref: RecordingNotifier(refuse={"sink"}), ["sink"]).run(at("2024-06-14 09:01"))
    assert down.failed > 0 and said() == queued  # failed, to be tried again: still to go
    sink = RecordingNotifier()
    Dispatcher(engine, lambda _ref: sink, ["sink"]).run(at("2024-06-14 10:00"))
    assert said() == "期间印发通报1期：第1期（6月14日，县级检查阶段，点名逾期单位11个）。"


def test_a_bulletin_dated_before_the_last_issued_one_is_refused(tmp_path):
    """`--as-of 2024-07-02 09:00` made 第1期, then `--stage county_check --as-of 2024-06-14 09:00` made a 第2期 dated
    before it, which the close-out report cited in that order (t1 #21): 期 follow their 截至, so the earlier one is
    refused, saying how to go on, and nothing is written or numbered."""
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-07-02 09:00"))

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)

    late = ("bulletin", JINZHONG, "--as-of", "2024-07-02 09:00", "--out", tmp_path / "通报.docx")
    assert "已存档为第1期通报" in run(*late).output
    early = tmp_path / "通报-县级检查.docx"
    refused = run("bulletin", JINZHONG, "--stage", "county_check", "--as-of", "2024-06-14 09:00", "--out", early)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1, said
    assert "第1期通报 is 截至 2024-07-02 周二 09:00" in said and "2024-06-14 周五 09:00" in said, said
    assert '--as-of "2024-07-02 09:00" or later' in said, said
    assert "Traceback" not in said and not early.exists()
    assert "已存档为第1期通报" in run(*late).output  # 第1期 itself may be redrafted
    again = run("bulletin", JINZHONG, "--stage", "county_check", "--as-of", "2024-07-02 09:00", "--out", early)
    assert again.exit_code == 0 and "已存档为第2期通报" in again.output
