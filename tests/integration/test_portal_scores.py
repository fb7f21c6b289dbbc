"""Score sheets (评分表) in the operators' portal: a form per sampled unit, checked in Chinese at each field, kept
through record_scores (totals, 达标, 整改 for a failing unit, every version); the xlsx template downloaded, filled
and uploaded on the same page; scores on the dashboard and the unit's page; a hidden sample kept from its units
until its check opens; every entry audited."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from duban.services.scores import latest_scores
from duban.store.tables import Assignment, SampleDraw
from tests.integration.helpers import CAMPAIGN, at, tick
from tests.integration.portal_site import make_site, text_of

BASE = f"/ops/c/{CAMPAIGN}/scores/lookback_scores"
ITEMS = ["duties", "staffing", "rules", "ledgers", "reporting", "service", "informatization", "training", "funding"]
GOOD = [9, 14, 9, 9, 9, 9, 9, 9, 14]  # 91
POOR = [5, 10, 5, 6, 6, 6, 6, 6, 10]  # 60


@pytest.fixture
def site(sqlite_engine):
    site = make_site(sqlite_engine, now="2024-06-20 10:00", ticked="2024-06-20 09:00")
    assert site.login().status_code == 303
    return site


def _members(site, sample: str) -> list[str]:
    with site.engine.connect() as conn:
        return conn.execute(select(SampleDraw.members).where(SampleDraw.sample_id == sample)).scalar_one()


def _form(points, *, inspector="王检查", day="2024-06-18", note="") -> dict:
    return {
        **{f"p_{i}": str(v) for i, v in zip(ITEMS, points)},
        "inspector": inspector,
        "inspected_on": day,
        "note": note,
    }


def _post(site, sample: str, unit: str, fields: dict, *, csrf: str | None = None):
    token = site.csrf(f"{BASE}/{sample}") if csrf is None else csrf
    return site.client.post(f"{BASE}/{sample}/u/{unit}", data={"csrf": token, **fields}, follow_redirects=False)


def test_scoring_needs_an_operator_and_lists_the_samples(site):
    site.client.cookies.clear()
    assert site.client.get(f"/ops/c/{CAMPAIGN}/scores", follow_redirects=False).headers["location"] == "/ops/login"
    assert site.login().status_code == 303
    overview = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/scores").text)
    assert "县级检查乡镇（每县不少于6个） 抽中 66 个单位 · 已评分 0" in overview
    assert "市级抽查（6个县、24个乡镇） 抽中 30 个单位" in overview
    page = site.client.get(f"{BASE}/city_check").text
    assert page.count('class="scoreform"') == 30 and 'name="p_staffing" min="0" max="15"' in page


def test_a_passing_and_a_failing_unit_are_kept_with_totals_rectification_and_audit(site):
    passing, failing = _members(site, "city_check")[:2]
    saved = _post(site, "city_check", passing, _form(GOOD, note="台账齐全"))
    assert saved.status_code == 303 and saved.headers["location"].endswith(f"?saved={passing}#u-{passing}")
    shown = text_of(site.client.get(saved.headers["location"]).text)
    assert "评分（第1版）：合计 91 分，达标。" in shown
    low = _post(site, "city_check", failing, _form(POOR))
    shown = text_of(site.client.get(low.headers["location"]).text)
    assert "合计 60 分，未达标，已布置整改，截止 7月4日 周四 24:00" in shown
    with site.engine.connect() as conn:
        follow = conn.execute(select(Assignment).where(Assignment.item_id == "rectification")).one()
    assert (follow.unit_code, follow.instance) == (failing, "市级抽查")
    kept = {r.unit_code: r for r in latest_scores(site.engine, CAMPAIGN)}
    assert (kept[passing].total, kept[passing].passed, kept[passing].inspector, kept[passing].note) == (
        91,
        True,
        "王检查",
        "台账齐全",
    )
    assert (kept[failing].source, kept[failing].actor, kept[failing].inspected_on) == (
        "portal",
        "operator:duban",
        "2024-06-18",
    )
    details = [(e.unit_code, e.ok, e.detail) for e in site.audit("score")]
    assert details == [(passing, True, "合计 91 分，达标"), (failing, True, details[1][2])]
    assert details[1][2].startswith("合计 60 分，未达标，整改截止 2024-07-04")

    # rescored above the mark: a second version, the 整改 no longer owed, the first version kept
    again = _post(site, "city_check", failing, _form(GOOD, inspector="李复查", day="2024-06-20"))
    assert "合计 91 分，达标。" in text_of(site.client.get(again.headers["location"]).text)
    with site.engine.connect() as conn:
        assert (
            conn.execute(select(Assignment.state).where(Assignment.item_id == "rectification")).scalar_one()
            == "excused"
        )
    assert [r.version for r in latest_scores(site.engine, CAMPAIGN) if r.unit_code == failing] == [2]
    assert "整改已免（复查达标）" in site.audit("score")[-1].detail


def test_wrong_entries_are_named_in_chinese_at_their_fields_and_nothing_is_kept(site):
    unit = _members(site, "city_check")[0]
    bad = _form([9, 14, 9, 12, 9, "", 9, 9, "十"], inspector="", day="2024-06-21")
    refused = _post(site, "city_check", unit, bad)
    assert refused.status_code == 400
    text = text_of(refused.text)
    for words in (
        "统计台账 12 分超过满分 10 分",
        "统计服务未填写",
        "经费保障填写的「十」不是分数",
        "请填写检查人",
        "检查日期不能晚于今天（2024-06-20）",
        "评分未保存，请改正标红的项目",
    ):
        assert words in text, words
    assert 'value="12"' in refused.text  # what was typed stays in the form
    negative = _post(site, "city_check", unit, _form([-1, 14, 9, 9, 9, 9, 9, 9, 14], day="6月18日"))
    assert "工作任务 -1 分低于 0 分" in text_of(negative.text) and "不是日期（年-月-日）" in text_of(negative.text)
    assert latest_scores(site.engine, CAMPAIGN) == []
    assert [e.ok for e in site.audit("score")] == [False, False]


def test_points_in_other_scripts_digits_are_refused_at_their_fields_and_full_width_ones_are_read(site):
    """A forged or pasted ٩ (Arabic-Indic) or 1_0 was kept as 9 and 10; a Chinese IME's full-width ９ is a 9."""
    unit = _members(site, "city_check")[0]
    refused = _post(site, "city_check", unit, _form(["٩", 14, "1_0", 9, 9, "९", 9, 9, 14]))
    assert refused.status_code == 400
    text = text_of(refused.text)
    for words in ("工作任务填写的「٩」不是分数", "制度管理填写的「1_0」不是分数", "统计服务填写的「९」不是分数"):
        assert words in text, words
    assert latest_scores(site.engine, CAMPAIGN) == []
    saved = _post(site, "city_check", unit, _form(["９", "１４", 9, 9, 9, 9, 9, 9, "１４"]))
    assert saved.status_code == 303
    assert [(r.unit_code, r.total) for r in latest_scores(site.engine, CAMPAIGN)] == [(unit, 91)]


