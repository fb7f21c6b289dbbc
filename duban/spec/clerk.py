"""More of what a careful clerk catches in a spec that plans: warnings about how its dates sit together.

- the campaign's window opens before its first stage, or a stage runs outside the window;
- a forwarding notice (转发) dated after the window opened, or after a key day it speaks of;
- a stage (or an item's `opens:`) opening on a statutory holiday or a weekend: its 开始办理 messages go out that day;
- reminders (提醒) falling on days off, where no `postpone:` moves them;
- a recurring report and a one-off report due the same day from the same units;
- an escalation "after N working days" fires as the N-th working day begins: say exactly when.

Each is (YAML path, message); `duban.spec.checks` places them at their lines.
"""

from __future__ import annotations

from datetime import date, timedelta

from pendulum import DateTime

from duban.domain.calendar import Postpone, WorkCalendar
from duban.domain.plan import Plan, one_body
from duban.domain.timeline import Timeline
from duban.instants import fmt, fmt_date
from duban.spec.clerk_reach import escalations_past_the_rollup, feeders_no_rollup_reaches, rollups_due_before_feeders
from duban.spec.source import PathKey
from duban.spec.terms import Offset, OffsetUnit

Found = list[tuple[PathKey, str]]


def clerk_notes(plan: Plan, calendar: WorkCalendar) -> Found:
    """Every warning of this module, in the spec's order."""
    timeline = Timeline(plan.campaign, calendar)
    return [
        *window_and_stages(plan, timeline),
        *late_forwarding(plan, timeline),
        *openings_on_days_off(plan, calendar),
        *reminders_on_days_off(plan, calendar),
        *same_day_dues(plan),
        *escalation_instants(plan),
        *escalations_to_nobody(plan),
        *escalations_past_the_rollup(plan, _escalation_places(plan)),
        *feeders_no_rollup_reaches(plan),
        *rollups_due_before_feeders(plan),
        *plan.registry.notes,
        *names_alike(plan),
        *bare_place_names(plan),
        *special_regions(plan),
    ]


SPECIAL_REGIONS = ("810000", "820000")  # 香港、澳门特别行政区: in the Ministry's divisions, outside a mainland line


def special_regions(plan: Plan) -> Found:
    """A campaign of the mainland's lines tasking 香港 or 澳门 (a `level: province` group takes them with the
    provinces): its messages would go to a 香港特别行政区住房和城乡建设厅 that does not exist."""
    tasked = {a.unit_code.partition("@")[0] for a in plan.assignments}
    found = [code for code in SPECIAL_REGIONS if code in tasked]
    if not found:
        return []
    shown = "、".join(f"{code} {plan.registry.units[code].display}" for code in found if code in plan.registry.units)
    units = ", ".join(f"'{code}'" for code in found)
    return [
        (
            ("registry",),
            f"the campaign tasks {shown or ', '.join(found)}: the special administrative regions have no body in a "
            f"mainland department's line; leave them out (a group's `exclude: {{units: [{units}]}}`) unless the "
            "notice names them",
        )
    ]


_BODY_LEVELS = ("nation", "province", "prefecture", "county", "township")  # a 村 or 普查小区 is addressed by its name


def bare_place_names(plan: Plan) -> Found:
    """Division units the campaign tasks that their line names no body for (a 民政 line with only `county:`, its
    townships tasked): messages would begin "乐平镇：", not with a body's name."""
    tasked = {a.unit_code for a in plan.assignments}
    bare: dict[tuple[str, str], list[str]] = {}
    for code in sorted(tasked):
        unit = plan.registry.units.get(code)
        if (
            unit is not None
            and unit.kind == "division"
            and unit.level.value in _BODY_LEVELS
            and unit.display == unit.name
        ):
            bare.setdefault((unit.line, unit.level.value), []).append(unit.name)
    return [
        (
            ("registry",),
            f"{len(names)} unit(s) at level {level} are addressed by their place name ({'、'.join(names[:3])}"
            f"{' …' if len(names) > 3 else ''}): line {line} names no body at that level; add one under the "
            "overlay's lines: (e.g. {name}人民政府) or give them titles (patch:)",
        )
        for (line, level), names in bare.items()
    ]


