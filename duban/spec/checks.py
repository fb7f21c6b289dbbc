"""What a careful clerk would catch in a spec that is valid: warnings, not errors.

A due on a holiday or weekend, a due outside its stage, a sample rule that cannot be met in full, a selector
that picks no unit, working days counted in a year without calendar data. `duban validate` prints them;
`--strict` makes them errors. What no unit could meet is an error of the plan itself (`plan_errors`): an item
due before it opens, a stage whose window ends before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pendulum import DateTime

from duban.domain.calendar import Postpone, WorkCalendar
from duban.domain.forwarding import order_warnings
from duban.domain.hidden_samples import unhidden_subsamples
from duban.domain.plan import Plan, build_plan
from duban.domain.sampling.draw import rule_path
from duban.domain.timeline import LenientCalendar
from duban.errors import SpecError, SpecErrors
from duban.instants import fmt, fmt_date
from duban.spec.clerk import clerk_notes, name_collisions, unit_name_problem, where_values
from duban.spec.load import LoadedSpec, by_line
from duban.spec.source import PathKey, dotted


@dataclass(frozen=True)
class SpecWarning:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}: {self.message}".replace("  ", " ")


def validate(spec: LoadedSpec, calendar: WorkCalendar) -> tuple[Plan, list[SpecWarning]]:
    """Plan the spec leniently (a year without calendar data is a warning here) and collect warnings."""
    lenient = LenientCalendar(calendar)
    plan = build_plan(spec, lenient)
    early = plan_errors(spec, plan, lenient)
    if early:
        raise SpecErrors(early)
    warnings = clerk_warnings(spec, plan, lenient)
    for line, path, message in getattr(calendar, "notes", []):  # the overrides file replacing a library year
        warnings.append(SpecWarning(calendar.overrides_file or "", line, path, message))
    for year in sorted(lenient.gaps):
        items = list(dict.fromkeys(a.item_id for a in plan.assignments if _touches(a, year)))
        path = _item_path(spec, items[0]) if items else ()
        names = {item.id: item.name for _s, item in spec.campaign.items()}
        listed = "、".join(f"{names.get(i, i)}（{i}）" for i in items[:5]) + (
            f" and {len(items) - 5} more" if len(items) > 5 else ""
        )
        warnings.append(
            _warn(
                spec,
                path,
                (
                    (f"{listed}: " if items else "")
                    + f"working days in {year} were counted Monday–Friday because no calendar covers {year}; "
                    f"`duban plan` will refuse until {year}'s schedule (节假日安排) is added to "
                    f"{calendar.overrides_file or Path(spec.folder) / 'calendar' / 'overrides.yaml'}"
                ),
            )
        )
    return plan, warnings


def plan_errors(spec: LoadedSpec, plan: Plan, calendar: WorkCalendar | None = None) -> list[SpecError]:
    """What no unit could meet, each at its line: a stage or campaign window that ends before it starts, an item
    due before it opens. `duban validate` and every command that plans a spec file refuse them (`calendar`: the
    one the plan was built with, for a campaign window in working days)."""
    return by_line([*windows_backwards(spec, plan, calendar), *dues_before_opening(spec, plan)])


def windows_backwards(spec: LoadedSpec, plan: Plan, calendar: WorkCalendar | None = None) -> list[SpecError]:
    """A window that ends before it starts (`{start: 2025-04-18, end: 2025-04-01}`, a typo in a month), a
    stage's or the campaign's own (活动时间): a stage's items would be due before they open and overdue the moment
    they do; the campaign's would have every stage run outside it. An error at the end's line."""
    tz = spec.campaign.timezone
    errors: list[SpecError] = []
    if spec.campaign.window is not None:
        from duban.domain.timeline import Timeline

        line = Timeline(spec.campaign, LenientCalendar(calendar or WorkCalendar()))
        start, end = line.campaign_edge("start"), line.campaign_edge("end")
        if end < start:
            errors.append(
                spec.source.error(
                    ("window", "end"),
                    f"the campaign's window (活动时间) ends ({fmt(end, tz)}) before it starts ({fmt(start, tz)}): "
                    "check the dates (write 次年 or the next year's date for a window that runs into the next year)",
                )
            )
    for s_index, stage in enumerate(spec.campaign.stages):
        window = plan.stage_windows.get(stage.id)
        if window and window[1] < window[0]:
            errors.append(
                spec.source.error(
                    ("stages", s_index, "window", "end"),
                    f"the window of stage {stage.name} ends ({fmt(window[1], tz)}) before it starts "
                    f"({fmt(window[0], tz)}): no unit could hand in on time; check the dates (write 次年 or the "
                    "next year's date for a window that runs into the next year)",
                )
            )
    return errors


def dues_before_opening(spec: LoadedSpec, plan: Plan) -> list[SpecError]:
    """An item due before it opens (a `due: 9月29日` in a stage of 10月至次年3月): no unit could hand it in on time,
    so it is an error at the due's line, not a warning."""
    tz = spec.campaign.timezone
    opening: dict[str, DateTime] = {}
    for a in plan.assignments:
        if not a.instance and (a.item_id not in opening or a.open_at < opening[a.item_id]):
            opening[a.item_id] = a.open_at
    errors: list[SpecError] = []
    for s_index, stage in enumerate(spec.campaign.stages):
        for i_index, item in enumerate(stage.items):
            due, opens = plan.item_dues.get(item.id), opening.get(item.id)
            if item.due is None or item.every is not None or due is None or opens is None or not due < opens:
                continue
            since = "its own `opens:`" if item.opens is not None else f"the start of its stage {stage.name}"
            earliest = " at the earliest" if stage.follows is not None and item.opens is None else ""
            errors.append(
                spec.source.error(
                    ("stages", s_index, "items", i_index, "due"),
                    (
                        f"item {item.id!r} is due {fmt(due, tz)}, before it opens ({fmt(opens, tz)}{earliest}, "
                        f"{since}): no unit could hand it in on time; move the due, or give the item "
                        "`opens:` if it opens before its stage"
                    ),
                )
            )
    return errors


