"""Cross-references a model alone cannot check: score sheets naming samples and stages, follow-up ids, outcomes
decided by a score sheet in a spec without one.

Each problem is (YAML path, message); `duban.domain.plan` reports them as errors at their lines.
"""

from __future__ import annotations

from duban.spec.models import Campaign
from duban.spec.source import PathKey


def sheet_problems(campaign: Campaign) -> list[tuple[PathKey, str]]:
    """Score sheets naming samples or stages the spec lacks, or a follow-up id already taken."""
    problems: list[tuple[PathKey, str]] = []
    samples = {s.id for s in campaign.samples}
    stages = {s.id for s in campaign.stages}
    taken = {item.id for stage in campaign.stages for item in stage.items}
    ids: set[str] = set()
    for index, sheet in enumerate(campaign.score_sheets):
        where: PathKey = ("score_sheets", index)
        if sheet.id in ids:
            problems.append(((*where, "id"), f"score sheet {sheet.id!r} appears twice"))
        ids.add(sheet.id)
        for s_index, sample_id in enumerate(sheet.samples):
            if sample_id not in samples:
                problems.append(
                    (
                        (*where, "samples", s_index),
                        f"no sample {sample_id!r} (samples: {', '.join(sorted(samples)) or 'none'})",
                    )
                )
        follow = sheet.follow_up
        if follow is not None:
            if follow.stage is not None and follow.stage not in stages:
                problems.append(
                    ((*where, "follow_up", "stage"), f"no stage {follow.stage!r} (stages: {', '.join(stages)})")
                )
            if follow.id in taken:
                problems.append(
                    ((*where, "follow_up", "id"), f"{follow.id!r} is already an item id; give the follow-up its own")
                )
            taken.add(follow.id)
    return problems


def outcome_problems(campaign: Campaign) -> list[tuple[PathKey, str]]:
    """`when: failed` outcomes in a spec with no score sheet to fail (a unit fails when a sheet scores it below
    the pass mark). (An `after:` on an outcome that is not `when: overdue` is refused by the model itself.)"""
    found: list[tuple[PathKey, str]] = []
    rules: list[tuple[PathKey, list]] = [(("defaults", "outcomes"), campaign.defaults.outcomes)]
    for s_index, stage in enumerate(campaign.stages):
        for i_index, item in enumerate(stage.items):
            rules.append((("stages", s_index, "items", i_index, "outcomes"), item.outcomes or []))
    for where, outcomes in rules:
        for index, outcome in enumerate(outcomes):
            if outcome.when == "failed" and not campaign.score_sheets:
                found.append(
                    (
                        (*where, index, "when"),
                        "`when: failed` is decided by a score sheet (a unit scored below its pass mark), and this "
                        "spec has no `score_sheets:`; add the 评分表 or use overdue or late",
                    )
                )
    return found


def rollup_problems(campaign: Campaign) -> list[tuple[PathKey, str]]:
    """Roll-ups naming items the spec lacks, or metrics their feeding item does not have."""
    problems: list[tuple[PathKey, str]] = []
    items = {item.id: item for _stage, item in campaign.items()}
    forward = (
        [(("forward", "items", i), r) for i, r in enumerate(campaign.forward.rollups())] if campaign.forward else []
    )
    for where, rollup in [*((("rollups", i), r) for i, r in enumerate(campaign.rollups)), *forward]:
        for key, item_id in (("from", rollup.from_), ("into", rollup.into)):
            if item_id is not None and item_id not in items and where[0] == "rollups":
                problems.append(((*where, key), f"no item {item_id!r} (items: {', '.join(items)})"))
        source = items.get(rollup.from_)
        known = {m.name for m in source.metrics} if source else set()
        if rollup.by is not None and not rollup.sum:
            problems.append(((*where, "by"), "`by:` adds up the `sum:` metrics per attribute value: give `sum:` too"))
        for index, name in enumerate(rollup.sum):
            if source is not None and name not in known:
                listing = ", ".join(sorted(known)) or "none"
                problems.append(
                    ((*where, "sum", index), f"item {rollup.from_!r} has no metric {name!r} (its metrics: {listing})")
                )
    return problems