def names_alike(plan: Plan) -> Found:
    """Units the campaign tasks that messages address by one name (阳泉's and 晋城's 城区住房和城乡建设局): a message
    beginning "城区住房和城乡建设局：" could be either's. One warning, a few examples, the way out."""
    tasked = {a.unit_code for a in plan.assignments}
    by_name: dict[str, list[str]] = {}
    for code in sorted(tasked):
        unit = plan.registry.units.get(code)
        if unit is not None and unit.kind == "division":
            by_name.setdefault(unit.display, []).append(code)
    shared = {name: codes for name, codes in by_name.items() if len(codes) > 1}
    if not shared:
        return []
    examples = "; ".join(f"{name}: {', '.join(codes[:3])}" for name, codes in list(shared.items())[:3])
    more = f" and {len(shared) - 3} more" if len(shared) > 3 else ""
    name, codes = next(iter(shared.items()))  # the way out written with the units in question, titled from parents
    patch = ", ".join(f'"{code}": {{title: {_parent_name(plan, code)}{name}}}' for code in codes[:2])
    return [
        (
            ("registry",),
            f"{len(shared)} name(s) address several units this campaign tasks ({examples}{more}): messages begin with "
            "the name, so staff cannot tell whose it is; give them their full titles in the overlay "
            f"(patch: {{{patch}}})",
        )
    ]


def _parent_name(plan: Plan, code: str) -> str:
    """The name of the unit's parent (榆次区 for 北关街道), which tells apart units of one name under two parents."""
    unit = plan.registry.units.get(code)
    parent = plan.registry.units.get(unit.parent) if unit is not None and unit.parent else None
    return parent.name if parent is not None else ""


def window_and_stages(plan: Plan, timeline: Timeline) -> Found:
    """The campaign's own window (活动时间) against its stages' windows."""
    campaign, tz = plan.campaign, plan.campaign.timezone
    if campaign.window is None:
        return []
    start, end = timeline.campaign_edge("start"), timeline.campaign_edge("end")
    own = [
        (index, stage)
        for index, stage in enumerate(campaign.stages)
        if stage.window is not None and stage.id in plan.stage_windows
    ]
    found: Found = []
    if own:
        index, first = min(own, key=lambda pair: plan.stage_windows[pair[1].id][0])
        opens = plan.stage_windows[first.id][0]
        days = (opens.date() - start.date()).days
        if days > 0:
            found.append(
                (
                    ("window", "start"),
                    (
                        f"the campaign's window opens {fmt(start, tz)}, {days} day(s) before its first stage "
                        f"{first.name} ({fmt(opens, tz)}): nothing opens in between; if the notice's 活动时间 starts "
                        "with that stage, start the window there"
                    ),
                )
            )
    for index, stage in own:
        s_start, s_end = plan.stage_windows[stage.id]
        if s_start < start:
            found.append(
                (
                    ("stages", index, "window", "start"),
                    (
                        f"stage {stage.name} opens {fmt(s_start, tz)}, "
                        f"before the campaign's window opens ({fmt(start, tz)})"
                    ),
                )
            )
        if s_end > end:
            found.append(
                (
                    ("stages", index, "window", "end"),
                    (
                        f"stage {stage.name} ends {fmt(s_end, tz)}, after the campaign's window closes "
                        f"({fmt(end, tz)}): one of the two dates is not the notice's"
                    ),
                )
            )
    return found


def late_forwarding(plan: Plan, timeline: Timeline) -> Found:
    """A forwarding notice dated after the window opened or after a key day: its units hear of it late."""
    campaign, tz = plan.campaign, plan.campaign.timezone
    try:
        opens = timeline.campaign_edge("start")
    except Exception:  # noqa: BLE001 - no window anywhere: planning said so already
        return []
    key_days = [
        (name, at) for (event_id, name, at), event in zip(plan.events, campaign.events) if event.kind == "key_day"
    ]
    documents = [(("forwarded_by", index, "issued_on"), doc) for index, doc in enumerate(campaign.forwarded_by)]
    found: Found = []
    for path, doc in documents:
        if doc.issued_on is None:
            continue
        who = f"{doc.issuer} {doc.doc_no or ''}".strip()
        if doc.issued_on > opens.date():
            late = (doc.issued_on - opens.date()).days
            found.append(
                (
                    path,
                    (
                        f"{who} forwarded the notice on {fmt_date(doc.issued_on)}, {late} day(s) after the window "
                        f"opened ({fmt(opens, tz)}): its units hear of the campaign late; an opening before then "
                        "reaches them through duban only"
                    ),
                )
            )
        for name, at in key_days:
            if doc.issued_on > at.date():
                found.append(
                    (
                        path,
                        f"{who} forwarded the notice on {fmt_date(doc.issued_on)}, after the key day {name} "
                        f"({fmt_date(at.date())})",
                    )
                )
    return found