def _draws_on(item, sample_id: str) -> bool:
    """Does the item's units selection name the sample (anywhere in it)?"""
    text = " ".join(
        str(sel.model_dump(exclude_defaults=True)) for sel in (item.units, item.lead, item.cooperating) if sel
    )
    return f"'sample': '{sample_id}'" in text or f"'sample:{sample_id}'" in text


def _touches(a, year: int) -> bool:
    """Does an assignment count anything in `year` (its opening, due, reminders or escalations)?"""
    instants = [a.open_at, a.due_at, *a.reminders, *(t for t, _to in a.escalations)]
    return any(t.year == year for t in instants)


def _item_path(spec: LoadedSpec, item_id: str) -> PathKey:
    for s_index, stage in enumerate(spec.campaign.stages):
        for i_index, item in enumerate(stage.items):
            if item.id == item_id:
                return ("stages", s_index, "items", i_index)
    return ()


def _warn(spec: LoadedSpec, path: PathKey, message: str) -> SpecWarning:
    return SpecWarning(spec.source.file, spec.source.line_of(path), dotted(path), message)


def clerk_warnings(spec: LoadedSpec, plan: Plan, calendar: WorkCalendar) -> list[SpecWarning]:
    campaign = spec.campaign
    tz = campaign.timezone
    found: list[SpecWarning] = []
    counts: dict[tuple[str, str], int] = {}
    dues_of: dict[str, set] = {}
    for a in plan.assignments:
        counts[(a.stage_id, a.item_id)] = counts.get((a.stage_id, a.item_id), 0) + 1
        dues_of.setdefault(a.item_id, set()).add(a.due_at)  # one pass: not items × assignments
    for s_index, stage in enumerate(campaign.stages):
        window = plan.stage_windows.get(stage.id)  # one that ends before it starts is refused (plan_errors)
        for i_index, item in enumerate(stage.items):
            path: PathKey = ("stages", s_index, "items", i_index)
            waits = [sid for sid in plan.undrawn if _draws_on(item, sid)]
            if waits:
                found.append(
                    _warn(
                        spec,
                        (*path, "units"),
                        (
                            f"item {item.id!r} has no units until sample {waits[0]!r} is drawn "
                            f"({plan.undrawn[waits[0]]}): `duban sample draw SPEC --sample {waits[0]} …` assigns them"
                        ),
                    )
                )
            elif not counts.get((stage.id, item.id)):
                found.append(_warn(spec, (*path, "units"), f"item {item.id!r} selects no unit"))
            problem = unit_name_problem(plan, item.submit_to) if item.submit_to is not None else None
            if problem:  # the same words as under every other key, then what submit_to does with it
                found.append(_warn(spec, (*path, "submit_to"), f"submit_to: {problem}; messages show it as written"))
            if item.every is not None:
                dues = sorted(dues_of.get(item.id, ()))
                found.extend(_no_due_day(spec, (*path, "every"), item, plan))
                found.extend(_short_months(spec, (*path, "every"), item, plan))
                found.extend(_early_day(spec, (*path, "every"), item, plan))
                for due in dues:
                    found.extend(_day_off(spec, (*path, "every"), item, due, calendar, tz))
                if window:
                    found.extend(_periods_outside(spec, (*path, "every"), item, stage, window, plan))
                continue
            due = plan.item_dues.get(item.id)
            if due is None:
                continue
            due_path = (*path, "due") if item.due is not None else ("stages", s_index, "window", "end")
            found.extend(_day_off(spec, due_path, item, due, calendar, tz))
            outside = due_outside_stage(item.id, due, stage.name, window, tz) if window else None
            if outside:
                written = plan.postponed.get(item.id)
                if written is not None:  # 顺延 moved it there: say from where, so the clerk sees why
                    weekend = due.in_timezone(tz).weekday() >= 5  # a 顺延 lands on a working day: a 调休 one
                    outside += f"; 顺延 moved it from {fmt(written, tz)}, a day off" + (
                        " (the new day is a 调休 working day)" if weekend else ""
                    )
                found.append(_warn(spec, due_path, outside))
    for s_index, sample in enumerate(campaign.samples):
        result = plan.samples.get(sample.id)
        for d_index, draw in enumerate(result.draws if result else []):
            where = rule_path(spec.source.data, s_index, ("draws", d_index))
            for note in draw.notes:  # where a rule could not be met in full
                found.append(_warn(spec, where, f"sample {sample.id!r}: {note}"))
    for s_index, message in unhidden_subsamples(campaign):
        found.append(_warn(spec, ("samples", s_index, "hidden"), message))
    found.extend(_warn(spec, path, message) for path, message in order_warnings(plan))
    found.extend(_warn(spec, path, message) for path, message in clerk_notes(plan, calendar))
    found.extend(_warn(spec, path, message) for path, message in name_collisions(plan, spec.source.data))
    found.extend(_warn(spec, path, message) for path, message in where_values(plan, spec.source.data))
    if campaign.window is not None:
        from duban.domain.timeline import Timeline

        line = Timeline(campaign, calendar)
        first, last = line.campaign_edge("start"), line.campaign_edge("end")
        for index, (event_id, name, at) in enumerate(plan.events):
            if not (first.date() <= at.date() <= last.date()):
                found.append(
                    _warn(
                        spec,
                        ("events", index, "at"),
                        f"event {name} ({fmt_date(at.date())}) lies outside the campaign window",
                    )
                )
    found.extend(_words_before_issue(spec))
    return _merge(found)


