"""What staff read on a phone: one message per unit listing its items, absolute dues with weekday, time left."""

import re
from datetime import datetime, timezone

from duban.domain.message_keys import campaign_tag, message_number
from duban.domain.messages import render
from duban.domain.quiet import QuietHours
from duban.services.compose import message_key

PAYLOAD = {
    "recipient": "140724100",
    "recipient_display": "乐平镇统计站",
    "kind": "reminder",
    "as_of": "2024-05-22T01:00:00+00:00",
    "items": [
        {
            "kind": "reminder",
            "stage": "规范化建设自评阶段",
            "item": "自查评分表",
            "instance": "",
            "unit": "140724100",
            "unit_display": "乐平镇统计站",
            "due_at": "2024-05-25T15:59:59.999999+00:00",
            "event_at": "2024-05-22T01:00:00+00:00",
            "formats": ["xlsx", "pdf"],
            "stamped": False,
            "submit_to": None,
        },
        {
            "kind": "opened",
            "stage": "县级检查阶段",
            "item": "检查评分表",
            "instance": "",
            "unit": "140724100",
            "unit_display": "乐平镇统计站",
            "due_at": "2024-06-10T15:59:59.999999+00:00",
            "event_at": "2024-05-22T01:00:00+00:00",
            "formats": ["pdf"],
            "stamped": True,
            "submit_to": "晋中市统计局设管科",
        },
    ],
}


def _render(payload=PAYLOAD, **extra):
    return render(
        payload,
        title='统计基层基础工作规范化建设"回头看"',
        issuer="晋中市统计局",
        doc_no=None,
        tz="Asia/Shanghai",
        key="0123456789abcdef0123",
        contacts=["设管科 0354-0000000"],
        **extra,
    )


def test_one_message_lists_every_item_with_its_due():
    text = _render().text
    assert text.startswith('【督办】统计基层基础工作规范化建设"回头看"\n乐平镇统计站：')
    assert "截止：5月25日 周六 24:00前（还有3天15小时）" in text
    assert "截止：6月10日 周一 24:00前" in text
    assert text.index("即将截止") < text.index("已开始办理")  # the urgent section first
    assert "格式：pdf（PDF需加盖公章）｜报送至：晋中市统计局设管科" in text
    assert "联系人：设管科 0354-0000000" in text and "编号 0123456789ab" in text


def test_subject_counts_items_and_names_the_most_urgent_kind():
    assert _render().subject == '【督办】统计基层基础工作规范化建设"回头看"：即将截止1项、开始办理1项'


def test_overdue_says_how_long_and_escalation_names_the_unit():
    late = dict(
        PAYLOAD,
        kind="escalation",
        recipient="leader:leader_east",
        recipient_display="市局包县区领导（东片）",
        as_of="2024-05-28T01:00:00+00:00",
        items=[dict(PAYLOAD["items"][0], kind="escalation")],
    )
    text = _render(late).text
    assert "您包联的以下单位事项逾期未报" in text
    assert "乐平镇统计站 — 【规范化建设自评阶段】自查评分表" in text
    assert "已逾期2天9小时" in text


def test_portal_link_when_configured():
    assert "办理入口：https://duban.example.gov.cn/u/abc" in _render(link="https://duban.example.gov.cn/u/abc").text


def test_quiet_hours_defer_to_the_morning():
    tz = "Asia/Shanghai"
    at_night = datetime(2024, 5, 25, 16, 0, tzinfo=timezone.utc)  # 00:00 in Shanghai
    assert QuietHours.parse("22:00-07:30").end_after(at_night, tz) == datetime(2024, 5, 25, 23, 30, tzinfo=timezone.utc)
    late_evening = datetime(2024, 5, 25, 14, 30, tzinfo=timezone.utc)  # 22:30
    assert QuietHours.parse("22:00-07:30").end_after(late_evening, tz) == datetime(
        2024, 5, 25, 23, 30, tzinfo=timezone.utc
    )
    daytime = datetime(2024, 5, 25, 2, 0, tzinfo=timezone.utc)
    assert QuietHours.parse("22:00-07:30").end_after(daytime, tz) == daytime


