"""A 报送回执 is the unit's proof of what it handed in: the file(s) received, the version and the figures reported
(an outside tester's finding: it named none of them, and a line 格式：xlsx、pdf read as an xlsx and a pdf received)."""

from __future__ import annotations

from duban.notify.notifier import RecordingNotifier
from duban.services.compose import compose_messages
from duban.services.dispatch import dispatch
from duban.services.submit import record_submission
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import xlsx_bytes

XIYANG = "140724"


def test_a_receipt_names_the_files_the_version_and_the_figures_received(engine, tmp_path):
    plan_jinzhong(engine)
    tick(engine, at("2024-05-27 09:00"))
    compose_messages(engine, CAMPAIGN, at("2024-05-27 09:00"))
    sheet = tmp_path / "昔阳县检查评分表.xlsx"
    sheet.write_bytes(xlsx_bytes())
    for version, hour in ((1, "10:00"), (2, "11:00")):
        record_submission(
            engine,
            CAMPAIGN,
            XIYANG,
            "county_inspection",
            at(f"2024-05-28 {hour}"),
            files=[sheet],
            metrics={"townships_inspected": str(6 + version)},
            files_dir=tmp_path / "files",
        )
    compose_messages(engine, CAMPAIGN, at("2024-05-28 11:00"))
    sink = RecordingNotifier()
    dispatch(engine, at("2024-05-28 11:05"), lambda _ref: sink, fallback_channels=["sink"])
    receipts = [
        e.rendered.text for e in sink.sent["sink"] if e.recipient == XIYANG and "报送回执" in e.rendered.subject
    ]
    text = "\n".join(receipts)
    assert "第1版" in text and "第2版" in text, text
    assert text.count("文件：昔阳县检查评分表.xlsx") == 2, text
    assert "实地检查乡镇(街道)数 7个" in text and "实地检查乡镇(街道)数 8个" in text, text
    assert "格式" not in text, text


def test_a_receipt_says_which_file_was_the_same_as_another_and_not_kept_again(engine, tmp_path):
    """丙.xlsx with 甲.xlsx's bytes, handed in with 甲 and 乙: the version keeps 甲 and 乙, and the receipt message says
    丙 was the same file (it listed 甲 and 乙 only while the audit log named all three: an outside tester's finding)."""
    plan_jinzhong(engine)
    tick(engine, at("2024-05-27 09:00"))
    compose_messages(engine, CAMPAIGN, at("2024-05-27 09:00"))
    first, second, third = tmp_path / "甲.xlsx", tmp_path / "乙.xlsx", tmp_path / "丙.xlsx"
    first.write_bytes(xlsx_bytes())
    second.write_bytes(xlsx_bytes([["项目", "得分"], ["机构设置", 17]]))
    third.write_bytes(first.read_bytes())
    record_submission(
        engine,
        CAMPAIGN,
        XIYANG,
        "county_inspection",
        at("2024-05-28 10:00"),
        files=[first, second, third],
        metrics={"townships_inspected": "7"},
        files_dir=tmp_path / "files",
    )
    compose_messages(engine, CAMPAIGN, at("2024-05-28 10:00"))
    sink = RecordingNotifier()
    dispatch(engine, at("2024-05-28 10:05"), lambda _ref: sink, fallback_channels=["sink"])
    [text] = [e.rendered.text for e in sink.sent["sink"] if e.recipient == XIYANG and "报送回执" in e.rendered.subject]
    assert "文件：甲.xlsx（丙.xlsx 与 甲.xlsx 内容相同，只保存一份）、乙.xlsx" in text, text