def _day_off(calendar: WorkCalendar, day: date) -> str | None:
    if calendar.is_working_day(day):
        return None
    holiday = calendar.holiday_name(day)
    return f"the statutory holiday {holiday}" if holiday else "a weekend day"


def openings_on_days_off(plan: Plan, calendar: WorkCalendar) -> Found:
    """A stage (or an item's own opening) on a holiday or weekend: the 开始办理 messages go out that day."""
    campaign, tz = plan.campaign, plan.campaign.timezone
    found: Found = []
    for s_index, stage in enumerate(campaign.stages):
        window = plan.stage_windows.get(stage.id)
        if stage.window is not None and window is not None:
            what = _day_off(calendar, window[0].date())
            if what:
                after = calendar.next_working_day(window[0].date())
                found.append(
                    (
                        ("stages", s_index, "window", "start"),
                        (
                            f"stage {stage.name} opens {fmt(window[0], tz)}, on {what}: its 开始办理 messages go out "
                            f"that day; open it on the next working day ({fmt_date(after)}) unless the notice means "
                            "that day"
                        ),
                    )
                )
        if stage.follows is not None and window is not None:
            found.extend(_following_opens_on_day_off(plan, calendar, s_index, stage, window[0]))
        for i_index, item in enumerate(stage.items):
            if item.every is not None:
                found.extend(_periods_on_days_off(plan, calendar, ("stages", s_index, "items", i_index), item))
                continue
            if item.opens is None:
                continue
            opens = min((a.open_at for a in plan.assignments if a.item_id == item.id), default=None)
            what = _day_off(calendar, opens.date()) if opens is not None else None
            if what and opens is not None:
                found.append(
                    (
                        ("stages", s_index, "items", i_index, "opens"),
                        (f"item {item.id!r} opens {fmt(opens, tz)}, on {what}: its 开始办理 messages go out that day"),
                    )
                )
    return found


def reminders_on_days_off(plan: Plan, calendar: WorkCalendar) -> Found:
    """Reminders that go out on a holiday or weekend (`1 day` before a Monday's due is a Sunday): one warning at
    each place reminders are written (`defaults.reminders`, an item's own), naming each item once with its first
    few such days. Weekend ones under `postpone: holidays` are kept on purpose and not said."""
    campaign, tz = plan.campaign, plan.campaign.timezone
    moments: dict[str, set[DateTime]] = {}
    for a in plan.assignments:
        moments.setdefault(a.item_id, set()).update(a.reminders)
    places: dict[PathKey, dict[str, list[str]]] = {}  # where reminders are written → their days off → items
    for s_index, stage in enumerate(campaign.stages):
        for i_index, item in enumerate(stage.items):
            policy = item.postpone or campaign.defaults.postpone
            off = []
            for moment in sorted(moments.get(item.id, ())):
                day = moment.in_timezone(tz).date()
                holiday = calendar.holiday_name(day)
                if calendar.is_working_day(day) or policy is Postpone.holidays_and_weekends:
                    continue
                if policy is Postpone.holidays and holiday is None:
                    continue  # a weekend kept on purpose, as a due is
                off.append(f"{fmt(moment, tz)}（{holiday or '周末'}）")
            if not off:
                continue
            days = "、".join(off[:3]) + (f" and {len(off) - 3} more" if len(off) > 3 else "")
            own: PathKey = ("stages", s_index, "items", i_index, "reminders")
            place = places.setdefault(own if item.reminders is not None else _defaults_path(plan, "reminders"), {})
            place.setdefault(days, []).append(item.id)
    found: Found = []
    for path, groups in places.items():
        said = "; ".join(", ".join(repr(i) for i in items) + f" {days}" for days, items in groups.items())
        found.append(
            (
                path,
                f"reminders on days off (they go out that day): {said}. "
                "`postpone: holidays_and_weekends` (顺延) sends each on the working day before (and moves a due on a "
                "day off to the next working day); or count reminders in working days (`1 working day`)",
            )
        )
    return found


