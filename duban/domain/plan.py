"""Plan (编排): expand a campaign over its units into assignments with absolute instants.

An assignment is one unit's duty on one item (one instance of a recurring item): when it opens, when it is
due, when reminders go out, and when and to whom a slip is escalated (催办). The plan is pure: it reads the
spec, the registry and the calendar, and `duban.store` keeps the result.
"""

from __future__ import annotations

import gc
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from pendulum import DateTime
from pydantic import ValidationError

from duban.domain.calendar import Postpone, WorkCalendar
from duban.domain.forwarding import ForwardChain, chain_problems, forward_chain, forwarded_due
from duban.domain.hidden_samples import reveal_instants
from duban.domain.lines import UnknownLine
from duban.domain.overlay import build_registry
from duban.domain.recurrence import recurring_instances
from duban.domain.rollup_reach import reach_problems, rollups_with_paths
from duban.domain.sampling.draw import (
    Decision,
    DrawResult,
    SampleResult,
    SampleRuleError,
    draw_sample,
    naming_problem,
    open_words,
    rule_path,
)
from duban.domain.select import Consequence, Resolver, UnknownName
from duban.domain.timeline import Timeline
from duban.domain.units import Registry
from duban.errors import CalendarGapError, DubanError, PlanError, SpecError, SpecErrors
from duban.spec.crossrefs import outcome_problems, rollup_problems, sheet_problems
from duban.spec.files import confined, referenced_file
from duban.spec.load import LoadedSpec
from duban.spec.models import Campaign, Item, Selector, Stage
from duban.spec.source import PathKey, dotted

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


@dataclass(frozen=True)
class PlannedAck:
    """签收 asked of one unit for one stage ('' for the whole notice): by when, and who hears when it is missing."""

    stage_id: str
    unit_code: str
    open_at: DateTime
    due_at: DateTime
    escalate_at: DateTime
    targets: tuple[str, ...]


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
    postponed: dict[str, DateTime] = field(
        default_factory=dict
    )  # one-off item → its due as written, when 顺延 moved it
    submit_to: dict[str, str | None] = field(default_factory=dict)  # item id → receiving unit code (None: free text)
    report_due: DateTime | None = None
    sample_reveals: dict[str, DateTime] = field(default_factory=dict)  # hidden sample → when it may show
    chain: ForwardChain | None = None  # the upper campaign this one re-issues (转发)
    acknowledgements: list[PlannedAck] = field(default_factory=list)  # 签收 asked of each unit
    depending: dict[str, str] = field(default_factory=dict)  # stage id → what its opening waits for (in words)
    held: set[str] = field(default_factory=set)  # stages whose opening the tick decides from the record
    undrawn: dict[str, str] = field(default_factory=dict)  # open samples not drawn yet → what they wait for (in words)

    def units_in_plan(self) -> list[str]:
        return sorted({a.unit_code for a in self.assignments})


_QUOTED = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"|「[^」]*」|“[^”]*”")
"""What an error about the overlay quotes from it (a key, a value): shown only when it is duban's own word."""


def _vocabulary() -> frozenset[str]:
    """duban's own words an overlay error may repeat: its keys, the levels, the packaged lines."""
    from duban.domain.lines import LINES
    from duban.domain.overlay import Overlay, OverlayLine, OverlayUnit, UnitPatch
    from duban.domain.units import LEVEL_ALIASES, Level

    words = {name for model in (Overlay, OverlayLine, OverlayUnit, UnitPatch) for name in model.model_fields}
    words |= (
        {level.value for level in Level}
        | set(LEVEL_ALIASES)
        | {"municipality", "municipal_county", "provincial_county"}
        | set(LINES)
    )
    return frozenset(words)


# a key of digits with dots, slashes or hyphens (`../140724`, a code typed as a path) is shown: no secret is made
# of these alone; one with letters (a bot's key pasted as a code) stays `…`
_CODE_LIKE = re.compile(r"(?=[^0-9]*[0-9])[0-9./-]{1,64}")


