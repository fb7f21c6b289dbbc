"""Hostile input at the portal's doors (issue 20): counts that are no numbers, names no disk can hold, ids no
database row can have, a forged Host header, names that draw differently from what they are, and user text that
a spreadsheet would run. Each is refused or made harmless with a Chinese word, and nothing stored is lost."""

from __future__ import annotations

import io
import re
import shutil
import zipfile

import pytest
from openpyxl import load_workbook

from duban.services.lifecycle import ensure_planned
from tests.conftest import JINZHONG, SPECS
from tests.integration.helpers import CAMPAIGN, at, tick
from tests.integration.portal_site import OPERATOR, Site, make_site, stored_files, text_of
from tests.samples import docx_bytes, pdf_bytes

FORMULA = "=cmd|' /C calc'!A0"
# the county inspection with a decimal count (bounded) and a free-text remark, as a notice may ask
EXTRA_METRICS = (
    "          - {name: townships_inspected, label: 实地检查乡镇(街道)数, unit: 个, min: 6}\n"
    "          - {name: hours_spent, label: 检查用时, type: number, unit: 小时, min: 0, max: 100}\n"
    "          - {name: remark, label: 检查情况说明, type: text, required: false}\n"
)


@pytest.fixture
def site(sqlite_engine):
    return make_site(sqlite_engine, now="2024-05-28 10:00", portal_url="https://duban.tjj.example.cn")


def _site_with_extra_metrics(engine, tmp_path) -> Site:
    from duban.services.operators import save_operator
    from duban.settings import Settings

    folder = tmp_path / "specs"
    folder.mkdir()
    shutil.copytree(SPECS / "units", folder / "units")
    shutil.copytree(SPECS / "calendar", folder / "calendar")
    text = JINZHONG.read_text(encoding="utf-8")
    line = "          - {name: townships_inspected, label: 实地检查乡镇(街道)数, unit: 个, min: 6}\n"
    assert text.count(line) == 1
    (folder / JINZHONG.name).write_text(text.replace(line, EXTRA_METRICS), encoding="utf-8")
    ensure_planned(engine, folder / JINZHONG.name, now=at("2024-05-09 12:00"))
    tick(engine, at("2024-05-28 09:00"))
    settings = Settings()
    save_operator(settings.operators_file, *OPERATOR)
    return Site(settings, engine, at("2024-05-28 10:00"))


@pytest.mark.parametrize("bad", ["NaN", "nan", "inf", "-Infinity", "1e999"])
def test_a_count_that_is_no_number_is_refused_like_any_other_bad_count(sqlite_engine, tmp_path, bad):
    site = _site_with_extra_metrics(sqlite_engine, tmp_path)
    token = site.token("140724")
    refused = site.submit(
        token, "county_inspection", [("评分表.pdf", pdf_bytes())], {"townships_inspected": "7", "hours_spent": bad}
    )
    assert refused.status_code == 400 and f"「检查用时」填写的「{bad}」不是数字" in text_of(refused.text)
    assert site.submissions() == 0 and stored_files(site.settings) == []
    ok = site.submit(
        token, "county_inspection", [("评分表.pdf", pdf_bytes())], {"townships_inspected": "7", "hours_spent": "12.5"}
    )
    assert ok.status_code == 303 and site.submissions() == 1, re.findall(r"role=\"alert\">([^<]*)", ok.text)


def test_a_figure_with_thousands_separators_is_refused_with_the_hint_to_drop_them(sqlite_engine, tmp_path):
    """`1,000.5` read only 不是数字: a clerk who writes thousands separators did not learn what to change."""
    site = _site_with_extra_metrics(sqlite_engine, tmp_path)
    token = site.token("140724")
    sheet = [("评分表.pdf", pdf_bytes())]
    for metrics, label in (
        ({"townships_inspected": "7", "hours_spent": "1,000.5"}, "「检查用时」填写的「1,000.5」"),
        ({"townships_inspected": "1，000", "hours_spent": "12"}, "「实地检查乡镇(街道)数」填写的「1，000」"),
    ):
        refused = site.submit(token, "county_inspection", sheet, metrics)
        said = text_of(refused.text)
        assert refused.status_code == 400 and label in said and "请去掉千位分隔符" in said, said
    assert site.submissions() == 0


