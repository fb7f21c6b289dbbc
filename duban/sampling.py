"""Inspection samples (抽查样本): seeded, recorded, reproducible.

The same seed over the same registry always draws the same units; the draw is stored with its seed so an
auditor can redraw it (`duban sample show`). Units are drawn from candidates sorted by code, strata in the
order of their values, so registry order cannot change a draw. Each rule says in words how its number came
about ("10% of 118 = 11.8 → 12, rounded up") and where it could not be met in full.

A rule that contradicts itself or the registry (more units asked than exist, designated units outside the
units drawn from, floors per parent above the total) is a `SampleRuleError` naming the rule's key.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from duban.errors import PlanError
from duban.select import Resolver
from duban.spec.models import Draw, Sample
from duban.units import LEVEL_ALIASES, Registry

NO_VALUE = "—"


class SampleRuleError(PlanError):
    """A sample rule that cannot be drawn; `subpath` is the key inside the sample (('draws', 0, 'count'))."""

    def __init__(self, message: str, subpath: tuple = ()) -> None:
        super().__init__(message)
        self.subpath = subpath


@dataclass
class DrawResult:
    """One rule drawn: its members and, in words, how many and why."""

    rule: str
    members: list[str]
    short: dict[str, int] = field(default_factory=dict)  # parent or stratum → how many it had (fewer than asked)
    base: int = 0  # how many units the rule drew from
    designated: list[str] = field(default_factory=list)
    strata: dict[str, int] = field(default_factory=dict)  # stratum value → units drawn from it
    notes: list[str] = field(default_factory=list)  # where the rule could not be met in full

    def as_record(self) -> dict:
        """What the database keeps of this rule (SampleDraw.detail)."""
        return {"rule": self.rule, "members": self.members, "short": self.short, "base": self.base,
                "designated": self.designated, "strata": self.strata, "notes": self.notes}  # fmt: skip


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


def draw_sample(sample: Sample, resolver: Resolver, registry: Registry) -> SampleResult:
    """Draw every rule of `sample` with one generator seeded by `sample.seed`."""
    rng = random.Random(sample.seed)
    results = []
    for index, rule in enumerate(sample.draws):
        try:
            results.append(_draw(rule, rng, resolver, registry))
        except SampleRuleError as exc:
            raise SampleRuleError(f"sample {sample.id!r} draw {index + 1}: {exc}", ("draws", index, *exc.subpath)) from None
    return SampleResult(sample_id=sample.id, name=sample.name, seed=sample.seed, draws=results, hidden=sample.hidden)


def _draw(rule: Draw, rng: random.Random, resolver: Resolver, registry: Registry) -> DrawResult:
    base = sorted(resolver.resolve(rule.from_))
    designated = sorted(resolver.resolve(rule.designated)) if rule.designated is not None else []
    outside = sorted(set(designated) - set(base))
    if outside:
        names = "、".join(_name(registry, c) for c in outside[:5])
        raise SampleRuleError(
            f"designated units {names} are not among the {len(base)} units it draws from", ("designated",)
        )
    if rule.min_per_parent is not None:
        result = _per_parent(rule, base, designated, rng, registry)
    elif rule.strata:
        result = _stratified(rule, base, designated, rng, registry)
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


def how_many(rule: Draw, size: int, rng: random.Random) -> tuple[int, str, list[str]]:
    """The number a count or percentage rule asks of `size` units, the arithmetic in words, and notes."""
    if rule.percent is None:
        assert rule.count is not None
        return rule.count, f"{rule.count} of {size}", []
    low, high = rule.percent
    low_n, high_n = _rounded(size * low / 100, rule.rounding), _rounded(size * high / 100, rule.rounding)
    if low == high:
        wanted, words = low_n, f"{low:g}% of {size} = {size * low / 100:g} → {low_n} ({_ROUNDING[rule.rounding]})"
    else:
        wanted = {"low": low_n, "high": high_n}[rule.take] if rule.take != "random" else rng.randint(low_n, high_n)
        words = f"{low:g}%–{high:g}% of {size} = {low_n}–{high_n} ({_ROUNDING[rule.rounding]}), {_TAKE[rule.take]} {wanted}"
    notes: list[str] = []
    if rule.min_count is not None and wanted < rule.min_count:
        if size < rule.min_count:
            notes.append(f"only {size} units, fewer than the minimum {rule.min_count}: all of them are drawn")
        wanted = min(rule.min_count, size)
        words += f", raised to the minimum {rule.min_count}" if wanted == rule.min_count else f", all {size} (fewer than {rule.min_count})"
    if rule.max_count is not None and wanted > rule.max_count:
        wanted = rule.max_count
        words += f", capped at {rule.max_count}"
    return wanted, words, notes


_ROUNDING = {"up": "rounded up", "down": "rounded down", "nearest": "rounded"}
_TAKE = {"low": "the low end:", "high": "the high end:", "random": "drawn by the seed:"}


def _rounded(value: float, rounding: str) -> int:
    value = round(value, 9)  # 118 × 10% is 11.8, not 11.800000000000001
    if rounding == "up":
        return math.ceil(value)
    if rounding == "down":
        return math.floor(value)
    return math.floor(value + 0.5)


def _per_parent(rule: Draw, base: list[str], designated: list[str], rng: random.Random, registry: Registry) -> DrawResult:
    assert rule.min_per_parent is not None
    groups: dict[str, list[str]] = {}
    for code in base:
        groups.setdefault(_parent_key(code, rule, registry), []).append(code)
    floor = sum(min(rule.min_per_parent, len(pool)) for pool in groups.values())
    if rule.count is not None and floor > rule.count:
        raise SampleRuleError(
            f"at least {rule.min_per_parent} under each of {len(groups)} parents makes {floor} units, "
            f"more than the count {rule.count}: the rules contradict each other", ("count",)
        )  # fmt: skip
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
    notes = [f"{_name(registry, p)} has only {had} unit(s), fewer than {rule.min_per_parent}: all are drawn"
             for p, had in sorted(short.items())]  # fmt: skip
    return DrawResult(rule=words, members=sorted(members), short=short, notes=notes)


def _parent_key(code: str, rule: Draw, registry: Registry) -> str:
    if rule.per is None:
        return registry.get(code).parent or ""
    for ancestor in registry.ancestors(code):
        if ancestor.level is rule.per:
            return ancestor.code
    return ""


def stratum_of(code: str, strata: str, registry: Registry) -> str:
    """The stratum value of a unit: its level, kind, parent code, or an overlay attribute ('—' when absent)."""
    unit = registry.get(code)
    if strata == "level":
        return unit.level.value
    if strata == "kind":
        return unit.kind
    if strata == "parent":
        return unit.parent or NO_VALUE
    return unit.attributes.get(strata, NO_VALUE)


def _stratified(rule: Draw, base: list[str], designated: list[str], rng: random.Random, registry: Registry) -> DrawResult:
    assert rule.strata is not None
    groups: dict[str, list[str]] = {}
    for code in base:
        groups.setdefault(stratum_of(code, rule.strata, registry), []).append(code)
    notes: list[str] = []
    if NO_VALUE in groups and rule.strata not in ("level", "kind", "parent"):
        missing = groups.pop(NO_VALUE)
        notes.append(f"{len(missing)} unit(s) carry no {rule.strata!r} attribute and are left out of the draw")
    quotas, words = _quotas(rule, groups, rng, registry, notes)
    chosen = set(designated)
    members, drawn, short = list(designated), {}, {}
    for value in sorted(groups):
        pool = groups[value]
        quota = quotas.get(value, 0)
        have = sum(1 for code in pool if code in chosen)
        if have > quota:
            notes.append(f"stratum {value}: {have} designated units, more than its {quota}; all are kept")
        if quota > len(pool):
            short[value] = len(pool)
            notes.append(f"stratum {value} has only {len(pool)} unit(s), fewer than {quota}: all are drawn")
        picked = sorted(rng.sample([c for c in pool if c not in chosen], max(0, min(quota, len(pool)) - have)))
        members.extend(picked)
        drawn[value] = have + len(picked)
    return DrawResult(rule=words, members=sorted(members), short=short, strata=drawn, notes=notes)


def _quotas(rule: Draw, groups: dict[str, list[str]], rng: random.Random, registry: Registry, notes: list[str]):
    """How many each stratum gives, and the rule in words."""
    if rule.counts:
        counts = {_stratum_key(key, rule.strata or ""): n for key, n in rule.counts.items()}
        unknown = sorted(set(counts) - set(groups))
        if unknown:
            raise SampleRuleError(
                f"no unit of the draw is in stratum {unknown[0]!r} of {rule.strata!r} "
                f"(strata: {', '.join(sorted(groups)) or 'none'})", ("counts",)
            )  # fmt: skip
        words = "by " + rule.strata + ": " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))  # type: ignore[operator]
        return counts, words
    if rule.allocation == "each":
        quotas = {}
        for value, pool in groups.items():
            quotas[value], _text, more = how_many(rule, len(pool), rng)
            notes.extend(f"stratum {value}: {note}" for note in more)
        per = f"{rule.count}" if rule.count is not None else f"{rule.percent[0]:g}%"  # type: ignore[index]
        return quotas, f"{per} from each {rule.strata} ({len(groups)} strata)"
    size = sum(len(pool) for pool in groups.values())
    total, words, more = how_many(rule, size, rng)
    notes.extend(more)
    if total > size:
        raise SampleRuleError(f"asks for {total} units but only {size} match its `from:`", ("count",))
    return _largest_remainder(total, {k: len(v) for k, v in groups.items()}), f"{words}, shared by {rule.strata} in proportion"


def _stratum_key(key: str, strata: str) -> str:
    if strata == "level" and key in LEVEL_ALIASES:
        return LEVEL_ALIASES[key].value
    return key


def _largest_remainder(total: int, sizes: dict[str, int]) -> dict[str, int]:
    """Share `total` among strata in proportion to their sizes (Hamilton); ties go to the earlier value."""
    size = sum(sizes.values())
    exact = {k: total * n / size for k, n in sizes.items()}
    quotas = {k: math.floor(v) for k, v in exact.items()}
    left = total - sum(quotas.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - quotas[k]), k))[:left]:
        quotas[key] += 1
    return quotas


def _name(registry: Registry, code: str) -> str:
    return registry.units[code].display if code in registry else code


def rule_path(data: object, index: int, subpath: tuple) -> tuple:
    """The YAML path of a rule's key in `samples[index]`; a sample written inline has no `draws:` list."""
    sample = data.get("samples", [])[index] if isinstance(data, dict) else None
    if subpath[:1] == ("draws",) and isinstance(sample, dict) and "draws" not in sample:
        subpath = subpath[2:]
    return ("samples", index, *subpath)
