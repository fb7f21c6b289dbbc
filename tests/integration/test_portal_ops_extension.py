"""An operator files a 延期申请 for a unit from its /ops page: 昔阳县统计局 phoned on 6/6 that flooding delays its
county inspection, and 设管科 records the request and approves it at once (the form's default); 寿阳县's is only
recorded and waits in 审核与延期申请. Every wrong field is refused by name on the unit's page, never an error page,
with what the operator typed kept in the form."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

import pytest
from sqlalchemy import select

from duban.instants import parse_instant
from duban.store.tables import Assignment, OutboxMessage
from duban.views.extensions import requests_of
from duban.web.refusals import back_with
from tests.integration.helpers import CAMPAIGN, at
from tests.integration.portal_site import make_site, text_of

XIYANG, SHOUYANG = "140724", "140725"
ITEM = "county_inspection"


@pytest.fixture
def site(sqlite_engine):
    site = make_site(sqlite_engine, now="2024-06-06 10:00", ticked="2024-06-05 09:30")
    assert site.login().status_code == 303
    return site


def _file(site, unit, **fields):
    page = f"/ops/c/{CAMPAIGN}/u/{unit}"
    data = {"csrf": site.csrf(page), "decide": "approve", **fields}  # the choice checked on the page
    data = {name: value for name, value in data.items() if value is not None}  # decide=None: a post without it
    return site.client.post(f"{page}/extension", data=data, follow_redirects=False)


def _due(site, unit):
    a = Assignment.__table__
    with site.engine.connect() as conn:
        return conn.execute(
            select(a.c.due_at).where(a.c.campaign_id == CAMPAIGN, a.c.unit_code == unit, a.c.item_id == ITEM)
        ).scalar_one()


def test_an_operator_files_an_extension_for_a_unit_and_approves_it_at_once(site):
    page = site.client.get(f"/ops/c/{CAMPAIGN}/u/{XIYANG}")
    assert "代单位登记延期申请" in page.text and f'value="{ITEM}|"' in page.text
    before = _due(site, XIYANG)
    filed = _file(site, XIYANG, item=f"{ITEM}|", until="2024-06-13", reason="汛期道路中断（电话申请）")
    assert filed.status_code == 303 and filed.headers["location"].startswith(f"/ops/c/{CAMPAIGN}/u/{XIYANG}?extension=")
    [asked] = requests_of(site.engine, CAMPAIGN, unit_code=XIYANG)
    assert asked.status.value == "approved" and asked.requested_by == "operator:duban"
    assert asked.decided_by == "operator:duban" and asked.note == "督办人员代为登记并批准"
    assert _due(site, XIYANG) == parse_instant("2024-06-13", "Asia/Shanghai", end_of_day=True) > before
    o = OutboxMessage.__table__
    with site.engine.connect() as conn:
        told = conn.execute(select(o.c.recipient).where(o.c.kind == "extension")).scalars().all()
    assert told == [XIYANG]  # the unit hears the answer
    shown = site.client.get(filed.headers["location"])
    assert f"已登记延期申请 #{asked.id}" in text_of(shown.text)
    [entry] = [e for e in site.audit("extension") if e.unit_code == XIYANG]
    assert entry.actor == "operator:duban" and "代单位登记，已批准" in entry.target


def test_an_extension_left_for_decision_waits_in_the_operators_queue(site):
    filed = _file(site, SHOUYANG, item=f"{ITEM}|", until="2024-06-12", reason="局长出差，书面申请", decide="later")
    assert filed.status_code == 303
    [asked] = requests_of(site.engine, CAMPAIGN, unit_code=SHOUYANG)
    assert asked.status.value == "pending" and asked.requested_by == "operator:duban"
    assert "局长出差，书面申请" in text_of(site.client.get(f"/ops/c/{CAMPAIGN}/loop").text)


def test_a_decision_the_operators_queue_refuses_is_audited_with_why(site):
    """An operator approves a pending request with a date that is no date: the queue says why, the request waits
    as it was, and the audit log keeps the refusal (who, which request, why) as it keeps every other."""
    _file(site, SHOUYANG, item=f"{ITEM}|", until="2024-06-12", reason="局长出差，书面申请", decide="later")
    [asked] = requests_of(site.engine, CAMPAIGN, unit_code=SHOUYANG)
    loop = f"/ops/c/{CAMPAIGN}/loop"
    data = {"csrf": site.csrf(loop), "decision": "approve", "until": "六月十二日", "note": "同意<b>延期</b>"}
    refused = site.client.post(f"/ops/c/{CAMPAIGN}/extensions/{asked.id}", data=data, follow_redirects=False)
    assert refused.status_code == 400 and "批准延期到的日期" in text_of(refused.text)
    assert ">同意&lt;b&gt;延期&lt;/b&gt;</textarea>" in refused.text  # the 审批意见 as typed, escaped
    assert requests_of(site.engine, CAMPAIGN, unit_code=SHOUYANG)[0].status.value == "pending"
    [entry] = site.audit("refused")
    assert entry.actor == "operator:duban" and entry.target == f"延期申请#{asked.id} 批准" and not entry.ok
    assert entry.unit_code == SHOUYANG  # in the unit's own history too
    assert "批准延期到的日期" in entry.detail and "“六月十二日”不是日期" in entry.detail  # as typed, not as if empty
    data = {"csrf": site.csrf(loop), "decision": "approve", "until": "2024-02-30"}
    impossible = site.client.post(f"/ops/c/{CAMPAIGN}/extensions/{asked.id}", data=data, follow_redirects=False)
    assert "“2024-02-30”不是日期，请填写批准延期到的日期" in text_of(impossible.text)
    data = {"csrf": site.csrf(loop), "decision": "approve", "until": "0001-01-01"}  # a date, in no year of notices
    ancient = site.client.post(f"/ops/c/{CAMPAIGN}/extensions/{asked.id}", data=data, follow_redirects=False)
    assert "“0001-01-01”不在1900—2199年之间，请填写批准延期到的日期" in text_of(ancient.text)


def test_a_link_with_its_own_error_text_shows_nothing_to_the_operator(site):
    """A link crafted with `?error=系统升级，请将密码发给…` (phishing that looks like the portal's own alert) shows no
    alert on the queue or a unit's page; a refusal duban sent the operator back with is shown, and a seal copied
    onto other text is not."""
    bait = "系统升级，请将密码发给 evil@example.com"
    for path in (f"/ops/c/{CAMPAIGN}/loop", f"/ops/c/{CAMPAIGN}/u/{XIYANG}"):
        shown = site.client.get(f"{path}?error={quote(bait)}&seal=0123456789abcdef0123456789abcdef")
        assert shown.status_code == 200 and "evil@example.com" not in shown.text and "系统升级" not in shown.text
    # the one refusal sent back by a sealed link: a request kept whose approval was refused (the form would file it
    # twice; test_extension_after_return files one)
    said = "2027年的节假日和调休安排尚未录入督办系统（申请已登记为申请#1，在“审核与延期申请”中待审批）"
    location = back_with(SimpleNamespace(key=site.settings.portal_key()), f"/ops/c/{CAMPAIGN}/u/{XIYANG}", said)
    assert "seal=" in location and said in text_of(site.client.get(location).text)
    seal = location.split("seal=", 1)[1].split("#", 1)[0]
    forged = site.client.get(f"/ops/c/{CAMPAIGN}/u/{XIYANG}?error={quote(bait)}&seal={seal}")
    assert "evil@example.com" not in forged.text


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"until": "2024-06-13", "reason": "汛期"}, "事项：请选择要延期的报送事项"),
        ({"item": "no_such_item|", "until": "2024-06-13", "reason": "汛期"}, "事项：请选择要延期的报送事项"),
        ({"item": f"{ITEM}|", "reason": "汛期"}, "延期到：请填写延期到的日期"),
        (
            {"item": f"{ITEM}|", "until": "下周三" * 50, "reason": "汛期"},
            "延期到的日期过长（150 个字符），请只填写日期，如 2024-06-13",
        ),
        ({"item": f"{ITEM}|", "until": "2024-06-13", "reason": "  "}, "理由：请填写申请延期的理由"),
        ({"item": f"{ITEM}|", "until": "2024-06-13", "reason": "汛" * 1001}, "理由不超过1000字"),
        ({"item": f"{ITEM}|", "until": "2024-06-13", "reason": "汛期", "note": "准" * 1001}, "审批意见不超过1000字"),
        ({"item": f"{ITEM}|", "until": "2024-06-13", "reason": "汛期", "decide": "maybe"}, "审批：请选择"),
        ({"item": f"{ITEM}|", "until": "2024-07-30", "reason": "汛期"}, "超过本次工作允许的最长延期"),
        ({"item": f"{ITEM}|", "until": "2024-05-01", "reason": "汛期"}, "申请的日期须晚于现在的截止时间"),
        ({"item": f"{ITEM}|no-such-instance", "until": "2024-06-13", "reason": "汛期"}, "本单位不需要报送这一事项"),
    ],
)
def test_each_wrong_field_is_refused_by_name_on_the_units_page(site, fields, says):
    refused = _file(site, XIYANG, **fields)
    assert refused.status_code == 400, refused.text
    assert says in text_of(_extension_card(refused.text))  # at the form, on the unit's page
    assert requests_of(site.engine, CAMPAIGN, unit_code=XIYANG) == []
    assert [e.ok for e in site.audit("refused")] == [False]


def _extension_card(html: str) -> str:
    """The 代单位登记延期申请 card of a unit's page."""
    return html[html.index('id="extension"') :].split("</section>", 1)[0]


def test_a_refused_form_comes_back_with_what_the_operator_typed_escaped_and_nothing_recorded(site):
    """A bad date, a missing or over-long reason sent the operator back by a redirect to an empty form: the date,
    the reason taken down on the phone and the 审批意见 were lost. The page now shows them in the form as typed,
    escaped (a <script> in the reason is text), with the refusal beside it."""
    reason = '汛期道路中断 <script>alert("x")</script> & 电话申请'
    note = '同意<b>延期</b>"'
    typed = {"item": f"{ITEM}|", "reason": reason, "note": note, "decide": "later"}
    wrong = (("六月十二日", "“六月十二日”不是日期，请填写延期到的日期"), ("2024-07-30", "超过本次工作允许的最长延期"))
    for until, says in wrong:
        refused = _file(site, XIYANG, until=until, **typed)
        assert refused.status_code == 400 and "<script>alert" not in refused.text
        card = _extension_card(refused.text)
        assert 'role="alert"' in card and says in text_of(card)
        assert '<textarea name="reason"' in card and (
            ">汛期道路中断 &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; 电话申请</textarea>" in card
        )
        assert f'name="until" required value="{until}"' in card
        assert 'name="note" maxlength="200" value="同意&lt;b&gt;延期&lt;/b&gt;&#34;"' in card
        assert f'<option value="{ITEM}|" selected>' in card and 'value="later" checked' in card
        assert 'value="approve" checked' not in card
    no_reason = _file(site, XIYANG, item=f"{ITEM}|", until="2024-06-13", reason=" ", note="准")
    card = _extension_card(no_reason.text)
    assert no_reason.status_code == 400 and "理由：请填写申请延期的理由" in text_of(card)
    assert 'value="2024-06-13"' in card and 'value="准"' in card and 'value="approve" checked' in card
    assert requests_of(site.engine, CAMPAIGN, unit_code=XIYANG) == []
    assert [e.ok for e in site.audit("refused")] == [False, False, False]
    fresh = _extension_card(site.client.get(f"/ops/c/{CAMPAIGN}/u/{XIYANG}").text)  # a page opened anew is empty
    assert 'name="until" required value=""' in fresh and "汛期道路中断" not in fresh and 'role="alert"' not in fresh


def test_a_unit_the_campaign_lacks_is_not_found_and_the_form_needs_its_csrf(site):
    page = f"/ops/c/{CAMPAIGN}/u/{XIYANG}"
    csrf = site.csrf(page)
    missing = site.client.post(
        f"/ops/c/{CAMPAIGN}/u/999999/extension",
        data={"csrf": csrf, "item": f"{ITEM}|", "until": "2024-06-13", "reason": "汛期"},
    )
    assert missing.status_code == 404
    forged = site.client.post(
        f"{page}/extension", data={"item": f"{ITEM}|", "until": "2024-06-13", "reason": "汛期"}, follow_redirects=False
    )
    assert forged.status_code in (400, 403) and requests_of(site.engine, CAMPAIGN) == []
    site.now = at("2024-06-12 10:00")  # past the inspection's due: the form no longer offers it
    site.login()  # a session of six days ago has expired
    later = site.client.get(page).text
    assert "代单位登记延期申请" in later and f'value="{ITEM}|"' not in later


def test_a_reason_over_1000_characters_is_refused_on_the_units_page_not_cut(site):
    token = site.token(XIYANG)
    data = {"csrf": site.csrf(f"/u/{token}"), "until": "2024-06-13", "reason": "汛" * 5000}
    refused = site.client.post(f"/u/{token}/items/{ITEM}/extension", data=data, follow_redirects=False)
    assert refused.status_code == 400 and "理由不超过1000字" in text_of(refused.text)
    assert requests_of(site.engine, CAMPAIGN, unit_code=XIYANG) == []


def test_an_extension_decision_with_no_known_button_is_refused_not_taken_as_a_refusal(site):
    """decision=bogus was carried out as 不批准, the unit told so (an outside tester's finding)."""
    _file(site, SHOUYANG, item=f"{ITEM}|", until="2024-06-12", reason="局长出差，书面申请", decide="later")
    [asked] = requests_of(site.engine, CAMPAIGN, unit_code=SHOUYANG)
    loop = f"/ops/c/{CAMPAIGN}/loop"
    data = {"csrf": site.csrf(loop), "decision": "bogus", "until": "", "note": "n"}
    odd = site.client.post(f"/ops/c/{CAMPAIGN}/extensions/{asked.id}", data=data, follow_redirects=False)
    assert odd.status_code == 400 and "请点击“批准”或“不批准”提交" in text_of(odd.text)
    [still] = requests_of(site.engine, CAMPAIGN, unit_code=SHOUYANG)
    assert still.status.value == "pending"


def test_a_filed_extension_without_the_approval_choice_is_refused_not_approved(site):
    """A post of 代单位登记延期申请 with no `decide` was approved (the unit's due moved, the unit told), while
    an unknown value was refused (an outside tester's finding): a form missing its choice is refused too, and
    nothing is recorded."""
    before = _due(site, XIYANG)
    refused = _file(site, XIYANG, item=f"{ITEM}|", until="2024-06-13", reason="电话申请", decide=None)
    assert refused.status_code == 400
    assert "审批：请选择“同时批准”或“仅登记，稍后审批”" in text_of(_extension_card(refused.text))
    assert requests_of(site.engine, CAMPAIGN, unit_code=XIYANG) == [] and _due(site, XIYANG) == before


def test_a_denial_with_an_approval_date_typed_is_refused_and_the_form_kept(site):
    """不批准 clicked with a 批准延至 date typed denied the unit with no warning, while `duban extension decide --deny
    --until` is refused (an outside tester's finding): the queue says the date goes with 批准, the date and 审批意见
    come back as typed, and the request still waits."""
    _file(site, SHOUYANG, item=f"{ITEM}|", until="2024-06-12", reason="局长出差，书面申请", decide="later")
    [asked] = requests_of(site.engine, CAMPAIGN, unit_code=SHOUYANG)
    loop = f"/ops/c/{CAMPAIGN}/loop"
    data = {"csrf": site.csrf(loop), "decision": "deny", "until": "2024-06-11", "note": "请按时报送"}
    wrong = site.client.post(f"/ops/c/{CAMPAIGN}/extensions/{asked.id}", data=data, follow_redirects=False)
    assert wrong.status_code == 400 and "批准延至：只在批准时填写，不批准请留空" in text_of(wrong.text)
    card = wrong.text[wrong.text.index(f'id="extension-{asked.id}"') :].split("</article>", 1)[0]
    assert 'role="alert"' in card and 'name="until" value="2024-06-11"' in card and "请按时报送" in card
    assert requests_of(site.engine, CAMPAIGN, unit_code=SHOUYANG)[0].status.value == "pending"
    data = {"csrf": site.csrf(loop), "decision": "deny", "until": "", "note": "请按时报送"}
    assert site.client.post(f"/ops/c/{CAMPAIGN}/extensions/{asked.id}", data=data).status_code == 200
    assert requests_of(site.engine, CAMPAIGN, unit_code=SHOUYANG)[0].status.value == "denied"


def test_a_decision_on_an_extension_request_that_does_not_exist_is_not_found(site):
    """/ops/c/<campaign>/extensions/999 answered 500 系统出错了 (an outside tester's finding); 404 as any unknown id."""
    loop = f"/ops/c/{CAMPAIGN}/loop"
    for request_id in ("999", "99999999999999999999"):
        data = {"csrf": site.csrf(loop), "decision": "approve", "until": "", "note": ""}
        missing = site.client.post(f"/ops/c/{CAMPAIGN}/extensions/{request_id}", data=data, follow_redirects=False)
        assert missing.status_code == 404 and "没有这份延期申请" in text_of(missing.text), request_id
    assert requests_of(site.engine, CAMPAIGN) == []


def test_the_units_page_lists_every_extension_request_of_its_items(site):
    """F14: an operator looking at 昔阳县 could not see that it had asked for an extension, been refused, asked
    again and been granted — nor that a request of its other item waits. Each item's card now lists them: the
    decision, when asked and decided, the dates, the reason and the note (escaped, as the unit typed them)."""
    from duban.services.extension import decide_extension, request_extension

    def ask(item, until, when, reason):
        day = parse_instant(until, "Asia/Shanghai", end_of_day=True)
        return request_extension(
            site.engine, CAMPAIGN, XIYANG, item, day, at(when), reason=reason, actor=f"unit:{XIYANG}"
        )

    first = ask(ITEM, "2024-06-12", "2024-06-05 10:00", "汛期<script>alert(1)</script>道路中断")
    decide_extension(site.engine, first.id, at("2024-06-05 11:00"), approve=False, note="请<b>按时</b>报送")
    second = ask(ITEM, "2024-06-13", "2024-06-05 14:00", "乡镇检查组抽调防汛")
    decide_extension(site.engine, second.id, at("2024-06-05 15:00"), approve=True, actor="operator:duban")
    ask("county_report", "2024-06-14", "2024-06-06 09:00", "总结报告待局长审定")
    html = site.client.get(f"/ops/c/{CAMPAIGN}/u/{XIYANG}").text
    shown = text_of(html)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>按时</b>" not in html
    for words in (
        f"延期申请#{first.id} 未批准",
        "申请于 6月5日 周三 10:00（昔阳县统计局）",
        "申请延至 6月12日 周三 24:00",
        "理由：汛期<script>alert(1)</script>道路中断",
        "审批意见：请<b>按时</b>报送",
        f"延期申请#{second.id} 已批准",
        "批准延至 6月13日 周四 24:00",
        "理由：乡镇检查组抽调防汛",
        "待审批",
        "理由：总结报告待局长审定",
    ):
        assert words in shown, (words, shown)
    # each under its own item's card: the refused one is listed before the granted one
    assert shown.index(f"延期申请#{first.id}") < shown.index(f"延期申请#{second.id}")