def test_what_units_type_is_inert_in_every_exported_spreadsheet(sqlite_engine, tmp_path):
    """A text count or a file name that starts with = + - @ is text in the 汇总表, not a formula Excel runs."""

    site = _site_with_extra_metrics(sqlite_engine, tmp_path)
    names = ["=cmd|' -c calc'!A0.pdf", "+SUM(1+1)*cmd|' -c calc'!A0.pdf", "@SUM(1+1).pdf", "-2+3+cmd|' -c calc'!A0.pdf"]
    for index, (unit, name) in enumerate(zip(["140724", "140725", "140723", "140702"], names)):
        remark = [FORMULA, "+1+cmd|' /C calc'!A0", "@SUM(A1)", "-1+cmd|' /C calc'!A0"][index]
        done = site.submit(
            site.token(unit),
            "county_inspection",
            [(name, pdf_bytes())],
            {"townships_inspected": "7", "hours_spent": "3", "remark": remark},
        )
        assert done.status_code == 303, re.findall(r"role=\"alert\">([^<]*)", done.text)
    site.login()
    got = site.client.get(f"/ops/c/{CAMPAIGN}/summary.xlsx")
    assert got.status_code == 200
    _no_formula_anywhere(got.content)
    book = load_workbook(io.BytesIO(got.content))
    shown = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert FORMULA in shown and "=cmd_' -c calc'!A0.pdf" in shown  # kept word for word (| is no file name's), as text