def due_outside_stage(item_id: str, due: DateTime, stage_name: str, window: tuple, tz: str) -> str | None:
    """The warning for a one-off item due outside its stage's window (validate's, and an amendment's)."""
    if window[0] <= due <= window[1]:
        return None
    return (
        f"item {item_id!r} is due {fmt(due, tz)}, outside its stage "
        f"{stage_name} ({fmt(window[0], tz)} — {fmt(window[1], tz)})"
    )


def _periods_outside(spec: LoadedSpec, path: PathKey, item, stage, window, plan: Plan) -> list[SpecWarning]:
    """A period of a recurring item running past its stage's end is owed in full, due after the stage: the
    warning a one-off item's due outside its stage gets, once per item (a due after the period, 季后10日, is not
    this: the period itself lies in the stage)."""
    from duban.domain.periods import periods_between

    rule, tz = item.every, plan.campaign.timezone
    if rule.days:
        return []  # days of each month: only the days inside the stage are owed
    dues = {a.instance: a.due_at for a in plan.assignments if a.item_id == item.id}
    end = window[1].in_timezone(tz).date()
    past = [
        (label, first, last)
        for label, first, last in periods_between(window[0].in_timezone(tz).date(), end, rule.every)
        if last > end and label in dues
    ]
    if not past:
        return []
    label, first, last = past[0]
    return [
        _warn(
            spec,
            path,
            (
                f"item {item.id!r} is due {fmt(dues[label], tz)} for {label}, outside its stage {stage.name} "
                f"({fmt(window[0], tz)} — {fmt(window[1], tz)}): the period ({fmt_date(first)} — {fmt_date(last)}) "
                f"runs past the stage's end and is owed in full; end the stage with the period, or exempt it "
                f"(`exempt: [{label}]`)"
            ),
        )
    ]