def _overlay_said(error: SpecError) -> SpecError:
    """An error about the overlay as the spec's reader sees it: its line, its YAML path and the words it quotes
    when they are duban's own (the choices of a level, a key's name), with `…` for what the overlay itself says —
    a key or a value typed there, which might be anything, a secret pasted in the wrong place included — and a
    guess of the word meant where one is close (did you mean 'county'?)."""
    import difflib

    words = _vocabulary()
    guesses: list[str] = []

    def shown(match: re.Match) -> str:
        inner = match.group()[1:-1]
        if inner in words:
            return match.group()
        guesses.extend(difflib.get_close_matches(inner, sorted(words), n=1, cutoff=0.75))
        return "`…`"

    def part(key: str) -> str:
        name, _bracket, index = key.partition("[")
        return (name if name in words or _CODE_LIKE.fullmatch(name) else "…") + (f"[{index}" if _bracket else "")

    message = _QUOTED.sub(shown, error.message)
    for key in error.key or ():  # a key typed in the overlay, said bare in the words (`no unit KEY …`): as in the path
        if isinstance(key, str) and len(key) > 3 and key not in words and not _CODE_LIKE.fullmatch(key):
            message = message.replace(key, "…")
    hint = error.hint if error.hint and not _QUOTED.search(error.hint) else None
    if guesses and not hint:
        hint = f"did you mean {guesses[0]!r}?"
    path = error.path
    if error.key:  # by its keys: a key holding dots (`../140724`) is one `…`, not one per dot
        path = dotted(tuple(k if isinstance(k, int) else part(str(k)) for k in error.key))
    elif path:
        path = ".".join(part(key) for key in path.split("."))
    return SpecError(message, file=error.file, line=error.line, path=path, hint=hint)


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
        registry = build_registry(
            reg.divisions, overlay, line=reg.line, beside=reg.beside, division_set=division_file, levels=reg.levels
        )
    except UnknownLine as exc:
        raise spec.source.error(
            ("registry", "line") if exc.line_id == reg.line else ("registry", "beside", reg.beside.index(exc.line_id)),
            str(exc),
        ) from None
    except SpecError as exc:
        if overlay is not None and exc.file == str(overlay) and exc.line is None:  # not a file one can read
            raise spec.source.error(("registry", "overlay"), f"the overlay {reg.overlay} {exc.message}") from None
        if overlay is not None and getattr(exc, "errors", [exc])[0].file == str(overlay):
            errors = getattr(exc, "errors", None) or [exc]  # named by line and path, quoting words only
            raise SpecErrors([_overlay_said(e) for e in errors]) from None
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

            # the list's own `as_of:`, else as it stood when the campaign was planned (a re-plan from the record),
            # else today's
            as_of: datetime | None = spec.lists_as_of.get(unit_list.name)
            if unit_list.as_of:
                as_of = at_clock(unit_list.as_of, time(23, 59), spec.campaign.timezone)
            rows = stored_rows(unit_list.name, as_of)
            what = f"list {unit_list.name}"
    except ListFileError as exc:  # a file read while planning: nothing is stored either way
        raise spec.source.error(where, str(exc).replace(", nothing was stored:", ":", 1)) from None
    except ValueError as exc:
        raise spec.source.error(where, str(exc)) from None
    except DubanError as exc:
        raise spec.source.error(where, str(exc)) from None
    try:
        added, outside = attach(registry, rows)
    except DubanError as exc:
        raise spec.source.error(where, str(exc)) from None
    if not added:
        raise spec.source.error(
            where,
            f"none of the {outside} units of {what} is under the registry's divisions "
            f"({', '.join(spec.campaign.registry.divisions) or 'none'})",
        )
    if outside:  # a list of the whole province over one city's campaign: said, not dropped without a word
        registry.notes.append(
            (
                where,
                f"{outside:,} of the {added + outside:,} units of {what} lie outside the registry's divisions "
                f"({', '.join(spec.campaign.registry.divisions) or 'none'}) and are left out",
            )
        )