def test_control_characters_and_overlong_words_in_the_inspector_or_note_are_refused_at_their_fields(site):
    """F12: an ESC typed into 检查人 was saved, and duban report then died on it; the form cut a long 检查人 to 40
    characters without a word. Now both fields are refused at the field, as a reason is, and kept whole when not."""
    unit = _members(site, "city_check")[0]
    escaped = _form(GOOD, inspector="\x1b]0;PWNED\x07\x1b[2J\x1b[31m红色检查人\x1b[0m", note="备注\x1b[5m闪")
    refused = _post(site, "city_check", unit, escaped)
    assert refused.status_code == 400
    text = text_of(refused.text)
    assert "检查人含有看不见的字符（U+001B），请删除后重新填写" in text
    assert "备注含有看不见的字符（U+001B），请删除后重新填写" in text
    rtl = _post(site, "city_check", unit, _form(GOOD, inspector="王\u202e查检"))
    assert rtl.status_code == 400 and "检查人含有看不见的字符（U+202E）" in text_of(rtl.text)
    long = _post(site, "city_check", unit, _form(GOOD, inspector="张" * 41, note="注" * 501))
    assert long.status_code == 400
    assert "检查人不超过40字（填写了41字）" in text_of(long.text) and "备注不超过500字（填写了501字）" in text_of(
        long.text
    )
    assert latest_scores(site.engine, CAMPAIGN) == []
    saved = _post(site, "city_check", unit, _form(GOOD, inspector="张" * 40, note="第一行\r\n第二行"))
    assert saved.status_code == 303
    kept = latest_scores(site.engine, CAMPAIGN)[0]
    assert (kept.inspector, kept.note) == ("张" * 40, "第一行 第二行")