def test_an_overdue_message_says_overdue_even_at_the_due_instant_and_counts_to_the_send():
    overdue = dict(
        PAYLOAD,
        kind="overdue",
        as_of="2024-05-25T15:59:59.999999+00:00",
        items=[dict(PAYLOAD["items"][0], kind="overdue")],
    )
    assert "（已逾期）" in _render(overdue).text
    morning = datetime(2024, 5, 25, 23, 30, tzinfo=timezone.utc)  # sent at 07:30 after quiet hours
    assert "（已逾期7小时30分钟）" in _render(overdue, now=morning).text


def test_message_numbers_staff_read_differ_from_one_message_to_the_next():
    """The 编号 at a message's foot tells neighbours apart, although one-intent keys are stored in id order."""
    singles = [message_key("national-2025-lookback", "140724100", [n]) for n in range(1, 20_001)]
    assert len({message_number(key) for key in singles}) == 20_000
    assert all(len(key) <= 40 for key in singles)  # the outbox column's width
    assert message_key("national-2025-lookback", "140724100", [2**40 - 1]) not in singles
    several = message_key("jinzhong-2024-lookback", "140724100", [7, 3])
    assert several == message_key("jinzhong-2024-lookback", "140724100", [3, 7])
    assert message_number(several) == several[:12] and several[:12] not in {message_number(k) for k in singles}


def test_one_intent_keys_follow_their_ids_and_keep_the_numbers_staff_were_given():
    """A stage opening's keys go to the end of the outbox's unique index one after another (in id order), and a
    message's 编号 is the one the scrambled key gave it before (a 编号 staff quote still finds its message)."""
    ids = [1, 2, 15, 16, 255, 256, 4095, 4096, 2**32 + 7, 2**40 - 1]
    keys = [message_key("national-2025-lookback", "140724100", [n]) for n in ids]
    assert keys == sorted(keys)
    tag = campaign_tag("national-2025-lookback")
    before = [f"{n % 2**32 * 1540483477 % 2**32:08x}{tag}{n:x}" for n in ids]  # the key as it was written
    assert [message_number(key) for key in keys] == [key[:12] for key in before]
    assert message_number(before[3]) == before[3][:12]  # messages already stored keep their 编号


def test_a_due_in_another_year_says_its_year_and_a_period_reads_in_chinese():
    """山东's 年度报告（2020） due 1月31日 read as a month already past in a July message, and periods read 2020Q4."""
    from duban.domain.messages import period_cn

    item = {**PAYLOAD["items"][1], "kind": "opened", "instance": "2020Q4", "due_at": "2021-01-31T15:59:59.999999+00:00"}
    payload = {**PAYLOAD, "kind": "opened", "as_of": "2020-07-08T00:30:00+00:00", "items": [item]}
    text = _render(payload).text
    assert "检查评分表（2020年第四季度）" in text and "截止：2021年1月31日 周日 24:00前" in text, text
    same_year = {**payload, "as_of": "2021-01-04T00:30:00+00:00"}
    assert "截止：1月31日 周日 24:00前" in _render(same_year).text
    assert [period_cn(p) for p in ("2020-07", "2020H1", "2020", "2024-07-10", "M7")] == [
        "2020年7月",
        "2020年上半年",
        "2020年",
        "2024年7月10日",
        "M7",
    ]


def test_a_hand_in_of_another_year_gives_its_year_in_the_receipt_and_the_review_reminder():
    """A paper hand-in of 2024 entered in 2026 was receipted 报送时间：5月1日 周三 10:00 — read as this year's."""
    handed_in = {
        **PAYLOAD["items"][0],
        "event_at": "2024-05-01T02:00:00+00:00",
        "submitted_at": "2024-05-01T02:00:00+00:00",
    }
    receipt = {
        **PAYLOAD,
        "kind": "receipt",
        "as_of": "2026-12-07T02:00:00+00:00",
        "items": [{**handed_in, "kind": "receipt"}],
    }
    assert "报送时间：2024年5月1日 周三 10:00（按时报送）" in _render(receipt).text
    waiting = {**receipt, "kind": "review_reminder", "items": [{**handed_in, "kind": "review_reminder", "version": 1}]}
    assert "第1版报送于2024年5月1日 周三 10:00，已等待审核" in _render(waiting).text
    same_year = {**receipt, "as_of": "2024-05-01T03:00:00+00:00"}
    assert "报送时间：5月1日 周三 10:00（按时报送）" in _render(same_year).text


