"""Inspection samples (抽查样本): seeded, recorded, reproducible.

The same seed over the same registry always draws the same units; the draw is stored with its seed so an
auditor can redraw it (`duban sample show`). Units are drawn from candidates sorted by code, strata in the
order of their values, so registry order cannot change a draw. Each rule says in words how its number came
about ("10% of 118 = 11.8 → 12, rounded up") and where it could not be met in full.

A rule that contradicts itself or the registry (more units asked than exist, designated units outside the
units drawn from, floors per parent above the total) is a `SampleRuleError` naming the rule's key.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from duban.domain.sampling.rules import DrawResult, SampleRuleError, how_many, name
from duban.domain.sampling.strata import stratified
from duban.domain.select import Resolver
from duban.domain.units import Registry
from duban.spec.models import Draw, Sample

__all__ = ["Decision", "DrawResult", "SampleResult", "SampleRuleError", "draw_sample", "open_words", "rule_path"]


@dataclass(frozen=True)
class Decision:
    """What an open sample (抽取部分, 由上级指定) is given when it is drawn: the operator's number, the named units."""

    count: int | None = None
    named: tuple[str, ...] = ()


def open_words(sample: Sample) -> str:
    """What an open sample waits for, in words: '数量由督办人员抽取时确定；每个上级单位指定1个，其余随机抽取'."""
    parts = []
    for rule in sample.draws:
        if rule.at_draw:
            parts.append("数量由督办人员抽取时确定")
        if rule.named_by_parent:
            parts.append(
                f"每个上级单位指定{rule.named_by_parent}个" + ("，其余随机抽取" if rule.count or rule.at_draw else "")
            )
    return "；".join(parts)


@dataclass
class SampleResult:
    """One drawn sample: who, with which seed, and where a rule could not be met in full."""

    sample_id: str
    name: str
    seed: int
    draws: list[DrawResult]
    hidden: bool = False

    @property
    def members(self) -> list[str]:
        seen: dict[str, None] = {}
        for draw in self.draws:
            for code in draw.members:
                seen.setdefault(code)
        return list(seen)

    @property
    def notes(self) -> list[str]:
        return [note for draw in self.draws for note in draw.notes]


def draw_sample(
    sample: Sample, resolver: Resolver, registry: Registry, decision: Decision | None = None
) -> SampleResult:
    """Draw every rule of `sample` with one generator seeded by `sample.seed`; an open rule takes `decision`."""
    rng = random.Random(sample.seed)
    results = []
    for index, rule in enumerate(sample.draws):
        try:
            if rule.at_draw or rule.named_by_parent:
                rule = _decided(rule, decision or Decision(), resolver, registry)
            results.append(_draw(rule, rng, resolver, registry))
        except SampleRuleError as exc:
            raise SampleRuleError(
                f"sample {sample.id!r} draw {index + 1}: {exc}", ("draws", index, *exc.subpath)
            ) from None
    return SampleResult(sample_id=sample.id, name=sample.name, seed=sample.seed, draws=results, hidden=sample.hidden)


def naming_problem(rule: Draw, base: list[str], registry: Registry, count: int | None = None) -> str | None:
    """Why the parents cannot name `named_by_parent` units each within the rule (None when they can): a parent
    with fewer units, or more named units in all than the count drawn."""
    if not rule.named_by_parent:
        return None
    parents: dict[str, int] = {}
    for code in base:
        parent = registry.get(code).parent or ""
        parents[parent] = parents.get(parent, 0) + 1
    each = rule.named_by_parent
    few = [f"{name(registry, p)} {n}" for p, n in sorted(parents.items()) if n < each]
    if few:
        return (
            f"named_by_parent: {each} asks each parent for {each} of its units, and some have fewer: {'、'.join(few)}"
        )
    count = count if count is not None else rule.count
    if count is not None and each * len(parents) > count:
        return (
            f"named_by_parent: {each} × {len(parents)} parent(s) = {each * len(parents)} named units, more than "
            f"the count {count} drawn in all: the sample could never be drawn; lower one of the two"
        )
    return None


def _decided(rule: Draw, decision: Decision, resolver: Resolver, registry: Registry) -> Draw:
    """An open rule with what was decided at draw time: the number, and the units each parent named (指定)."""
    from duban.spec.models import Selector

    update: dict = {"at_draw": False, "named_by_parent": None}
    if rule.at_draw:
        if decision.count is None or decision.count < 1:
            raise SampleRuleError(
                "the number is decided when drawing (抽取部分): give it (`duban sample draw --count N`)", ("count",)
            )
        update["count"] = decision.count
    if rule.named_by_parent:
        problem = naming_problem(rule, list(resolver.resolve(rule.from_)), registry, update.get("count"))
        if problem:
            raise SampleRuleError(problem, ("named_by_parent",))
        base = set(resolver.resolve(rule.from_))
        named = list(dict.fromkeys(registry.find(code).code for code in decision.named))
        outside = [code for code in named if code not in base]
        if outside:
            raise SampleRuleError(
                f"{name(registry, outside[0])} is not among the units drawn from", ("named_by_parent",)
            )
        parents: dict[str, list[str]] = {}
        for code in sorted(base):
            parents.setdefault(registry.get(code).parent or "", [])
        for code in named:
            parents.setdefault(registry.get(code).parent or "", []).append(code)
        wrong = [(p, got) for p, got in sorted(parents.items()) if len(got) != rule.named_by_parent]
        if wrong:
            missing = [name(registry, p) for p, got in wrong if not got]
            other = [f"{name(registry, p)} named {len(got)}" for p, got in wrong if got]
            listed = "; ".join(
                ([f"still to name: {'、'.join(missing)}"] if missing else []) + (["、".join(other)] if other else [])
            )
            raise SampleRuleError(
                f"each parent names {rule.named_by_parent} of its units (由上级指定), {len(wrong)} of {len(parents)} "
                f"have not: {listed} (`--named CODE` for each, or the parents' portal pages)",
                ("named_by_parent",),
            )
        designated = [rule.designated] if rule.designated is not None else []
        update["designated"] = Selector(any_of=[*designated, Selector(units=named)])
    return rule.model_copy(update=update)