def test_an_imported_sheet_with_an_escaped_control_character_in_its_inspector_is_refused_at_the_cell(site):
    """F12's second way in: Excel writes ESC in a cell as _x001B_ and reads it back as ESC (openpyxl does in a
    shared string; in an inline one, as here, it kept the six characters, which Excel shows as ESC)."""
    members = _members(site, "county_checks")
    xiyang = [c for c in members if c.startswith("140724")]
    book = load_workbook(io.BytesIO(site.client.get(f"{BASE}/county_checks/template.xlsx?under=140724").content))
    ws = book["县级检查乡镇"]
    rows = {str(ws.cell(r, 1).value): r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value}
    heads = {ws.cell(2, c).value: c for c in range(1, ws.max_column + 1)}
    row = rows[xiyang[0]]
    for offset, value in enumerate(GOOD):
        ws.cell(row, 4 + offset, value)
    ws.cell(row, heads["检查人"], "MARKINSPECTOR")
    ws.cell(row, heads["检查日期"], "2024-06-18")
    filled = io.BytesIO()
    book.save(filled)
    with zipfile.ZipFile(io.BytesIO(filled.getvalue())) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    for name, data in parts.items():
        parts[name] = data.replace(b"MARKINSPECTOR", b"_x001B_[2J_x0007_x")
    hostile = io.BytesIO()
    with zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    csrf = site.csrf(f"{BASE}/county_checks?under=140724")
    refused = site.client.post(
        f"{BASE}/county_checks/import",
        data={"csrf": csrf, "under": "140724"},
        files=[("file", ("评分表.xlsx", hostile.getvalue()))],
    )
    assert refused.status_code == 400
    cell = f"{get_column_letter(heads['检查人'])}{row}"
    assert f"评分表.xlsx 县级检查乡镇!{cell}：检查人含有看不见的字符（U+001B），请删除后重新填写" in text_of(
        refused.text
    )
    assert latest_scores(site.engine, CAMPAIGN) == []


def test_units_outside_the_sample_forged_forms_and_unknown_samples_are_refused(site):
    members = _members(site, "city_check")
    outsider = next(c for c in ("140724100", "140724101", "140724102", "140724103") if c not in members)
    assert _post(site, "city_check", outsider, _form(GOOD)).status_code == 404
    assert _post(site, "city_check", members[0], _form(GOOD), csrf="forged").status_code == 403
    assert site.client.get(f"{BASE}/no_such_sample").status_code == 404
    assert latest_scores(site.engine, CAMPAIGN) == []


def test_a_hidden_sample_is_not_scored_before_its_check_opens_and_its_units_learn_nothing(sqlite_engine):
    site = make_site(sqlite_engine, now="2024-06-05 10:00", ticked="2024-06-05 09:00")
    site.login()
    member = next(c for c in _members(site, "city_check") if len(c) > 6)  # a township of the city's sample
    page = text_of(site.client.get(f"{BASE}/city_check").text)
    assert "检查开始（6月10日 周一 08:30）前不能录入评分" in page and "保存评分" not in page
    refused = _post(site, "city_check", member, _form(GOOD, day="2024-06-04"))
    assert refused.status_code == 400 and "该样本不提前告知，检查开始（6月10日 周一 08:30）前不能录入评分" in text_of(
        refused.text
    )
    unit_page = text_of(site.page(site.token(member)).text)
    assert "市级" not in unit_page and "评分" not in unit_page.replace("自查评分表", "")
    assert latest_scores(site.engine, CAMPAIGN) == []


