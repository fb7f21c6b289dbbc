"""The operators' side: a separate login, the 红黄绿 matrix with filters, a unit's files and link, the 汇总表
download and the audit log."""

import io

import pytest
from openpyxl import load_workbook

from tests.integration.helpers import at
from tests.integration.portal_site import OPERATOR, make_site, text_of
from tests.samples import docx_bytes, pdf_bytes, xlsx_bytes


@pytest.fixture
def site(sqlite_engine):
    site = make_site(sqlite_engine, now="2024-05-27 10:00", portal_url="https://duban.tjj.example.cn")
    site.now = at("2024-05-20 10:00")
    for unit in ("140724100", "140724101"):
        token = site.token(unit)
        site.submit(token, "self_score_sheet", [(f"{unit}评分表.xlsx", xlsx_bytes())])
        site.submit(token, "self_report", [(f"{unit}总结报告.docx", docx_bytes())])
    site.now = at("2024-05-27 10:00")
    site.submit(site.token("140724102"), "self_report", [("东冶头镇总结报告.docx", docx_bytes())])  # late
    return site


def test_the_dashboard_needs_an_operator_login(site):
    assert site.client.get("/ops", follow_redirects=False).headers["location"] == "/ops/login"
    assert site.client.get("/ops/c/jinzhong-2024-lookback/summary.xlsx", follow_redirects=False).status_code == 303
    assert site.client.get("/api/campaigns").status_code == 401
    wrong = site.login(password="wrong-password")
    assert wrong.status_code == 401 and "用户名或密码不对" in wrong.text
    assert site.login().headers["location"] == "/ops"
    attempts = [(e.actor, e.ok) for e in site.audit("login")]
    assert attempts == [("operator:duban", False), ("operator:duban", True)]
    assert not any("晋中督办" in (e.detail or "") for e in site.audit())  # the password is never written down


def test_five_wrong_passwords_lock_the_name_for_a_while(site):
    for _ in range(5):
        assert site.login(password="guess-guess").status_code == 401
    locked = site.login()
    assert locked.status_code == 401 and "登录失败次数过多" in locked.text
    site.now = at("2024-05-27 10:16")
    assert site.login().status_code == 303


def test_the_matrix_shows_each_unit_in_red_yellow_green_and_filters(site):
    site.login()
    page = site.client.get("/ops/c/jinzhong-2024-lookback?parent=140724")
    assert page.status_code == 200
    rows = {row.split("</td>")[0]: row for row in page.text.split('<td class="unit">')[1:]}
    colour = lambda name: rows[next(k for k in rows if name in k)].split('class="cell ')[1].split('"')[0]  # noqa: E731
    assert colour("乐平镇统计站") == "green" and colour("东冶头镇统计站") == "red" and colour("沾尚镇统计站") == "red"
    assert len(rows) == 11 and "11 个单位" in page.text
    townships = site.client.get("/ops/c/jinzhong-2024-lookback?level=township")
    assert "118 个单位" in townships.text and "昔阳县统计局</a>" not in townships.text
    green = site.client.get("/ops/c/jinzhong-2024-lookback?only=green")
    assert "乐平镇统计站" in green.text and "东冶头镇统计站" not in green.text and "2 个单位" in green.text
    keys = text_of(page.text)
    assert "1 【规范化建设自评阶段】自查评分表： 红 9 · 黄 0 · 绿 2" in keys


