"""`duban sample show SPEC`: a sample's members, seed and rules, where a rule could not be met, and whether
the draw recorded in the database is what the seed gives again (抽查样本可复现、可审计)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from duban.cli.common import console, existing_engine, fail as _fail, lit
from duban.errors import DubanError, PlanError
from duban.instants import fmt
from duban.settings import get_settings

app = typer.Typer(
    help="Inspection samples (抽查样本): show members, seed, rules; redraw to audit.", no_args_is_help=True
)


def _recorded(campaign_id: str) -> dict:
    """What the database recorded, without creating a database where there is none."""
    from duban.views.sample_audit import recorded_samples

    engine = existing_engine()
    return recorded_samples(engine, campaign_id) if engine is not None else {}


def _naming_progress(plan, spec_sample) -> None:
    """由上级指定, not drawn yet: what each parent named on its portal page so far, and who has still to name."""
    from duban.domain.plan import resolve_selector
    from duban.services.sample_naming import parents_named

    rule = next((r for r in spec_sample.draws if r.named_by_parent), None)
    if rule is None:
        return
    engine = existing_engine()
    named = parents_named(engine, plan.campaign.id, spec_sample.id) if engine is not None else {}
    parents = sorted({plan.registry.get(code).parent or "" for code in resolve_selector(plan, rule.from_)})
    given = [p for p in parents if p in named]
    waiting = [p for p in parents if p not in named]
    console.print(
        "  named on the portal so far: "
        + lit("；".join(f"{_names(plan, [p])} → {_names(plan, named[p])}" for p in given) or "none")
        + (f"; still to name: {lit(_names(plan, waiting))}" if waiting else "; every parent has named"),
        highlight=False,
        soft_wrap=True,
    )


@app.command("show")
def show(
    spec: Annotated[Path, typer.Argument(help="campaign spec (YAML)")],
    sample: Annotated[Optional[str], typer.Option(help="only this sample (samples[].id)")] = None,
    seed: Annotated[
        Optional[int], typer.Option(help="redraw with this seed instead (a preview; nothing is recorded)")
    ] = None,
) -> None:
    """Members (by parent), seed, each rule's arithmetic, shortfalls, and the recorded draw compared."""
    from duban.services.lifecycle import plan_file
    from duban.views.replanned import as_planned
    from duban.views.sample_audit import compare, redraw

    try:
        loaded, plan = plan_file(spec, calendar_file=get_settings().calendar_file)
        database = existing_engine()
        planned = as_planned(database, loaded, get_settings().calendar_file) if database is not None else None
        if planned is not None:  # a running campaign over stored lists: the lists as they stood when it was planned
            loaded, plan = planned
            console.print(
                "（名录按本专项工作开始时的版本："
                + "，".join(
                    f"{name} 截至 {fmt(moment, plan.campaign.timezone)}"
                    for name, moment in sorted(loaded.lists_as_of.items())
                )
                + "）",
                highlight=False,
                soft_wrap=True,
            )
        wanted = [s for s in plan.campaign.samples if sample in (None, s.id)]
        if not wanted:
            known = ", ".join(s.id for s in plan.campaign.samples) or "none"
            raise PlanError(f"{spec} has no sample {sample!r} (samples: {known})")
        recorded = _recorded(plan.campaign.id)
        results = {s.id: redraw(plan, s.id, seed) if seed is not None else plan.samples[s.id] for s in wanted}
        for s in wanted:  # drawn while the campaign runs: the record is the draw (the spec alone cannot redraw it)
            if s.open and s.id in recorded and seed is None:
                results[s.id] = _as_drawn(recorded[s.id])
    except DubanError as exc:
        _fail(exc)
    tz = plan.campaign.timezone
    for spec_sample in wanted:
        result = results[spec_sample.id]
        hidden = ""
        if spec_sample.hidden:
            reveal = plan.sample_reveals.get(spec_sample.id)
            hidden = f" · 隐藏至 {fmt(reveal, tz)}" if reveal else " · 隐藏"
        console.print(
            f"\n[bold]{lit(result.name)}[/] ({lit(result.sample_id)}) seed {lit(result.seed)}{lit(hidden)} · "
            f"{len(result.members)} 个单位",
            highlight=False,
            soft_wrap=True,
        )
        for index, (rule, draw) in enumerate(zip(spec_sample.draws, result.draws), start=1):
            source = (rule.from_.sample and f"sample {rule.from_.sample}") or rule.from_.ref or "selector"
            console.print(
                f"  rule {index} (from {source}, {draw.base} units): {draw.rule}", highlight=False, soft_wrap=True
            )
            if draw.strata:
                console.print(
                    "    strata: " + ", ".join(f"{k} {n}" for k, n in sorted(draw.strata.items())), highlight=False
                )
                for value in sorted(draw.arithmetic):  # each stratum's own arithmetic (draws recorded before: none)
                    console.print(f"      {lit(value)}: {lit(draw.arithmetic[value])}", highlight=False, soft_wrap=True)
            _members(plan, draw.members, set(draw.designated))
            for note in draw.notes:  # a shortfall says so in its own words; a note may also be met in full
                console.print(f"    [yellow]note:[/] {lit(note)}", highlight=False, soft_wrap=True)
        record = recorded.get(spec_sample.id)
        if record is None and spec_sample.open:
            _naming_progress(plan, spec_sample)
            console.print(
                f"  not drawn yet (left open by the notice): `duban sample draw SPEC --sample {lit(spec_sample.id)}`",
                highlight=False,
                soft_wrap=True,
            )
            continue
        if record is None:
            console.print(
                "  not recorded yet (the draw is recorded when the campaign is planned: duban tick SPEC)",
                soft_wrap=True,
            )
            continue
        verdict = compare(result, record)
        when = f"recorded {fmt(verdict.drawn_at, tz)} with seed {verdict.seed}"
        if spec_sample.open and seed is None:
            console.print(
                f"  [green]drawn {lit(fmt(verdict.drawn_at, tz))} with seed {verdict.seed}[/] (left open by the "
                "notice: the recorded draw is the sample)",
                highlight=False,
                soft_wrap=True,
            )
            continue
        if verdict.same:
            console.print(f"  [green]{lit(when)}: same members[/]", highlight=False)
        else:
            console.print(
                f"  [red]{lit(when)}: differs[/] — only in this draw: {lit(_names(plan, verdict.added))}; "
                f"only in the record: {lit(_names(plan, verdict.removed))}",
                highlight=False,
                soft_wrap=True,
            )


