"""The operators' daily digest (每日督办简报): one per campaign per day, over the operators' channels."""

from datetime import timedelta

from sqlalchemy import select

from duban.notify.notifier import RecordingNotifier
from duban.services.dispatch import dispatch
from duban.services.submit import record_submission
from duban.store.tables import OutboxMessage
from duban.views.digest import compose_digest
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import pdf_bytes


def _late_campaign(engine, tmp_path):
    """晋中 on 5/28: the self-assessment is overdue for everyone but 乐平镇, who reported the day before."""
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    tick(engine, at("2024-05-28 09:00"))
    report = tmp_path / "乐平镇自评报告.pdf"
    report.write_bytes(pdf_bytes("self assessment"))  # a whole PDF: the checker reads to the trailer
    for item in ("self_score_sheet", "self_report"):
        record_submission(
            engine, CAMPAIGN, "140724100", item, at("2024-05-28 16:00"), files=[report], files_dir=tmp_path / "files"
        )


def test_digest_tells_operators_who_is_overdue_and_what_came_in(engine, tmp_path):
    _late_campaign(engine, tmp_path)
    assert compose_digest(engine, CAMPAIGN, at("2024-05-29 08:30"))
    notifier = RecordingNotifier()
    result = dispatch(
        engine, at("2024-05-29 08:30"), lambda _: notifier, fallback_channels=["sink"], operator_channels=["env:OPS"]
    )
    digests = [e for e in notifier.sent["env:OPS"] if e.kind == "digest"]
    assert result.by_kind.get("digest") == 1 and len(digests) == 1
    text = digests[0].rendered.text
    assert digests[0].rendered.subject == '【督办简报】统计基层基础工作规范化建设"回头看"：逾期未报258项'
    assert text.startswith('【督办简报】统计基层基础工作规范化建设"回头看"\n截至 5月29日 周三 08:30：')
    assert "【规范化建设自评阶段】应报260项，已报2项（其中逾期报送2项），办理中0项，逾期未报258项" in text
    assert "逾期未报单位129个（258项），逾期最久的15个：" in text
    assert (
        "2. 榆次区统计局：【规范化建设自评阶段】自查评分表、本单位统计基层基础规范化建设总结报告"
        "（截止5月25日 周六 24:00，已逾期3天8小时）"
    ) in text
    assert "乐平镇统计站" not in text  # it reported (late): not listed as overdue
    assert "近24小时：收到报送2份，发出催办14条。" in text
    assert not any(e.kind == "digest" for e in notifier.sent["sink"])  # units never get the digest


def test_composing_twice_on_one_day_writes_one_digest(engine, tmp_path):
    _late_campaign(engine, tmp_path)
    assert compose_digest(engine, CAMPAIGN, at("2024-05-28 08:30"))
    assert not compose_digest(engine, CAMPAIGN, at("2024-05-28 17:00"))
    assert compose_digest(engine, CAMPAIGN, at("2024-05-28 08:30") + timedelta(days=1))
    with engine.connect() as conn:
        kinds = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "digest")).scalars().all()
    assert [p["date"] for p in kinds] == ["2024-05-28", "2024-05-29"]


def test_a_campaign_past_its_last_due_by_a_month_has_no_digest_any_more(engine, tmp_path):
    """The demo's 2024 campaign came in every morning's digest of 2026 with 已逾期926天 above the live campaign
    (an outside tester's finding): a campaign whose last due is more than 30 days past is left out."""
    from duban.views.digest import campaigns_with_open_work, closed_campaigns

    _late_campaign(engine, tmp_path)
    assert CAMPAIGN in campaigns_with_open_work(engine)
    assert closed_campaigns(engine, [CAMPAIGN], at("2024-07-20 08:30")) == []  # its last due is 7/1
    assert closed_campaigns(engine, [CAMPAIGN], at("2026-12-08 08:30")) == [CAMPAIGN]


def test_a_unit_late_in_two_stages_is_given_each_stages_due_and_overdue_span(engine):
    """榆次区统计局 on 6/11 owed the self-assessment (due 5/25) and the county check (due 6/10): one span for both
    read 已逾期16天8小时 of a check due the evening before."""
    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    tick(engine, at("2024-06-11 08:30"))
    assert compose_digest(engine, CAMPAIGN, at("2024-06-11 08:30"))
    notifier = RecordingNotifier()
    dispatch(
        engine, at("2024-06-11 08:30"), lambda _: notifier, fallback_channels=["sink"], operator_channels=["env:OPS"]
    )
    text = next(e for e in notifier.sent["env:OPS"] if e.kind == "digest").rendered.text
    line = next(line for line in text.splitlines() if "榆次区统计局：" in line)
    assert "【规范化建设自评阶段】" in line and "【县级检查阶段】" in line, line
    assert "（截止5月25日 周六 24:00，已逾期16天8小时）；【县级检查阶段】" in line, line
    assert line.endswith("（截止6月10日 周一 24:00，已逾期8小时30分钟）"), line


def _outbox_digests(engine):
    o = OutboxMessage.__table__
    with engine.connect() as conn:
        return conn.execute(select(o).where(o.c.kind == "digest").order_by(o.c.id)).all()


def test_a_digest_left_in_the_outbox_past_its_day_is_not_sent(engine, tmp_path):
    """`duban digest --no-send` left the 6月11日 简报 in the outbox; the next day's dispatch posted it ("截至 6月11日
    08:30") and the close-out report counted it (an outside tester's finding). A digest goes out on its own day
    only, and not once a newer one exists: it is dropped with the reason operators read."""
    _late_campaign(engine, tmp_path)
    assert compose_digest(engine, CAMPAIGN, at("2024-05-28 08:30"))  # composed, never sent that day
    notifier = RecordingNotifier()
    result = dispatch(
        engine, at("2024-05-29 09:01"), lambda _: notifier, fallback_channels=["sink"], operator_channels=["env:OPS"]
    )
    assert not notifier.sent.get("env:OPS") and "digest" not in result.by_kind
    [stale] = _outbox_digests(engine)
    assert stale.status == "dropped" and stale.last_error == "未发送：5月28日的每日简报当日未发出，数字已过时", stale

    assert compose_digest(engine, CAMPAIGN, at("2024-05-29 08:30"))
    assert compose_digest(engine, CAMPAIGN, at("2024-05-30 08:30"))
    result = dispatch(  # a clock set back: the 5/29 digest is of the day, yet the 5/30 one says more
        engine, at("2024-05-29 23:00"), lambda _: notifier, fallback_channels=["sink"], operator_channels=["env:OPS"]
    )
    older = _outbox_digests(engine)[1]
    assert older.status == "dropped" and older.last_error == "未发送：已有更新的每日简报（5月30日）", older


def test_a_digest_previewed_as_of_a_later_instant_is_refused(tmp_path, monkeypatch):
    """`duban digest --no-send --as-of` three weeks ahead wrote a 简报 into the outbox listing as 逾期 units whose due
    was still two weeks away (an outside tester's finding); the sending digest already refused it. Refused now,
    as the 通报 and the report refuse an --as-of ahead of now."""
    from datetime import datetime, timezone

    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.settings import get_settings

    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    ahead = (datetime.now(timezone.utc) + timedelta(days=20)).strftime("%Y-%m-%d 09:00")
    result = CliRunner().invoke(app, ["digest", "--no-send", "--as-of", ahead])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "Traceback" not in said, said
    assert f"--as-of {ahead} is later than now: a 每日督办简报 reports the record as it stands" in said, said