def test_an_operator_downloads_a_units_files_and_hands_out_or_withdraws_its_link(site):
    site.login()
    detail = site.client.get("/ops/c/jinzhong-2024-lookback/u/140724100")
    assert detail.status_code == 200 and "140724100总结报告.docx" in detail.text
    href = detail.text.split('href="/ops/c/jinzhong-2024-lookback/files/')[1].split('"')[0]
    got = site.client.get(f"/ops/c/jinzhong-2024-lookback/files/{href}")
    assert got.status_code == 200 and got.content[:2] == b"PK"
    link = detail.text.split('class="linkbox"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert link.startswith("https://duban.tjj.example.cn/u/")
    token = link.rsplit("/", 1)[1]
    assert site.page(token).status_code == 200
    csrf = detail.text.split('name="csrf" value="')[1].split('"')[0]
    done = site.client.post(
        "/ops/c/jinzhong-2024-lookback/u/140724100/revoke", data={"csrf": csrf, "reason": "换人"}, follow_redirects=True
    )
    assert "已停用该单位此前发出的全部链接" in done.text
    assert site.page(token).status_code == 403
    assert [e.detail for e in site.audit("revoke")] == ["换人"]


def test_a_revoke_without_the_pages_token_says_nothing_was_done_not_that_no_file_was_saved(site):
    """The 403 page of an /ops revoke or decision with a stale or forged form token said （文件未保存）: no file was
    in question; it now says the action did not take effect (an upload's refusal still says no file was kept)."""
    site.login()
    detail = site.client.get("/ops/c/jinzhong-2024-lookback/u/140724100")
    token = detail.text.split('class="linkbox"')[0].rsplit('value="', 1)[1].split('"')[0].rsplit("/", 1)[1]
    refused = site.client.post(
        "/ops/c/jinzhong-2024-lookback/u/140724100/revoke", data={"csrf": "forged", "reason": "换人"}
    )
    said = text_of(refused.text)
    assert refused.status_code == 403 and "本次操作未生效" in said and "文件" not in said, said
    assert site.page(token).status_code == 200 and site.audit("revoke") == []


def test_hidden_characters_never_reach_the_audit_log_as_they_are(site):
    """A revoke's reason `\\e[2J误转\\u202e` and a login under `eve\\u202etoor\\e[2J` (no operator's name) were kept
    as sent: the audit page drew the line reversed, and a name nobody has read as 督办人员."""
    assert site.login("eve\u202etoor\x1b[2J", "x").status_code == 401
    site.login()
    detail = site.client.get("/ops/c/jinzhong-2024-lookback/u/140724100")
    token = detail.text.split('class="linkbox"')[0].rsplit('value="', 1)[1].split('"')[0].rsplit("/", 1)[1]
    csrf = detail.text.split('name="csrf" value="')[1].split('"')[0]
    refused = site.client.post(
        "/ops/c/jinzhong-2024-lookback/u/140724100/revoke", data={"csrf": csrf, "reason": "\x1b[2J误转\u202e"}
    )
    assert refused.status_code == 400 and "停用原因含有看不见的字符（U+001B）" in refused.text, refused.text
    assert site.page(token).status_code == 200 and not site.audit("revoke")  # nothing revoked
    [tried] = [e for e in site.audit("login") if not e.ok]
    assert tried.actor == "login:eve\\u202etoor\\u001b[2J", tried.actor
    log = text_of(site.client.get("/ops/c/jinzhong-2024-lookback/audit").text)
    assert "未知用户名 eve\\u202etoor\\u001b[2J 登录" in log and "\u202e" not in log and "\x1b" not in log, log


def test_the_summary_table_downloads_as_xlsx(site):
    site.login()
    site.submit(site.token("140724"), "county_inspection", [("评分表.pdf", pdf_bytes())], {"townships_inspected": "8"})
    got = site.client.get("/ops/c/jinzhong-2024-lookback/summary.xlsx")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "%E6%B1%87%E6%80%BB%E8%A1%A8" in got.headers["content-disposition"]  # 汇总表 in the file name
    book = load_workbook(io.BytesIO(got.content))
    assert book.sheetnames[0] == "汇总" and "县级检查阶段" in book.sheetnames
    rows = [r for r in book["汇总"].iter_rows(values_only=True) if r[1] and str(r[1]).startswith("县级实地检查")]
    assert rows[0][2:6] == ("县级", 11, 1, 1) and rows[0][13] == 8
    assert site.audit("export")[-1].actor == "operator:duban"


def test_the_audit_log_shows_who_did_what_from_where(site):
    site.login()
    site.client.get("/ops/c/jinzhong-2024-lookback/summary.xlsx")
    log = text_of(site.client.get("/ops/c/jinzhong-2024-lookback/audit").text)
    assert "乐平镇统计站 报送 乐平镇统计站 self_report 第1版 · 140724100总结报告.docx 成功 testclient" in log
    assert "督办人员 duban 导出汇总表" in log and "督办人员 duban 登录" in log
    assert "unit:" not in log and "operator:" not in log
    uploads = text_of(site.client.get("/ops/c/jinzhong-2024-lookback/audit?action=upload").text)
    rows = uploads.split("来源地址")[1]
    assert "导出汇总表" not in rows and rows.count(" 报送 ") == 5


def test_logout_ends_the_session(site):
    site.login()
    page = site.client.get("/ops/c/jinzhong-2024-lookback")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert site.client.post("/ops/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert site.client.get("/ops", follow_redirects=False).headers["location"] == "/ops/login"
    assert OPERATOR[1] not in str(site.client.cookies)