def _no_formula_anywhere(data: bytes, allowed: tuple[str, ...] = ()) -> None:
    """No cell of any worksheet holds a formula (<f>), except the ones duban writes itself (`allowed`)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = archive.read(name).decode()
                formulas = [part.split("</f>")[0] for part in xml.split("<f>")[1:]]
                assert all(f.startswith(allowed) for f in formulas if allowed) and (allowed or not formulas), (
                    name,
                    formulas,
                )
    book = load_workbook(io.BytesIO(data))
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert allowed and str(cell.value).startswith(tuple("=" + a for a in allowed)), (
                        ws.title,
                        cell.coordinate,
                        cell.value,
                    )


def test_a_file_name_no_disk_can_hold_is_refused_in_chinese_and_audited(site):
    token = site.token("140724100")
    name = "乐" * 84 + ".pdf"  # 256 bytes of UTF-8
    refused = site.submit(token, "self_report", [(name, pdf_bytes())])
    assert refused.status_code == 400 and "太长（超过 255 字节" in text_of(refused.text)
    assert site.submissions() == 0 and site.audit("refused")[-1].ok is False
    fits = "乐" * 83 + ".pdf"  # 253 bytes: kept, cut to 120 characters at most
    assert site.submit(token, "self_report", [(fits, pdf_bytes())]).status_code == 303


@pytest.mark.parametrize("raw", ["9223372036854775808", "99999999999999999999999", "0", "-1"])
def test_ids_no_row_can_have_are_answered_as_missing(site, raw):
    token = site.token("140724100")
    site.login()
    for path in (
        f"/u/{token}/receipts/{raw}",
        f"/u/{token}/files/{raw}/0",
        f"/ops/c/{CAMPAIGN}/files/{raw}/0",
        f"/u/{token}/files/1/{raw}",
    ):
        answer = site.client.get(path)
        assert 400 <= answer.status_code < 500 and "没有" in text_of(answer.text), (path, answer.status_code)
    page = site.client.get(f"/ops/c/{CAMPAIGN}/audit?before={raw}")
    assert page.status_code in (200, 422) and "系统出错了" not in page.text
    if int(raw) >= 2**63:
        assert page.status_code == 422 and "请求参数有误" in page.text


def test_the_units_link_on_the_ops_page_comes_from_configuration_never_from_the_request(sqlite_engine):
    site = make_site(sqlite_engine, now="2024-05-28 10:00", portal_url="https://duban.tjj.example.cn")
    site.login()
    page = site.client.get(f"/ops/c/{CAMPAIGN}/u/140724100", headers={"host": "evil.example"})
    assert page.status_code == 200 and "evil.example" not in page.text
    assert 'value="https://duban.tjj.example.cn/u/' in page.text
    bare = make_site(sqlite_engine, now="2024-05-28 10:00")
    bare.login()
    page = bare.client.get(f"/ops/c/{CAMPAIGN}/u/140724100", headers={"host": "evil.example"})
    assert "evil.example" not in page.text and "/u/ey" not in page.text
    assert "未设置报送平台的对外地址（DUBAN_PORTAL_URL）" in text_of(page.text)


def test_a_trailing_slash_is_sent_on_without_the_requests_host(site):
    """`/u/<token>/` answered 307 to http://evil.example/u/<token> when the Host header said so: behind a cache or a
    badly set proxy, a unit's link led elsewhere (an outside tester's finding)."""
    token = site.token("140724100")
    for path, where in (
        (f"/u/{token}/", f"/u/{token}"),
        (f"/u/{token}/?p=1", f"/u/{token}?p=1"),
        ("/ops/", "/ops"),
    ):
        moved = site.client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"] == where, (path, moved.headers)
        assert moved.headers["x-content-type-options"] == "nosniff"
    assert site.client.get(f"/u/{token}/").status_code == 200  # followed: the unit's page
    assert site.client.get("/").status_code == 200

    import asyncio

    from duban.web.app import TrailingSlash

    async def location(path: str) -> str:  # paths an HTTP client would not send as written: straight to the layer
        sent = []

        async def send(message):  # noqa: ANN001, ANN202
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
        await TrailingSlash(None)(scope, None, send)  # type: ignore[arg-type]
        return dict(sent[0]["headers"])[b"location"].decode()

    assert asyncio.run(location("//evil.example/")) == "/evil.example"  # never a host: one leading slash
    assert asyncio.run(location("/\\evil.example/")) == "/%5Cevil.example"  # a browser reads /\ as //


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("总结\u202efdp.docx", "总结fdp.docx"),  # drawn as 总结xcod.pdf: the override is dropped
        ("\u2067自评\u2069报告\u200b.docx", "自评报告.docx"),
        ("CON.docx", "_CON.docx"),
        ("nul.docx", "_nul.docx"),
        ("Lpt1.docx", "_Lpt1.docx"),
        ("com9.docx", "_com9.docx"),
    ],
)
def test_names_that_draw_differently_or_that_windows_cannot_save_are_made_plain(site, raw, kept):
    token = site.token("140724100")
    done = site.submit(token, "self_report", [(raw, docx_bytes())])
    assert done.status_code == 303
    receipt = text_of(site.client.get(done.headers["location"]).text)
    assert kept in receipt
    assert site.audit("upload")[-1].detail == kept


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("总结报告.docx".encode("gbk"), "总结报告.docx"),  # an older Chinese browser or client: GBK bytes
        ("总结报告.docx".encode(), "总结报告.docx"),
        ("Résumé.docx".encode(), "Résumé.docx"),  # UTF-8 that is latin-1 too stays as sent
        (b"\xff\xfe\x80.docx", "本单位统计基层基础规范化建设总结报告.docx"),  # neither: the item's name
    ],
)
def test_a_file_name_sent_in_gbk_is_read_as_gbk_not_as_latin_1(site, sent, kept):
    """A multipart filename= in GBK bytes was kept as ×Ü½á±¨¸æ.docx (latin-1) in the record, the page and the
    汇总表 (an outside tester's finding); names that are not UTF-8 are read as GB18030, as the 名录 import does."""
    token = site.token("140724100")
    boundary = "XyZbound"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{site.csrf(f"/u/{token}")}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="'
    ).encode()
    body += sent + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + docx_bytes()
    body += f"\r\n--{boundary}--\r\n".encode()
    done = site.client.post(
        f"/u/{token}/items/self_report",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        follow_redirects=False,
    )
    assert done.status_code == 303, text_of(done.text)
    receipt = text_of(site.client.get(done.headers["location"]).text)
    assert kept in receipt, receipt
    assert site.audit("upload")[-1].detail == kept


