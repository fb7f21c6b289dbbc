"""How the CLI shows plans, ticks, status and previews (rich tables, Chinese labels, absolute instants)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from duban.cli.common import lit
from duban.cli.show_chain import chain_json, print_chain
from duban.domain.lead_cover import BY_LEAD
from duban.domain.messages import KIND_CN
from duban.domain.plan import Plan
from duban.domain.state import Color, State
from duban.domain.units import LEVEL_ALIASES, Level
from duban.errors import DubanError
from duban.instants import fmt, fmt_arg
from duban.spec.clerk import escalation_words
from duban.spec.load import LoadedSpec
from duban.spec.words import WordDate

if TYPE_CHECKING:
    from duban.views.status import StatusReport

COLOR_STYLE = {Color.red: "bold red", Color.yellow: "yellow", Color.green: "green", Color.grey: "dim"}
LIST_LIMIT = 600
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
ROLE_CN = {"lead": "牵头", "responsible": "责任", "cooperating": "配合"}
TARGET_CN = {"parent": "上级单位", "leader": "包联领导", "unit": "本单位"}


def _heard_by(to: list[str], plan: Plan) -> str:
    """Who a 催办 reaches, in words: 包联领导 only when the spec names leaders (else nobody hears as one); a group
    or unit by the name messages give it (市经普办, not census_office)."""
    heard = [_target_words(k, plan) for k in to if k != "leader" or plan.campaign.leaders]
    return "、".join(heard) or "（无人接收：未设包联领导）"


def _unheard(entries: list, step: int, plan: Plan) -> str:
    """The units whose 催办 at `step` reaches nobody (no parent in the registry: the top of its divisions, the
    issuer's own unit; or an office of the issuer, whose slip the issuer is not told of as a 催办, duban.domain.plan.
    _targets): "→ 上级单位" alone promised a 催办 that the tick counts and no one is told of."""
    alone = {a.unit_code for a in entries if len(a.escalations) > step and not a.escalations[step][1]}
    if not alone:
        return ""
    every = alone == {a.unit_code for a in entries}
    own = {code for code in alone if plan.registry.units[code].parent in plan.registry.units}
    if not own:
        return "（无上级单位，无人接收）" if every else f"（其中{len(alone)}个单位无上级单位，无人接收）"
    if own == alone:
        who = "发文单位自己的科室" if every else f"其中{len(alone)}个单位为发文单位自己的科室"
        return f"（{who}：不向发文单位催办，无人接收）"
    why = "无上级单位或为发文单位自己的科室"
    return f"（{why}，无人接收）" if every else f"（其中{len(alone)}个单位{why}，无人接收）"


def _target_words(ref: str, plan: Plan) -> str:
    if ref in TARGET_CN:
        return TARGET_CN[ref]
    from duban.domain.plan import resolve_selector
    from duban.spec.models import Selector

    try:
        codes = resolve_selector(plan, Selector(ref=ref))
    except (DubanError, ValueError):  # planning checked every target; shown as written if it cannot be resolved
        return ref
    if len(codes) == 1:
        return plan.registry.units[codes[0]].display
    return f"{ref}（{len(codes)}个单位）"


def _level_cn(level: str | None) -> str:
    return Level(level).cn if level in Level.__members__ else (level or "—")


def print_plan(console: Console, spec: LoadedSpec, plan: Plan, *, every: bool) -> None:
    c, tz = plan.campaign, plan.campaign.timezone
    console.print(
        f"[bold]{lit(c.title)}[/]  {lit(c.issuer)} {lit(c.doc_no or '')}  ({lit(c.id)}, {lit(tz)})", highlight=False
    )
    for doc in c.forwards:
        console.print(
            f"  依据/转发上级文件: {lit(doc.issuer)} {lit(doc.doc_no or '')} {lit(doc.title or '')}", highlight=False
        )
    for doc in c.forwarded_by:
        console.print(f"  转发: {lit(doc.issuer)} {lit(doc.doc_no or '')} {lit(doc.issued_on or '')}", highlight=False)
    print_chain(console, plan)
    by_item: dict[str, list] = defaultdict(list)
    for a in plan.assignments:
        by_item[a.item_id].append(a)
    levels = {u.code: u.level.value for u in plan.registry}
    for stage in c.stages:
        window = plan.stage_windows.get(stage.id)
        span = f"{fmt(window[0], tz)} — {fmt(window[1], tz)}" if window else "—"
        span += _said_window(stage.window)
        if stage.id in plan.depending:  # 按阶段顺序: when it opens depends on another stage
            waits = "最早时刻，实际由巡检按记录决定" if stage.id in plan.held else "随前一阶段"
            span = f"{span}〔{plan.depending[stage.id]}开启；{waits}〕"
        rows = [a for item in stage.items for a in by_item.get(item.id, [])]
        count = Counter(_level_cn(levels.get(a.unit_code)) for a in rows)
        console.print(
            f"\n[bold cyan]{lit(stage.name)}[/] ({lit(stage.id)})  {lit(span)}  · {len(rows)} assignments: "
            + ", ".join(f"{k} {lit(v)}" for k, v in sorted(count.items())),
            highlight=False,
        )
        for item in stage.items:
            entries = by_item.get(item.id, [])
            if not entries:
                continue
            first = entries[0]
            reminders = "、".join(fmt(t, tz) for t in first.reminders) or "—"
            steps = (item.escalation or c.defaults.escalation).steps
            escalations = (
                "、".join(
                    f"{fmt(t, tz)}（{escalation_words(step.after, c.defaults.remind_time)}）"
                    f"→ {_heard_by(step.to, plan)}{_unheard(entries, k, plan)}"
                    for k, ((t, _), step) in enumerate(zip(first.escalations, steps))
                )
                or "—"
            )
            period = f"  周期 {item.every.said}" if item.every is not None and item.every.said else ""
            console.print(
                f"  [bold]{lit(item.name)}[/] ({lit(item.id)}) 格式 {lit('、'.join(item.formats) or '—')}{lit(period)}",
                highlight=False,
            )
            instances = sorted({(a.instance, a.open_at, a.due_at) for a in entries}, key=lambda x: x[2])
            written = plan.postponed.get(item.id)
            for instance, opens, due in instances:
                label = f"[{instance}] " if instance else ""
                onto = "至调休上班日" if due.in_timezone(tz).weekday() >= 5 else ""  # 周日 that is a working day
                moved = f"（原{fmt(written, tz)}，遇休息日顺延{onto}）" if written is not None and not instance else ""
                console.print(
                    f"    {lit(label)}开始 {fmt(opens, tz)}{lit(_said(item.opens))}  截止 [bold]{fmt(due, tz)}[/]"
                    f"{lit(_said(item.due))}{moved}",
                    highlight=False,
                )
            if item.every is not None and len(instances) > 1:  # the first period's: the others count from their dues
                first_label = f"[{first.instance}] " if first.instance else ""
                line = f"    {lit(first_label)}提醒 {lit(reminders)}  催办 {lit(escalations)}"
                console.print(line + "（其余各期按各自截止时间推算）", highlight=False)
            else:
                console.print(f"    提醒 {lit(reminders)}  催办 {lit(escalations)}", highlight=False)
            for outcome in item.outcomes if item.outcomes is not None else c.defaults.outcomes:
                console.print(f"    处理 {lit(outcome.words())}", highlight=False)
    if every or len(plan.assignments) <= LIST_LIMIT:
        console.print(f"\n[bold]{len(plan.assignments)} assignments[/] (开始 → 截止  事项  单位)", highlight=False)
        for a in plan.assignments:
            unit = plan.registry.units[a.unit_code]
            owed = (
                a.item_id
                + (f"[{a.instance}]" if a.instance else "")
                + ("" if a.role == "responsible" else f" ({ROLE_CN[a.role]})")
            )
            console.print(
                f"  {fmt(a.open_at, tz)} → {fmt(a.due_at, tz)}  {lit(owed)}  "
                f"{lit(a.unit_code)} {lit(unit.display)} ({unit.level.cn})",
                highlight=False,
                soft_wrap=True,
            )
    else:
        console.print(f"\n{len(plan.assignments)} assignments (list them with --all or --json)")
    for sample in plan.samples.values():
        if sample.sample_id in plan.undrawn:
            console.print(
                f"\n[bold]抽查样本[/] {lit(sample.name)} (seed {lit(sample.seed)}): "
                f"待抽取 — {lit(plan.undrawn[sample.sample_id])}"
                f"（`duban sample draw {lit(c.id)} --sample {lit(sample.sample_id)} …`）",
                highlight=False,
            )
            continue
        names = "、".join(plan.registry.units[code].name for code in sample.members[:40])
        more = f" … (+{len(sample.members) - 40})" if len(sample.members) > 40 else ""
        console.print(
            f"\n[bold]抽查样本[/] {lit(sample.name)} (seed {lit(sample.seed)}): "
            f"{len(sample.members)} 个 — {lit(names)}{lit(more)}",
            highlight=False,
        )
    for leader in c.leaders:
        units = "、".join(
            plan.registry.units[u].name
            for u in plan.leaders[leader.id]
            if plan.registry.units[u].level is Level.county or plan.registry.units[u].kind == "zone"
        )
        console.print(f"[bold]包联[/] {lit(leader.name)}: {lit(units)}", highlight=False)
    for event_id, name, at in plan.events:
        console.print(f"[bold]事件[/] {lit(name)} ({lit(event_id)}) {fmt(at, tz)}", highlight=False)


def _said(spec) -> str:
    """'（6月底前）' after an instant the notice wrote in words, so the reading can be checked against it."""
    return f"（{spec}）" if isinstance(spec, WordDate) else ""


def _said_window(window) -> str:
    if window is None or not (isinstance(window.start, WordDate) or isinstance(window.end, WordDate)):
        return ""
    words = str(window.start) if str(window.start) == str(window.end) else f"{window.start}至{window.end}"
    return f"（{words}）"


def plan_json(plan: Plan) -> dict:
    tz = plan.campaign.timezone
    return {
        "campaign": plan.campaign.id,
        "timezone": tz,
        "stages": {k: [v[0].isoformat(), v[1].isoformat()] for k, v in plan.stage_windows.items()},
        "depending": {k: {"opens": words, "decided_by_tick": k in plan.held} for k, words in plan.depending.items()},
        "assignments": [
            {
                "stage": a.stage_id,
                "item": a.item_id,
                "instance": a.instance,
                "unit": a.unit_code,
                "unit_name": plan.registry.units[a.unit_code].display,
                "level": plan.registry.units[a.unit_code].level.value,
                "role": a.role,
                "open_at": a.open_at.isoformat(),
                "due_at": a.due_at.isoformat(),
                "open_at_local": fmt(a.open_at, tz),
                "due_at_local": fmt(a.due_at, tz),
                "reminders": [t.isoformat() for t in a.reminders],
                "escalations": [{"at": t.isoformat(), "to": list(to)} for t, to in a.escalations],
            }
            for a in plan.assignments
        ],
        "samples": {s.sample_id: {"seed": s.seed, "members": s.members} for s in plan.samples.values()},
        "events": [{"id": i, "name": n, "at": t.isoformat()} for i, n, t in plan.events],
        "chain": chain_json(plan),
        "postponed": {item: written.isoformat() for item, written in plan.postponed.items()},  # 顺延: as written
    }


def print_tick(console: Console, summary: dict, tz: str = "Asia/Shanghai") -> None:
    """What a tick did, headed by the campaign and the instant as the Prefect run is named (2024-06-12 周三 09:00)."""
    when = fmt(datetime.fromisoformat(summary["as_of"]), tz)
    console.print(f"[bold]tick[/] {lit(summary['campaign'])} @ {lit(when)}", highlight=False)
    for stage in summary["stages"]:
        events = ", ".join(f"{k} {v}" for k, v in stage["events"].items()) or "no change"
        console.print(f"  {lit(stage['stage'])}: {lit(stage['examined'])} due → {lit(events)}", highlight=False)
    # the 签收 and 审核提醒 messages are written by their own steps, beside the stages' messages
    loop = {
        "签收提醒/催办": (summary.get("acknowledgements") or {}).get("messages", 0),
        "审核提醒": (summary.get("review_reminders") or {}).get("messages", 0),
    }
    also = "".join(f", {name} {n}" for name, n in loop.items() if n)
    total = summary["messages"] + sum(loop.values())
    console.print(
        f"  messages composed: {lit(total)}" + (f" (stages {lit(summary['messages'])}{lit(also)})" if also else "")
    )
    if summary.get("rollups"):
        fed = summary["rollups"]
        console.print(
            f"  roll-ups (汇总): submitted {lit(fed['submitted'])}, fed up {lit(fed['fed_up'])}"
            + "".join(f"\n    waiting: {lit(why)}" for why in fed["waiting"]),
            highlight=False,
        )


def unit_words(campaign, code: str) -> str:
    """'乐平镇统计站（140724100）'."""
    return f"{campaign.display(code)}（{code}）"


def item_words(campaign, item_id: str, instance: str | None = None) -> str:
    """'自查评分表（self_score_sheet）', with the period of a recurring item: '… [2020Q3]'."""
    names = {item.id: item.name for _stage, item in campaign.spec.items()}
    return f"{names.get(item_id, item_id)}（{item_id}）" + (f" [{instance}]" if instance else "")


def print_receipt(console: Console, receipt, campaign, unit: str, item_id: str, instance: str | None) -> None:
    """What the clerk is told: who handed in what, which version, when, on time or late, and the receipt's way."""
    late = "逾期报送" if receipt.late else ("截止前" if receipt.state is State.in_review else "按时")
    if receipt.unchanged:  # posted twice: nothing new kept, no second receipt
        console.print(
            f"[green]已收到[/] {lit(unit_words(campaign, unit))} · {lit(item_words(campaign, item_id, instance))}"
            f"：与已报送的第{lit(receipt.version)}版相同（{fmt(receipt.submitted_at, campaign.tz)}，{lit(late)}），"
            f"未另存新版本，也不再发回执 → {receipt.state.cn}",
            highlight=False,
        )
        return
    if receipt.corrects is not None:  # the item stays on time (a tester read 逾期报送 → 已报送)
        late = f"截止后更正，第1版已于{fmt(receipt.corrects, campaign.tz)}按时报送"
    console.print(
        f"[green]已报送[/] {lit(unit_words(campaign, unit))} · {lit(item_words(campaign, item_id, instance))}"
        f" · 第{lit(receipt.version)}版 · {fmt(receipt.submitted_at, campaign.tz, due=receipt.due_at)}（{lit(late)}）"
        f"→ {receipt.state.cn}",
        highlight=False,
    )
    for kept in receipt.files:  # a file under another name with the same content as one kept: not kept again
        if kept.also:
            console.print(f"  {lit(kept.same_words())}", highlight=False)
    console.print("  回执消息已排入发送队列（`duban dispatch` 发送）", highlight=False)
    if receipt.corrected:  # told 逾期 before the hand-in was entered with its real time (补登)
        first = sorted(receipt.corrected, key=lambda code: code != unit)  # the unit itself, then its 催办's targets
        told = "、".join(campaign.display(code) for code in first)
        console.print(
            f"  此前已收到逾期通知的{lit(told)}将收到更正（已按时报送，对其的逾期通知和催办作废）", highlight=False
        )


