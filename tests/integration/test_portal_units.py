"""A unit's page: what is due and how it stands, uploads that become versions and receipts, and the next tick
that then leaves the unit alone."""

import pytest
from sqlalchemy import select

from duban.store.tables import Assignment, Intent, OutboxMessage, SampleDraw, Submission
from tests.integration.helpers import CAMPAIGN, at, tick
from tests.integration.portal_site import make_site, stored_files, text_of
from tests.samples import docx_bytes, pdf_bytes, xlsx_bytes


@pytest.fixture
def site(sqlite_engine):
    return make_site(sqlite_engine)


def test_the_page_lists_the_units_items_with_dues_and_colours(site):
    site.now = at("2024-05-23 12:00")  # after the first reminder of 自评, before 县级检查 opens
    page = site.page(site.token("140724"))
    assert page.status_code == 200
    text = text_of(page.text)
    assert "昔阳县统计局" in text and '统计基层基础工作规范化建设"回头看"' in text
    assert "本单位共 5 项：已报送 0 · 待报送 2 · 未开始 3 " in text  # the parts add up to the whole
    assert "黄 · 临近截止 规范化建设自评阶段 自查评分表 截止： 5月25日 周六 24:00 （还有2天12小时）" in text
    assert (
        "灰 · 未开始 县级检查阶段 县级实地检查评分表（不少于6个乡镇） "
        "截止： 6月10日 周一 24:00 （5月25日 周六 08:30 开始）" in text
    )
    # no form before opening: the two open items each have an upload form and a 延期申请 form (extensions allowed)
    assert page.text.count('enctype="multipart/form-data"') == 2 and page.text.count("<form") == 4
    assert page.text.count('class="submit extension"') == 2
    assert "报送至：晋中市统计局设管科" in text  # the materials go to 设管科
    assert "下级单位报送情况" in text and "乐平镇统计站" in text  # a county sees its townships
    assert page.headers["cache-control"] == "no-store"


def test_an_item_of_a_hidden_sample_stays_off_the_page_until_it_opens(site):
    with site.engine.connect() as conn:
        members = conn.execute(select(SampleDraw.members).where(SampleDraw.sample_id == "city_check")).scalar_one()
    township = next(code for code in members if len(code) == 9)
    token = site.token(township)
    site.now = at("2024-06-01 10:00")
    assert "迎接市级现场检查" not in site.page(token).text
    site.now = at("2024-06-10 09:00")
    assert "迎接市级现场检查" in site.page(token).text


def test_the_same_file_picked_twice_in_one_upload_is_kept_once(sqlite_engine):
    """`r.pdf` posted twice in one form made version 1 "r.pdf | r.pdf" with two downloads of one document."""
    site = make_site(sqlite_engine)
    token = site.token("140724100")
    twice = site.submit(
        token, "self_report", [("r.pdf", pdf_bytes()), ("r.pdf", pdf_bytes()), ("稿.docx", docx_bytes())]
    )
    assert twice.status_code == 303, twice.text
    with sqlite_engine.connect() as conn:
        [files] = conn.execute(select(Submission.files)).scalars().all()
    assert [f["name"] for f in files] == ["r.pdf", "稿.docx"]


