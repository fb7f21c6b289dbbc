"""A refused form on the portal comes back with what the person typed (escaped), and its examples are dates of the
campaign's time, never a fixed past year: outside testers lost a long 退回理由 to a too-early 新的截止时间, and read
"如 2024-06-14" on a 2026 campaign's page."""

from __future__ import annotations

import re
import shutil
from html import unescape

import pytest
from sqlalchemy import select

from duban.services.lifecycle import ensure_planned
from duban.services.submit import record_submission
from duban.settings import Settings
from duban.store.tables import Assignment
from duban.views.reviews import reviews_of
from tests.conftest import JINZHONG, SPECS
from tests.integration.helpers import CAMPAIGN, at, tick
from tests.integration.portal_site import Site, make_site, text_of
from tests.samples import docx_bytes, xlsx_bytes

XIYANG, LEPING = "140724", "140724100"
TYPED = '缺少经验亮点部分 <script>alert("x")</script> & 签章'


def _row(engine, unit, item):
    a = Assignment.__table__
    with engine.connect() as conn:
        return conn.execute(
            select(a).where(a.c.campaign_id == CAMPAIGN, a.c.unit_code == unit, a.c.item_id == item)
        ).one()


def _textarea(html: str, action: str) -> str:
    """The reason box of the form posting to `action`, as the browser shows it."""
    form = html[html.index(f'action="{action}#') :]
    return unescape(re.search(r'<textarea name="reason"[^>]*>(.*?)</textarea>', form, re.S).group(1))


@pytest.fixture
def county_site(sqlite_engine, tmp_path):
    """晋中 with the townships' 总结报告 reviewed by their county; 乐平镇 handed it in on 5/20."""
    folder = tmp_path / "specs"
    shutil.copytree(SPECS / "units", folder / "units")
    shutil.copytree(SPECS / "calendar", folder / "calendar")
    marker = "        name: 本单位统计基层基础规范化建设总结报告\n"
    spec = folder / JINZHONG.name
    spec.write_text(JINZHONG.read_text(encoding="utf-8").replace(marker, marker + "        review: parent\n"), "utf-8")
    ensure_planned(sqlite_engine, spec, now=at("2024-05-09 12:00"))
    tick(sqlite_engine, at("2024-05-10 09:00"))
    path = tmp_path / "乐平镇总结.docx"
    path.write_bytes(docx_bytes("乐平镇统计站规范化建设总结"))
    record_submission(
        sqlite_engine, CAMPAIGN, LEPING, "self_report", at("2024-05-20 10:00"), files=[path], files_dir=tmp_path / "f"
    )
    return Site(Settings(), sqlite_engine, at("2024-05-21 10:00"))


def test_a_countys_refused_return_keeps_its_reason_and_due_escaped(county_site):
    site, row = county_site, _row(county_site.engine, LEPING, "self_report")
    token = site.token(XIYANG)
    action = f"/u/{token}/reviews/{row.id}"
    data = {"csrf": site.csrf(f"/u/{token}"), "decision": "return", "reason": TYPED, "due": "2024-05-22"}
    data["version"] = "1"  # 第1版, as the page showed
    early = site.client.post(action, data=data, follow_redirects=False)
    assert early.status_code == 400 and "新的截止时间不能早于原截止时间" in text_of(early.text)
    assert _textarea(early.text, action) == TYPED  # the county's words come back in the box
    assert "<script>" not in early.text and "&lt;script&gt;" in early.text
    assert 'name="due" maxlength="40" value="2024-05-22"' in early.text
    card = early.text[early.text.index(f'id="review-{row.id}"') :]
    assert "新的截止时间不能早于原截止时间" in text_of(card[: card.index("</article>")])  # said at the form
    assert reviews_of(site.engine, CAMPAIGN) == []


def test_an_operators_refused_return_keeps_its_reason_escaped(sqlite_engine, tmp_path):
    site = make_site(sqlite_engine, now="2024-06-20 10:00", ticked="2024-06-12 09:30")
    assert site.login().status_code == 303
    path = tmp_path / "昔阳县检查材料.xlsx"
    path.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    handed = record_submission(
        site.engine, CAMPAIGN, XIYANG, "materials_upload", at("2024-06-20 09:00"), files=[path], files_dir=tmp_path
    )
    loop = f"/ops/c/{CAMPAIGN}/loop"
    action = f"/ops/c/{CAMPAIGN}/reviews/{handed.assignment_id}"
    too_long = TYPED + "。" * 1000
    data = {"csrf": site.csrf(loop), "decision": "return", "reason": too_long, "version": "1"}
    refused = site.client.post(action, data=data, follow_redirects=True)
    assert refused.status_code == 400 and "退回理由不超过1000字" in text_of(refused.text)
    assert _textarea(refused.text, action) == too_long
    assert "<script>" not in refused.text and "&lt;script&gt;" in refused.text
    assert reviews_of(site.engine, CAMPAIGN, unit_code=XIYANG) == []
    [entry] = site.audit("refused")  # still audited as the refusal it is
    assert entry.actor == "operator:duban" and "退回理由不超过1000字" in entry.detail


