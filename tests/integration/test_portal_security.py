"""What the portal refuses: other units' things, expired, revoked and tampered links, path tricks, oversized and
disguised files, forms without a CSRF token — each with a clear Chinese message and nothing stored; and error
pages that say nothing about the server's insides."""

import logging

import pytest

from duban.services.links import revoke
from duban.web.server import MaskTokens
from tests.integration.helpers import CAMPAIGN, at
from tests.integration.portal_site import make_site, stored_files, text_of
from tests.samples import docx_bytes, pdf_bytes, xlsx_bytes


@pytest.fixture
def site(sqlite_engine):
    return make_site(sqlite_engine, upload_max_mb=1)


def _nothing_stored(site) -> None:
    assert site.submissions() == 0 and stored_files(site.settings) == []
    assert not any((site.settings.home / "tmp").rglob("*.*")) if (site.settings.home / "tmp").exists() else True


def test_a_units_link_reaches_only_its_own_things(site):
    a, b = site.token("140724100"), site.token("140724101")
    theirs = site.submit(b, "self_report", [("皋落镇总结报告.docx", docx_bytes())]).headers["location"]
    submission_id = theirs.rsplit("/", 1)[1]
    assert site.client.get(f"/u/{a}/receipts/{submission_id}").status_code == 404
    stolen = site.client.get(f"/u/{a}/files/{submission_id}/0")
    assert stolen.status_code == 404 and "它可能不属于本单位" in stolen.text
    assert "皋落镇" not in site.page(a).text
    # A's link only ever submits for A: an item A does not owe is refused, B's rows are untouched
    refused = site.submit(a, "county_inspection", [("评分表.pdf", pdf_bytes())], {"townships_inspected": "7"})
    assert refused.status_code == 404 and "本单位没有这一报送事项" in refused.text
    own = site.submit(a, "self_report", [("乐平镇总结报告.docx", docx_bytes())])
    assert own.status_code == 303 and site.submissions() == 2
    assert site.client.get(f"/api/u/{a}").json()["unit_code"] == "140724100"


def test_expired_revoked_and_tampered_links_are_refused(site):
    expired = site.token("140724100", days=1, issued=at("2024-05-18 10:00"))
    page = site.page(expired)
    assert page.status_code == 403 and "链接已过期（有效期至5月19日 周日 10:00）" in page.text
    assert "请打开最新一条督办消息中的链接" in page.text
    site.now = at("2025-01-06 10:00")  # opened after the year's end: the expiry says its year (a tester's finding)
    assert "链接已过期（有效期至2024年5月19日 周日 10:00）" in site.page(expired).text
    site.now = at("2024-05-20 10:00")

    old = site.token("140724100", issued=at("2024-05-15 10:00"))
    assert site.page(old).status_code == 200
    revoke(site.engine, CAMPAIGN, "140724100", at("2024-05-16 10:00"), actor="operator:duban", reason="消息被误转发")
    assert site.page(old).status_code == 403 and "此链接已停用" in site.page(old).text
    assert site.page(site.token("140724100")).status_code == 200  # a link issued afterwards works
    one = site.token("140724101")
    revoke(site.engine, CAMPAIGN, "140724101", site.now, token=one, actor="cli")
    assert site.page(one).status_code == 403
    upload = site.client.post(f"/u/{old}/items/self_report", files=[("files", ("x.docx", docx_bytes()))])
    assert upload.status_code == 403 and site.submissions() == 0

    good = site.token("140724100")
    body, mac = good.split(".")
    flip = lambda text: text[:-1] + ("B" if text[-1] == "A" else "A")  # noqa: E731
    for forged in (f"{flip(body)}.{mac}", f"{body}.{flip(mac)}", good[:40]):
        response = site.page(forged)
        assert response.status_code == 403 and "链接无效：可能复制不完整或被改动过" in response.text
    reasons = [e.detail for e in site.audit("link_refused")]
    assert {"expired", "revoked", "tampered"} <= set(reasons)


@pytest.mark.parametrize("name", ["../../etc/passwd.docx", "..\\..\\Windows\\win.ini.docx", "/tmp/x.docx"])
def test_path_tricks_in_file_names_are_refused(site, name):
    refused = site.submit(site.token("140724100"), "self_report", [(name, docx_bytes())])
    assert refused.status_code == 400 and "含有路径" in refused.text and "已拒收" in refused.text
    _nothing_stored(site)


