"""The report's words on submissions (报送情况): how many were due, on time, late and missing, by level and by
stage; the counts the units reported, added up; the amendments that moved dues; the messages sent; the chart."""

from __future__ import annotations

from duban.report.blocks import Figure, Para, Table
from duban.report.record import Record
from duban.report.wording import cn_day, cn_md, count_phrase, own_state, own_who, tally_row


def submission_blocks(record: Record) -> list:
    """报送情况: the overall figures, tables by level and stage, counts reported, amendments, messages, the chart."""
    t, tz = record.overall, record.tz
    blocks: list = [
        Para(
            f"截至{cn_day(record.as_of, tz)}，{len(t.units)}个单位共承担报送任务{t.due + t.not_due + t.excused}项，"
            f"其中已到截止时间{t.due}项：按时报送{t.on_time}项，逾期报送{t.late}项，"
            + (f"已报送待审核{t.in_review}项，" if t.in_review else "")
            + f"未报送{t.missing}项，"
            f"{t.rate_words}"
            + (f"；尚未到截止时间{t.not_due}项" if t.not_due else "")
            + (f"；免报{t.excused}项" if t.excused else "")
            + "。"
        )
    ]
    if record.own:
        issuer = record.spec.issuer
        parts = "；".join(
            (f"{who}承担的" if (who := own_who(issuer, d.display)) else "")
            + f"{d.item}，{own_state(record, d.kind, d.done_at)}"
            for d in record.own
        )
        blocks.append(Para(f"{issuer}本级工作{len(record.own)}项，不计入上述各单位报送情况：{parts}。"))
    reviewing = t.in_review > 0  # a column of its own, so that each row's figures add up to its 应报
    headers = ["级别", "单位数", "应报", "按时", "逾期报送", *(["待审核"] if reviewing else []), "未报送", "按时率"]
    widths = [2.4, 2.0, 2.0, 2.0, 2.4, *([2.0] if reviewing else []), 2.2, 2.6]
    blocks.append(
        Table(
            headers,
            [tally_row(record.level_cn(lv), tl, reviewing) for lv, tl in record.by_level.items()]
            + [tally_row("合计", t, reviewing)],
            "各级报送完成情况",
            widths,
            numbered=True,
        )
    )
    if len(record.by_stage) > 1:
        names = {w[0]: w[1] for w in record.windows}
        rows = [tally_row(names.get(sid, sid), tl, reviewing) for sid, tl in record.by_stage.items()]
        blocks.append(
            Table(
                ["阶段", *headers[1:]],
                rows,
                "各阶段报送完成情况",
                [4.8, *[1.8] * (len(headers) - 1)],
                numbered=True,
            )
        )
    reported = [m for m in record.metrics if m.reporting]
    if reported:
        blocks.append(Para("各单位报送的数据汇总如下。"))
        rows = [[m.item, m.label, count_phrase(m), str(m.reporting)] for m in reported]
        blocks.append(
            Table(["报送事项", "指标", "合计", "报送单位数"], rows, "报送数据汇总", [6.0, 4.6, 2.6, 2.4], numbered=True)
        )
    for a in record.amendments:
        moved = "；".join(
            f"{record.item_name(c['item'])}{c['instance'] or ''}截止时间由{cn_md(c['due_before'], tz)}"
            f"调整为{cn_md(c['due_after'], tz)}"
            for c in a.changes or []
        )
        blocks.append(
            Para(
                f"{cn_md(a.effective_at, tz)}，{a.issuer}{('以' + a.doc_no) if a.doc_no else ''}调整时间安排"
                f"（{a.reason}）：{moved}。"
            )
        )
    if loop := loop_sentence(record.loop, {w[0]: w[1] for w in record.windows}):
        blocks.append(Para(loop))
    if cited := bulletin_sentence(record):
        blocks.append(Para(cited))
    if record.sent:
        from duban.domain.messages import KIND_CN

        parts = "、".join(f"{KIND_CN.get(k, k)}{n}条" for k, n in record.sent.most_common())
        blocks.append(Para(f"督办系统共发送{parts}。"))
    blocks.append(Figure("图1 工作阶段与每日报送情况"))
    return blocks


def loop_sentence(loop: dict, stage_names: dict | None = None) -> str:
    """'工作中，通知签收率97.7%（130个单位中127个按要求签收）；各单位提出延期申请3件，批准2件、未批准1件；审核退回材料2次，
    审核通过5次。' (empty when none of them happened)."""
    ext, rev = loop.get("extensions", {}), loop.get("reviews", {})
    parts = []
    for stage, (done, asked) in (loop.get("acks") or {}).items():
        if asked:
            parts.append(
                f"{(stage_names or {}).get(stage, '通知')}签收率{done / asked:.1%}（{asked}个单位中{done}个已签收）"
            )
    if asked := sum(ext.values()):
        parts.append(
            f"各单位提出延期申请{asked}件，批准{ext.get('approved', 0)}件、未批准{ext.get('denied', 0)}件"
            + (f"、因截止时间已调整或事项已办结不再需要{ext['settled']}件" if ext.get("settled") else "")
            + (f"、待审批{ext['pending']}件" if ext.get("pending") else "")
        )
    if sum(rev.values()):
        parts.append(f"审核退回材料{rev.get('returned', 0)}次，审核通过{rev.get('accepted', 0)}次")
    return ("工作中，" + "；".join(parts) + "。") if parts else ""


def bulletin_sentence(record: Record) -> str:
    """'期间印发通报2期：第1期（6月14日，县级检查阶段，点名逾期单位11个）；第2期（7月2日，点名逾期单位3个）。'
    from the 通报 kept by `duban bulletin` (empty when none was drafted). 印发 only when the outbox records every
    one sent; one only drafted, or queued (`--send`) and not yet sent by the dispatcher, is said so
    ('期间起草通报2期，其中1期已发送：… ；第2期（…，待发送）。'): the report is not to claim an issue the record does
    not show."""
    if not record.bulletins:
        return ""
    names = {w[0]: w[1] for w in record.windows}
    parts = []
    for b in record.bulletins:
        scope = f"{names.get(b.stage_id, b.stage_id)}，" if b.stage_id else ""
        named = f"点名逾期单位{b.units_named}个" if b.units_named else "无逾期单位"
        unsent = "" if b.delivery == "已发送" else f"，{b.delivery}"
        parts.append(f"第{b.number}期（{cn_md(b.as_of, record.tz)}，{scope}{named}{unsent}）")
    sent = sum(1 for b in record.bulletins if b.delivery == "已发送")
    if sent == len(parts):
        return f"期间印发通报{len(parts)}期：" + "；".join(parts) + "。"
    which = f"其中{sent}期已发送" if sent else "均未发送"
    return f"期间起草通报{len(parts)}期，{which}：" + "；".join(parts) + "。"
