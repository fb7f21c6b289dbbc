"""Hidden samples (不提前告知): the units of a hidden sample learn nothing of it before the check opens.

A sample is revealed at its `reveal:` instant, or else when the check opens: the start of the first stage
with an item drawing units from it. An item that uses a hidden sample and opens before that instant would
tell the sampled units early, so it is an error at the item's `opens:`. Until an item opens, nothing of it
reaches a unit: no message (intents come only from transitions after the opening) and no line in `duban status`
(`concealed_items` lists what status leaves out before it opens).
"""

from __future__ import annotations

from collections.abc import Iterable

from pendulum import DateTime

from duban.instants import fmt
from duban.spec.models import Campaign, Item, Selector
from duban.spec.source import PathKey

_ROLES = ("units", "lead", "cooperating")


def samples_used(
    selector: Selector | None, groups: dict[str, Selector], _seen: frozenset[str] = frozenset()
) -> set[str]:
    """The sample ids a selector draws on, through groups, unions and exclusions."""
    if selector is None:
        return set()
    found: set[str] = set()
    if selector.sample:
        found.add(selector.sample)
    ref = selector.ref
    if ref is not None:
        if ref.startswith("sample:"):
            found.add(ref.removeprefix("sample:"))
        elif ref in groups and ref not in _seen:
            found |= samples_used(groups[ref], groups, _seen | {ref})
    for member in (*selector.any_of, selector.exclude):
        found |= samples_used(member, groups, _seen)
    return found


def item_samples(campaign: Campaign, item: Item) -> set[str]:
    """Samples an item's responsible, lead or cooperating units come from."""
    return set().union(*(samples_used(getattr(item, role), campaign.groups) for role in _ROLES))


def concealed_items(campaign: Campaign) -> set[str]:
    """Items drawing on a hidden sample: no unit may see them before they open."""
    hidden = {s.id for s in campaign.samples if s.hidden}
    hidden |= {s.id for s in campaign.samples if samples_used(_from_all(s), campaign.groups) & hidden}  # sub-samples
    return {item.id for _stage, item in campaign.items() if item_samples(campaign, item) & hidden}


def _from_all(sample) -> Selector:
    return Selector(any_of=[draw.from_ for draw in sample.draws])


def reveal_instants(
    campaign: Campaign, opens: dict[str, DateTime], stage_starts: dict[str, DateTime], explicit: dict[str, DateTime]
) -> tuple[dict[str, DateTime], list[tuple[PathKey, str]]]:
    """When each hidden sample shows, and the items that would show it early (path, message).

    A hidden sample shows at its `reveal:` instant (`explicit`), or else when the check opens: the start of
    the first stage with an item drawing on it. `opens` is each item's earliest opening in the plan.
    """
    tz = campaign.timezone
    reveals: dict[str, DateTime] = {}
    problems: list[tuple[PathKey, str]] = []
    users: dict[str, list[tuple[PathKey, Item, str]]] = {}
    for s_index, stage in enumerate(campaign.stages):
        for i_index, item in enumerate(stage.items):
            for sample_id in item_samples(campaign, item):
                users.setdefault(sample_id, []).append((("stages", s_index, "items", i_index), item, stage.id))
    for sample in campaign.samples:
        if not sample.hidden:
            continue
        using = [(path, item) for path, item, _stage in users.get(sample.id, []) if item.id in opens]
        first = min((stage_starts[st] for _p, item, st in users.get(sample.id, []) if st in stage_starts), default=None)
        reveal = explicit.get(sample.id, first)
        if reveal is None:
            continue
        reveals[sample.id] = reveal
        for path, item in using:
            if opens[item.id] < reveal:
                problems.append(
                    (
                        (*path, "opens"),
                        (
                            f"item {item.id!r} opens {fmt(opens[item.id], tz)}, before the hidden sample "
                            f"{sample.id!r} may show ({fmt(reveal, tz)}): its units would learn they are sampled "
                            "before the check opens"
                        ),
                    )
                )
    return reveals, problems


def unhidden_subsamples(campaign: Campaign) -> Iterable[tuple[int, str]]:
    """(index, message) for samples drawn from a hidden sample without being hidden themselves."""
    hidden = {s.id for s in campaign.samples if s.hidden}
    for index, sample in enumerate(campaign.samples):
        parents = samples_used(_from_all(sample), campaign.groups) & hidden
        if parents and not sample.hidden:
            yield (
                index,
                (
                    f"sample {sample.id!r} is drawn from the hidden sample {sorted(parents)[0]!r} but is not hidden: "
                    "its units learn they were sampled; add `hidden: true`"
                ),
            )