def test_a_leaders_escalation_over_many_townships_lists_them_under_each_item_not_a_line_each():
    """A 包联领导 of 118 townships read one line per township and item: 29 KB, fifteen WeCom parts. Items of one
    due are told once, their units listed under them; a short 催办 keeps its line per unit."""
    from duban.domain.messages import split_text

    towns = [(f"1407{k:05d}", f"第{k}镇统计站") for k in range(118)]
    items = [
        dict(PAYLOAD["items"][0], kind="escalation", unit=code, unit_display=name, item=item)
        for item in ("自查评分表", "总结报告")
        for code, name in towns
    ]
    many = dict(
        PAYLOAD,
        kind="escalation",
        recipient="leader:leader_east",
        recipient_display="市局包县区领导（东片）",
        as_of="2024-05-28T01:00:00+00:00",
        items=items,
    )
    rendered = _render(many)
    text = rendered.text
    assert text.count("【规范化建设自评阶段】") == 2 and text.count("已逾期2天9小时") == 2
    assert text.count("逾期未报的单位（118个）：\n     第0镇统计站、第1镇统计站、") == 2
    assert all(text.count(f"{name}、") + text.count(f"{name}\n") == 2 for _code, name in towns)
    assert rendered.subject.endswith("逾期催办（2项，涉及118个单位）")  # it read 236项 over two numbered items
    parts = split_text(text, 2048, "0123456789abcdef0123")
    assert len(parts) <= 4  # fifteen parts before
    assert all(sum(p.count(f"{name}、") + p.count(f"{name}\n") for p in parts) == 2 for _code, name in towns)
    few = dict(many, items=items[:3])
    assert "第0镇统计站 — 【规范化建设自评阶段】自查评分表" in _render(few).text
    assert "逾期未报的单位" not in _render(few).text


def test_the_subject_counts_the_items_the_body_numbers():
    """A county told of 7 townships' slips over 2 items read 逾期催办（7项） above a body numbering 1. and 2. (an
    outside tester's finding): the subject counts the numbered items, and the units listed under them beside."""
    towns = [(f"1407020{k:02d}", f"第{k}镇统计站") for k in range(5)]
    items = [
        dict(PAYLOAD["items"][0], kind="escalation", unit=code, unit_display=name, item=item)
        for item, some in (("自查评分表", towns[:3]), ("总结报告", towns[1:]))
        for code, name in some
    ]
    county = dict(PAYLOAD, kind="escalation", recipient="140702", recipient_display="榆次区统计局", items=items)
    rendered = _render(county)
    assert re.findall(r"^(\d+)\. ", rendered.text, re.M) == ["1", "2"]
    assert rendered.subject.endswith("：逾期催办（2项，涉及5个单位）"), rendered.subject
    also = dict(county, items=[*items, dict(PAYLOAD["items"][1], unit="140702", unit_display="榆次区统计局")])
    assert _render(also).subject.endswith("：逾期催办2项（涉及5个单位）、开始办理1项")
    few = dict(county, items=items[:3])  # a line per unit and item: each numbered, each counted
    assert _render(few).subject.endswith("：逾期催办（3项）")


def test_items_of_a_message_are_numbered_once_across_its_sections():
    """A message of 即将截止 and 开始办理 numbered each section from 1: two items called 1 ("第1项已报了吗？")."""
    text = _render().text
    assert "请抓紧报送：\n1. 【规范化建设自评阶段】自查评分表" in text
    assert "请按时报送：\n2. 【县级检查阶段】检查评分表" in text and "\n1. 【县级检查阶段】" not in text


def test_an_acknowledgement_reminder_asks_to_open_a_link_only_when_it_carries_one():
    """Without DUBAN_PORTAL_URL a 签收提醒 said 请打开链接点击“签收” and carried no link: staff had nothing to open."""
    item = {
        "kind": "ack_reminder",
        "stage": "规范化建设自评阶段",
        "item": "签收",
        "instance": "",
        "unit": "140724100",
        "unit_display": "乐平镇统计站",
        "due_at": "2024-05-12T15:59:59.999999+00:00",
        "event_at": "2024-05-11T01:00:00+00:00",
    }
    payload = {**PAYLOAD, "kind": "ack_reminder", "as_of": "2024-05-11T01:00:00+00:00", "items": [item]}
    plain = _render(payload).text
    assert "打开链接" not in plain and "办理入口" not in plain
    assert "以下通知您单位尚未签收，请向发文单位确认签收：" in plain and "联系人：设管科 0354-0000000" in plain
    linked = _render(payload, link="https://duban.example.gov.cn/u/abc").text
    assert "请打开链接点击“签收”" in linked and "办理入口：https://duban.example.gov.cn/u/abc" in linked