def _short_months(spec: LoadedSpec, path: PathKey, item, plan: Plan) -> list[SpecWarning]:
    """每月31日前: a month without that day takes its last day (2/29, 4/30). Said once per item, with the months."""
    rule = item.every
    late = [day for day in rule.days if day > 28]
    if not late:
        return []
    moved = sorted(
        a.instance
        for a in {a.instance: a for a in plan.assignments if a.item_id == item.id}.values()
        if a.instance and int(a.instance[-2:]) < max(late) and int(a.instance[-2:]) >= 28
    )
    if not moved:
        return []
    shown = "、".join(m[5:] for m in moved[:6]) + (f" and {len(moved) - 6} more" if len(moved) > 6 else "")
    return [
        _warn(
            spec,
            path,
            (
                f"item {item.id!r} is due on day {'、'.join(str(d) for d in late)} of each month; a month without "
                f"that day takes its last day instead ({shown}): if the notice means another day (the next "
                "month's first, or a fixed day), write it in `periods:`"
            ),
        )
    ]


def _early_day(spec: LoadedSpec, path: PathKey, item, plan: Plan) -> list[SpecWarning]:
    """每月5日前 with one early day: each instance is due that day of the month it is named by (the first a few days
    after the stage opens). Notices that write it mostly mean last month's report by the 5th: say which was read."""
    rule = item.every
    if rule.every != "month" or len(rule.days) != 1 or rule.days[0] > 10:
        return []
    day = rule.days[0]
    tz = plan.campaign.timezone
    dues = sorted({a.due_at for a in plan.assignments if a.item_id == item.id})
    if not dues:
        return []
    shown = "、".join(fmt_date(d.in_timezone(tz).date()) for d in dues[:3]) + (" …" if len(dues) > 3 else "")
    return [
        _warn(
            spec,
            path,
            (
                f"item {item.id!r} is read as due on day {day} of each month ({shown}: {len(dues)} period(s), each "
                f"running to that day); if the notice means each month's report by day {day} of the next month "
                f"(每月{day}日前报送上月…), write `every: {{every: month, due_after_period: {day} days}}` (月后{day}日)"
            ),
        )
    ]