DISPATCH_WORDS = {
    "sent": "已发送",
    "failed": "失败待重试",
    "dead": "转入死信",
    "deferred": "等待机器人限额",
    "held": "静默时段后发送",
    "dropped": "已不属实未发",
    "unconfirmed": "送达情况不明",
    "misconfigured": "通道配置有误待改",
    "lost": "已由其他发送进程接手",
    "claimed": "本次领取",
}


def print_dispatch(console: Console, result: dict) -> None:
    """One line for a dispatch run: what was sent (by kind), what failed or waits, and where dead letters are."""
    counts = {k: v for k, v in result.items() if k != "by_kind"}
    kinds = "、".join(
        f"{KIND_CN.get(k, k)} {v}" for k, v in sorted((result.get("by_kind") or {}).items(), key=lambda kv: -kv[1])
    )
    parts = [f"{DISPATCH_WORDS.get(k, k)} {v}" for k, v in counts.items() if k != "sent" and (v or k == "claimed")]
    console.print(
        f"dispatch: 已发送 {lit(counts.get('sent', 0))} 条"
        + (f"（{lit(kinds)}）" if kinds else "")
        + (" · " + " · ".join(parts) if parts else ""),
        highlight=False,
    )
    if counts.get("dead"):
        console.print(
            "  死信：`duban outbox list --status dead` 查看渠道的原话，修好后 `duban outbox retry --dead`",
            highlight=False,
        )
    if counts.get("misconfigured"):
        console.print(
            "  通道配置有误（变量未设置或地址无法使用），消息未发出、不计重试：`duban outbox list --status pending` "
            "查看是哪个通道，改正后下一次 dispatch 即发出",
            highlight=False,
        )
    if counts.get("unconfirmed"):
        console.print(
            "  送达情况不明（已发出但无答复，可能已到群里）：`duban outbox list --status unconfirmed`", highlight=False
        )