def test_the_forms_examples_are_dates_of_the_campaigns_time(county_site):
    """The review form's example is a date the return would take (a week after the due in force), in the record's
    year, as are the examples a refused date is answered with; never the fixed 2024-06-14."""
    site, row = county_site, _row(county_site.engine, LEPING, "self_report")
    token = site.token(XIYANG)
    page = site.page(token).text
    assert "2024-06-14" not in page
    assert "如 2024-06-01；" in text_of(page) and 'placeholder="2024-06-01"' in page  # due 5月25日 24:00, a week on
    data = {"csrf": site.csrf(f"/u/{token}"), "decision": "return", "reason": "缺页", "due": "下周三", "version": "1"}
    typo = site.client.post(f"/u/{token}/reviews/{row.id}", data=data, follow_redirects=False)
    assert typo.status_code == 400 and "请填写如 2024-06-01，或留空" in text_of(typo.text)
    site.now = at("2026-03-02 10:00")  # the same page read two years on: no example in the past
    token = site.token(XIYANG)
    later = site.page(token)
    assert later.status_code == 200 and 'placeholder="2026-03-09"' in later.text, text_of(later.text)[:300]


def test_a_units_refused_extension_request_keeps_its_reason_and_date(sqlite_engine):
    site = make_site(sqlite_engine, now="2024-06-06 10:00", ticked="2024-06-05 09:30")
    token = site.token(XIYANG)
    action = f"/u/{token}/items/county_inspection/extension"
    data = {"csrf": site.csrf(f"/u/{token}"), "instance": "", "until": "2024-07-30", "reason": TYPED}
    refused = site.client.post(action, data=data, follow_redirects=False)
    assert refused.status_code == 400 and "超过本次工作允许的最长延期" in text_of(refused.text)
    assert _textarea(refused.text, action) == TYPED and "&lt;script&gt;" in refused.text
    form = refused.text[refused.text.index(f'action="{action}#') :]
    assert 'name="until" required value="2024-07-30"' in form[: form.index("</form>")]
    details = refused.text[refused.text.index('<details class="extend" open>') : refused.text.index(action)]
    assert "超过本次工作允许的最长延期" in details  # said at the form, which is open
    data = {"csrf": site.csrf(f"/u/{token}"), "instance": "", "until": "下周三", "reason": "汛期"}
    typo = site.client.post(action, data=data, follow_redirects=False)
    assert typo.status_code == 400 and "请填写申请延期到的日期（如 2024-06-" in text_of(typo.text)


def test_a_review_form_sent_with_no_known_button_or_an_accept_with_a_reason_decides_nothing(county_site):
    """decision=bogus was carried out as a 退回 (and 审核通过 with a 退回理由 typed — Enter in the date box sends the
    first button — stored the reason as the acceptance's): an outside tester's finding. Both are refused, the
    reason kept in its box."""
    site, row = county_site, _row(county_site.engine, LEPING, "self_report")
    token = site.token(XIYANG)
    action = f"/u/{token}/reviews/{row.id}"
    for decision in ("bogus", ""):
        data = {"csrf": site.csrf(f"/u/{token}"), "decision": decision, "reason": "缺页", "due": "", "version": "1"}
        odd = site.client.post(action, data=data, follow_redirects=False)
        assert odd.status_code == 400 and "请点击“审核通过”或“退回重报”提交" in text_of(odd.text), decision
    data = {"csrf": site.csrf(f"/u/{token}"), "decision": "accept", "reason": TYPED, "due": "", "version": "1"}
    entered = site.client.post(action, data=data, follow_redirects=False)
    assert entered.status_code == 400 and "退回理由只在退回时填写" in text_of(entered.text)
    assert _textarea(entered.text, action) == TYPED
    assert reviews_of(site.engine, CAMPAIGN) == []
    data = {"csrf": site.csrf(f"/u/{token}"), "decision": "accept", "reason": "", "due": "", "version": "1"}
    assert site.client.post(action, data=data, follow_redirects=False).status_code == 303
    [accepted] = reviews_of(site.engine, CAMPAIGN)
    assert accepted.decision == "accepted" and accepted.reason is None