def _periods_on_days_off(plan: Plan, calendar: WorkCalendar, path: PathKey, item) -> Found:  # noqa: ANN001
    """Periods of a recurring item that open on a holiday or weekend (每月报送 opening on 元旦 or in 春节): each
    period's 开始办理 messages go out that day. One warning for the item, with the first few such openings."""
    tz = plan.campaign.timezone
    openings = sorted({a.open_at for a in plan.assignments if a.item_id == item.id})
    off = [(opens, what) for opens in openings if (what := _day_off(calendar, opens.in_timezone(tz).date()))]
    if not off:
        return []
    words = {"a weekend day": "周末"}
    shown = "、".join(
        f"{fmt(opens, tz)}（{words.get(what, what.removeprefix('the statutory holiday '))}）" for opens, what in off[:3]
    )
    more = f" and {len(off) - 3} more" if len(off) > 3 else ""
    return [
        (
            (*path, "every"),
            f"item {item.id!r}: {len(off)} of its {len(openings)} periods open on a day off ({shown}{more}); each "
            "period's 开始办理 messages go out on its first day, holiday or not",
        )
    ]


def _following_opens_on_day_off(plan: Plan, calendar: WorkCalendar, s_index: int, stage, opens: DateTime) -> Found:
    """A stage opened by `follows:` whose earliest opening falls on a day off: the same warning as a dated
    stage's, said of the earliest instant (the tick decides the actual one from the record)."""
    tz = plan.campaign.timezone
    local = opens.in_timezone(tz)
    day = local.date()
    if (local.hour, local.minute) == (23, 59):  # the end of a day (24:00): its messages go out the next day
        day = day + timedelta(days=1)
    what = _day_off(calendar, day)
    if what is None:
        return []
    names = {s.id: s.name for s in plan.campaign.stages}
    when = stage.follows.words(names)
    that_day = f"that day ({fmt_date(day)})" if day != local.date() else "that day"
    share = stage.follows.finished is not None
    return [
        (
            ("stages", s_index, "follows"),
            (
                f"stage {stage.name} opens {fmt(opens, tz)} at the earliest ({when}开启"
                + ("; later if its units finish later" if share else "")
                + f"), on {what}: its 开始办理 messages go out {that_day}; open it on the next working day "
                f"({fmt_date(calendar.next_working_day(day))}), e.g. with `offset:` in working days, unless the "
                "notice means that day"
            ),
        )
    ]


def same_day_dues(plan: Plan) -> Found:
    """A one-off report due the same day as a period of a recurring one, from the same units."""
    campaign, tz = plan.campaign, plan.campaign.timezone
    units: dict[str, set[str]] = {}
    recurring: dict[date, list[tuple[str, str]]] = {}
    for a in plan.assignments:
        units.setdefault(a.item_id, set()).add(a.unit_code)
        if a.instance:
            recurring.setdefault(a.due_at.in_timezone(tz).date(), []).append((a.item_id, a.instance))
    names = {item.id: item.name for _stage, item in campaign.items()}
    found: Found = []
    for s_index, stage in enumerate(campaign.stages):
        for i_index, item in enumerate(stage.items):
            due = plan.item_dues.get(item.id)
            written = item.due is not None or (stage.window is not None and item.due is None)
            if item.every is not None or due is None or not written:
                continue  # a due the notice did not write (the campaign's end) is not a report "due that day"
            for other, instance in dict.fromkeys(recurring.get(due.in_timezone(tz).date(), [])):
                both = units.get(item.id, set()) & units.get(other, set())
                if other == item.id or not both:
                    continue
                path = ("stages", s_index, "items", i_index, "due" if item.due is not None else "")
                found.append(
                    (
                        tuple(p for p in path if p != ""),
                        (
                            f"item {item.id!r} falls due on {fmt_date(due.date())} with {names.get(other, other)} "
                            f"[{instance}] ({len(both)} unit(s) owe both that day): if the notice means one report, "
                            "merge them or exempt that period"
                        ),
                    )
                )
    return found


def escalation_words(offset: Offset, clock) -> str:
    """'截止后第2个工作日 09:00' — when an escalation step fires, in the words a notice would use."""
    if offset.unit is OffsetUnit.working_days:
        return f"截止后第{abs(offset.amount)}个工作日 {clock:%H:%M}"
    if offset.unit is OffsetUnit.days:
        return f"截止后第{abs(offset.amount)}天 {clock:%H:%M}"
    return f"截止后{abs(offset.amount)}{'小时' if offset.unit is OffsetUnit.hours else '分钟'}"


