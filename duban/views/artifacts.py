"""What the Prefect artifacts of a tick say (进度看板): the 红黄绿 unit table, the summary, a line per stage.

Prefect renders a table artifact as plain text, in a dark theme as well as a light one, so a colour is a coloured
mark beside its word (🔴 红): the mark is seen at a glance, the word is read where an intranet desktop has no emoji
font. The table puts the worst first, grouped by county, and is narrow enough for a 1440-pixel screen in either of
Prefect's UIs: stages are numbered columns (①②③④) named in the table's description, and the 县区 column stands
in for a unit code (it tells apart the 城关镇 of two counties). 已报 has one meaning everywhere: handed in, on time or
late (按时报送＋逾期报送); 免报 is counted apart. An age reads as messages write it: 17天9小时.
"""

from __future__ import annotations

import re
from collections import Counter

from duban.domain.messages import KIND_CN
from duban.domain.state import Color, State
from duban.instants import fmt, span_words, utc
from duban.views.progress import ROWS_SHOWN, CampaignView, StageProgress, UnitRow

WHITE = "\u26aa\ufe0f"  # ⚪ drawn as an emoji (coloured like the others), not as a text-sized circle
MARK = {Color.red: "🔴 红", Color.yellow: "🟡 黄", Color.green: "🟢 绿", Color.grey: f"{WHITE} 未开始"}
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_RANKED = (Color.red, Color.yellow, Color.green, Color.grey)
COLOUR_LEGEND = f"🔴 逾期未报 · 🟡 临近截止或逾期报送 · 🟢 按时报送、免报或进行中 · {WHITE} 未开始"
DONE_LEGEND = "已报＝按时报送＋逾期报送＋已报送（待审核）；完成率＝（已报＋免报）÷应报"


def stage_number(index: int) -> str:
    return CIRCLED[index] if index < len(CIRCLED) else f"({index + 1})"


def place(display: str) -> str:
    """'昔阳县统计局' → '昔阳县', '综改区晋中开发区统计机构（开发区经济运行部）' → '综改区晋中开发区'."""
    return re.split(r"统计|（", display, maxsplit=1)[0] or display


def _short(display: str) -> str:
    """A unit's name without a trailing note in brackets: '综改区晋中开发区统计机构'."""
    return re.sub(r"（[^）]*）$", "", display) or display


def _grouped(view: CampaignView) -> list[UnitRow]:
    """The units shown, by county: the counties with the worst units first (then with more of them), each county's
    units worst first, then by code."""
    rank = {colour: n for n, colour in enumerate(_RANKED)}
    groups: dict[str, list[UnitRow]] = {}
    for unit in view.units[:ROWS_SHOWN]:
        groups.setdefault(unit.group or unit.code, []).append(unit)

    def group_order(item: tuple[str, list[UnitRow]]) -> tuple:
        code, units = item
        worst = min(rank[u.overall] for u in units)
        return worst, -sum(1 for u in units if rank[u.overall] == worst), code

    rows = []
    for _code, units in sorted(groups.items(), key=group_order):
        rows += sorted(units, key=lambda u: (rank[u.overall], u.code))
    return rows


def unit_table(view: CampaignView) -> list[dict[str, str | int]]:
    """One row per unit (the reddest ROWS_SHOWN, grouped by county): its colour overall and per stage, its counts."""
    table = []
    for unit in _grouped(view):
        county = view.campaign.display(unit.group) if unit.group else unit.display
        row: dict[str, str | int] = {"县区": place(county), "单位": _short(unit.display), "总体": MARK[unit.overall]}
        for index, stage in enumerate(view.stages):
            colour = unit.stages.get(stage.stage_id)
            row[stage_number(index)] = MARK[colour] if colour else "—"
        done = unit.states[State.submitted] + unit.states[State.late] + unit.states[State.in_review]
        row["已报/应报"] = f"{done}/{sum(unit.states.values())}"
        row["逾期未报"] = unit.states[State.overdue]
        table.append(row)
    return table