@dataclass(frozen=True)
class StatusFilter:
    """Which units `duban status` lists: a level and a colour, checked against the known values before any work."""

    level: Level | None = None
    colours: frozenset[Color] = frozenset()  # empty: every colour

    ONLY = {
        "red": (Color.red,),
        "红": (Color.red,),
        "yellow": (Color.red, Color.yellow),
        "黄": (Color.red, Color.yellow),
    }

    @classmethod
    def parse(cls, *, level: str | None, only: str | None, refuse) -> StatusFilter:
        """`refuse(option, value, known)` is called (and does not return) for a value duban does not know."""
        levels = {**{lv.value: lv for lv in Level}, **LEVEL_ALIASES}
        if level is not None and level.strip() not in levels:
            refuse("--level", level, ", ".join(f"{lv.value} ({lv.cn[0]})" for lv in Level))
        if only is not None and only.strip().lower() not in cls.ONLY:
            refuse("--only", only, "red (红: 逾期未报), yellow (黄: 临近截止或逾期报送, and the red ones)")
        return cls(
            levels[level.strip()] if level else None, frozenset(cls.ONLY[only.strip().lower()]) if only else frozenset()
        )

    def keeps(self, unit) -> bool:
        return (self.level is None or unit.level == self.level.value) and (
            not self.colours or unit.overall in self.colours
        )

    def words(self) -> str:
        parts = [self.level.cn] if self.level else []
        if self.colours:
            parts.append("、".join(c.value for c in _RANKED if c in self.colours))
        return "（" + "，".join(parts) + "）" if parts else ""