def test_oversized_files_and_bodies_are_refused(site):
    token = site.token("140724100")
    big = pdf_bytes() + b"\0" * (1024 * 1024)
    refused = site.submit(token, "self_report", [("扫描件.pdf", big)])
    assert refused.status_code == 400 and "文件「扫描件.pdf」超过上限 1 MB，已拒收" in refused.text
    _nothing_stored(site)
    csrf = site.csrf(f"/u/{token}")
    huge = site.client.post(
        f"/u/{token}/items/self_report",
        content=b"x" * 100,
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(10**9)},
        data=None,
    )
    assert huge.status_code == 413 and "上传内容过大" in huge.text and csrf
    _nothing_stored(site)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        (
            "自查评分表.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04" + b"\0" * 300,
            "内容是Windows 可执行程序，不是PDF 文件，已拒收",
        ),
        ("自查评分表.xlsx", b"\x7fELF\x02\x01\x01" + b"\0" * 300, "内容是Linux 可执行程序"),
        ("自查评分表.pdf", docx_bytes(), "扩展名是 pdf，但内容是Word 文档（docx）"),
        ("自查评分表.exe", b"MZ" + b"\0" * 300, "可执行程序"),
    ],
)
def test_disguised_files_are_refused(site, name, data, words):
    refused = site.submit(site.token("140724100"), "self_score_sheet", [(name, data)])
    assert refused.status_code == 400 and words in refused.text
    _nothing_stored(site)
    assert site.audit("refused")[-1].ok is False


def test_a_post_without_the_pages_csrf_token_is_refused(site):
    a, b = site.token("140724100"), site.token("140724101")
    files = [("乐平镇自查评分表.xlsx", xlsx_bytes())]
    for csrf in ("", "forged", site.csrf(f"/u/{b}")):  # none, made up, and B's page's token
        refused = site.submit(a, "self_score_sheet", files, csrf=csrf)
        assert refused.status_code == 403 and "页面已过期或来源不明" in refused.text and "文件未保存" in refused.text
    good = site.csrf(f"/u/{a}")
    site.client.cookies.clear()  # another browser: the token without its cookie
    assert site.submit(a, "self_score_sheet", files, csrf=good).status_code == 403
    login = site.client.post("/ops/login", data={"name": "duban", "password": "晋中督办-2024"})
    assert login.status_code == 403
    _nothing_stored(site)


def test_error_pages_show_no_internals(site, monkeypatch):
    missing = site.client.get("/no/such/page")
    assert missing.status_code == 404 and "没有找到这个页面" in missing.text and "Not Found" not in missing.text
    assert site.client.get("/api/nothing").json() == {
        "detail": "没有找到这个页面。请检查链接是否完整，或从督办消息中重新打开。"
    }
    wrong = site.client.get(f"/u/{site.token('140724100')}/receipts/not-a-number")
    assert wrong.status_code == 422 and "请求参数有误" in wrong.text and "int_parsing" not in wrong.text
    # a path's part is named in words, not by the handler's parameter (a clerk read 请求参数有误：submission_id)
    assert "submission_id" not in wrong.text and "链接" in text_of(wrong.text), wrong.text

    def broken(*args, **kwargs):
        raise RuntimeError("password=hunter2 at /srv/duban/secret.py line 12")

    monkeypatch.setattr("duban.web.unit_routes.unit_page", broken)
    crashed = site.page(site.token("140724100"))
    text = text_of(crashed.text)
    assert crashed.status_code == 500 and "系统出错了" in text and "错误编号" in text
    for leak in ("RuntimeError", "hunter2", "secret.py", "Traceback", "duban/"):
        assert leak not in crashed.text
    headers = crashed.headers
    assert "default-src 'none'" in headers["content-security-policy"] and headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_the_access_log_never_holds_a_token(site):
    token = site.token("140724100")
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.8:5123", "GET", f"/u/{token}/receipts/3", "1.1", 200),
        None,
    )
    MaskTokens().filter(record)
    line = record.getMessage()
    assert token not in line and f"/u/{token[:8]}…/receipts/3" in line