def test_the_receipt_of_a_second_version_says_which_version_it_is():
    """Receipts of a first and a second hand-in read word for word alike (a second tester's finding)."""
    item = {**PAYLOAD["items"][0], "kind": "receipt", "event_at": "2024-05-21T02:00:00+00:00", "step": 1}
    first = _render({**PAYLOAD, "kind": "receipt", "items": [item]}).text
    second = _render({**PAYLOAD, "kind": "receipt", "items": [{**item, "step": 2}]}).text
    assert "第1版，报送时间：" in first  # a receipt is the unit's proof: it names the version, the first too
    assert "第2版，报送时间：" in second


def test_a_message_cut_into_parts_keeps_each_entry_whole():
    """山西省住建厅's 催办 about eleven cities, each naming its counties still missing, went to WeCom in four parts
    cut at any line: part 2 began with a city's 格式 and counties, the city's name at the end of part 1 (an
    outside tester's finding: each part is its own bubble on a phone). Parts are cut between entries."""
    from duban.domain.messages import split_text

    cities = [(f"14{k:02d}00", f"第{k}市住房和城乡建设局") for k in range(1, 12)]
    items = [
        dict(
            PAYLOAD["items"][0],
            kind="escalation",
            unit=code,
            unit_display=name,
            item="全市排查情况汇总表",
            missing_display=[f"{name[:-8]}第{n}县住房和城乡建设局" for n in range(12)],
        )
        for code, name in cities
    ]
    payload = dict(
        PAYLOAD, kind="escalation", recipient="140000", recipient_display="山西省住房和城乡建设厅", items=items
    )
    text = _render(payload).text
    parts = split_text(text, 2048, "0123456789abcdef0123")
    assert len(parts) > 2 and all(len(part.encode()) <= 2048 for part in parts)
    assert "".join(part.split("\n", 1)[1] for part in parts) == text  # nothing lost, nothing repeated
    for part in parts[1:]:
        first = part.split("\n")[1]
        assert re.match(r"\d+\. ", first), part[:200]  # an entry begins every part after the first
    for _code, name in cities:
        [holding] = [part for part in parts if f"{name} — " in part]
        assert f"其下级尚未报送（12个）：{name[:-8]}第0县" in holding


def test_a_催办_over_hundreds_of_enterprises_names_the_first_and_is_never_cut_inside_a_name():
    """A county 住建局 told of 600 overdue enterprises with long names read 13 WeCom parts, one of them beginning
    with the second half of a company's name (an outside tester's finding). The list names the first
    GROUP_NAMED and 等N个; a line too long for a part is cut between two names."""
    from duban.domain.messages import GROUP_NAMED, split_text

    firms = [(f"9114{k:014d}", f"晋中市昔阳县第{k}号房屋安全物业服务管理有限责任公司") for k in range(600)]
    items = [
        dict(PAYLOAD["items"][0], kind="escalation", unit=code, unit_display=name, item="企业自查表")
        for code, name in firms
    ]
    payload = dict(
        PAYLOAD, kind="escalation", recipient="140724", recipient_display="昔阳县住房和城乡建设局", items=items
    )
    text = _render(payload).text
    assert "逾期未报的单位（600个）：" in text and "等600个" in text
    assert firms[GROUP_NAMED - 1][1] in text and firms[GROUP_NAMED][1] not in text
    parts = split_text(text, 2048, "0123456789abcdef0123")
    names = {name for _code, name in firms[:GROUP_NAMED]}
    for part in parts:
        for piece in part.replace("\n", "、").split("、"):
            piece = piece.strip().removesuffix("等600个")
            assert not piece.endswith(("服务管", "有限责")) and not piece.startswith(("理有限", "任公司")), piece
    assert all(sum(part.count(name) for part in parts) == 1 for name in names)


