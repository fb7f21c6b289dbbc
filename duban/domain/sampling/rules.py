"""The arithmetic of sample rules: how many units a count or a percentage asks for, in words, and the
result of one rule. A rule that cannot be drawn is a `SampleRuleError` naming the rule's key."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from duban.domain.units import Registry
from duban.errors import PlanError
from duban.spec.models import Draw


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
    sizes: dict[str, int] = field(default_factory=dict)  # stratum value → units it held
    arithmetic: dict[str, str] = field(default_factory=dict)  # stratum value → how its number was reached, in words
    notes: list[str] = field(default_factory=list)  # where the rule could not be met in full

    def as_record(self) -> dict:
        """What the database keeps of this rule (SampleDraw.detail)."""
        return {
            "rule": self.rule,
            "members": self.members,
            "short": self.short,
            "base": self.base,
            "designated": self.designated,
            "strata": self.strata,
            "sizes": self.sizes,
            "arithmetic": self.arithmetic,
            "notes": self.notes,
        }


def how_many(rule: Draw, size: int, rng: random.Random) -> tuple[int, str, list[str]]:
    """The number a count or percentage rule asks of `size` units, the arithmetic in words, and notes."""
    if rule.percent is None:
        assert rule.count is not None
        return rule.count, f"{rule.count} of {size}", []
    if rule.count is not None:
        return _target_and_floor(rule, size)
    low, high = rule.percent
    low_n, high_n = _rounded(size * low / 100, rule.rounding), _rounded(size * high / 100, rule.rounding)
    if low == high:
        wanted, words = low_n, f"{low:g}% of {size} = {size * low / 100:g} → {low_n} ({_ROUNDING[rule.rounding]})"
    else:
        wanted = {"low": low_n, "high": high_n}[rule.take] if rule.take != "random" else rng.randint(low_n, high_n)
        words = (
            f"{low:g}%–{high:g}% of {size} = {low_n}–{high_n} ({_ROUNDING[rule.rounding]}), {_TAKE[rule.take]} {wanted}"
        )
    notes: list[str] = []
    if rule.min_count is not None and wanted < rule.min_count:
        if size < rule.min_count:
            notes.append(f"only {size} units, fewer than the minimum {rule.min_count}: all of them are drawn")
        wanted = min(rule.min_count, size)
        words += (
            f", raised to the minimum {rule.min_count}"
            if wanted == rule.min_count
            else f", all {size} (fewer than {rule.min_count})"
        )
    if rule.max_count is not None and wanted > rule.max_count:
        wanted = rule.max_count
        words += f", capped at {rule.max_count}"
    if wanted == 0 and size > 0:  # 各风险等级抽取3% of 20 units: the notice means some, the arithmetic gives none
        notes.append(
            f"{words}: none of the {size} unit(s) is drawn; write `rounding: up` or `min_count: 1` if the notice "
            "means at least one"
        )
    return wanted, words, notes


def _target_and_floor(rule: Draw, size: int) -> tuple[int, str, list[str]]:
    """A fixed target (抽查1,500户) with a percentage floor (不低于3%) of a base: the target is drawn; a floor above
    it is a note that shows the arithmetic, for the administrator to settle with the notice's issuer."""
    assert rule.count is not None and rule.percent is not None
    share = rule.percent[0]
    base = rule.base if rule.base is not None else size
    floor = _rounded(base * share / 100, rule.rounding)
    arithmetic = (
        f"{share:g}% of {base:,} = {base * share / 100:,.2f}".rstrip("0").rstrip(".")
        + f" → {floor:,} ({_ROUNDING[rule.rounding]})"
    )
    words = f"{rule.count} of {size} (the floor {arithmetic})"
    if rule.count >= floor:
        return rule.count, words, []
    return (
        rule.count,
        words,
        [
            f"the fixed target {rule.count:,} is below the floor 不低于{share:g}%: {arithmetic}, "
            f"{floor - rule.count:,} more than the target; {rule.count:,} are drawn as written — ask which of the "
            "notice's two numbers holds"
        ],
    )


_ROUNDING = {"up": "rounded up", "down": "rounded down", "nearest": "rounded"}
_TAKE = {"low": "the low end:", "high": "the high end:", "random": "drawn by the seed:"}


def _rounded(value: float, rounding: str) -> int:
    value = round(value, 9)  # 118 × 10% is 11.8, not 11.800000000000001
    if rounding == "up":
        return math.ceil(value)
    if rounding == "down":
        return math.floor(value)
    return math.floor(value + 0.5)


def name(registry: Registry, code: str) -> str:
    return registry.units[code].display if code in registry else code
