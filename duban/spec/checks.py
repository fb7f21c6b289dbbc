"""What a careful clerk would catch in a spec that is valid: warnings, not errors.

A due on a holiday or weekend, a due outside its stage, a window that ends before it starts, a sample rule
that cannot be met in full, a selector that picks no unit, working days counted in a year without calendar
data. `duban validate` prints them; `--strict` makes them errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from duban.domain.calendar import WorkCalendar
from duban.domain.forwarding import order_warnings
from duban.domain.hidden_samples import unhidden_subsamples
from duban.domain.plan import Plan, build_plan
from duban.domain.sampling.draw import rule_path
from duban.domain.timeline import LenientCalendar
from duban.instants import fmt, fmt_date
from duban.spec.load import LoadedSpec
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
    warnings = clerk_warnings(spec, plan, lenient)
    for year in sorted(lenient.gaps):
        warnings.append(_warn(spec, (), (
            f"working days in {year} were counted Monday–Friday because no calendar covers {year}; "
            f"`duban plan` will refuse until {year}'s schedule (节假日安排) is added to "
            f"{calendar.overrides_file or Path(spec.folder) / 'calendar' / 'overrides.yaml'}"
        )))  # fmt: skip
    return plan, warnings


def _warn(spec: LoadedSpec, path: PathKey, message: str) -> SpecWarning:
    return SpecWarning(spec.source.file, spec.source.line_of(path), dotted(path), message)


def clerk_warnings(spec: LoadedSpec, plan: Plan, calendar: WorkCalendar) -> list[SpecWarning]:
    campaign = spec.campaign
    tz = campaign.timezone
    found: list[SpecWarning] = []
    counts: dict[tuple[str, str], int] = {}
    for a in plan.assignments:
        counts[(a.stage_id, a.item_id)] = counts.get((a.stage_id, a.item_id), 0) + 1
    for s_index, stage in enumerate(campaign.stages):
        window = plan.stage_windows.get(stage.id)
        if window and window[1] < window[0]:
            found.append(_warn(spec, ("stages", s_index, "window", "end"),
                               f"the window ends ({fmt(window[1], tz)}) before it starts ({fmt(window[0], tz)})"))  # fmt: skip
        for i_index, item in enumerate(stage.items):
            path: PathKey = ("stages", s_index, "items", i_index)
            if not counts.get((stage.id, item.id)):
                found.append(_warn(spec, (*path, "units"), f"item {item.id!r} selects no unit"))
            if item.submit_to is not None and plan.submit_to.get(item.id) is None:
                found.append(_warn(spec, (*path, "submit_to"), (
                    f"submit_to {item.submit_to!r} is not one unit of the registry; messages show it as written"
                )))  # fmt: skip
            if item.every is not None:
                dues = sorted({a.due_at for a in plan.assignments if a.item_id == item.id})
                for due in dues:
                    found.extend(_day_off(spec, (*path, "every"), item.id, due, calendar, tz))
                continue
            due = plan.item_dues.get(item.id)
            if due is None:
                continue
            due_path = (*path, "due") if item.due is not None else ("stages", s_index, "window", "end")
            found.extend(_day_off(spec, due_path, item.id, due, calendar, tz))
            if window and not (window[0] <= due <= window[1]):
                found.append(_warn(spec, due_path, (
                    f"item {item.id!r} is due {fmt(due, tz)}, outside its stage "
                    f"{stage.name} ({fmt(window[0], tz)} — {fmt(window[1], tz)})"
                )))  # fmt: skip
    for s_index, sample in enumerate(campaign.samples):
        result = plan.samples.get(sample.id)
        for d_index, draw in enumerate(result.draws if result else []):
            where = rule_path(spec.source.data, s_index, ("draws", d_index))
            for note in draw.notes:  # where a rule could not be met in full
                found.append(_warn(spec, where, f"sample {sample.id!r}: {note}"))
    for s_index, message in unhidden_subsamples(campaign):
        found.append(_warn(spec, ("samples", s_index, "hidden"), message))
    found.extend(_warn(spec, path, message) for path, message in order_warnings(plan))
    window = campaign.window
    if window is not None:
        from duban.domain.timeline import Timeline

        line = Timeline(campaign, calendar)
        first, last = line.campaign_edge("start"), line.campaign_edge("end")
        for index, (event_id, name, at) in enumerate(plan.events):
            if not (first.date() <= at.date() <= last.date()):
                found.append(_warn(spec, ("events", index, "at"),
                                   f"event {name} ({fmt_date(at.date())}) lies outside the campaign window"))  # fmt: skip
    return _merge(found)


def _merge(found: list[SpecWarning]) -> list[SpecWarning]:
    """One warning per place and wording: items sharing a stage's due are listed together."""
    merged: dict[tuple, list[str]] = {}
    for w in found:
        merged.setdefault((w.file, w.line, w.path, w.message.split(" is due ", 1)[-1]), []).append(w.message)
    result = []
    for (file, line, path, tail), messages in merged.items():
        if len(messages) == 1 or " is due " not in messages[0]:
            result.extend(SpecWarning(file, line, path, m) for m in messages)
            continue
        names = ", ".join(m.split(" is due ", 1)[0].removeprefix("item ") for m in messages)
        result.append(SpecWarning(file, line, path, f"items {names} are due {tail}"))
    return result


def _day_off(spec: LoadedSpec, path: PathKey, item_id: str, due, calendar: WorkCalendar, tz: str):
    day = due.in_timezone(tz).date() if hasattr(due, "in_timezone") else due.date()
    if calendar.is_working_day(day):
        return []
    holiday = calendar.holiday_name(day)
    what = f"the statutory holiday {holiday}" if holiday else "a weekend day"
    return [_warn(spec, path, (
        f"item {item_id!r} is due {fmt(due, tz)}, on {what}; if units may hand in on the next working day "
        "write `postpone: holidays_and_weekends` (顺延), or move the due"
    ))]  # fmt: skip