def held_stages(campaign: Campaign) -> set[str]:
    """Stages whose opening waits for the record: those waiting for units to finish, and those after them."""
    held: set[str] = set()
    for stage in campaign.stages:
        if stage.follows is not None and (stage.follows.finished is not None or stage.follows.stage in held):
            held.add(stage.id)
    return held


def build_plan(
    spec: LoadedSpec,
    calendar: WorkCalendar,
    registry: Registry | None = None,
    actual_starts: dict[str, DateTime] | None = None,
    open_draws: dict[str, Decision | list[str]] | None = None,
) -> Plan:
    """Expand `spec` into assignments; every problem is a SpecError at its YAML path. `actual_starts` gives the
    openings the record decided for stages that follow others (the earliest possible ones otherwise);
    `open_draws` what an open sample (抽取部分, 由上级指定) was given when drawn, or the members recorded then —
    without it such a sample is undrawn and the items drawing on it have no units yet."""
    campaign = spec.campaign
    registry = registry if registry is not None else spec_registry(spec)
    timeline = Timeline(campaign, calendar, actual_starts=dict(actual_starts or {}))
    errors: list[SpecError] = []
    samples: dict[str, SampleResult] = {}
    sample_specs = {s.id: (index, s) for index, s in enumerate(campaign.samples)}

    drawing: list[str] = []  # samples being drawn, to name a cycle of nested samples
    undrawn: dict[str, str] = {}  # open samples not drawn yet → what they wait for
    failed: dict[str, DubanError] = {}  # samples that could not be drawn → why (reported at the sample, once)

    def sample_members(sample_id: str) -> list[str]:
        if sample_id not in sample_specs:
            raise PlanError(f"no sample {sample_id!r} (samples: {', '.join(sample_specs) or 'none defined'})")
        if sample_id in failed:
            raise Consequence(f"sample {sample_id!r} could not be drawn (see its own error under samples)")
        if sample_id in drawing:
            raise PlanError("samples are drawn from each other in a cycle: " + " → ".join([*drawing, sample_id]))
        sample = sample_specs[sample_id][1]
        given = (open_draws or {}).get(sample_id)
        if sample.open and sample_id not in samples and not isinstance(given, Decision):
            if given is None:
                undrawn[sample_id] = open_words(sample)
            drawn = (
                [DrawResult(rule="drawn at run time (抽取部分/由上级指定)", members=list(given))]
                if given is not None
                else []
            )
            samples[sample_id] = SampleResult(sample_id, sample.name, sample.seed, drawn, hidden=sample.hidden)
        if sample_id not in samples:
            drawing.append(sample_id)
            try:
                samples[sample_id] = draw_sample(
                    sample, resolver, registry, given if isinstance(given, Decision) else None
                )
            except DubanError as exc:
                failed[sample_id] = exc
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
        except Consequence:  # of a group's or a sample's own error, said at its place
            return None
        except CalendarGapError as exc:
            errors.append(spec.source.error(path, f"{subject(campaign, path)}: {exc}"))
            return None
        except DubanError as exc:
            errors.append(spec.source.error(path, str(exc)))
            return None

    chain, problems = forward_chain(spec, calendar, timeline, build_plan)
    errors.extend(spec.source.error(path, message) for path, message in problems)
    for name, group in campaign.groups.items():  # each group at its own line, used or not, before its uses
        tried = set(failed)
        try:
            resolver.resolve(Selector(ref=name))  # by its name: an error lists the other groups, not this one
        except SpecError:
            raise
        except DubanError as exc:
            resolver.broken[name] = str(exc)
            if not isinstance(exc, Consequence) and set(failed) == tried:  # a sample's own error: said there
                errors.append(spec.source.error(("groups", name), str(exc)))
    for index, sample in enumerate(campaign.samples):
        if sample.open and not isinstance((open_draws or {}).get(sample.id), (Decision, list)):
            for d_index, rule in enumerate(sample.draws):  # left open: can it be drawn at all, once named?
                try:
                    problem = naming_problem(rule, list(resolver.resolve(rule.from_)), registry)
                except DubanError:
                    continue  # a `from:` that does not resolve is its own error
                if problem:
                    where = rule_path(spec.source.data, index, ("draws", d_index, "named_by_parent"))
                    errors.append(spec.source.error(where, problem))
        try:
            if sample.id in failed and not isinstance(failed[sample.id], Consequence):
                raise failed[sample.id]  # drawn (and failed) for a group above: its own error, here
            sample_members(sample.id)
        except SpecError:
            raise
        except Consequence:  # drawn from a group or sample whose own error is said at its place
            pass
        except SampleRuleError as exc:
            errors.append(spec.source.error(rule_path(spec.source.data, index, exc.subpath), str(exc)))
        except DubanError as exc:
            errors.append(spec.source.error(("samples", index), str(exc)))
    leaders = {
        leader.id: _with_descendants(
            registry, at(("leaders", i, "units"), lambda l=leader: resolver.resolve(l.units)) or []
        )
        for i, leader in enumerate(campaign.leaders)
    }
    # A unit's escalation targets are worked out once per distinct `to:`, and equal schedules are one tuple: a
    # million listed units under 2,845 counties share a few thousand (memory, and the store encodes each once).
    leader_sets = {lid: set(codes) for lid, codes in leaders.items()}
    memo: dict[tuple, tuple[str, ...]] = {}
    schedules: dict[tuple, tuple] = {}

    issuer = issuer_code(registry, campaign)

    def targets(unit_code: str, to: list[str]) -> tuple[str, ...]:
        # without leaders and without `unit` targets, who hears depends on the unit's parent alone — but for the
        # issuer and its own offices, who are not told of each other's slips (_one_body)
        unit = registry.units[unit_code]
        personal = (
            bool(leader_sets)
            or any(k == "unit" or k.startswith("unit:") for k in to)
            or unit_code == issuer
            or (unit.parent == issuer and unit.kind == "office")
        )
        key = (personal, unit_code if personal else unit.parent, *to)
        found = memo.get(key)
        if found is None:
            found = memo[key] = _targets(registry, leader_sets, unit_code, to, issuer)
        return found

    def shared(schedule: tuple) -> tuple:
        return schedules.setdefault(schedule, schedule)

    windows: dict[str, tuple[DateTime, DateTime]] = {}
    assignments: list[PlannedAssignment] = []
    item_dues: dict[str, DateTime] = {}
    postponed: dict[str, DateTime] = {}
    submit_to: dict[str, str | None] = {}
    expanding = []  # (stage, item, roles, instances): counted before anything is expanded
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
            instances = at(item_path, lambda st=stage, it=item: item_instances(timeline, st, it))
            forwarded = forwarded_due(chain, item.id, item.due is not None)
            if instances and forwarded is not None:
                instances = [(label, opens, forwarded) for label, opens, _due in instances]
            if roles and instances:
                expanding.append((s_index, stage, item_path, item, roles, instances))
    total = sum(len(roles) * len(instances) for *_rest, roles, instances in expanding)
    if total > MAX_ASSIGNMENTS:
        raise SpecError(
            _too_many(total, expanding),
            file=spec.source.file,
            hint=("split the notice into several specs (by year or by stage), or give recurring items fewer periods"),
        )
    targets_of = targets  # once per parent where that decides (see above)

    collecting = gc.isenabled()
    gc.disable()  # millions of new objects, none in a cycle: the cyclic collector would rescan them all, over and over
    try:
        _expand(expanding, at, timeline, resolver, targets_of, shared, item_dues, assignments, postponed)
    finally:
        if collecting:
            gc.enable()
    events = []
    for index, event in enumerate(campaign.events):
        moment = at(("events", index, "at"), lambda e=event: timeline.instant(e.at, default_clock=time(0, 0)))
        if moment is not None:
            events.append((event.id, event.name, moment))
    report_due = None
    if campaign.report and campaign.report.due is not None:
        report_due = at(("report", "due"), lambda: timeline.due(campaign.report.due, campaign.defaults.postpone))
    acks = (
        at(("acknowledge",), lambda: _acknowledgements(campaign, timeline, resolver, registry, leaders, assignments))
        or []
    )
    reveals = _sample_reveals(spec, timeline, assignments, windows, errors)
    errors.extend(
        spec.source.error(path, message)
        for path, message in [*sheet_problems(campaign), *rollup_problems(campaign), *outcome_problems(campaign)]
    )
    errors.extend(
        spec.source.error(path, message) for path, message in _reach(campaign, registry, resolver, assignments)
    )
    errors.extend(spec.source.error(path, message) for path, message in chain_problems(campaign, chain, assignments))
    if errors:
        raise SpecErrors(list({str(e): e for e in errors}.values()))  # a default's error once, not per item
    return Plan(
        campaign=campaign,
        registry=registry,
        assignments=assignments,
        samples=samples,
        stage_windows=windows,
        events=events,
        leaders=leaders,
        item_dues=item_dues,
        postponed=postponed,
        submit_to=submit_to,
        report_due=report_due,
        sample_reveals=reveals,
        chain=chain,
        acknowledgements=acks,
        depending={
            s.id: s.follows.words({x.id: x.name for x in campaign.stages}) for s in campaign.stages if s.follows
        },
        held=held_stages(campaign) - set(actual_starts or {}),
        undrawn=undrawn,
    )