def test_a_file_with_the_same_content_as_another_under_another_name_is_kept_once_and_the_receipt_says_so(site):
    """甲.xlsx, 乙.xlsx and 丙.xlsx (甲's bytes) in one upload: the record kept 甲 and 乙 without a word while the
    audit log said 甲.xlsx、乙.xlsx、丙.xlsx (an outside tester's finding). The receipt, the page and the audit log
    now agree: two files kept, 丙.xlsx named as the same file as 甲.xlsx."""
    token = site.token("140724100")
    first, second = xlsx_bytes(), xlsx_bytes([["项目", "得分"], ["机构设置", 17]])
    posted = site.submit(token, "self_score_sheet", [("甲.xlsx", first), ("乙.xlsx", second), ("丙.xlsx", first)])
    assert posted.status_code == 303, posted.text
    receipt = text_of(site.client.get(posted.headers["location"]).text)
    assert "甲.xlsx" in receipt and "乙.xlsx" in receipt
    assert "丙.xlsx 与 甲.xlsx 内容相同，只保存一份" in receipt, receipt
    assert "丙.xlsx 与 甲.xlsx 内容相同，只保存一份" in text_of(site.page(token).text)
    with site.engine.connect() as conn:
        [files] = conn.execute(select(Submission.files)).scalars().all()
    assert [f["name"] for f in files] == ["甲.xlsx", "乙.xlsx"]
    [upload] = site.audit("upload")
    assert upload.detail == "甲.xlsx、乙.xlsx（丙.xlsx 与 甲.xlsx 内容相同，只保存一份）"


def test_a_submission_from_the_page_is_kept_receipted_and_stops_the_reminders(engine):
    site = make_site(engine)
    token = site.token("140724100")
    sheet = site.submit(token, "self_score_sheet", [("乐平镇自查评分表.xlsx", xlsx_bytes())])
    assert sheet.status_code == 303 and "/receipts/" in sheet.headers["location"]
    receipt = text_of(site.client.get(sheet.headers["location"]).text)
    assert "报送成功" in receipt and "乐平镇自查评分表.xlsx" in receipt and "按时报送" in receipt
    # a receipt is kept and shown later: its dates carry their year (a 2024 due beside a 2026 hand-in read as one)
    assert "报送时间 2024-05-20 周一 10:00" in receipt and "截止时间 2024-05-25 周六 24:00" in receipt, receipt
    assert "第1版" in receipt
    report = site.submit(token, "self_report", [("乐平镇总结报告.docx", docx_bytes()), ("盖章版.pdf", pdf_bytes())])
    assert report.status_code == 303
    with engine.connect() as conn:
        rows = conn.execute(
            select(Submission.item_id, Submission.actor, Submission.files).order_by(Submission.id)
        ).all()
        receipts = conn.execute(
            select(OutboxMessage.kind).where(OutboxMessage.recipient == "140724100", OutboxMessage.kind == "receipt")
        ).all()
    assert [(r.item_id, r.actor) for r in rows] == [("self_score_sheet", "portal"), ("self_report", "portal")]
    assert [f["name"] for f in rows[1].files] == ["乐平镇总结报告.docx", "盖章版.pdf"]
    assert len(stored_files(site.settings)) == 3 and len(receipts) == 2  # content-addressed, a receipt each
    # page, upload, receipt, page, upload: every view and upload is in the audit log
    assert [e.action for e in site.audit()] == ["view", "upload", "view", "view", "upload"]

    tick(engine, at("2024-05-22 09:00"))  # the first reminder of 自评
    with engine.connect() as conn:
        reminded = set(
            conn.execute(
                select(Assignment.unit_code)
                .join(Intent, Intent.assignment_id == Assignment.id)
                .where(Intent.kind == "reminder", Assignment.stage_id == "self_assessment")
            ).scalars()
        )
    assert "140724100" not in reminded and "140724101" in reminded and len(reminded) == 129