def test_a_line_longer_than_a_part_is_cut_after_a_name():
    from duban.domain.messages import split_text

    names = [f"第{k}号房屋安全物业服务管理有限责任公司" for k in range(200)]
    text = "头\n" + "、".join(names) + "\n"
    parts = split_text(text, 2048, "0123456789abcdef0123")
    assert len(parts) > 3
    for part in parts[:-1]:
        assert part.rstrip("\n").endswith(("、", "头")), part[-40:]


def test_the_digest_sends_the_operator_to_the_messages_that_are_there():
    """Fifteen messages failing for a channel whose variable is unset, none dead: the digest said `duban outbox
    list --status dead`, an empty list (an outside tester's finding). It names each status it counts."""
    from types import SimpleNamespace

    from duban.domain.messages import render_digest
    from duban.spec.load import load_spec
    from tests.conftest import JINZHONG

    campaign = SimpleNamespace(tz="Asia/Shanghai", spec=load_spec(JINZHONG).campaign, display=lambda code: code)
    base = {
        "as_of": "2024-05-27T00:30:00+00:00",
        "stages": [],
        "overdue": [],
        "overdue_total": 0,
        "overdue_units": 0,
        "submissions": 0,
        "escalations": 0,
        "extensions": [],
    }

    def said(**counts):
        return render_digest({**base, "dead": 0, "failed": 0, "unconfirmed": 0, **counts}, campaign, key="s" * 20).text

    failing = said(failed=15)
    assert "15条等待重试" in failing and "--status failed" in failing and "--status dead" not in failing
    dead = said(dead=2)
    assert "--status dead" in dead and "--status failed" not in dead
    assert "duban outbox list" not in said()


def test_an_opening_asks_its_签收_once_per_stage_with_the_instant():
    """本阶段要求签收：请于开始后1个工作日内签收 stood under items 2 and 3 of one stage and never said by when (an
    outside tester's finding): once per stage after the items, by the instant the record held at the send."""
    opened = PAYLOAD["items"][1]
    ask = {"notice": False, "within": "1 working day", "due_at": "2024-05-23T00:30:00+00:00"}
    items = [
        {**opened, "item": "检查评分表", "acknowledge": ask},
        {**opened, "item": "总结报告", "acknowledge": ask},
    ]
    text = _render({**PAYLOAD, "kind": "opened", "items": items}).text
    assert text.count("要求签收") == 1, text
    assert "2. 【县级检查阶段】总结报告" in text and "\n本阶段要求签收：请于5月23日 周四 08:30前签收\n" in text, text
    other = {**opened, "stage": "材料上报阶段", "item": "调查问卷", "acknowledge": {**ask, "due_at": None}}
    text = _render({**PAYLOAD, "kind": "opened", "items": [*items, other]}).text
    assert "【县级检查阶段】要求签收：请于5月23日 周四 08:30前签收" in text, text
    assert "【材料上报阶段】要求签收：请于开始后1 working day内签收" in text and text.count("要求签收") == 2, text


def test_a_return_heading_asks_again_only_for_the_items_not_handed_in_since():
    """A 退回 whose unit handed a newer version in before it went out said so on its item line under a heading
    still asking 请按要求修改后重新报送 (a 昔阳县 clerk's finding); two returns, one answered, ask for the other."""
    returned = {**PAYLOAD["items"][0], "kind": "returned", "version": 1}
    answered = {**PAYLOAD["items"][1], "kind": "returned", "again_at": "2024-05-21T15:30:00+00:00", "again_version": 2}
    alone = _render({**PAYLOAD, "kind": "returned", "items": [answered]})
    assert "以下材料经审核退回，您单位已重新报送：" in alone.text and "请按要求修改后" not in alone.text, alone.text
    assert "已于5月21日 周二 23:30重新报送第2版" in alone.text and "已退回（已重新报送）（1项）" in alone.subject
    both = _render({**PAYLOAD, "kind": "returned", "items": [returned, answered]})
    assert "以下材料经审核退回，尚未重新报送的请按要求修改后重新报送：" in both.text, both.text
    assert "第1版已退回，请于5月25日 周六 24:00前重新报送" in both.text and "退回重报（2项）" in both.subject
    untouched = _render({**PAYLOAD, "kind": "returned", "items": [returned]})
    assert "以下材料经审核退回，请按要求修改后重新报送：" in untouched.text and "退回重报（1项）" in untouched.subject