def test_what_operators_type_is_inert_in_the_score_template_and_the_close_out_table(sqlite_engine, tmp_path):
    from sqlalchemy import select

    from duban.domain.calendar import load_calendar
    from duban.report import write_report
    from duban.store.tables import SampleDraw

    site = make_site(sqlite_engine, now="2024-06-20 10:00", ticked="2024-06-20 09:00")
    assert site.login().status_code == 303
    with site.engine.connect() as conn:
        unit = conn.execute(select(SampleDraw.members).where(SampleDraw.sample_id == "city_check")).scalar_one()[0]
    base = f"/ops/c/{CAMPAIGN}/scores/lookback_scores/city_check"
    points = dict(
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
            [5, 10, 5, 6, 6, 6, 6, 6, 10],
        )
    )
    fields = {
        **{f"p_{k}": str(v) for k, v in points.items()},
        "inspector": FORMULA,
        "inspected_on": "2024-06-18",
        "note": "-1+cmd|' /C calc'!A0",
    }
    saved = site.client.post(f"{base}/u/{unit}", data={"csrf": site.csrf(base), **fields}, follow_redirects=False)
    assert saved.status_code == 303, text_of(saved.text)
    template = site.client.get(f"{base}/template.xlsx")
    assert template.status_code == 200
    _no_formula_anywhere(template.content, allowed=("IF(",))  # only duban's own 合计 and 结论
    files = write_report(
        site.engine, CAMPAIGN, site.now, tmp_path / "总结.docx", load_calendar(SPECS / "calendar" / "overrides.yaml")
    )
    data = files.table.read_bytes()
    _no_formula_anywhere(data)
    shown = {c.value for ws in load_workbook(io.BytesIO(data)).worksheets for row in ws.iter_rows() for c in row}
    assert FORMULA in shown  # the inspector's name, word for word


def test_a_flood_of_bad_links_leaves_a_few_audit_rows_that_say_how_many(site):
    from fastapi.testclient import TestClient

    good = site.token("140724100")
    body, mac = good.split(".")
    for n in range(300):  # a scanner: forged tokens, one address
        assert site.page(f"{body}.{mac[:-3]}{n:03d}").status_code == 403
    rows = site.audit("link_refused")
    assert len(rows) == 1 and rows[0].repeats == 300 and rows[0].detail == "tampered"
    elsewhere = TestClient(
        site.app, raise_server_exceptions=False, base_url="http://portal.test", client=("192.0.2.8", 1)
    )
    for _ in range(3):
        assert elsewhere.get(f"/u/{body}.{mac[:-1]}Z").status_code == 403
    rows = site.audit("link_refused")
    assert [(r.client, r.repeats) for r in rows] == [("testclient", 300), ("192.0.2.8", 3)]
    site.login()
    log = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/audit?action=link_refused").text)
    assert "共 300 次" in log and "共 3 次" in log


def test_a_link_issued_in_the_second_after_a_revocation_opens_and_one_before_it_does_not(site):
    from datetime import timedelta

    from duban.domain.signing import sign
    from duban.services.links import PURPOSE, revoke

    moment = at("2024-05-28 10:00") + timedelta(milliseconds=400)
    before = site.token("140724100", issued=moment - timedelta(milliseconds=300))
    revoke(site.engine, CAMPAIGN, "140724100", moment, actor="operator:duban", reason="消息被误转发")
    after = site.token("140724100", issued=moment + timedelta(milliseconds=300))  # the same second
    site.now = moment + timedelta(seconds=5)
    assert site.page(before).status_code == 403 and "此链接已停用" in site.page(before).text
    assert site.page(after).status_code == 200
    # a link of the earlier kind (seconds), already in messages sent before, still opens until it expires
    issued = int(site.now.timestamp())
    old = sign(site.settings.portal_key(), PURPOSE, [1, CAMPAIGN, "140724101", issued, issued + 3600])
    assert site.page(old).status_code == 200