def subject(campaign: Campaign, path: PathKey) -> str:
    """What a path of the spec is about, in words: "item 'a' (报表)'s reminders", "stage 's' (阶段)"."""
    parts = {
        "reminders": "'s reminders",
        "escalation": "'s escalation",
        "window": "'s window",
        "due": "'s due",
        "opens": "'s opening",
        "every": "'s periods",
    }
    tail = next((parts[str(p)] for p in path[4:5] if str(p) in parts), "") if len(path) > 4 else ""
    if len(path) >= 2 and path[0] == "stages" and isinstance(path[1], int) and path[1] < len(campaign.stages):
        stage = campaign.stages[path[1]]
        if len(path) >= 4 and path[2] == "items" and isinstance(path[3], int) and path[3] < len(stage.items):
            item = stage.items[path[3]]
            return f"item {item.id!r} ({item.name}){tail}"
        return f"stage {stage.id!r} ({stage.name})" + ("'s window" if "window" in path else "")
    if len(path) >= 2 and path[0] == "events" and isinstance(path[1], int) and path[1] < len(campaign.events):
        event = campaign.events[path[1]]
        return f"event {event.id!r} ({event.name})"
    return "the campaign"


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

    return [
        *_tally_units_named(campaign, registry, tally_units),
        *reach_problems(campaign, registry, lambda item: holders.get(item or "", set()), tally_units),
    ]