def unit_table_description(view: CampaignView) -> str:
    """Above the table: what the numbered columns and the marks mean."""
    stages = " ".join(f"{stage_number(i)} {stage.name}" for i, stage in enumerate(view.stages))
    return (
        f"{view.campaign.spec.title}：各单位红黄绿，最需关注的在前，按县区分组。{stages}。{COLOUR_LEGEND}。"
        "已报＝按时报送＋逾期报送＋已报送（待审核）。"
    )


def colour_counts(view: CampaignView) -> Counter:
    """How many units are 红, 黄, 绿 and not yet open, by their worst stage."""
    return view.colours


def summary_markdown(view: CampaignView, changes: dict[str, int] | None = None, messages: int | None = None) -> str:
    """The operators' summary: where each stage stands, who is overdue longest, who was escalated."""
    c, tz = view.campaign, view.campaign.tz
    counts = colour_counts(view)
    lines = [
        f"# {c.spec.title}",
        f"{c.spec.issuer} · 截至 **{fmt(view.as_of, tz)}** · 单位 {view.unit_total} 个："
        + "，".join(f"{MARK[k]} {counts[k]}" for k in _RANKED),
        "",
    ]
    if changes is not None:
        lines += [f"本次巡检：{changes_words(changes)}；生成消息 {messages or 0} 条。", ""]
    lines += [
        "| 阶段 | 状态 | 应报 | 已报 | 其中逾期报送 | 免报 | 逾期未报 | 办理中 | 未开始 | 完成率 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for index, stage in enumerate(view.stages):
        s = stage.states
        lines.append(
            f"| {stage_number(index)} {stage.name} | {MARK[stage.colour]} | {stage.total} | {stage.handed_in} | "
            f"{s[State.late]} | {s[State.excused]} | {s[State.overdue]} | {s[State.open] + s[State.due_soon]} | "
            f"{s[State.pending]} | {stage.percent:g}% |"
        )
    lines += ["", f"{DONE_LEGEND}。", ""]
    lines += loop_lines(view)
    lines += _overdue_lines(view)
    lines += ["", "## 近24小时催办"]
    if not view.escalations:
        lines.append("无。")
    items = {item.id: item.name for _stage, item in c.spec.items()}
    escalated: dict[tuple, list[str]] = {}
    for code, item_id, recipient, step, event_at in view.escalations:
        escalated.setdefault((code, recipient, step, event_at), []).append(items.get(item_id, item_id))
    for (code, recipient, step, event_at), names_of_items in escalated.items():
        lines.append(
            f"- {c.display(code)} · {'、'.join(names_of_items)}：第{step + 1}次催办 → "
            f"{c.display(recipient)}（{fmt(event_at, tz)}）"
        )
    if view.unit_total > len(view.units):
        lines += ["", f"单位表列出最需关注的 {len(view.units)} 个单位（共 {view.unit_total} 个）。"]
    return "\n".join(lines) + "\n"


def loop_lines(view: CampaignView) -> list[str]:
    """签收率 per stage that asks it, 延期申请, reviews and outcomes (约谈, 通报批评 …) — only what the campaign has
    (nothing for the others)."""
    loop, names = view.loop or {}, {s.stage_id: s.name for s in view.stages}
    parts = [
        f"签收率（{names.get(stage, '通知')}）**{done / asked:.1%}**（{asked}个单位中{done}个已签收）"
        for stage, (done, asked) in (loop.get("acks") or {}).items()
        if asked
    ]
    ext, rev = loop.get("extensions") or {}, loop.get("reviews") or {}
    if any(ext.values()):
        parts.append(
            f"延期申请：已批准 {ext.get('approved', 0)} · 未批准 {ext.get('denied', 0)}"
            + (f" · 不再需要 {ext['settled']}" if ext.get("settled") else "")
            + f" · 待审批 {ext.get('pending', 0)}"
        )
    if any(rev.values()):
        parts.append(f"审核：退回 {rev.get('returned', 0)} 次 · 通过 {rev.get('accepted', 0)} 次")
    items = {item.id: item.name for _stage, item in view.campaign.spec.items()}
    parts += [
        f"处理：{items.get(o['item'], o['item'])} · {o['words']} **{o['units']}** 个单位"
        for o in loop.get("outcomes") or ()
    ]
    return [*(f"- {p}" for p in parts), ""] if parts else []


def _overdue_lines(view: CampaignView) -> list[str]:
    """逾期未报: the heading counts items and units, each bullet one unit with its count, the rest in one line —
    so the bullets' counts and the rest add up to the heading."""
    c, tz = view.campaign, view.campaign.tz
    if not view.overdue_total:
        return ["## 逾期未报：0 项", "无。"]
    lines = [f"## 逾期未报：{view.overdue_units} 个单位 {view.overdue_total} 项（逾期最久的在前）"]
    stages = {stage.stage_id: stage.name for stage in view.stages}
    items = {item.id: item.name for _stage, item in c.spec.items()}
    for unit in view.overdue:
        by_stage: dict[str, list[str]] = {}
        for stage_id, item_id, _due in unit.items:
            by_stage.setdefault(stages.get(stage_id, stage_id), []).append(items.get(item_id, item_id))
        what = "；".join(f"{stage} · {'、'.join(names)}" for stage, names in by_stage.items())
        age = span_words((view.as_of - utc(unit.oldest_due)).total_seconds())
        since = "截止" if len({due for _s, _i, due in unit.items}) == 1 else "最早截止"
        lines.append(
            f"- {c.display(unit.code)}：{unit.count} 项（{what}），{since} {fmt(unit.oldest_due, tz)}，已逾期 {age}"
        )
    rest_units = view.overdue_units - len(view.overdue)
    if rest_units:
        rest_items = view.overdue_total - sum(unit.count for unit in view.overdue)
        lines.append(f"- ……另有 {rest_units} 个单位 {rest_items} 项（见单位表）")
    return lines


def changes_words(changes: dict[str, int]) -> str:
    """'开始办理 64，即将截止 12，逾期未报 3，逾期催办 3' — what a tick did, in the notice's order."""
    order = ["opened", "reminder", "overdue", "escalation"]
    ordered = sorted(changes.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    return "，".join(f"{KIND_CN.get(k, k)} {v}" for k, v in ordered if v) or "无状态变化"


def stage_description(stage: StageProgress, index: int) -> str:
    """Under a stage's progress bar (and on its card, whose first words show): the mark first, then the numbers."""
    s = stage.states
    behind = f"，逾期未报 {s[State.overdue]}" if s[State.overdue] else ""
    return (
        f"{MARK[stage.colour]} {stage_number(index)} {stage.name}：完成 {stage.percent:g}%（已报 {stage.handed_in}、"
        f"免报 {s[State.excused]}，共 {stage.total}）{behind}，办理中 {s[State.open] + s[State.due_soon]}，"
        f"未开始 {s[State.pending]}"
    )


_LOGGED = (("opened", "开启"), ("reminder", "提醒"), ("overdue", "逾期"), ("escalation", "催办"))


def tick_log_lines(view_stages: list[tuple[str, str]], stages: list[dict], as_of_text: str, messages: int) -> list[str]:
    """What a tick writes to its run's log, in Chinese: a line per stage (in the notice's order) and a summary.

    `view_stages` are (stage id, name) pairs; `stages` the stage tasks' results (examined, events)."""
    names = dict(view_stages)
    order = [stage_id for stage_id, _name in view_stages]
    total: Counter = Counter()
    lines = []
    for result in sorted(stages, key=lambda r: order.index(r["stage"]) if r["stage"] in order else len(order)):
        events = Counter(result["events"])
        total.update(events)
        index = order.index(result["stage"]) if result["stage"] in order else None
        head = f"{stage_number(index) if index is not None else ''}{names.get(result['stage'], result['stage'])}"
        done = "，".join(f"{word} {events[key]}" for key, word in _LOGGED)
        lines.append(
            f"{head}：到期待办 {result['examined']} 项 → {done}" if result["examined"] else f"{head}：无到期事项"
        )
    done = "，".join(f"{word} {total[key]}" for key, word in _LOGGED)
    lines.append(f"本次巡检（{as_of_text}）：{done}；生成消息 {messages} 条")
    return lines