def escalation_instants(plan: Plan) -> Found:
    """An escalation counted in working days fires as the N-th working day after the due begins: say when."""
    campaign, tz = plan.campaign, plan.campaign.timezone
    clock = campaign.defaults.remind_time
    firsts: dict[str, tuple[DateTime, DateTime]] = {}
    for a in plan.assignments:
        if a.escalations and (a.item_id not in firsts or a.due_at < firsts[a.item_id][0]):
            firsts[a.item_id] = (a.due_at, a.escalations[0][0])
    places: list[tuple[PathKey, list, str | None]] = []
    for path, steps, users in _escalation_places(plan):
        firsts_users = [i for i in users if i in firsts]
        if firsts_users:
            places.append((path, steps, firsts_users[0]))
    found: Found = []
    for path, steps, example in places:
        for step in steps[:1]:
            after = step.after
            if after.unit is not OffsetUnit.working_days or after.amount < 1 or example is None:
                continue
            due, fires = firsts[example]
            found.append(
                (
                    path,
                    (
                        _whose(plan, path)
                        + f"催办 after {after} fires at {clock:%H:%M} as the {_ordinal(after.amount)} working day "
                        f"after the due begins (e.g. {example}: due {fmt(due, tz)} → {fmt(fires, tz)}), not once "
                        f"{after} have passed; if the notice's 逾期{after}后 means the latter, write "
                        + (
                            f"`defaults: {{escalation: {{after: {after.amount + 1} working days}}}}`"
                            if _whose(plan, path)
                            else f"`{after.amount + 1} working days`"
                        )
                    ),
                )
            )
    return found


def _escalation_places(plan: Plan) -> list[tuple[PathKey, list, list[str]]]:
    """(YAML path, steps, items using them): the defaults' escalation (at the key the spec has), then items' own."""
    campaign = plan.campaign
    places: list[tuple[PathKey, list, list[str]]] = []
    users = [item.id for _s, item in campaign.items() if item.escalation is None]
    if users:
        places.append((_defaults_path(plan, "escalation"), campaign.defaults.escalation.steps, users))
    for s_index, stage in enumerate(campaign.stages):
        for i_index, item in enumerate(stage.items):
            if item.escalation is not None:
                places.append((("stages", s_index, "items", i_index, "escalation"), item.escalation.steps, [item.id]))
    return places


def _defaults_path(plan: Plan, key: str) -> PathKey:
    """`defaults.<key>` when the spec writes it; else `defaults`, else the spec's first stage (the built-in
    default applies there: a path the spec does not have would point at its first line)."""
    campaign = plan.campaign
    if "defaults" in campaign.model_fields_set:
        return ("defaults", key) if key in campaign.defaults.model_fields_set else ("defaults",)
    return ("stages", 0)


def _whose(plan: Plan, path: PathKey) -> str:
    """'duban's default ' for an escalation the spec does not write (no `defaults.escalation:`), else ''."""
    built_in = path[0] != "stages" or len(path) == 2
    return "duban's default " if built_in and "escalation" not in plan.campaign.defaults.model_fields_set else ""


def escalations_to_nobody(plan: Plan) -> Found:
    """催办 that reaches nobody: `to: [parent]` for units whose parent is not in the registry (the divisions start
    at them), with no leader or other unit to hear instead — the issuer's own unit and its offices apart (by design:
    duban.domain.plan.one_body)."""
    registry = plan.registry
    unheard: dict[tuple[str, int], set[str]] = {}
    owing: dict[str, set[str]] = {}
    for a in plan.assignments:
        owing.setdefault(a.item_id, set()).add(a.unit_code)
        for index, (_when, targets) in enumerate(a.escalations):
            if not targets:
                unheard.setdefault((a.item_id, index), set()).add(a.unit_code)
    try:
        issuer = registry.find(plan.campaign.issuer).code
    except Exception:  # noqa: BLE001 - an issuer that is not one unit of the registry (a ministry, a 办公厅)
        issuer = None
    found: Found = []
    for path, steps, items in _escalation_places(plan):
        for index, step in enumerate(steps):
            if "leader" in step.to and "to" in step.model_fields_set and not plan.campaign.leaders:
                found.append(
                    (
                        path,
                        f"催办 after {step.after} goes to leader, and the spec names no leaders (包联领导): no leader "
                        "hears it; add `leaders:` (each with the units they answer for) or leave leader out",
                    )
                )
            if "parent" not in step.to or "to" not in step.model_fields_set:  # warned where the notice says to whom
                continue
            # the issuer's own unit (衡阳市统计局 owing its roll-up) has no one above it in the campaign by design, and
            # its own offices (晋中's 设管科) are not escalated to it: the plan's rule (one_body), as `duban plan` says
            orphans = sorted(
                code
                for code in set().union(*(unheard.get((i, index), set()) for i in items))
                if code != issuer and not one_body(registry, code, registry.get(code).parent or "", issuer)
            )
            if not orphans:
                continue
            shown = "、".join(f"{code} {registry.get(code).display}" for code in orphans[:5]) + (
                f" and {len(orphans) - 5} more" if len(orphans) > 5 else ""
            )
            one = len(orphans) == 1
            found.append(
                (
                    path,
                    (
                        f"催办 after {step.after} goes to {', '.join(step.to)}, and {shown} "
                        f"{'has' if one else 'have'} no parent in the registry (the campaign's divisions start at "
                        f"{'it' if one else 'them'}) and no one else to hear: {'its' if one else 'their'} "
                        "escalations reach nobody; add the parent's division to `registry.divisions`, or name who "
                        "hears (a unit, a group, a leader)"
                    ),
                )
            )
    return found


