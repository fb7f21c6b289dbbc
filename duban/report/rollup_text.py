"""The report's words on roll-ups (汇总) and forwards (转发): who rolled up what, how many of the units below are in
and who is not, the counts added up, whether the roll-up itself was handed in, and which units re-issued the
notice and whether their roll-up reached the upper item.
"""

from __future__ import annotations

from duban.report.blocks import Para
from duban.report.record import Record
from duban.report.rollups import ForwardFact, RollupFact
from duban.report.wording import cn_md

NAMES_SHOWN = 8


def rollup_paras(record: Record) -> list[Para]:
    """A paragraph per roll-up, then per forward into this campaign and per forward of it upward."""
    facts = record.rollups
    paras = [Para(f"{fact.name}：{_rollup_sentence(record, fact)}") for fact in facts.rollups]
    for fact in facts.forwarded_in:
        doc = f"以{fact.doc_no}" if fact.doc_no else ""
        below = f"{_below(fact.rollup)}；" if fact.rollup else ""
        paras.append(
            Para(f"{fact.issuer}{doc}转发本通知，{below}其汇总的{fact.upper_item}{_upper_words(record, fact)}。")
        )
    for fact in facts.forwarded_up:
        paras.append(Para(f"应报{fact.upper_issuer}的{fact.upper_item}{_upper_words(record, fact)}。"))
    if facts.upper_missing and record.spec.forward is not None:
        paras.append(Para("上级专项工作不在本系统中，汇总材料需另行报送上级。"))
    return paras


def _below(fact: RollupFact) -> str:
    text = f"所属{fact.feeders}个单位已报{fact.finished}个"
    if fact.missing:
        names = "、".join(fact.missing[:NAMES_SHOWN]) + ("等" if len(fact.missing) > NAMES_SHOWN else "")
        text += f"，未报{len(fact.missing)}个（{names}）"
    return text


def _sums(fact: RollupFact) -> str:
    parts = [
        f"{label}{int(total):,}{measure}" if float(total).is_integer() else f"{label}{total:,.2f}{measure}"
        for label, total, measure in fact.sums
    ]
    return "；合计" + "、".join(parts) if parts and fact.finished else ""


def _rollup_sentence(record: Record, fact: RollupFact) -> str:
    text = f"{fact.holder}汇总，{_below(fact)}{_sums(fact)}"
    if fact.kind is None:  # a tally: nobody hands it in
        return text + "。"
    tz = record.tz
    if fact.kind in ("on_time", "late"):
        how = "（所属单位报齐后由督办系统自动汇总报送）" if fact.by_duban else ""
        done = f"已于{cn_md(fact.handed_in, tz)}{'按时报送' if fact.kind == 'on_time' else '报送（逾期）'}{how}"  # type: ignore[arg-type]
    else:
        done = {"missing": "逾期未报", "not_due": "尚未到截止时间", "excused": "免报", "in_review": "已报送，待审核"}[
            fact.kind
        ]
    return text + f"；汇总{done}。"


def _upper_words(record: Record, fact: ForwardFact) -> str:
    tz = record.tz
    if fact.kind == "on_time":
        return f"已于{cn_md(fact.handed_in, tz)}按时报送"  # type: ignore[arg-type]
    if fact.kind == "late":
        return f"已于{cn_md(fact.handed_in, tz)}报送（逾期）"  # type: ignore[arg-type]
    return {
        "missing": "逾期未报",
        "not_due": "尚未报送（未到截止时间）",
        "excused": "免报",
        "in_review": "已报送，待审核",
    }[fact.kind]
