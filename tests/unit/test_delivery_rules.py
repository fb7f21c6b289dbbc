"""The pure rules behind delivery: what a vendor's answer means, quiet hours and urgency, how long texts split."""

from datetime import datetime, timezone

import pytest

from duban.domain.messages import split_text
from duban.domain.quiet import QuietHours, parse_quiet_hours
from duban.notify.vendor_replies import classify_code, classify_http, classify_smtp, penalty, smtp_code

TZ = "Asia/Shanghai"


@pytest.mark.parametrize(
    "service, code, meaning",
    [
        ("wecombot", 0, "ok"),
        ("wecombot", 45009, "limited"),
        ("wecombot", 93000, "refused"),
        ("wecombot", -1, "failed"),
        ("dingtalk", 130101, "limited"),
        ("dingtalk", 300001, "refused"),
        ("dingtalk", 310000, "refused"),
        ("feishu", 11232, "limited"),
        ("feishu", 19001, "refused"),
        ("feishu", 19021, "refused"),
        ("feishu", 9499, "failed"),
    ],
)
def test_a_vendors_code_means_what_its_documentation_says(service, code, meaning):
    assert classify_code(service, code) == meaning


def test_http_and_smtp_answers():
    assert [classify_http(s) for s in (429, 404, 403, 500, 502, 408)] == [
        "limited",
        "refused",
        "refused",
        "failed",
        "failed",
        "failed",
    ]
    assert smtp_code("(535, b'5.7.8 Authentication credentials invalid')") == 535
    assert smtp_code("{'x@y.cn': (550, b'5.1.1 User unknown')}") == 550
    assert [classify_smtp(c) for c in (535, 550, 451, None)] == ["refused", "refused", "failed", "failed"]


def test_a_bot_that_keeps_saying_too_fast_is_left_alone_longer_each_time():
    assert [penalty("wecombot", n) for n in (1, 2, 3, 6, 9)] == [60, 120, 240, 1800, 1800]
    assert penalty("dingtalk", 1) == 600  # DingTalk throttles a bot for 10 minutes once it passes 20 a minute


@pytest.mark.parametrize(
    "text", ["22:00-24:00", "ab:cd-07:30", "22:00", "22:00-07:60", "22:00-22:00", "-", "25:00-07:30"]
)
def test_malformed_quiet_hours_are_refused_with_what_is_expected(text):
    with pytest.raises(ValueError, match="HH:MM-HH:MM|same time"):
        parse_quiet_hours(text)


@pytest.mark.parametrize("text", ["", " ", "off", "OFF", "none"])
def test_empty_or_off_quiet_hours_are_none(text):
    quiet = QuietHours.parse(text)
    night = datetime(2024, 5, 25, 15, 10, tzinfo=timezone.utc)  # 23:10 in Shanghai
    assert not quiet.inside(night, TZ) and quiet.release("reminder", night, TZ) == night


def test_quiet_hours_release_non_urgent_kinds_in_the_morning_and_urgent_ones_at_once():
    quiet = QuietHours.parse("22:00-7:30", ["overdue"])
    night = datetime(2024, 5, 25, 15, 10, tzinfo=timezone.utc)  # 23:10 in Shanghai
    assert quiet.release("reminder", night, TZ) == datetime(2024, 5, 25, 23, 30, tzinfo=timezone.utc)  # 07:30
    assert quiet.release("overdue", night, TZ) == night
    noon = datetime(2024, 5, 25, 4, 0, tzinfo=timezone.utc)
    assert quiet.release("reminder", noon, TZ) == noon
    with pytest.raises(ValueError, match="unknown message kind"):
        QuietHours.parse("22:00-07:30", ["overdu"])


def test_every_part_of_a_long_text_names_its_message_and_place_and_fits():
    lines = [
        f"{n}. 昔阳县第{n}个乡镇统计站 — 【县级检查】检查评分表 截止：6月10日 周一 24:00（已逾期2天）\n"
        for n in range(80)
    ]
    parts = split_text("".join(lines), 2048, "9f3c2a71b0e4d5c6")
    assert len(parts) >= 3 and all(len(p.encode()) <= 2048 for p in parts)
    assert [p.split("\n", 1)[0] for p in parts] == [
        f"（第{k}/{len(parts)}条·编号 9f3c2a71b0e4）" for k in range(1, len(parts) + 1)
    ]
    assert "".join(p.split("\n", 1)[1] for p in parts) == "".join(lines)
    assert split_text("短消息", 2048, "9f3c2a71b0e4") == ["短消息"]


@pytest.mark.parametrize("text", ["22:00–07:30", "22:00—07:30", "22:00~07:30", "22：00－07：30", "22:00至07:30"])
def test_quiet_hours_copied_from_a_document_with_its_dash_are_taken(text):
    """The README wrote the default 22:00–07:30 with an en dash, and that form was refused when copied (an outside
    tester's finding); so were the full-width forms a Chinese document types."""
    assert parse_quiet_hours(text) == parse_quiet_hours("22:00-07:30")


def test_the_midnight_hint_is_given_only_where_24_00_was_written():
    with pytest.raises(ValueError) as late:
        parse_quiet_hours("22:00-24:00")
    assert "write midnight as 00:00" in str(late.value)
    with pytest.raises(ValueError) as other:
        parse_quiet_hours("25:00-07:00")
    assert "midnight" not in str(other.value)