_RANKED = (Color.red, Color.yellow, Color.green, Color.grey)
NAME_CELLS = 24  # the unit column on a terminal: 12 characters (万柏林区住房和城乡建设局); a longer name folds
COLOUR_LEGEND = (
    "红 逾期未报 · 黄 临近截止或逾期报送 · 绿 按时报送、免报或进行中 · 灰 未开始（单位取各事项中最差的颜色）"
)
DONE_LEGEND = "已报＝按时报送＋逾期报送＋已报送（待审核）（与 Prefect 里的进度摘要、门户同一口径）"


def tally_words(states: Counter, by_lead: int = 0) -> str:
    """'应报 324 · 已报 290（按时 240、逾期 50）· 免报 0 · 逾期未报 27 · 临近截止 3 · 进行中 4 · 未开始 0': 已报 counts
    the versions waiting for review too ('、待审核 2', as the unit's page says 已报送), and '，含已报送（牵头单位）3'
    when 配合 items count as handed in by their 牵头 unit (duban.domain.lead_cover)."""
    on_time, late, waiting = states[State.submitted], states[State.late], states[State.in_review]
    return (
        f"应报 {sum(states.values())} · 已报 {on_time + late + waiting}（按时 {on_time}、逾期 {late}"
        + (f"、待审核 {waiting}" if waiting else "")
        + "）"
        + (f"，含{BY_LEAD}{by_lead}" if by_lead else "")
        + f" · 免报 {states[State.excused]}"
        f" · 逾期未报 {states[State.overdue]} · 临近截止 {states[State.due_soon]} · 进行中 {states[State.open]}"
        f" · 未开始 {states[State.pending]}"
    )