def _tally_units_named(campaign: Campaign, registry: Registry, tally_units) -> list[tuple]:  # noqa: ANN001
    """A tally's `unit:` names one unit by its code, its full name or a group of one: a typo, a group of several
    or a place name (上海市 for 上海市住房和城乡建设管理委员会) validated and then added up nothing, 已报 0/0 (an
    outside tester's finding)."""
    found = []
    for path, rollup in rollups_with_paths(campaign):
        ref = rollup.unit
        if ref is None:
            continue
        group = campaign.groups.get(ref)
        direct = (
            ref in registry
            or (group is not None and group.ref in registry)
            or any(unit.display == ref for unit in registry.units.values())
        )
        codes = tally_units(rollup)
        if len(codes) == 1 and direct:
            continue
        if len(codes) == 1:
            said = f"names 1 unit only by a place name: write its code {codes[0]} or its full name"
            said += f" {registry.units[codes[0]].display}" if codes[0] in registry.units else ""
        else:
            said = f"names {len(codes)} units; a tally is for one unit: give its code or full name"
        found.append(((*path, "unit"), f"roll-up {rollup.id!r}: unit: {ref!r} {said}"))
    return found


def _sample_reveals(
    spec: LoadedSpec, timeline: Timeline, assignments: list[PlannedAssignment], windows: dict, errors: list
) -> dict:
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


