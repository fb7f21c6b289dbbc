"""Resolve selectors (which units) against the registry, the spec's groups and drawn samples."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import cached_property

from duban.domain.units import Registry, Unit
from duban.errors import RegistryError
from duban.spec.models import Selector

KNOWN_KINDS = frozenset({"division", "office", "zone", "center", "enterprise", "other"})
"""Kinds duban itself speaks of: a selector may name one that this registry happens not to hold (it selects no
unit, a warning); any other kind the registry lacks is a typo (`divison`) and an error."""


class UnknownName(RegistryError):
    """A selector names a group, sample or unit that does not exist."""


class Consequence(UnknownName):
    """An error that follows from another, reported at its own place (a group's typo, a sample's rule): a use of
    the broken group or sample says nothing more (one typo, one error)."""


class Resolver:
    """Turns selectors into unit codes, in registry order."""

    def __init__(
        self,
        registry: Registry,
        groups: dict[str, Selector],
        samples: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.registry = registry
        self.groups = groups
        self._samples = samples
        self._order = {code: index for index, code in enumerate(registry.units)}
        self._resolving: list[str] = []
        self.broken: dict[str, str] = {}  # groups already reported as not resolving (at their own line) → why

    def resolve(self, selector: Selector) -> list[str]:
        codes = self._codes(selector)
        return sorted(codes, key=self._order.__getitem__)

    def _codes(self, sel: Selector) -> set[str]:
        parts: list[set[str]] = []
        if sel.all:
            parts.append(set(self.registry.units))
        if sel.ref is not None:
            parts.append(self._ref(sel.ref))
        if sel.units:
            parts.append({self._unit(ref).code for ref in sel.units})
        if sel.sample is not None:
            parts.append(set(self._sample(sel.sample)))
        for member in sel.any_of:
            parts.append(self._codes(member))
        filters = (
            sel.level is not None or sel.under is not None or sel.tags or sel.kind is not None or sel.line or sel.where
        )
        if sel.line is not None and sel.line not in self._lines:
            raise UnknownName(
                f"no line {sel.line!r} in this campaign (its lines: {', '.join(sorted(self._lines))}; a line "
                "beside the campaign's own is named in registry.beside)"
            )
        if sel.kind is not None and sel.kind not in self._kinds and sel.kind not in KNOWN_KINDS:
            close = difflib.get_close_matches(sel.kind, sorted(self._kinds | KNOWN_KINDS), n=1, cutoff=0.6)
            raise UnknownName(
                f"no unit of kind {sel.kind!r} in this campaign (its kinds: {', '.join(sorted(self._kinds))})"
                + (f"; did you mean {close[0]!r}?" if close else "")
            )
        for name in sel.where:
            if name not in self._attributes:
                close = difflib.get_close_matches(name, sorted(self._attributes), n=1, cutoff=0.6)
                held = ", ".join(sorted(self._attributes)[:12]) or "none"
                raise UnknownName(
                    f"no unit carries the attribute {name!r} (the units' attributes: {held})"
                    + (f"; did you mean {close[0]!r}?" if close else "")
                )
        if filters:
            base = set().union(*parts) if parts else set(self.registry.units)
            root = self._unit(sel.under).code if sel.under is not None else None  # once, not per unit
            parts = [{code for code in base if self._passes(self.registry.units[code], sel, root)}]
        chosen = set().union(*parts) if parts else set()
        if sel.exclude is not None:
            chosen -= self._codes(sel.exclude)
        return chosen

    @cached_property
    def _attributes(self) -> set[str]:
        """The attribute names the registry's units carry (worked out once)."""
        return {name for u in self.registry for name in u.attributes}

    @cached_property
    def _kinds(self) -> set[str]:
        """The kinds of the registry's units."""
        return {u.kind for u in self.registry}

    @cached_property
    def _lines(self) -> set[str]:
        """The lines whose bodies the registry holds."""
        return {u.line for u in self.registry}

    def _passes(self, unit: Unit, sel: Selector, root: str | None) -> bool:
        if sel.level is not None and unit.level is not sel.level:
            return False
        if sel.kind is not None and unit.kind != sel.kind:
            return False
        if sel.tags and not set(sel.tags) <= unit.tags:
            return False
        if sel.line is not None and unit.line != sel.line:
            return False
        for name, values in sel.where.items():
            if unit.attributes.get(name) not in values:
                return False
        if root is not None:
            return any(a.code == root for a in self.registry.ancestors(unit.code))
        return True

    def _ref(self, ref: str) -> set[str]:
        if ref in self.groups:
            if ref in self.broken:
                raise Consequence(f"group {ref!r} does not resolve: {self.broken[ref]} (given at groups.{ref})")
            if ref in self._resolving:
                chain = " → ".join([*self._resolving, ref])
                raise UnknownName(f"group {ref!r} refers to itself ({chain})")
            self._resolving.append(ref)
            try:
                return self._codes(self.groups[ref])
            finally:
                self._resolving.pop()
        if ref.startswith("sample:"):
            return set(self._sample(ref.removeprefix("sample:")))
        try:
            return {self._unit(ref).code}
        except RegistryError:
            others = [g for g in self.groups if g not in self._resolving]  # not the group being resolved itself
            raise UnknownName(
                f"{ref!r} is neither a group ({', '.join(others) or 'none defined'}) nor a unit in the registry"
            ) from None

    def _unit(self, ref: str) -> Unit:
        return self.registry.find(ref)

    def _sample(self, sample_id: str) -> list[str]:
        if self._samples is None:
            raise UnknownName(f"sample {sample_id!r} cannot be used here")
        return self._samples(sample_id)
