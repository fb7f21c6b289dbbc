"""Strata (分层): a rule drawn within groups of units sharing a level, kind, parent or overlay attribute.

Each stratum gives its own count or share (`allocation: each`), a number written per stratum (`counts:`),
or its part of a total in proportion to its size (`allocation: proportional`, largest remainder).
"""

from __future__ import annotations

import difflib
import math
import random

from duban.domain.sampling.rules import DrawResult, SampleRuleError, how_many
from duban.domain.units import LEVEL_ALIASES, Registry
from duban.spec.models import Draw

NO_VALUE = "—"


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


def stratified(
    rule: Draw, base: list[str], designated: list[str], rng: random.Random, registry: Registry
) -> DrawResult:
    assert rule.strata is not None
    groups: dict[str, list[str]] = {}
    for code in base:
        groups.setdefault(stratum_of(code, rule.strata, registry), []).append(code)
    notes: list[str] = []
    if NO_VALUE in groups and rule.strata not in ("level", "kind", "parent"):
        if len(groups) == 1:  # no unit of the draw carries it: a typo (riks), not units left out
            held = sorted({name for code in base for name in registry.get(code).attributes})
            close = difflib.get_close_matches(rule.strata, ["level", "kind", "parent", *held], n=1, cutoff=0.6)
            raise SampleRuleError(
                f"no unit of the draw carries the attribute {rule.strata!r} to draw strata by (level, kind, parent "
                f"or one of the units' attributes: {', '.join(held[:12]) or 'none'})"
                + (f"; did you mean {close[0]!r}?" if close else ""),
                ("strata",),
            )
        missing = groups.pop(NO_VALUE)
        notes.append(f"{len(missing)} unit(s) carry no {rule.strata!r} attribute and are left out of the draw")
    arithmetic: dict[str, str] = {}
    quotas, words = _quotas(rule, groups, rng, registry, notes, arithmetic)
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
    sizes = {value: len(pool) for value, pool in groups.items()}
    for value in groups:
        arithmetic.setdefault(value, f"{quotas.get(value, 0)} of {sizes[value]}")
    return DrawResult(
        rule=words,
        members=sorted(members),
        short=short,
        strata=drawn,
        notes=notes,
        sizes=sizes,
        arithmetic=arithmetic,
    )


def _quotas(
    rule: Draw,
    groups: dict[str, list[str]],
    rng: random.Random,
    registry: Registry,
    notes: list[str],
    arithmetic: dict[str, str],
):
    """How many each stratum gives, and the rule in words; `arithmetic` gets each stratum's own, where it has one."""
    if rule.counts:
        counts = {_stratum_key(key, rule.strata or ""): n for key, n in rule.counts.items()}
        unknown = sorted(set(counts) - set(groups))
        if unknown:
            raise SampleRuleError(
                f"no unit of the draw is in stratum {unknown[0]!r} of {rule.strata!r} "
                f"(strata: {', '.join(sorted(groups)) or 'none'})",
                ("counts",),
            )
        for value in sorted(set(groups) - set(counts)):
            notes.append(
                f"stratum {value} ({len(groups[value])} unit(s)) has no number in `counts:`: none of it is drawn"
            )
        words = "by " + rule.strata + ": " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))  # type: ignore[operator]
        return counts, words
    if rule.allocation == "each":
        quotas = {}
        for value, pool in groups.items():
            quotas[value], arithmetic[value], more = how_many(rule, len(pool), rng)
            notes.extend(f"stratum {value}: {note}" for note in more)
        per = f"{rule.count}" if rule.count is not None else f"{rule.percent[0]:g}%"  # type: ignore[index]
        return quotas, f"{per} from each {rule.strata} ({len(groups)} strata)"
    size = sum(len(pool) for pool in groups.values())
    total, words, more = how_many(rule, size, rng)
    notes.extend(more)
    if total > size:
        raise SampleRuleError(f"asks for {total} units but only {size} match its `from:`", ("count",))
    quotas = _largest_remainder(total, {k: len(v) for k, v in groups.items()})
    for key, pool in groups.items():
        arithmetic[key] = (
            f"{quotas[key]} of {len(pool)} ({total} × {len(pool)}/{size} = {total * len(pool) / size:.2f})"
        )
    empty = sorted(key for key, pool in groups.items() if pool and not quotas[key])
    if empty and total:
        notes.append(
            f"{', '.join(f'stratum {k} ({len(groups[k])} unit(s))' for k in empty)}: none drawn, the {total} shared "
            f"in proportion leave it 0; write `allocation: each` with `rounding: up` or `min_count: 1` if every "
            f"{rule.strata} is to be inspected"
        )
    if rule.allocation is None:  # the notice gives no ratios: shared in proportion, and said so
        shares = ", ".join(f"{k} {quotas[k]} of {len(groups[k])}" for k in sorted(quotas))
        notes.append(
            f"strata by {rule.strata} without ratios (no `counts:` or `allocation:`): {total} shared in proportion "
            f"to each stratum's size ({shares}); write `allocation: each` if the notice means {total} from each"
        )
    return quotas, f"{words}, shared by {rule.strata} in proportion"


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