def ack_words(acks: dict, stage_names: dict) -> str:
    """'签收率：规范化建设自评阶段 118/130（90.8%）' per stage that asked (the notice itself: 通知)."""
    if not acks:
        return ""
    order = list(stage_names)
    shown = sorted(acks.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else -1)
    return "签收率：" + "；".join(
        f"{stage_names.get(s, '通知')} {done}/{asked}（{done / asked:.1%}）" for s, (done, asked) in shown if asked
    )


def loop_words(loop: dict, stage_names: dict | None = None) -> str:
    """'签收率：…；延期申请：已批准 1 · 未批准 0 · 待审批 1；审核：退回 2 次 · 通过 5 次' (empty when none happened)."""
    ext, rev = loop.get("extensions", {}), loop.get("reviews", {})
    parts = [words] if (words := ack_words(loop.get("acks", {}), stage_names or {})) else []
    if any(ext.values()):
        parts.append(
            f"延期申请：已批准 {ext.get('approved', 0)} · 未批准 {ext.get('denied', 0)}"
            + (f" · 不再需要 {ext['settled']}" if ext.get("settled") else "")
            + f" · 待审批 {ext.get('pending', 0)}"
        )
    if any(rev.values()):
        parts.append(f"审核：退回 {rev.get('returned', 0)} 次 · 通过 {rev.get('accepted', 0)} 次")
    return "；".join(parts)