def _draw(rule: Draw, rng: random.Random, resolver: Resolver, registry: Registry) -> DrawResult:
    base = sorted(resolver.resolve(rule.from_))
    designated = sorted(resolver.resolve(rule.designated)) if rule.designated is not None else []
    outside = sorted(set(designated) - set(base))
    if outside:
        names = "、".join(name(registry, c) for c in outside[:5])
        raise SampleRuleError(
            f"designated units {names} are not among the {len(base)} units it draws from", ("designated",)
        )
    if rule.min_per_parent is not None:
        result = _per_parent(rule, base, designated, rng, registry)
    elif rule.strata:
        result = stratified(rule, base, designated, rng, registry)
    else:
        result = _whole(rule, base, designated, rng, registry)
    result.base, result.designated = len(base), designated
    return result


def _whole(rule: Draw, base: list[str], designated: list[str], rng: random.Random, registry: Registry) -> DrawResult:
    if rule.count is None and rule.percent is None:
        return DrawResult(rule=f"{len(designated)} designated", members=designated)
    wanted, words, notes = how_many(rule, len(base), rng)
    if rule.count is not None and wanted > len(base):
        nested = " (a sub-sample cannot be larger than the sample it is drawn from)" if rule.from_.sample else ""
        raise SampleRuleError(f"asks for {wanted} units but only {len(base)} match its `from:`{nested}", ("count",))
    if len(designated) > wanted:
        raise SampleRuleError(f"designates {len(designated)} units, more than the {wanted} it draws", ("designated",))
    rest = [code for code in base if code not in set(designated)]
    members = sorted([*designated, *rng.sample(rest, wanted - len(designated))])
    if designated:
        words += f", {len(designated)} designated + {wanted - len(designated)} at random"
    return DrawResult(rule=words, members=members, notes=notes)


def _per_parent(
    rule: Draw, base: list[str], designated: list[str], rng: random.Random, registry: Registry
) -> DrawResult:
    assert rule.min_per_parent is not None
    groups: dict[str, list[str]] = {}
    for code in base:
        groups.setdefault(_parent_key(code, rule, registry), []).append(code)
    floor = sum(min(rule.min_per_parent, len(pool)) for pool in groups.values())
    if rule.count is not None and floor > rule.count:
        raise SampleRuleError(
            f"at least {rule.min_per_parent} under each of {len(groups)} parents makes {floor} units, "
            f"more than the count {rule.count}: the rules contradict each other",
            ("count",),
        )
    chosen = set(designated)
    members: list[str] = list(designated)
    short: dict[str, int] = {}
    for parent in sorted(groups):
        pool = groups[parent]
        have = sum(1 for code in pool if code in chosen)
        if len(pool) < rule.min_per_parent:
            short[parent] = len(pool)
        take = max(0, min(rule.min_per_parent, len(pool)) - have)
        picked = sorted(rng.sample([c for c in pool if c not in chosen], take))
        members.extend(picked)
        chosen.update(picked)
    words = f"at least {rule.min_per_parent} per parent"
    if rule.count is not None:
        rest = [code for code in base if code not in chosen]
        extra = max(0, rule.count - len(chosen))
        if extra > len(rest):
            raise SampleRuleError(f"asks for {rule.count} units but only {len(base)} match its `from:`", ("count",))
        members.extend(sorted(rng.sample(rest, extra)))
        words = f"{rule.count} of {len(base)}, " + words
    notes = [
        f"{name(registry, p)} has only {had} unit(s), fewer than {rule.min_per_parent}: all are drawn"
        for p, had in sorted(short.items())
    ]
    return DrawResult(rule=words, members=sorted(members), short=short, notes=notes)


def _parent_key(code: str, rule: Draw, registry: Registry) -> str:
    if rule.per is None:
        return registry.get(code).parent or ""
    for ancestor in registry.ancestors(code):
        if ancestor.level is rule.per:
            return ancestor.code
    return ""


def rule_path(data: object, index: int, subpath: tuple) -> tuple:
    """The YAML path of a rule's key in `samples[index]`; a sample written inline has no `draws:` list."""
    sample = data.get("samples", [])[index] if isinstance(data, dict) else None
    if subpath[:1] == ("draws",) and isinstance(sample, dict) and "draws" not in sample:
        subpath = subpath[2:]
    return ("samples", index, *subpath)
