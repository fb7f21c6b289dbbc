"""Plan (编排): expand a campaign over its units into assignments with absolute instants.

An assignment is one unit's duty on one item (one instance of a recurring item): when it opens, when it is
due, when reminders go out, and when and to whom a slip is escalated (催办). The plan is pure: it reads the
spec, the registry and the calendar, and `duban.store` keeps the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

from pendulum import DateTime
from pydantic import ValidationError

from duban.domain.calendar import WorkCalendar
from duban.errors import DubanError, PlanError, SpecError, SpecErrors
from duban.domain.forwarding import ForwardChain, chain_problems, forward_chain, forwarded_due
from duban.domain.hidden_samples import reveal_instants
from duban.domain.lines import UnknownLine
from duban.domain.overlay import build_registry
from duban.domain.recurrence import recurring_instances
from duban.domain.sampling.draw import SampleResult, SampleRuleError, draw_sample, rule_path
from duban.domain.rollup_reach import reach_problems
from duban.domain.select import Resolver, UnknownName
from duban.spec.crossrefs import rollup_problems, sheet_problems
from duban.spec.files import referenced_file
from duban.spec.load import LoadedSpec
from duban.spec.models import Campaign, Item, Selector, Stage
from duban.spec.source import PathKey
from duban.domain.timeline import Timeline
from duban.domain.units import Registry

ROLE_ORDER = ("lead", "responsible", "cooperating")


@dataclass(frozen=True, slots=True)
class PlannedAssignment:
    stage_id: str
    stage_order: int
    item_id: str
    instance: str  # '' for a one-off item, '2020Q3' for a recurring one
    unit_code: str
    role: str  # lead | responsible | cooperating
    open_at: DateTime
    due_at: DateTime
    reminders: tuple[DateTime, ...]
    escalations: tuple[tuple[DateTime, tuple[str, ...]], ...]


@dataclass
class Plan:
    """Everything `duban plan` prints and `duban.store` keeps."""

    campaign: Campaign
    registry: Registry
    assignments: list[PlannedAssignment]
    samples: dict[str, SampleResult]
    stage_windows: dict[str, tuple[DateTime, DateTime]]
    events: list[tuple[str, str, DateTime]]  # (id, name, at)
    leaders: dict[str, list[str]]  # leader id → unit codes answered for (包县区)
    item_dues: dict[str, DateTime] = field(default_factory=dict)
    submit_to: dict[str, str | None] = field(default_factory=dict)  # item id → receiving unit code (None: free text)
    report_due: DateTime | None = None
    sample_reveals: dict[str, DateTime] = field(default_factory=dict)  # hidden sample → when it may show
    chain: ForwardChain | None = None  # the upper campaign this one re-issues (转发)

    def units_in_plan(self) -> list[str]:
        return sorted({a.unit_code for a in self.assignments})


def spec_registry(spec: LoadedSpec) -> Registry:
    """The registry the spec asks for (division subtrees, their line, its overlay, its listed parties)."""
    reg = spec.campaign.registry
    overlay = None
    if reg.overlay:
        try:
            overlay = referenced_file(spec.path, reg.overlay, what="overlay")
        except ValueError as exc:
            raise spec.source.error(("registry", "overlay"), str(exc)) from None
    division_file = None
    if reg.as_of is not None:
        from duban.domain.division_sets import division_set

        division_file, problem = division_set(reg.as_of, spec.folder)
        if problem:
            raise spec.source.error(("registry", "as_of"), problem)
    try:
        registry = build_registry(reg.divisions, overlay, line=reg.line, beside=reg.beside, division_set=division_file,
                                  levels=reg.levels)  # fmt: skip
    except UnknownLine as exc:
        raise spec.source.error(("registry", "line") if exc.line_id == reg.line else
                                ("registry", "beside", reg.beside.index(exc.line_id)), str(exc)) from None  # fmt: skip
    except SpecError as exc:
        if overlay is not None and exc.file == str(overlay) and exc.line is None:  # not a file one can read
            raise spec.source.error(("registry", "overlay"), f"the overlay {reg.overlay} {exc.message}") from None
        raise
    except DubanError as exc:
        raise spec.source.error(("registry",), str(exc)) from None
    for index, unit_list in enumerate(reg.lists):
        _attach_list(spec, registry, index, unit_list)
    return registry


def _attach_list(spec: LoadedSpec, registry: Registry, index: int, unit_list) -> None:
    """Add a list's parties under the registry's divisions; a list with none there is an error at its line."""
    from duban.domain.listed import ListFileError, Mapping, attach, load_mapping, read_list

    where = ("registry", "lists", index)
    try:
        if unit_list.file is not None:
            path = referenced_file(spec.path, unit_list.file, what="list")
            mapping = Mapping()
            if unit_list.mapping is not None:
                mapping = load_mapping(referenced_file(spec.path, unit_list.mapping, what="mapping"))
            rows = read_list(path, mapping).rows
            what = unit_list.file
        else:
            from duban.domain.listed import stored_rows
            from duban.instants import at_clock

            as_of = at_clock(unit_list.as_of, time(23, 59), spec.campaign.timezone) if unit_list.as_of else None
            rows = stored_rows(unit_list.name, as_of)
            what = f"list {unit_list.name}"
    except ListFileError as exc:
        raise spec.source.error(where, str(exc)) from None
    except ValueError as exc:
        raise spec.source.error(where, str(exc)) from None
    except DubanError as exc:
        raise spec.source.error(where, str(exc)) from None
    try:
        added, outside = attach(registry, rows)
    except DubanError as exc:
        raise spec.source.error(where, str(exc)) from None
    if not added:
        raise spec.source.error(where, f"none of the {outside} units of {what} is under the registry's divisions "
                                       f"({', '.join(spec.campaign.registry.divisions) or 'none'})")  # fmt: skip


def build_plan(spec: LoadedSpec, calendar: WorkCalendar, registry: Registry | None = None) -> Plan:
    """Expand `spec` into assignments; every problem is a SpecError at its YAML path."""
    campaign = spec.campaign
    registry = registry if registry is not None else spec_registry(spec)
    timeline = Timeline(campaign, calendar)
    errors: list[SpecError] = []
    samples: dict[str, SampleResult] = {}
    sample_specs = {s.id: (index, s) for index, s in enumerate(campaign.samples)}

    drawing: list[str] = []  # samples being drawn, to name a cycle of nested samples
    failed: set[str] = set()

    def sample_members(sample_id: str) -> list[str]:
        if sample_id not in sample_specs:
            raise PlanError(f"no sample {sample_id!r} (samples: {', '.join(sample_specs) or 'none defined'})")
        if sample_id in failed:
            raise PlanError(f"sample {sample_id!r} could not be drawn (see its own error under samples)")
        if sample_id in drawing:
            raise PlanError("samples are drawn from each other in a cycle: " + " → ".join([*drawing, sample_id]))
        if sample_id not in samples:
            drawing.append(sample_id)
            try:
                samples[sample_id] = draw_sample(sample_specs[sample_id][1], resolver, registry)
            except DubanError:
                failed.add(sample_id)
                raise
            finally:
                drawing.pop()
        return samples[sample_id].members

    resolver = Resolver(registry, campaign.groups, sample_members)

    def at(path: PathKey, action):
        try:
            return action()
        except SpecError:
            raise
        except DubanError as exc:
            errors.append(spec.source.error(path, str(exc)))
            return None

    chain, problems = forward_chain(spec, calendar, timeline, build_plan)
    errors.extend(spec.source.error(path, message) for path, message in problems)
    for index, sample in enumerate(campaign.samples):
        try:
            sample_members(sample.id)
        except SpecError:
            raise
        except SampleRuleError as exc:
            errors.append(spec.source.error(rule_path(spec.source.data, index, exc.subpath), str(exc)))
        except DubanError as exc:
            errors.append(spec.source.error(("samples", index), str(exc)))
    leaders = {
        leader.id: _with_descendants(registry, at(("leaders", i, "units"), lambda l=leader: resolver.resolve(l.units)) or [])
        for i, leader in enumerate(campaign.leaders)
    }
    # A unit's escalation targets are worked out once per distinct `to:`, and equal schedules are one tuple: a
    # million listed units under 2,845 counties share a few thousand (memory, and the store encodes each once).
    leader_sets = {lid: set(codes) for lid, codes in leaders.items()}
    memo: dict[tuple, tuple[str, ...]] = {}
    schedules: dict[tuple, tuple] = {}

    def targets(unit_code: str, to: list[str]) -> tuple[str, ...]:
        # without leaders and without `unit` targets, who hears depends on the unit's parent alone
        personal = bool(leader_sets) or any(k == "unit" or k.startswith("unit:") for k in to)
        key = (unit_code if personal else registry.units[unit_code].parent, *to)
        found = memo.get(key)
        if found is None:
            found = memo[key] = _targets(registry, leader_sets, unit_code, to)
        return found

    def shared(schedule: tuple) -> tuple:
        return schedules.setdefault(schedule, schedule)

    windows: dict[str, tuple[DateTime, DateTime]] = {}
    assignments: list[PlannedAssignment] = []
    item_dues: dict[str, DateTime] = {}
    submit_to: dict[str, str | None] = {}
    for s_index, stage in enumerate(campaign.stages):
        where = ("stages", s_index)
        window = at((*where, "window"), lambda st=stage: (timeline.stage_start(st), timeline.stage_end(st)))
        if window:
            windows[stage.id] = window
        for i_index, item in enumerate(stage.items):
            item_path = (*where, "items", i_index)
            roles = at(item_path, lambda it=item: _roles(it, resolver, item_path))
            if item.submit_to is not None:
                submit_to[item.id] = _one_unit(resolver, item.submit_to)
            instances = at(item_path, lambda st=stage, it=item: _instances(timeline, st, it))
            forwarded = forwarded_due(chain, item.id, item.due is not None)
            if instances and forwarded is not None:
                instances = [(label, opens, forwarded) for label, opens, _due in instances]
            if not roles or not instances:
                continue
            for instance, open_at, due_at in instances:
                if not instance:
                    item_dues[item.id] = due_at
                reminders = at((*item_path, "reminders"), lambda it=item, o=open_at, d=due_at: timeline.reminders(it, o, d))
                steps = at((*item_path, "escalation"), lambda it=item, d=due_at: timeline.escalations(it, d)) or []
                named_at = (*item_path, "escalation", "to") if item.escalation is not None else ("defaults", "escalation", "to")
                steps = [(when, at(named_at, lambda to=to: _named(resolver, to)) or to) for when, to in steps]
                for unit_code, role in roles:
                    assignments.append(
                        PlannedAssignment(
                            stage_id=stage.id, stage_order=s_index, item_id=item.id, instance=instance,
                            unit_code=unit_code, role=role, open_at=open_at, due_at=due_at,
                            reminders=reminders or (),
                            escalations=shared(tuple(
                                (when, targets(unit_code, to)) for when, to in steps
                            )),
                        )
                    )  # fmt: skip
    events = []
    for index, event in enumerate(campaign.events):
        moment = at(("events", index, "at"), lambda e=event: timeline.instant(e.at, default_clock=time(0, 0)))
        if moment is not None:
            events.append((event.id, event.name, moment))
    report_due = None
    if campaign.report and campaign.report.due is not None:
        report_due = at(("report", "due"), lambda: timeline.due(campaign.report.due, campaign.defaults.postpone))
    reveals = _sample_reveals(spec, timeline, assignments, windows, errors)
    errors.extend(spec.source.error(path, message) for path, message in [*sheet_problems(campaign), *rollup_problems(campaign)])
    errors.extend(spec.source.error(path, message) for path, message in _reach(campaign, registry, resolver, assignments))
    errors.extend(spec.source.error(path, message) for path, message in chain_problems(campaign, chain, assignments))
    if errors:
        raise SpecErrors(list({str(e): e for e in errors}.values()))  # a default's error once, not per item
    return Plan(
        campaign=campaign, registry=registry, assignments=assignments, samples=samples,
        stage_windows=windows, events=events, leaders=leaders, item_dues=item_dues, submit_to=submit_to,
        report_due=report_due, sample_reveals=reveals, chain=chain,
    )  # fmt: skip


def _reach(campaign: Campaign, registry: Registry, resolver: Resolver, assignments: list[PlannedAssignment]):
    """Roll-ups whose unit has no feeding unit below it (see duban.domain.rollup_reach)."""
    if not campaign.rollups and campaign.forward is None:
        return []
    holders: dict[str, set[str]] = {}
    for a in assignments:
        holders.setdefault(a.item_id, set()).add(a.unit_code)

    def tally_units(rollup) -> list[str]:
        try:
            return resolver.resolve(Selector.model_validate(rollup.unit))
        except (DubanError, ValidationError):
            return []  # a unit that names nothing is reported by the roll-up's own check

    return reach_problems(campaign, registry, lambda item: holders.get(item or "", set()), tally_units)


def _sample_reveals(spec: LoadedSpec, timeline: Timeline, assignments: list[PlannedAssignment], windows: dict,
                    errors: list) -> dict:  # fmt: skip
    """When each hidden sample may show; items that would show it early are errors at their `opens:`."""
    opens: dict[str, DateTime] = {}
    for a in assignments:
        opens[a.item_id] = min(opens.get(a.item_id, a.open_at), a.open_at)
    explicit = {}
    for index, sample in enumerate(spec.campaign.samples):
        if sample.reveal is not None:
            try:
                explicit[sample.id] = timeline.instant(sample.reveal, default_clock=timeline.defaults.open_time)
            except DubanError as exc:
                errors.append(spec.source.error(("samples", index, "reveal"), str(exc)))
    starts = {stage_id: window[0] for stage_id, window in windows.items()}
    reveals, problems = reveal_instants(spec.campaign, opens, starts, explicit)
    errors.extend(spec.source.error(path, message) for path, message in problems)
    return reveals


def _roles(item: Item, resolver: Resolver, path: PathKey) -> list[tuple[str, str]]:
    """(unit, role) pairs: lead wins over responsible, responsible over cooperating."""
    chosen: dict[str, str] = {}
    for role, selector in (("lead", item.lead), ("responsible", item.units), ("cooperating", item.cooperating)):
        if selector is None:
            continue
        for code in resolver.resolve(selector):
            chosen.setdefault(code, role)
    return sorted(chosen.items(), key=lambda pair: (ROLE_ORDER.index(pair[1]), pair[0]))


def _instances(timeline: Timeline, stage: Stage, item: Item) -> list[tuple[str, DateTime, DateTime]]:
    """(instance, opens, due) for a one-off item, or one per period of a recurring one."""
    if item.every is None:
        return [("", timeline.item_opens(stage, item), timeline.item_due(stage, item))]
    return recurring_instances(timeline, stage, item)


_KEYWORDS = ("parent", "leader", "unit")


def _named(resolver: Resolver, to: list[str]) -> list[str]:
    """Escalation targets with named units (groups, codes, names) resolved to `unit:<code>` entries."""
    found: list[str] = []
    for target in to:
        if target in _KEYWORDS:
            found.append(target)
        else:
            try:
                selector = Selector.model_validate(target)
            except ValidationError:
                raise PlanError(f"{target!r} is none of parent, leader, unit, a group, a unit code or a unit name") from None
            found.extend(f"unit:{code}" for code in resolver.resolve(selector))
    return found


def _one_unit(resolver: Resolver, ref: str) -> str | None:
    """The code of the unit `ref` names (a group of one unit, a code, a name), or None for free text."""
    try:
        codes = resolver.resolve(Selector.model_validate(ref))
    except (UnknownName, DubanError, ValidationError):  # free text (or nothing): shown as written
        return None
    return codes[0] if len(codes) == 1 else None


def _with_descendants(registry: Registry, codes: list[str]) -> list[str]:
    found = dict.fromkeys(codes)
    for code in codes:
        found.update(dict.fromkeys(u.code for u in registry.descendants(code)))
    return list(found)


def _targets(registry: Registry, leaders, unit_code: str, to: list[str]) -> tuple[str, ...]:
    """Who hears about a slip: the parent unit, the leader answering for the unit (包县区), the unit itself."""
    targets: list[str] = []
    for kind in to:
        if kind == "parent":
            parent = registry.get(unit_code).parent
            if parent and parent in registry.units:
                targets.append(parent)
        elif kind == "leader":
            targets.extend(f"leader:{lid}" for lid, codes in leaders.items() if unit_code in codes)
        elif kind == "unit":
            targets.append(unit_code)
        elif kind.startswith("unit:") and kind != f"unit:{unit_code}":  # a named unit is not told of its own slip
            targets.append(kind.removeprefix("unit:"))
    return tuple(dict.fromkeys(targets))


def load_calendar_for(spec: LoadedSpec, override: Path | None = None) -> WorkCalendar:
    """The working-day calendar for a spec: the settings' file, or calendar/overrides.yaml beside the spec."""
    from duban.domain.calendar import load_calendar

    path = override if override is not None else spec.folder / "calendar" / "overrides.yaml"
    return load_calendar(path)


def first_and_last_day(plan: Plan) -> tuple[date, date]:
    days = [a.open_at.date() for a in plan.assignments] + [a.due_at.date() for a in plan.assignments]
    if not days:
        raise PlanError("the plan has no assignments")
    return min(days), max(days)


def resolve_selector(plan: Plan, selector: Selector) -> list[str]:
    """Resolve a selector against a finished plan's registry, groups and samples."""
    resolver = Resolver(plan.registry, plan.campaign.groups, lambda sid: plan.samples[sid].members)
    return resolver.resolve(selector)


def escalation_targets(plan: Plan, unit_code: str, to: list[str]) -> tuple[str, ...]:
    """Who hears when `unit_code` slips, for an escalation step's `to:` (assignments made after planning)."""
    resolver = Resolver(plan.registry, plan.campaign.groups, lambda sid: plan.samples[sid].members)
    return _targets(plan.registry, plan.leaders, unit_code, _named(resolver, to))
