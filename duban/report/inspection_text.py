"""The report's words on inspections (检查情况): per sample how many units were drawn and scored, the average and
the lowest total, who fell short and how their 整改 stands; a table of the samples, one of the check items'
得分率 and one of the units below the pass mark; in 存在问题 the weakest check items and the 整改 still owed.
"""

from __future__ import annotations

from datetime import datetime

from duban.instants import in_zone
from duban.report.blocks import Para, Table
from duban.report.inspections import SampleScores, Scored
from duban.report.record import Record
from duban.report.wording import cn_md, pct, span_cn


def points(value: float) -> str:
    """'62分', '84.5分'."""
    return f"{value:.1f}".rstrip("0").rstrip(".") + "分"


def sample_paras(record: Record) -> list[Para]:
    """One paragraph per sample: the draw, then what its inspection scored."""
    paras = []
    for sample in record.samples:
        text = (
            f"{sample.name}：按随机种子{sample.seed}抽取{len(sample.members or [])}个单位"
            f"（{record.sample_levels(sample)}），抽取结果已存档备查。"
        )
        for scores in record.inspections.of(sample.sample_id):
            text += _scored_sentence(record, scores)
        paras.append(Para(text))
    return paras


def _scored_sentence(record: Record, scores: SampleScores) -> str:
    sheet, due = scores.sheet, len(scores.members)
    if not scores.scored:
        return f"截至{cn_md(record.as_of, record.tz)}尚未录入检查评分（应评分{due}个单位）。"
    n = len(scores.scored)
    head = (
        f"{n}个单位已全部完成检查评分"
        if not scores.unscored
        else f"应评分{due}个单位，已评分{n}个，尚有{scores.unscored}个未评分"
    )
    lowest = scores.lowest
    text = f"{head}；平均得分{points(scores.average)}，最低{points(lowest.total)}（{lowest.display}）"  # type: ignore[arg-type, union-attr]
    failing = scores.failing
    if not failing:
        return text + f"，全部达标（{points(sheet.pass_mark)}及以上为达标）。"
    text += f"；达标{n - len(failing)}个，未达标{len(failing)}个（{points(sheet.pass_mark)}及以上为达标）。"
    if sheet.follow_up is None:
        return text + "未达标单位：" + "、".join(f"{s.display}（{points(s.total)}）" for s in failing[:10]) + "。"
    kinds = [s.follow_up for s in failing]
    told = sum(1 for k in kinds if k is not None)
    lead = f"未达标的{len(failing)}个单位均已" if told == len(failing) else f"未达标单位中{told}个已"
    text += f"{lead}下达整改任务（{sheet.follow_up.name}，{sheet.follow_up.within}内报送）"
    parts = [
        f"{word}{kinds.count(kind)}个"
        for kind, word in (
            ("on_time", "按时报送"),
            ("late", "逾期报送"),
            ("in_review", "已报送待审核"),
            ("missing", "逾期未报"),
            ("not_due", "尚未到截止时间"),
            ("excused", "免报"),
        )
        if kinds.count(kind)
    ]
    return text + ("：" + "，".join(parts) if parts else "") + "。"


def inspection_tables(record: Record, limit: int) -> list:
    """The samples' scores, the check items' 得分率, and the units below the pass mark with their 整改."""
    scored = [s for s in record.inspections.samples if s.scored]
    if not scored:
        return []
    rows = [
        [
            s.label,
            str(len(s.members)),
            str(len(s.scored)),
            points(s.average).removesuffix("分"),  # type: ignore[arg-type]
            points(s.lowest.total).removesuffix("分"),  # type: ignore[union-attr]
            str(len(s.scored) - len(s.failing)),
            str(len(s.failing)),
        ]
        for s in scored
    ]
    blocks: list = [
        Table(
            ["检查", "应评分", "已评分", "平均分", "最低分", "达标", "未达标"],
            rows,
            "检查评分情况",
            [4.2, 1.8, 1.8, 2.0, 2.0, 1.8, 2.0],
            numbered=True,
        )
    ]
    items = sorted(record.inspections.items, key=lambda i: [x.id for x in i.sheet.items].index(i.item.id))
    blocks.append(
        Table(
            ["检查项目", "满分", "平均得分", "得分率", "评分单位次"],
            [
                [
                    i.item.name,
                    points(i.item.max).removesuffix("分"),
                    points(i.got / i.inspections).removesuffix("分"),
                    pct(i.share),
                    str(i.inspections),
                ]
                for i in items
            ],
            "各检查项目得分情况",
            [5.2, 2.0, 2.8, 2.8, 2.8],
            numbered=True,
        )
    )
    failing = [(s, f) for s in scored for f in s.failing]
    if failing:
        rows = [
            [
                f.display,
                s.label,
                points(f.total).removesuffix("分"),
                cn_md(f.follow_up_due, record.tz) if f.follow_up_due else "—",
                follow_up_words(record, f),
            ]
            for s, f in failing[:limit]
        ]
        if len(failing) > limit:
            rows.append([f"……等共{len(failing)}个，详见汇总表", "", "", "", ""])
        blocks.append(
            Table(
                ["单位", "检查", "得分", "整改截止", "整改情况"],
                rows,
                "未达标单位及整改情况",
                [4.2, 3.0, 1.4, 2.2, 4.8],
                10.5,
                numbered=True,
            )
        )
    return blocks


def follow_up_words(record: Record, scored: Scored) -> str:
    """How a failing unit's 整改 stands: '6月19日已报送', '6月25日报送，逾期1天', '逾期未报（已逾期17天）' …"""
    if scored.follow_up == "on_time":
        return f"{cn_md(scored.follow_up_at, record.tz)}已报送"  # type: ignore[arg-type]
    if scored.follow_up == "late":
        late_by = _late_by(record, scored.follow_up_due, scored.follow_up_at)  # type: ignore[arg-type]
        return f"{cn_md(scored.follow_up_at, record.tz)}报送，逾期{late_by}"  # type: ignore[arg-type]
    if scored.follow_up == "missing":
        return f"逾期未报（已逾期{_late_by(record, scored.follow_up_due, record.as_of)}）"  # type: ignore[arg-type]
    return {"not_due": "整改中（未到截止时间）", "excused": "免报", "in_review": "已报送，待审核"}.get(
        scored.follow_up or "", "未下达整改任务"
    )


def _late_by(record: Record, due: datetime, at: datetime) -> str:
    """Days late as a bureau counts them (by date), or hours on the due's own day."""
    days = (in_zone(at, record.tz).date() - in_zone(due, record.tz).date()).days
    return f"{days}天" if days > 0 else span_cn(at - due)


def inspection_points(record: Record) -> list[str]:
    """存在问题: the weakest check items, and the 整改 still owed after its due."""
    found = []
    weak = record.inspections.weakest()
    if weak:
        items = record.inspections.items
        overall = sum(i.got for i in items) / sum(i.item.max * i.inspections for i in items)
        listed = "、".join(f"{i.item.name}（{pct(i.share)}）" for i in weak)
        found.append(f"检查项目中得分率最低的是{listed}，各检查项目平均为{pct(overall)}")
    failing = [f for s in record.inspections.samples for f in s.failing]
    owed = [f for f in failing if f.follow_up == "missing"]
    if failing:
        units = len({f.unit for f in failing})
        text = f"{units}个单位检查得分未达标"
        if owed:
            names = list(dict.fromkeys(f.display for f in owed))
            shown = "、".join(names[:10]) + ("等" if len(names) > 10 else "")
            text += f"，其中{len(names)}个单位的整改报告逾期未报（{shown}）"
        found.append(text)
    return found