def _acknowledgements(
    campaign: Campaign,
    timeline: Timeline,
    resolver: Resolver,
    registry: Registry,
    leaders: dict[str, list[str]],
    assignments: list[PlannedAssignment],
) -> list[PlannedAck]:
    """签收 per unit of each stage that asks for it (from the unit's first opening there), and of the whole notice —
    not of the issuer's own unit, which wrote the notice (衡阳市统计局 was asked to sign its own 衡统〔2021〕40号)."""
    issuer = issuer_code(registry, campaign)
    asked = [(stage.id, stage.acknowledge) for stage in campaign.stages if stage.acknowledge is not None]
    if campaign.acknowledge is not None:
        asked.append(("", campaign.acknowledge))
    found = []
    for stage_id, rule in asked:
        opens: dict[str, DateTime] = {}
        for a in assignments:
            if stage_id in ("", a.stage_id):
                opens[a.unit_code] = min(opens.get(a.unit_code, a.open_at), a.open_at)
        to = _named(resolver, rule.to)
        for unit_code, open_at in sorted(opens.items()):
            if unit_code == issuer:
                continue
            due = _after(timeline, open_at, rule.within)
            found.append(
                PlannedAck(
                    stage_id,
                    unit_code,
                    open_at,
                    due,
                    _after(timeline, due, rule.escalate_after),
                    _targets(registry, leaders, unit_code, to, issuer),
                )
            )
    return found


def _after(timeline: Timeline, moment: DateTime, offset) -> DateTime:  # noqa: ANN001
    local = moment.in_timezone(timeline.tz)
    return timeline.shift(local, offset, time(local.hour, local.minute))


def _roles(item: Item, resolver: Resolver, path: PathKey) -> list[tuple[str, str]]:
    """(unit, role) pairs: lead wins over responsible, responsible over cooperating."""
    chosen: dict[str, str] = {}
    for role, selector in (("lead", item.lead), ("responsible", item.units), ("cooperating", item.cooperating)):
        if selector is None:
            continue
        for code in resolver.resolve(selector):
            chosen.setdefault(code, role)
    return sorted(chosen.items(), key=lambda pair: (ROLE_ORDER.index(pair[1]), pair[0]))


def item_instances(timeline: Timeline, stage: Stage, item: Item) -> list[tuple[str, DateTime, DateTime]]:
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
                raise PlanError(
                    f"{target!r} is none of parent, leader, unit, a group, a unit code or a unit name"
                ) from None
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


def _expand(
    expanding: list,
    at,
    timeline: Timeline,
    resolver: Resolver,
    targets_of,
    shared,
    item_dues: dict,
    assignments: list[PlannedAssignment],
    postponed: dict,
) -> None:
    """Every assignment of the items counted in `expanding`: one per unit and period."""
    for s_index, stage, item_path, item, roles, instances in expanding:
        for instance, open_at, due_at in instances:
            if not instance:
                item_dues[item.id] = due_at
                policy = item.postpone or timeline.defaults.postpone
                written = timeline.item_due(stage, item, as_written=True) if policy is not Postpone.none else due_at
                if written < due_at:  # 顺延 moved it later (a forward's buffer moves dues earlier: not this)
                    postponed[item.id] = written
            reminders = at((*item_path, "reminders"), lambda it=item, o=open_at, d=due_at: timeline.reminders(it, o, d))
            steps = at((*item_path, "escalation"), lambda it=item, d=due_at: timeline.escalations(it, d)) or []
            named_at = (
                (*item_path, "escalation", "to") if item.escalation is not None else ("defaults", "escalation", "to")
            )
            steps = [(when, tuple(at(named_at, lambda to=to: _named(resolver, to)) or to)) for when, to in steps]
            reminders = tuple(reminders or ())
            for unit_code, role in roles:
                assignments.append(
                    PlannedAssignment(
                        stage_id=stage.id,
                        stage_order=s_index,
                        item_id=item.id,
                        instance=instance,
                        unit_code=unit_code,
                        role=role,
                        open_at=open_at,
                        due_at=due_at,
                        reminders=reminders,
                        # a cooperating (配合) unit's slip is not escalated: 催办 is about the units that lead or
                        # answer for the item (the 住建 campaign's city 统计局 were told to 督促 their 配合 counties)
                        escalations=shared(
                            ()
                            if role == "cooperating"
                            else tuple((when, targets_of(unit_code, to)) for when, to in steps)
                        ),
                    )
                )