def _ordinal(n: int) -> str:
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_SELECTOR_KEYS = {
    "units",
    "lead",
    "cooperating",
    "from",
    "designated",
    "under",
    "submit_to",
    "to",
    "ref",
    "exclude",
    "any_of",
    "unit",
}
_NOT_NAMES = {"parent", "leader", "unit", "all", "全部"}


def unit_name_problem(plan: Plan, ref: str) -> str | None:
    """Why `ref` does not name exactly one unit, in the same words under every key (None when it does)."""
    from duban.errors import RegistryError

    groups, registry = plan.campaign.groups, plan.registry
    try:
        unit = registry.find(ref)
    except RegistryError as exc:
        unit, unknown = None, str(exc)
    if ref in groups:
        from duban.domain.plan import resolve_selector

        try:
            count = len(resolve_selector(plan, groups[ref]))
        except Exception:  # noqa: BLE001 - a group that does not resolve is an error planning reported
            return None
        if unit is not None and unit.code != ref:
            return (
                f"{ref!r} is both a group ({count} unit(s)) and a unit of the registry ({unit.code} {unit.display}): "
                f"the group is meant, as under every key; to name the unit write its code ({unit.code})"
            )
        return None if count == 1 else f"{ref!r} is a group of {count} units, not one unit"
    return None if unit is not None else unknown


def name_collisions(plan: Plan, data: object) -> Found:
    """Every place a selector names something that is both a group and a unit: the same warning under every key."""
    found: Found = []

    def walk(node: object, path: PathKey, selecting: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                inside = selecting or key in _SELECTOR_KEYS or (path == ("groups",))
                walk(value, (*path, str(key)), inside and key != "submit_to")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index), selecting)
        elif selecting and isinstance(node, (str, int)) and not isinstance(node, bool):
            ref = str(node).strip()
            if ref in plan.campaign.groups and ref not in _NOT_NAMES:
                problem = unit_name_problem(plan, ref)
                if problem and " is both a group " in problem:
                    found.append((path, problem))

    walk(data, (), False)
    return found


def where_values(plan: Plan, data: object) -> Found:
    """A `where:` value no unit of the registry holds (风险等级 较髙 for 较高, or a class this year's 名录 lacks): it
    selects nobody by that value, which a clerk should see with the values the units do hold."""
    held: dict[str, dict[str, int]] = {}

    def values_of(attribute: str) -> dict[str, int]:
        if attribute not in held:
            counts: dict[str, int] = {}
            for unit in plan.registry:
                value = unit.attributes.get(attribute)
                if value is not None:
                    counts[value] = counts.get(value, 0) + 1
            held[attribute] = counts
        return held[attribute]

    found: Found = []

    def walk(node: object, path: PathKey) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "where" and isinstance(value, dict):
                    for attribute, wanted in value.items():
                        there = values_of(str(attribute))
                        for index, one in enumerate(wanted if isinstance(wanted, list) else [wanted]):
                            if str(one) in there:
                                continue
                            where = (*path, "where", str(attribute), *((index,) if isinstance(wanted, list) else ()))
                            shown = ", ".join(f"{v} {n}" for v, n in sorted(there.items(), key=lambda kv: -kv[1])[:8])
                            found.append(
                                (
                                    where,
                                    f"no unit has {attribute} {str(one)[:40]!r}: it selects nobody"
                                    + (f" (the units hold: {shown})" if shown else f" (no unit carries {attribute!r})"),
                                )
                            )
                else:
                    walk(value, (*path, str(key)))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))

    walk(data, ())
    return found