def test_what_people_type_is_shown_as_text_never_as_markup(site):
    site.now = at("2024-05-28 10:00")
    token = site.token("140724")
    bad = '<img src=x onerror="alert(1)">'
    refused = site.submit(token, "county_inspection", [("评分表.pdf", pdf_bytes())], {"townships_inspected": bad})
    assert refused.status_code == 400 and bad not in refused.text and "&lt;img src=x" in refused.text
    site.login(name="<script>alert(1)</script>", password="whatever-else")
    site.login()
    log = site.client.get("/ops/c/jinzhong-2024-lookback/audit").text
    assert "<script>alert(1)</script>" not in log and "&lt;script&gt;alert(1)&lt;/script&gt;" in log


def test_a_link_preview_asks_with_head_and_records_no_view(site):
    """A chat client previews a unit's link with HEAD before anyone taps it: it got 405 (a broken-looking link
    in the group); it gets the link's standing, and the audit log records no 查看 nobody made."""
    good = site.token("140724100")
    views = len(site.audit("view"))
    head = site.client.head(f"/u/{good}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/html")
    assert len(site.audit("view")) == views
    # its Content-Length is the page's, not 0 (a monitor comparing sizes saw an empty page: a tester's finding)
    assert int(head.headers["content-length"]) == len(site.page(good).content) > 1000
    views += 1  # that GET
    tampered = site.client.head(f"/u/{good[:40]}")
    assert tampered.status_code == 403 and site.audit("link_refused")[-1].detail == "tampered"
    assert site.page(good).status_code == 200 and len(site.audit("view")) == views + 1
    from duban.services.lifecycle import reset

    reset(site.engine, "jinzhong-2024-lookback")  # the campaign is gone: HEAD answered 200 where GET is 404
    assert site.client.head(f"/u/{good}").status_code == site.page(good).status_code == 404


def test_every_page_answers_head_as_its_get_does_without_the_body(site):
    """Link checkers and monitors ask with HEAD: every page but /u/<token> answered 405 (a tester's finding). A HEAD
    gets its GET's status and headers without the body, and writes no 查看, 下载 or 导出 to the audit log; a
    POST-only route still answers 405."""
    token = site.token("140724100")
    receipt = site.submit(token, "self_report", [("乐平镇总结报告.docx", docx_bytes())]).headers["location"]
    version = receipt.rsplit("/", 1)[1]
    assert site.login().status_code == 303
    pages = [
        "/",
        "/ops/login",
        "/api/health",
        "/static/portal.css",
        "/ops",
        f"/ops/c/{CAMPAIGN}",
        f"/ops/c/{CAMPAIGN}/u/140724100",
        f"/ops/c/{CAMPAIGN}/loop",
        f"/ops/c/{CAMPAIGN}/audit",
        f"/ops/c/{CAMPAIGN}/summary.xlsx",
        f"/ops/c/{CAMPAIGN}/files/{version}/0",
        f"/ops/c/{CAMPAIGN}/scores",
        receipt,
        f"/u/{token}/files/{version}/0",
        f"/api/u/{token}",
        f"/api/campaigns/{CAMPAIGN}/status",
        "/ops/c/no-such-campaign",
    ]
    entries = len(site.audit())
    heads = {path: site.client.head(path, follow_redirects=False) for path in pages}
    assert len(site.audit()) == entries  # nobody has seen a thing
    for path, head in heads.items():
        got = site.client.get(path, follow_redirects=False)
        assert (head.status_code, head.content) == (got.status_code, b""), path
        for header in ("content-type", "content-disposition", "location"):
            assert head.headers.get(header) == got.headers.get(header), (path, header)
    assert heads["/ops/c/no-such-campaign"].status_code == 404 and heads[f"/ops/c/{CAMPAIGN}"].status_code == 200
    assert len(site.audit("download")) == 2 and len(site.audit("export")) == 1  # the GETs' alone
    for post_only in ("/ops/logout", f"/u/{token}/ack", f"/ops/c/{CAMPAIGN}/u/140724100/revoke"):
        refused = site.client.head(post_only)
        assert refused.status_code == 405 and refused.headers["allow"] == "POST" and refused.content == b""