def print_status(console: Console, report: StatusReport, wanted: StatusFilter = StatusFilter()) -> None:
    campaign = report.campaign
    stages = campaign.spec.stages
    console.print(
        f"[bold]{lit(campaign.spec.title)}[/] 截至 {fmt(report.as_of, campaign.tz)}{lit(wanted.words())}",
        highlight=False,
    )
    if report.looking_back:
        _print_look_back(console, report)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    if console.is_terminal:  # one long name (a 开发区's 22 characters) padded every row and pushed the colours out
        table.add_column("单位", max_width=NAME_CELLS, overflow="fold")
    else:  # piped or in a log: a name stays whole on its line
        table.add_column("单位", no_wrap=True)
    table.add_column("级别", no_wrap=True, min_width=4)
    for index, _stage in enumerate(stages):
        table.add_column(CIRCLED[index % len(CIRCLED)], justify="center", no_wrap=True, min_width=2)
    own = report.own  # the issuer's own work: apart, as the 通报 and the 总结报告 count it
    counted_units = [unit for unit in report.units if unit.code not in own]
    shown: list = [unit for unit in counted_units if wanted.keeps(unit)]
    for unit in shown:
        cells = []
        for stage in stages:
            colour = unit.stages.get(stage.id)
            cells.append(f"[{COLOR_STYLE[colour]}]{colour.value}[/]" if colour else "")
        table.add_row(lit(unit.display), _level_cn(unit.level), *cells)
    console.print(table)
    legend = "  ".join(f"{CIRCLED[i % len(CIRCLED)]} {lit(stage.name)}" for i, stage in enumerate(stages))
    console.print(legend, highlight=False)
    console.print(COLOUR_LEGEND, highlight=False)
    tally: Counter = sum((unit.states for unit in shown), Counter())
    if wanted.level is None:
        counted = f"{len(shown)} of {len(counted_units)} units shown"
    else:  # of the level's units: "2 of 131" read as if most counties had been left out
        pool = sum(1 for unit in counted_units if unit.level == wanted.level.value)
        counted = f"{len(shown)} of {pool} {wanted.level.value} units shown ({len(counted_units)} in all)"
    by_lead = sum(unit.by_lead for unit in shown)
    console.print(f"{counted} · 这些单位的事项：{lit(tally_words(tally, by_lead))}", highlight=False)
    _print_own_work(console, report, [unit for unit in report.units if unit.code in own and wanted.keeps(unit)])
    console.print(DONE_LEGEND, highlight=False)
    if words := loop_words(getattr(report, "loop", {}), {s.id: s.name for s in stages}):
        console.print(words, highlight=False)


def _print_own_work(console: Console, report, units: list) -> None:
    """The issuer's own offices' duties (市局设管科's 市级现场检查), on a line of their own: neither counted nor
    rated with the units above, as the 通报 and the 总结报告 state them apart."""
    if not units:
        return
    stages = report.campaign.spec.stages
    parts = []
    for unit in units:
        cells = " ".join(
            f"{CIRCLED[i % len(CIRCLED)]}[{COLOR_STYLE[colour]}]{colour.value}[/]"
            for i, stage in enumerate(stages)
            if (colour := unit.stages.get(stage.id)) is not None
        )
        parts.append(f"{lit(unit.display)} {cells}（{lit(tally_words(unit.states, unit.by_lead))}）")
    console.print(
        f"{lit(report.campaign.spec.issuer)}本级工作，不计入以上单位（与通报、总结报告同一口径）：" + "；".join(parts),
        highlight=False,
    )


SETTLED_CN = {"excused": "免报", "extended": "延期", "amended": "调整通知", "accepted": "审核通过", "returned": "退回"}