def test_the_xlsx_template_downloads_and_a_filled_one_uploads_on_the_same_page(site):
    members = _members(site, "county_checks")
    xiyang = [c for c in members if c.startswith("140724")]
    got = site.client.get(f"{BASE}/county_checks/template.xlsx?under=140724")
    assert got.status_code == 200 and got.content[:2] == b"PK"
    assert "%E6%98%94%E9%98%B3" in got.headers["content-disposition"]  # 昔阳 in the file name
    book = load_workbook(io.BytesIO(got.content))
    ws = book["县级检查乡镇"]
    rows = {str(ws.cell(r, 1).value): r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value}
    assert sorted(rows) == sorted(xiyang)
    for code, points in ((xiyang[0], GOOD), (xiyang[1], POOR)):
        for offset, value in enumerate(points):
            ws.cell(rows[code], 4 + offset, value)
    good = io.BytesIO()
    book.save(good)
    csrf = site.csrf(f"{BASE}/county_checks?under=140724")
    upload = site.client.post(
        f"{BASE}/county_checks/import",
        data={"csrf": csrf, "under": "140724"},
        files=[("file", ("昔阳县检查评分表.xlsx", good.getvalue()))],
        follow_redirects=False,
    )
    assert upload.status_code == 303 and "imported=2&failed=1" in upload.headers["location"]
    shown = text_of(site.client.get(upload.headers["location"]).text)
    assert "已导入 2 个单位的评分，其中未达标 1 个" in shown and "91 分 · 达标" in shown and "60 分 · 未达标" in shown
    kept = {r.unit_code: r for r in latest_scores(site.engine, CAMPAIGN)}
    assert kept[xiyang[0]].source.startswith("昔阳县检查评分表.xlsx sha256:") and kept[xiyang[1]].passed is False
    assert site.audit("score_import")[-1].detail == "2 个单位，未达标 1 个（county_checks）"

    ws.cell(rows[xiyang[2]], 4, 12)  # 工作任务 is out of 10
    bad = io.BytesIO()
    book.save(bad)
    refused = site.client.post(
        f"{BASE}/county_checks/import", data={"csrf": csrf}, files=[("file", ("昔阳县检查评分表.xlsx", bad.getvalue()))]
    )
    assert refused.status_code == 400
    cell = f"D{rows[xiyang[2]]}"
    assert f"昔阳县检查评分表.xlsx 县级检查乡镇!{cell}：工作任务 12 分超过满分 10 分" in text_of(refused.text)
    assert len(latest_scores(site.engine, CAMPAIGN)) == 2 and [
        r.version for r in latest_scores(site.engine, CAMPAIGN)
    ] == [1, 1]
    junk = site.client.post(
        f"{BASE}/county_checks/import", data={"csrf": csrf}, files=[("file", ("评分表.xlsx", b"not a workbook"))]
    )
    assert junk.status_code == 400 and "不是 xlsx 工作簿" in text_of(junk.text)


def test_scores_show_on_the_dashboard_and_the_units_page_for_operators_only(site):
    unit = next(c for c in _members(site, "city_check") if c.startswith("140724"))
    _post(site, "city_check", unit, _form(POOR))
    dashboard = text_of(site.client.get(f"/ops/c/{CAMPAIGN}?parent=140724").text)
    assert "市级抽查 60分 未达标" in dashboard
    detail = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/u/{unit}").text)
    assert (
        "市级抽查（6个县、24个乡镇）：60 分，未达标" in detail
        and "检查人 王检查" in detail
        and "统计台账 6/10" in detail
    )
    tick(site.engine, at("2024-06-20 10:05"))
    own = text_of(site.page(site.token(unit)).text)
    assert "规范化建设未达标整改报告" in own  # the unit owes its 整改 …
    assert (
        "60 分" not in own and "未达标 " not in own.split("规范化建设未达标整改报告")[0]
    )  # … and is not shown the sheet


def test_the_sample_page_groups_a_large_sample_by_parent(site):
    page = site.client.get(f"{BASE}/county_checks")
    groups = re.findall(r'\?under=(\d+)">([^<]+)</a></td><td>(\d+)</td>', page.text)
    assert len(groups) == 11 and ("140724", "昔阳县统计局", "6") in groups
    assert 'class="scoreform"' not in page.text
    assert site.client.get(f"{BASE}/county_checks?under=140724").text.count('class="scoreform"') == 6
