"""`duban sample show SPEC`: a sample's members, seed and rules, where a rule could not be met, and whether
the draw recorded in the database is what the seed gives again (抽查样本可复现、可审计)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from duban.cli.common import console, fail as _fail
from duban.errors import DubanError, PlanError
from duban.instants import fmt
from duban.settings import get_settings

app = typer.Typer(help="Inspection samples (抽查样本): show members, seed, rules; redraw to audit.", no_args_is_help=True)


def _recorded(campaign_id: str) -> dict:
    """What the database recorded, without creating a database where there is none."""
    from duban.views.sample_audit import recorded_samples
    from duban.services.database import open_database

    settings = get_settings()
    url = settings.resolved_database_url
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return {}
    return recorded_samples(open_database(url), campaign_id)


@app.command("show")
def show(
    spec: Annotated[Path, typer.Argument(help="campaign spec (YAML)")],
    sample: Annotated[Optional[str], typer.Option(help="only this sample (samples[].id)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="redraw with this seed instead (a preview; nothing is recorded)")] = None,
) -> None:
    """Members (by parent), seed, each rule's arithmetic, shortfalls, and the recorded draw compared."""
    from duban.services.lifecycle import plan_file
    from duban.views.sample_audit import compare, redraw

    try:
        loaded, plan = plan_file(spec, calendar_file=get_settings().calendar_file)
        wanted = [s for s in plan.campaign.samples if sample in (None, s.id)]
        if not wanted:
            known = ", ".join(s.id for s in plan.campaign.samples) or "none"
            raise PlanError(f"{spec} has no sample {sample!r} (samples: {known})")
        recorded = _recorded(plan.campaign.id)
        results = {s.id: redraw(plan, s.id, seed) if seed is not None else plan.samples[s.id] for s in wanted}
    except DubanError as exc:
        _fail(exc)
    tz = plan.campaign.timezone
    for spec_sample in wanted:
        result = results[spec_sample.id]
        hidden = ""
        if spec_sample.hidden:
            reveal = plan.sample_reveals.get(spec_sample.id)
            hidden = f" · 隐藏至 {fmt(reveal, tz)}" if reveal else " · 隐藏"
        console.print(f"\n[bold]{result.name}[/] ({result.sample_id}) seed {result.seed}{hidden} · "
                      f"{len(result.members)} 个单位", highlight=False, soft_wrap=True)  # fmt: skip
        for index, (rule, draw) in enumerate(zip(spec_sample.draws, result.draws), start=1):
            source = (rule.from_.sample and f"sample {rule.from_.sample}") or rule.from_.ref or "selector"
            console.print(f"  rule {index} (from {source}, {draw.base} units): {draw.rule}", highlight=False, soft_wrap=True)
            if draw.strata:
                console.print("    strata: " + ", ".join(f"{k} {n}" for k, n in sorted(draw.strata.items())), highlight=False)
            _members(plan, draw.members, set(draw.designated))
            for note in draw.notes:
                console.print(f"    [yellow]not met in full[/] {note}", highlight=False, soft_wrap=True)
        record = recorded.get(spec_sample.id)
        if record is None:
            console.print("  not recorded yet (the draw is recorded when the campaign is planned: duban tick SPEC)", soft_wrap=True)
            continue
        verdict = compare(result, record)
        when = f"recorded {fmt(verdict.drawn_at, tz)} with seed {verdict.seed}"
        if verdict.same:
            console.print(f"  [green]{when}: same members[/]", highlight=False)
        else:
            console.print(f"  [red]{when}: differs[/] — only in this draw: {_names(plan, verdict.added)}; "
                          f"only in the record: {_names(plan, verdict.removed)}", highlight=False, soft_wrap=True)  # fmt: skip


def _members(plan, members: list[str], designated: set[str]) -> None:
    by_parent: dict[str, list[str]] = defaultdict(list)
    for code in members:
        by_parent[plan.registry.units[code].parent or ""].append(code)
    for parent, codes in by_parent.items():
        head = plan.registry.units[parent].name if parent in plan.registry else "—"
        names = "、".join(plan.registry.units[c].name + ("(指定)" if c in designated else "") for c in codes)
        console.print(f"    {head}: {names}", highlight=False, soft_wrap=True)


def _names(plan, codes: list[str], limit: int = 20) -> str:
    names = "、".join(plan.registry.units[c].name if c in plan.registry else c for c in codes[:limit]) or "—"
    return names + (f" … ({len(codes)} in all)" if len(codes) > limit else "")