def _print_look_back(console: Console, report) -> None:
    """A status of an instant the record has passed: read as the 通报 and the 总结报告 read it, and what of it stands
    as recorded now (a 免报, a review or a moved due recorded later: the readings take the assignment as it is)."""
    tz = report.campaign.tz
    console.print(
        f"回看：记录已到 {fmt(report.recorded_to, tz)}，此处按各单位的报送时间回看 {fmt(report.as_of, tz)} 的情况，"
        "逾期按现行截止时间判断（与同一时刻的通报、总结报告同一口径）",
        highlight=False,
    )
    if report.settled_since:
        later = "、".join(f"{SETTLED_CN.get(k, k)} {n} 项" for k, n in sorted(report.settled_since.items()))
        console.print(f"[yellow]此刻之后记录的{lit(later)}按现状计入（通报、总结报告同样如此）[/]", highlight=False)


def print_preview(console: Console, preview, *, unit: str | None) -> None:
    tz = preview.tz
    if getattr(preview, "windowed", False):  # a window of the same campaign: what came before it stays on the record
        console.print(
            f"[bold]{lit(preview.title)}[/] shown {fmt(preview.start, tz)} → {fmt(preview.end, tz)} "
            f"(run from {fmt(preview.run_from, tz)}, as the full preview runs it: hand-ins and messages before the "
            "window are on the record, not shown)",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"{lit(preview.assignments)} assignments · synthetic units over the whole campaign: "
            f"{lit(preview.planned_submissions)} submit ({lit(preview.planned_late)} late), {lit(preview.never)} never"
            f" · in this window: {lit(preview.handed_in_shown)} hand-ins, {lit(preview.log.ticks)} ticks, "
            f"{preview.sent.count} messages",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print(
            f"[bold]{lit(preview.title)}[/] simulated {fmt(preview.start, tz)} → {fmt(preview.end, tz)}",
            highlight=False,
        )
        console.print(
            f"{lit(preview.assignments)} assignments · synthetic units: {lit(preview.planned_submissions)} submit "
            f"({lit(preview.planned_late)} late), {lit(preview.never)} never · "
            f"{lit(preview.log.ticks)} ticks, {preview.sent.count} messages",
            highlight=False,
        )
    table = Table(title="messages that would go out")
    for column in ("when", "kind", "count", "to"):
        table.add_column(column)
    display = preview.campaign.display if preview.campaign is not None else str
    for (at, kind), (count, first) in sorted(preview.sent.groups.items()):
        names = "、".join(display(code) for code in first) + (" …" if count > 4 else "")
        table.add_row(fmt(datetime.fromisoformat(at), tz), KIND_CN.get(kind, kind), str(count), lit(names))
    console.print(table)
    counts = preview.by_kind()
    console.print(
        "by kind: " + ", ".join(f"{lit(KIND_CN.get(k, k))} {lit(v)}" for k, v in counts.most_common()), highlight=False
    )
    from duban.cli.rollup import print_preview_rollups

    print_preview_rollups(console, preview)
    for name, why in getattr(preview, "never_opened", []):
        console.print(f"[yellow]never opened[/] {lit(name)}: {lit(why)}", highlight=False, soft_wrap=True)
    _print_preview_outcomes(console, preview)
    for line in preview.inspections:  # scored by a seeded draw, so `when: failed` outcomes show
        console.print(f"synthetic inspection: {lit(line)}", highlight=False, soft_wrap=True)
    if unit:
        mine = [envelope for envelope in preview.messages if envelope.recipient == unit]
        for envelope in mine:
            console.print(
                f"\n[bold]{fmt(datetime.fromisoformat(envelope.at), tz)}[/] {lit(envelope.rendered.subject)}",
                highlight=False,
            )
            console.print(envelope.rendered.text, highlight=False, markup=False)
        if not mine:
            who = preview.campaign.display(unit) if preview.campaign else unit
            console.print(
                f"\nno messages to {lit(who)} ({lit(unit)}) in this run",
                highlight=False,
                soft_wrap=True,
            )


def _print_preview_outcomes(console: Console, preview, shown: int = 20) -> None:
    """The outcomes (约谈, 通报批评, 重新开展) the run decided: counted by the notice's words, then the first few."""
    found = [row for row in getattr(preview, "outcomes", []) if preview.in_window(row.decided_at)]
    if not found:
        return
    tz, campaign = preview.tz, preview.campaign
    names = {item.id: item.name for _stage, item in campaign.spec.items()} if campaign else {}
    counts = Counter(row.words for row in found)
    console.print(
        "outcomes decided (处理): " + ", ".join(f"{lit(words)} {lit(n)}" for words, n in counts.items()),
        highlight=False,
        soft_wrap=True,
    )
    for row in found[:shown]:
        owed = f"，限 {fmt(row.due_at, tz)}" if row.due_at else ""
        who = campaign.display(row.unit_code) if campaign else row.unit_code
        console.print(
            f"  {fmt(row.decided_at, tz)}  {lit(who)} {lit(names.get(row.item_id, row.item_id))} — {lit(row.words)}"
            f"{owed}",
            highlight=False,
            soft_wrap=True,
        )
    if len(found) > shown:
        console.print(f"  … {len(found) - shown} more (`duban outcomes` lists them once the campaign runs)")


def print_demo(console: Console, result, settings) -> None:
    report = result.status
    campaign = report.campaign
    tz = campaign.tz
    console.print(
        f"\n[bold green]demo finished[/] in {result.seconds:.0f} s: {lit(result.log.ticks)} tick runs, "
        f"{lit(result.log.dispatches)} dispatch runs, {lit(result.log.submissions)} synthetic submissions",
        highlight=False,
    )
    console.print(
        "messages by kind: "
        + ", ".join(f"{lit(KIND_CN.get(k, k))} {lit(v)}" for k, v in result.sent_by_kind.most_common()),
        highlight=False,
    )
    console.print(f"\n[bold]late or missing by stage[/] (as of {fmt(report.as_of, tz)})", highlight=False)
    missing: dict[str, list[str]] = defaultdict(list)
    for code, stage_id, _item, _due in report.overdue:
        name = campaign.display(code)
        if name not in missing[stage_id]:
            missing[stage_id].append(name)
    for stage in campaign.spec.stages:
        states = report.by_stage.get(stage.id, Counter())
        names = missing.get(stage.id, [])
        shown = "、".join(names[:8]) + (f" 等{len(names)}个单位" if len(names) > 8 else "")
        console.print(
            f"  {lit(stage.name)}: 按时 {lit(states[State.submitted])} · 逾期报送 {lit(states[State.late])} · "
            f"逾期未报 {lit(states[State.overdue])}" + (f" — {lit(shown)}" if names else ""),
            highlight=False,
        )
    for sample in result.samples:
        members = sample.members or []
        by_level = Counter(campaign.units[c].level for c in members if c in campaign.units)
        drawn = "、".join(campaign.units[c].display if c in campaign.units else c for c in members[:10])
        more = f" 等{len(members)}个" if len(members) > 10 else ""
        console.print(
            f"[bold]{lit(sample.name)}[/] (seed {lit(sample.seed)}): "
            + "、".join(f"{lit(_level_cn(lv))} {n}" for lv, n in by_level.items())
            + f" — {lit(drawn)}{lit(more)}",
            highlight=False,
        )
    if result.loop:
        console.print("\n[bold]督办 loop[/] (签收, 延期申请, 审核与退回, once each)", highlight=False)
        for line in result.loop:
            console.print(f"  {lit(line)}", highlight=False)
    spec = result.spec_path.relative_to(result.spec_path.parent.parent)
    console.print(
        f"\nmessages: {lit(result.sink)}\ndatabase: {lit(settings.resolved_database_url)}\n"
        f'next: uv run duban status {lit(spec)} --as-of "{lit(fmt_arg(report.as_of, tz))}" --only red',
        highlight=False,
        soft_wrap=True,
    )


def print_units(console: Console, registry, *, depth: int) -> None:
    roots = [u for u in registry if u.parent is None or u.parent not in registry]
    counts = registry.counts_by_level()
    console.print("  ".join(f"{level.cn} {lit(counts[level])}" for level in Level if level in counts), highlight=False)

    def walk(unit, level: int) -> None:
        console.print(
            f"{lit('  ' * level)}{lit(unit.code)} {lit(unit.display)} ({unit.level.cn}, {lit(unit.kind)})",
            highlight=False,
        )
        if level < depth:
            for child in registry.children(unit.code):
                walk(child, level + 1)

    for root in roots:
        walk(root, 0)
