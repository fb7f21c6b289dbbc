"""How `duban plan` shows a forward (转发): each re-issued item's dues down the chain, upper level first."""

from __future__ import annotations

from collections import Counter

from rich import box
from rich.console import Console
from rich.table import Table

from duban.cli.common import lit
from duban.domain.forwarding import ForwardChain
from duban.instants import fmt


def print_chain(console: Console, plan) -> None:
    """The chain of dues: upper campaign → the re-issuing unit's roll-up → its units' item."""
    chain: ForwardChain | None = plan.chain
    if chain is None:
        return
    tz = plan.campaign.timezone
    campaign = plan.campaign
    console.print(f"\n[bold]转发链[/] 每级提前 {lit(chain.buffer)}", highlight=False)
    for upper in _uppers(chain):
        console.print(
            f"  {lit(upper.upper_issuer)} {lit(upper.upper_doc_no or '')} ({lit(upper.upper_id)})"
            f" → {lit(upper.unit_display)}",
            highlight=False,
        )
    console.print(
        f"  {lit(campaign.issuer)} {lit(campaign.doc_no or '')} ({lit(campaign.id)}) → 本级单位", highlight=False
    )
    unit = plan.registry.units.get(chain.unit)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("截止", no_wrap=True, min_width=21)  # the point of the chain: never cut off
    for column in ("级别", "单位", "事项"):
        table.add_column(column, overflow="fold")
    for link in chain.links:
        feeders = [a.unit_code for a in plan.assignments if a.item_id == link.from_]
        levels = Counter(plan.registry.units[c].level.cn for c in feeders)
        table.add_row(
            fmt(link.upper_due, tz),
            "上级",
            f"{lit(chain.unit_display)} → {lit(chain.upper_issuer)}",
            f"{lit(link.upper_name[:24])} ({lit(link.upper_item)})",
        )
        table.add_row(
            fmt(link.into_due, tz),
            unit.level.cn if unit else "本级",
            lit(chain.unit_display),
            f"← 汇总 ({lit(link.into)})",
        )
        table.add_row(
            fmt(link.from_due, tz),
            "、".join(levels) or "—",
            f"{len(feeders)} 个单位 → {lit(chain.unit_display)}",
            f"← 报送 ({lit(link.from_)})",
        )
    console.print(table)


def _uppers(chain: ForwardChain) -> list[ForwardChain]:
    found: list[ForwardChain] = []
    upper: ForwardChain | None = chain
    while upper is not None:
        found.append(upper)
        upper = upper.upper_chain
    return list(reversed(found))


def chain_json(plan) -> dict | None:
    """The chain for `duban plan --json`."""
    chain: ForwardChain | None = plan.chain
    if chain is None:
        return None
    return {
        "upper": chain.upper_id,
        "unit": chain.unit,
        "buffer": str(chain.buffer),
        "links": [
            {
                "upper_item": l.upper_item,
                "upper_due": l.upper_due.isoformat(),
                "into": l.into,
                "into_due": l.into_due.isoformat(),
                "from": l.from_,
                "from_due": l.from_due.isoformat(),
            }
            for l in chain.links
        ],
    }
