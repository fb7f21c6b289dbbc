"""What a message says to whom (a 晋中市统计局 operator's findings): the formats only where something is to be handed
in, a partly approved 延期 with the date asked beside the one approved, and `duban validate`'s way out for names
several units share written with the codes in question."""

from __future__ import annotations

from pathlib import Path

from duban.domain.calendar import WorkCalendar
from duban.domain.messages import render
from duban.spec.checks import validate
from duban.spec.load import load_spec

JINZHONG = Path(__file__).parents[2] / "campaign_specs" / "jinzhong-2024-lookback.yaml"


def _item(kind: str, **extra) -> dict:
    return {
        "kind": kind,
        "stage": "规范化建设自评阶段",
        "item": "自查评分表",
        "instance": "",
        "unit": "140724100",
        "unit_display": "乐平镇统计站",
        "due_at": "2024-06-14T15:59:59.999999+00:00",
        "event_at": "2024-06-05T01:00:00+00:00",
        "formats": ["xlsx", "pdf"],
        "stamped": True,
        "submit_to": None,
        **extra,
    }


def _text(recipient: str, display: str, *items: dict) -> str:
    payload = {
        "recipient": recipient,
        "recipient_display": display,
        "kind": items[0]["kind"],
        "as_of": "2024-06-05T01:00:00+00:00",
        "items": list(items),
    }
    rendered = render(payload, title="回头看", issuer="晋中市统计局", doc_no=None, tz="Asia/Shanghai", key="0" * 20)
    return rendered.text


def test_formats_are_told_only_to_whom_is_to_hand_something_in():
    for kind in ("opened", "reminder", "overdue", "returned"):
        assert "格式：xlsx、pdf（PDF需加盖公章）" in _text("140724100", "乐平镇统计站", _item(kind)), kind
    leader = _text("leader:zhang", "张副局长", _item("escalation"))
    parent = _text("140724", "昔阳县统计局", _item("escalation"))
    accepted = _text("140724100", "乐平镇统计站", _item("accepted", version=1))
    for text in (leader, parent, accepted):
        assert "乐平镇" in text and "格式" not in text, text
    own = _text("140724100", "乐平镇统计站", _item("escalation"))  # a unit's own slip, told again: it is to hand in
    assert "格式：xlsx、pdf" in own


def test_a_partly_approved_extension_says_the_date_asked_and_the_date_approved():
    answer = _item(
        "extension",
        decision="approved",
        old_due_at="2024-06-07T15:59:59.999999+00:00",
        asked_until="2024-06-17T15:59:59.999999+00:00",
        due_at="2024-06-14T15:59:59.999999+00:00",
    )
    text = _text("140724100", "乐平镇统计站", answer)
    assert "申请延至6月17日" in text and "批准延至6月14日" in text, text
    whole = _text("140724100", "乐平镇统计站", {**answer, "asked_until": answer["due_at"]})
    assert "同意延期，截止时间延至：6月14日" in whole and "申请延至" not in whole, whole


def test_names_several_units_share_are_shown_a_way_out_with_their_own_codes():
    _plan, warnings = validate(load_spec(JINZHONG), WorkCalendar())
    [alike] = [str(w) for w in warnings if "address several units" in str(w)]
    assert "140702001" in alike and "140781001" in alike
    assert '"140702001": {title: 榆次区北关街道统计站}' in alike, alike
    assert "140302" not in alike and "阳泉" not in alike, alike