MAX_ASSIGNMENTS = 20_000_000
"""The most assignments one spec may expand to: 120 times the national benchmark (166,272) and 5 times a campaign of
four stages over 1,000,000 enterprises (issue 24); counted from the items' units and periods before anything is
expanded. Planning costs about 15 µs and 250 bytes an assignment, so the bound is minutes and a few GB, not hours."""


def _too_many(total: int, expanding: list) -> str:
    """The arithmetic of a plan over the bound: the items that make it up, largest first."""
    parts = sorted(
        (
            (len(roles) * len(instances), item.id, len(roles), len(instances))
            for _s, _st, _p, item, roles, instances in expanding
        ),
        reverse=True,
    )
    shown = "; ".join(f"{iid}: {units:,} units × {periods:,} period(s) = {n:,}" for n, iid, units, periods in parts[:5])
    more = f"; and {len(parts) - 5} more item(s)" if len(parts) > 5 else ""
    return (
        f"the plan would hold {total:,} assignments, more than the {MAX_ASSIGNMENTS:,} one campaign may have "
        f"({shown}{more})"
    )


def _targets(registry: Registry, leaders, unit_code: str, to: list[str], issuer: str | None = None) -> tuple[str, ...]:
    """Who hears about a slip: the parent unit, the leader answering for the unit (包县区), the unit itself (only
    when `to:` says `unit`: told again, 再次催办).

    A 催办 is about a unit to someone else: a unit named in `to:` is not told of its own slip (it has its own 逾期
    message), and neither are the issuing bureau (`issuer`) and its own offices (科室, kind office) told of each
    other's: they are one body, the one running the campaign (晋中市统计局 was told to 督促 its own 设管科, and the
    设管科, the issuer's 催办 target, of the 市统计局's item it does itself). Status, the digest and the report still
    count the slip."""
    targets: list[str] = []
    for kind in to:
        if kind == "parent":
            parent = registry.get(unit_code).parent
            if parent and parent in registry.units and not one_body(registry, unit_code, parent, issuer):
                targets.append(parent)
        elif kind == "leader":
            targets.extend(f"leader:{lid}" for lid, codes in leaders.items() if unit_code in codes)
        elif kind == "unit":
            targets.append(unit_code)
        elif kind.startswith("unit:"):
            named = kind.removeprefix("unit:")
            if named != unit_code and not one_body(registry, unit_code, named, issuer):
                targets.append(named)
    return tuple(dict.fromkeys(targets))


def one_body(registry: Registry, unit_code: str, target: str, issuer: str | None) -> bool:
    """Whether `target` and the slipping unit are the issuing bureau and one of its own offices (either way)."""
    if issuer is None or issuer not in (unit_code, target):
        return False
    other = registry.units.get(target if unit_code == issuer else unit_code)
    return other is not None and other.kind == "office" and other.parent == issuer


def issuer_code(registry: Registry, campaign: Campaign) -> str | None:
    """The issuing bureau's code in the registry, or None when the issuer is no one unit of it (a ministry, a
    办公厅 outside the registry)."""
    try:
        return registry.find(campaign.issuer).code
    except DubanError:
        return None


def load_calendar_for(spec: LoadedSpec, override: Path | None = None) -> WorkCalendar:
    """The working-day calendar for a spec: the settings' file, or calendar/overrides.yaml beside the spec."""
    from duban.domain.calendar import load_calendar

    if override is not None:
        return load_calendar(override, named=True)
    path = spec.folder / "calendar" / "overrides.yaml"
    if os.path.lexists(path):  # the settings' file is the administrator's; one beside a spec is not
        try:
            confined(spec.folder, path, what="calendar", shown="calendar/overrides.yaml")
        except ValueError as exc:
            raise SpecError(str(exc), file=str(spec.path)) from None
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
    issuer = issuer_code(plan.registry, plan.campaign)
    return _targets(plan.registry, plan.leaders, unit_code, _named(resolver, to), issuer)