def _no_due_day(spec: LoadedSpec, path: PathKey, item, plan: Plan) -> list[SpecWarning]:
    """A recurring item whose notice gives no due day takes the spec-wide default: say so, with its first due."""
    rule = item.every
    if rule.days or rule.due_after_period is not None:
        return []
    tz = plan.campaign.timezone
    first = min((a for a in plan.assignments if a.item_id == item.id), key=lambda a: a.due_at, default=None)
    if first is None:
        return []
    default = spec.campaign.defaults.due_after_period
    rule_words = (
        f"{default} after each period (defaults.due_after_period)"
        if default
        else ("on the last day of each period (no defaults.due_after_period is given)")
    )
    return [
        _warn(
            spec,
            path,
            (
                f"item {item.id!r} repeats each {rule.every.replace('_', '-')} and the notice gives no due day: it "
                f"is due {rule_words}, e.g. {first.instance} due {fmt(first.due_at, tz)}; write the notice's day "
                "(季后10日, `due_after_period:`) if it gives one"
            ),
        )
    ]


def _words_before_issue(spec: LoadedSpec) -> list[SpecWarning]:
    """Dates in words that fall before the notice was issued: the spec's year is probably the wrong one."""
    from duban.spec.words import WordDate

    campaign = spec.campaign
    if campaign.year is not None or campaign.issued_on is None:
        return []
    places: list[tuple[PathKey, object]] = []
    if campaign.window is not None:
        places.append((("window", "end"), campaign.window.end))
    for s_index, stage in enumerate(campaign.stages):
        if stage.window is not None:
            places.append((("stages", s_index, "window", "end"), stage.window.end))
        for i_index, item in enumerate(stage.items):
            places.append((("stages", s_index, "items", i_index, "due"), item.due))
    found = []
    for path, said in places:
        if isinstance(said, WordDate):
            try:
                _first, last = said.span(campaign.notice_year)
            except ValueError:
                continue
            if last < campaign.issued_on:
                found.append(
                    _warn(
                        spec,
                        path,
                        (
                            f"{said} is read in {campaign.issued_on.year}, the year of issued_on, and falls on "
                            f"{fmt_date(last)}, before the notice was issued ({fmt_date(campaign.issued_on)}): "
                            f"give the year the notice speaks of (`year: {campaign.issued_on.year + 1}`)"
                        ),
                    )
                )
    return found


def _merge(found: list[SpecWarning]) -> list[SpecWarning]:
    """One warning per place and wording: items sharing a stage's due are listed together."""
    merged: dict[tuple, list[str]] = {}
    for w in found:
        merged.setdefault((w.file, w.line, w.path, w.message.split(" is due ", 1)[-1]), []).append(w.message)
    result: list[SpecWarning] = []
    for (file, line, path, tail), messages in merged.items():
        if len(messages) == 1 or " is due " not in messages[0]:
            result.extend(SpecWarning(file, line, path, m) for m in messages)
            continue
        names = ", ".join(m.split(" is due ", 1)[0].removeprefix("item ") for m in messages)
        result.append(SpecWarning(file, line, path, f"items {names} are due {tail}"))
    return result


def _day_off(spec: LoadedSpec, path: PathKey, item, due, calendar: WorkCalendar, tz: str):
    day = due.in_timezone(tz).date() if hasattr(due, "in_timezone") else due.date()
    if calendar.is_working_day(day):
        return []
    holiday = calendar.holiday_name(day)
    if holiday is None and (item.postpone or spec.campaign.defaults.postpone) is Postpone.holidays:
        return []  # `postpone: holidays` keeps weekend dues on purpose: a deliberate choice is not warned again
    what = f"the statutory holiday {holiday}" if holiday else "a weekend day"
    item_id = item.id
    return [
        _warn(
            spec,
            path,
            (
                f"item {item_id!r} is due {fmt(due, tz)}, on {what}; if units may hand in on the next working day "
                "write `postpone: holidays_and_weekends` (顺延), or move the due"
            ),
        )
    ]