def _as_drawn(record):
    """A sample drawn while the campaign ran (抽取部分/由上级指定), as the database recorded it, rule by rule."""
    from duban.domain.sampling.draw import SampleResult
    from duban.domain.sampling.rules import DrawResult

    fields = set(DrawResult.__dataclass_fields__)
    draws = [DrawResult(**{k: v for k, v in d.items() if k in fields}) for d in record.detail or []]
    return SampleResult(record.sample_id, record.name, record.seed, draws or [DrawResult("", list(record.members))])


def _members(plan, members: list[str], designated: set[str]) -> None:
    by_parent: dict[str, list[str]] = defaultdict(list)
    for code in members:
        by_parent[plan.registry.units[code].parent or ""].append(code)
    for parent, codes in by_parent.items():
        head = plan.registry.units[parent].name if parent in plan.registry else "—"
        names = "、".join(plan.registry.units[c].name + ("(指定)" if c in designated else "") for c in codes)
        console.print(f"    {lit(head)}: {lit(names)}", highlight=False, soft_wrap=True)


def _names(plan, codes: list[str], limit: int = 20) -> str:
    names = "、".join(plan.registry.units[c].name if c in plan.registry else c for c in codes[:limit]) or "—"
    return names + (f" … ({len(codes)} in all)" if len(codes) > limit else "")


@app.command("draw")
def draw(
    spec: Annotated[str, typer.Argument(help="the campaign's spec (or its id, once planned)")],
    sample: Annotated[str, typer.Option(help="the open sample (samples[].id)")],
    count: Annotated[
        Optional[int], typer.Option(help="how many, when the notice leaves it to the operator (抽取部分)")
    ] = None,
    named: Annotated[
        Optional[list[str]],
        typer.Option(
            help="a unit a parent named (由上级指定), by code or name; once per unit; stands in for what its parent "
            "named on the portal"
        ),
    ] = None,
    at: Annotated[Optional[str], typer.Option("--at", help="when it is drawn (default: now)")] = None,
) -> None:
    """Draw a sample the notice left open — its number, or the units the parents name — record it with its seed,
    and give its items to the drawn units (the next tick opens them and tells the units)."""
    from duban.cli.common import engine as _engine, when as _when
    from duban.services.lifecycle import campaign_id_for
    from duban.services.sample_draws import draw_open_sample

    settings = get_settings()
    try:
        engine = _engine()
        moment = _when(at, settings.timezone, option="--at")
        campaign_id = campaign_id_for(engine, spec, now=moment, calendar_file=settings.calendar_file)
        result, made = draw_open_sample(
            engine,
            campaign_id,
            sample,
            count=count,
            named=tuple(named or ()),
            at=moment,
            calendar_file=settings.calendar_file,
        )
    except DubanError as exc:
        _fail(exc)
    console.print(
        f"[green]✓[/] {result.name} ({result.sample_id}) seed {result.seed}: {len(result.members)} 个单位 — "
        + "; ".join(d.rule for d in result.draws),
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  {made} assignment(s) made for its items; the next tick opens them (`duban tick`)", highlight=False
    )