@pytest.mark.parametrize("version", [None, ""])
def test_a_review_form_without_the_version_it_showed_decides_nothing(county_site, tmp_path, version):
    """A review post with no `version`, or none that is a number, was carried out on whatever version was current:
    a county's page showed 第1版, 乐平镇 handed in 第2版, and the post without the field accepted 第2版, which nobody
    had opened (an outside tester's finding). It is refused as a stale version is, on the county's page and on
    /ops, and nothing is recorded."""
    site, row = county_site, _row(county_site.engine, LEPING, "self_report")
    path = tmp_path / "乐平镇总结（第2版）.docx"
    path.write_bytes(docx_bytes("乐平镇统计站规范化建设总结（修改）"))
    record_submission(
        site.engine, CAMPAIGN, LEPING, "self_report", at("2024-05-21 09:00"), files=[path], files_dir=tmp_path / "f"
    )
    token = site.token(XIYANG)
    sent = {} if version is None else {"version": version}
    for decision in ("accept", "return"):
        data = {"csrf": site.csrf(f"/u/{token}"), "decision": decision, "reason": "", "due": "", **sent}
        if decision == "return":
            data["reason"] = "缺页"
        odd = site.client.post(f"/u/{token}/reviews/{row.id}", data=data, follow_redirects=False)
        assert odd.status_code == 400 and "版本号：表单缺少所审核的版本号，请刷新页面后再审核" in text_of(odd.text)
    assert reviews_of(site.engine, CAMPAIGN) == [] and _row(site.engine, LEPING, "self_report").state == "in_review"
    # the operators' queue: 昔阳县's own 检查材料 waiting for review
    site.now = at("2024-06-20 10:00")
    tick(site.engine, at("2024-06-20 09:30"))
    from tests.integration.portal_site import OPERATOR, save_operator

    save_operator(site.settings.operators_file, *OPERATOR)
    assert site.login().status_code == 303
    sheet = tmp_path / "昔阳县检查材料.xlsx"
    sheet.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    handed = record_submission(
        site.engine, CAMPAIGN, XIYANG, "materials_upload", at("2024-06-20 09:00"), files=[sheet], files_dir=tmp_path
    )
    loop = f"/ops/c/{CAMPAIGN}/loop"
    data = {"csrf": site.csrf(loop), "decision": "accept", "reason": "", **sent}
    odd = site.client.post(f"/ops/c/{CAMPAIGN}/reviews/{handed.assignment_id}", data=data, follow_redirects=False)
    assert odd.status_code == 400 and "版本号：表单缺少所审核的版本号，请刷新页面后再审核" in text_of(odd.text)
    assert reviews_of(site.engine, CAMPAIGN) == []
    data = {"csrf": site.csrf(loop), "decision": "accept", "reason": "", "version": "1"}  # as the page sends it
    assert site.client.post(f"/ops/c/{CAMPAIGN}/reviews/{handed.assignment_id}", data=data).status_code == 200
    [accepted] = reviews_of(site.engine, CAMPAIGN)
    assert accepted.unit_code == XIYANG and accepted.decision == "accepted"


@pytest.mark.parametrize(
    "version, said",
    [
        ("999", "版本号：表单中的第999版不存在（该单位这一事项现有第1版至第2版），请刷新页面后再审核"),
        ("0", "版本号：表单中的第0版不存在（该单位这一事项现有第1版至第2版），请刷新页面后再审核"),
        ("-1", "版本号：表单中的第-1版不存在（该单位这一事项现有第1版至第2版），请刷新页面后再审核"),
        ("1" * 20, "版本号：表单中的「11111111111111111111」不是版本号（应为整数，如 1、2），请刷新页面后再审核"),
        ("1e3", "版本号：表单中的「1e3」不是版本号（应为整数，如 1、2），请刷新页面后再审核"),
        ("1.0", "版本号：表单中的「1.0」不是版本号（应为整数，如 1、2），请刷新页面后再审核"),
    ],
)
def test_a_review_form_with_a_forged_version_names_the_field_and_the_versions_there_are(
    county_site, tmp_path, version, said
):
    """version=999 read 该单位已重新报送第2版（您看到的是第999版）, version=-1 and 1e3 read 表单缺少所审核的版本号
    though the form had one (an outside tester's finding). Each is refused with 400, naming the field, what it
    held and the versions the unit has; nothing is decided, on the county's page or on /ops."""
    site, row = county_site, _row(county_site.engine, LEPING, "self_report")
    path = tmp_path / "乐平镇总结（第2版）.docx"
    path.write_bytes(docx_bytes("乐平镇统计站规范化建设总结（修改）"))
    record_submission(
        site.engine, CAMPAIGN, LEPING, "self_report", at("2024-05-21 09:00"), files=[path], files_dir=tmp_path / "f"
    )
    token = site.token(XIYANG)
    data = {"csrf": site.csrf(f"/u/{token}"), "decision": "accept", "reason": "", "due": "", "version": version}
    odd = site.client.post(f"/u/{token}/reviews/{row.id}", data=data, follow_redirects=False)
    assert odd.status_code == 400 and said in text_of(odd.text), text_of(odd.text)[:2000]
    from tests.integration.portal_site import OPERATOR, save_operator

    save_operator(site.settings.operators_file, *OPERATOR)
    assert site.login().status_code == 303
    loop = f"/ops/c/{CAMPAIGN}/loop"
    data = {"csrf": site.csrf(loop), "decision": "accept", "reason": "", "version": version}
    odd = site.client.post(f"/ops/c/{CAMPAIGN}/reviews/{row.id}", data=data, follow_redirects=False)
    assert odd.status_code == 400 and said in text_of(odd.text), text_of(odd.text)[:2000]
    assert reviews_of(site.engine, CAMPAIGN) == [] and _row(site.engine, LEPING, "self_report").state == "in_review"
