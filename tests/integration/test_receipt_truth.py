"""A 回执 held by quiet hours says what is true when the group reads it (an outside tester's finding).

昔阳县 hands in 第1版 of its 检查材料 at night (the 回执 waits for 07:30), the 设管科 returns it a minute later with a
reason, and 昔阳 hands in 第2版 a minute after that. In the morning the group read "第1版 …（截止前报送，待审核）" —
no longer true — and never the 退回 or why.
"""

from __future__ import annotations

from sqlalchemy import select

from duban.notify.notifier import RecordingNotifier
from duban.services.compose import compose_messages
from duban.services.dispatch import dispatch
from duban.services.review import record_review
from duban.services.submit import record_submission
from duban.store.tables import OutboxMessage
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import xlsx_bytes

XIYANG, ITEM = "140724", "materials_upload"
WHY = "调查问卷缺少2个乡镇，请补齐后重报"


def _hand_in(engine, tmp_path, when: str) -> None:
    path = tmp_path / f"{XIYANG}-{when[-5:].replace(':', '')}.xlsx"
    path.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    record_submission(engine, CAMPAIGN, XIYANG, ITEM, at(when), files=[path], files_dir=tmp_path / "files")
    compose_messages(engine, CAMPAIGN, at(when), recipients=[XIYANG])  # its receipt, as the CLI and portal do


def _return(engine, when: str) -> None:
    record_review(engine, CAMPAIGN, XIYANG, ITEM, at(when), accept_it=False, reason=WHY)
    compose_messages(engine, CAMPAIGN, at(when), recipients=[XIYANG])


def _morning(engine) -> list[str]:
    sink = RecordingNotifier()
    dispatch(engine, at("2024-06-28 07:31"), lambda _ref: sink, fallback_channels=["sink"])
    return [e.rendered.text for channel in sink.sent.values() for e in channel if e.recipient == XIYANG]


def _opened(engine) -> None:
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:30"))
    dispatch(engine, at("2024-06-12 09:30"), lambda _ref: RecordingNotifier(), fallback_channels=["sink"])


def test_a_version_returned_and_handed_in_again_overnight_reads_true_in_the_morning(engine, tmp_path):
    _opened(engine)
    _hand_in(engine, tmp_path, "2024-06-27 23:37")
    _return(engine, "2024-06-27 23:38")
    _hand_in(engine, tmp_path, "2024-06-27 23:39")
    read = _morning(engine)
    together = "\n".join(read)
    assert "报送时间：6月27日 周四 23:37" not in together, together  # the 第1版 回执 is told by the 第2版 one
    assert "第2版，报送时间：6月27日 周四 23:39（截止前报送，待审核）" in together, together
    [returned] = [text for text in read if "第1版已退回" in text]
    assert f"退回原因：{WHY}" in returned, returned  # the group learns why
    assert "已于6月27日 周四 23:39重新报送第2版" in returned and "前重新报送（" not in returned, returned
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        first = conn.execute(
            select(o.c.status, o.c.last_error).where(o.c.recipient == XIYANG, o.c.kind == "receipt").order_by(o.c.id)
        ).first()
    assert first is not None and first.status == "dropped" and "已由第2版的回执告知" in first.last_error, first


def test_a_version_returned_overnight_has_its_receipt_say_so(engine, tmp_path):
    _opened(engine)
    _hand_in(engine, tmp_path, "2024-06-27 23:37")
    _return(engine, "2024-06-27 23:38")
    read = _morning(engine)
    together = "\n".join(read)
    assert "待审核" not in together, together
    assert "报送时间：6月27日 周四 23:37（截止前报送，已退回）" in together, together
    assert f"退回原因：{WHY}" in together and "第1版已退回，请于" in together, together