def test_a_resubmission_after_an_on_time_one_is_a_correction_and_every_version_is_kept(site):
    token = site.token("140724100")
    site.submit(token, "self_report", [("总结报告.docx", docx_bytes("第一稿"))])
    site.now = at("2024-05-27 11:30")  # after the due
    again = site.submit(token, "self_report", [("总结报告（修改稿）.docx", docx_bytes("第二稿"))])
    receipt = text_of(site.client.get(again.headers["location"]).text)
    assert "第2版（以前各版都已保留）" in receipt and "报送成功（更正）" in receipt and "逾期" not in receipt
    # a correction after the due of an on-time hand-in: the item stays on time (it read 已收到（逾期报送）)
    assert "截止后更正，第1版已于2024-05-20 周一 10:00按时报送，仍计为按时报送" in receipt
    site.now = at("2024-05-27 12:00")
    first = site.submit(site.token("140724101"), "self_report", [("皋落镇总结报告.docx", docx_bytes())])
    late = text_of(site.client.get(first.headers["location"]).text)
    assert "已收到（逾期报送）" in late and "逾期1天12小时报送" in late
    page = text_of(site.page(token).text)
    assert (
        "已报送 2 版" in page
        and "第2版 · 5月27日 周一 11:30 · 截止后更正，仍计为按时报送" in page
        and "第1版 · 5月20日 周一 10:00 · 按时报送" in page
    ), page  # the list says what the receipt says (it read 逾期报送 beside a receipt's 仍计为按时报送)
    assert "第1版 · 5月27日 周一 12:00 · 逾期报送" in text_of(site.page(site.token("140724101")).text)
    site.login()
    ops = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/u/140724100").text)
    assert "第2版 · 5月27日 周一 11:30 · 截止后更正，仍计为按时" in ops and "第1版 · 5月20日 周一 10:00 · 按时" in ops
    assert "绿 · 已报送" in page  # on time first: a later correction does not turn the item late


def test_counts_are_checked_and_refusals_are_told_in_chinese(site):
    site.now = at("2024-05-28 10:00")
    token = site.token("140724")
    tick(site.engine, at("2024-05-25 08:30"))
    sheet = [("县级检查评分表.pdf", pdf_bytes())]
    cases = [
        ({"townships_inspected": "4"}, "「实地检查乡镇(街道)数」为 4，低于通知要求的 6个"),
        ({"townships_inspected": "六"}, "「实地检查乡镇(街道)数」填写的「六」不是整数"),
        ({"townships_inspected": "6.5"}, "「实地检查乡镇(街道)数」填写的「6.5」不是整数"),
        ({}, "请填写「实地检查乡镇(街道)数」"),
    ]
    for metrics, message in cases:
        refused = site.submit(token, "county_inspection", sheet, metrics)
        assert refused.status_code == 400 and message in refused.text
    none = site.submit(token, "county_report", [])
    assert none.status_code == 400 and "请选择要上传的文件（docx、pdf）" in none.text
    assert site.submissions() == 0 and stored_files(site.settings) == []
    assert [e.detail for e in site.audit("refused")][:1] == ["「实地检查乡镇(街道)数」为 4，低于通知要求的 6个"]
    ok = site.submit(token, "county_inspection", sheet, {"townships_inspected": "7.0"})  # as a spreadsheet writes 7
    assert ok.status_code == 303 and "实地检查乡镇(街道)数 7个" in text_of(site.client.get(ok.headers["location"]).text)


def test_a_form_with_one_count_filled_twice_is_refused_and_nothing_is_kept(site):
    """A forged form (`m_townships_inspected=7&m_townships_inspected=8`) was stored with the last value, 8."""
    site.now = at("2024-05-28 10:00")
    token = site.token("140724")
    tick(site.engine, at("2024-05-25 08:30"))
    sheet = [("县级检查评分表.pdf", pdf_bytes())]
    twice = site.submit(token, "county_inspection", sheet, {"townships_inspected": ["7", "8"]})
    assert twice.status_code == 400 and "「实地检查乡镇(街道)数」填写了两个值" in twice.text
    assert site.submissions() == 0 and stored_files(site.settings) == []
    assert [e.detail for e in site.audit("refused")][-1].startswith("「实地检查乡镇(街道)数」填写了两个值")


def test_a_unit_downloads_its_own_files_as_handed_in(site):
    token = site.token("140724100")
    data = docx_bytes("乐平镇总结")
    receipt = site.submit(token, "self_report", [("乐平镇总结报告.docx", data)]).headers["location"]
    submission_id = receipt.rsplit("/", 1)[1]
    got = site.client.get(f"/u/{token}/files/{submission_id}/0")
    assert got.status_code == 200 and got.content == data
    assert "attachment" in got.headers["content-disposition"] and "%E4%B9%90" in got.headers["content-disposition"]
    assert site.audit("download")[-1].target == "乐平镇总结报告.docx"
    assert site.client.get(f"/u/{token}/files/{submission_id}/1").status_code == 404


def test_campaign_rows_stay_consistent_with_the_cli_path(site):
    """The page and `duban submit` share one domain path: same versions, same receipt intents."""
    from duban.services.submit import record_submission
    from tests.samples import write

    token, sheet = site.token("140724100"), xlsx_bytes()
    site.submit(token, "self_score_sheet", [("评分表.xlsx", sheet)])
    path = write(site.settings.home / "评分表（定稿）.xlsx", sheet)  # the same bytes, renamed: a new version
    record_submission(
        site.engine,
        CAMPAIGN,
        "140724100",
        "self_score_sheet",
        site.now,
        files=[path],
        files_dir=site.settings.files_dir,
    )
    with site.engine.connect() as conn:
        versions = conn.execute(select(Submission.version, Submission.actor).order_by(Submission.version)).all()
        intents = conn.execute(select(Intent.kind, Intent.step).where(Intent.kind == "receipt")).all()
    assert [tuple(v) for v in versions] == [(1, "portal"), (2, "cli")]
    assert sorted(tuple(i) for i in intents) == [("receipt", 1), ("receipt", 2)]
    assert len(stored_files(site.settings)) == 1  # the same bytes are stored once


def test_an_item_reported_as_counts_only_takes_no_file(site):
    site.now = at("2024-06-20 10:00")
    token = site.token("140700-sgk")  # 设管科 reports the city inspection as counts
    page = site.page(token).text
    assert "市级现场检查（6个县、24个乡镇级统计机构）" in page and 'name="m_counties_inspected"' in page
    form = page.split('action="/u/')[1].split("</form>")[0]
    assert 'type="file"' not in form
    done = site.submit(token, "city_inspection", [], {"counties_inspected": "6", "townships_inspected": "24"})
    receipt = text_of(site.client.get(done.headers["location"]).text)
    assert "已检查县数 6个" in receipt and "已检查乡镇数 24个" in receipt and "文件" not in receipt.split("回执编号")[1]


def test_a_version_waiting_for_review_is_not_called_on_time_anywhere_it_is_listed(site):
    """The receipt said 截止前报送，待审核, but the unit's page listed the same version 按时报送 and /ops 按时."""
    tick(site.engine, at("2024-06-11 09:00"))  # 检查材料整理上报 opens; 设管科 reviews the counties' materials
    site.now = at("2024-06-12 10:00")
    token = site.token("140724")
    handed = site.submit(token, "materials_upload", [("检查材料.xlsx", xlsx_bytes())])
    assert handed.status_code == 303, handed.text
    page = text_of(site.page(token).text)
    assert "第1版 · 6月12日 周三 10:00 · 截止前报送（待审核） · 回执" in page, page
    site.login()
    ops = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/u/140724").text)
    assert "第1版 · 6月12日 周三 10:00 · 截止前（待审核） · 单位（报送平台）" in ops, ops


def test_a_page_read_in_another_year_gives_each_date_its_year(site):
    """Read in 2026, the 2024 notice's 截止：5月25日 looked like a day of this year, not yet come (or just past)."""
    site.now = at("2024-05-23 12:00")
    text = text_of(site.page(site.token("140724")).text)
    assert "截止： 5月25日 周六 24:00" in text and "截止： 2024年" not in text
    tick(site.engine, at("2024-06-11 08:30"))  # 县局 told of 市级抽查, its 签收 due a working day later
    site.now = at("2026-03-02 09:00")
    text = text_of(site.page(site.token("140724", issued=at("2026-03-01 09:00"))).text)
    assert "截止： 2024年5月25日 周六 24:00 （已逾期645天9小时）" in text and "签收截止： 2024年6月12日" in text
    assert "截止： 5月" not in text and "截止： 6月" not in text
