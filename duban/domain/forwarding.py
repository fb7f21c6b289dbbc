"""Forwarding (转发): a unit re-issues an upper campaign to its own units, each level due earlier.

    市 晋中市统计局 jinzhong-2024-lookback   materials_upload   昔阳县统计局 due 2024-07-01 周一 24:00
    县 昔阳县统计局 昔统字〔2024〕2号        materials_rollup   昔阳县统计局 due 2024-06-27 周四 24:00
    乡 its 10 乡镇 and 城区社会事务服务中心     township_materials                 due 2024-06-25 周二 24:00

The lower spec says which upper item each of its roll-ups answers (`forward.items`); planning it plans the
upper spec too, takes the re-issuing unit's upper due, and counts the buffer back in working days: the
roll-up (`into`) one buffer before the upper due, its units' item (`from`) one more. An explicit `due:` on
either item wins (the validator warns when it breaks the order). An upper spec may itself be a forward, so
a chain province → city → county → township plans through.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from pendulum import DateTime

from duban.errors import DubanError
from duban.spec.files import referenced_file
from duban.spec.source import PathKey
from duban.spec.terms import Offset

LOOP = "a forward loop: "  # the start of the message naming one, passed down the chain as it is
_PLANNING: ContextVar[tuple[str, ...]] = ContextVar("duban_forward_planning", default=())


@dataclass(frozen=True)
class ChainLink:
    """One upper item re-issued: its three dues, upper (市) → re-issuing unit (县) → its units (乡)."""

    upper_item: str
    upper_name: str
    upper_due: DateTime
    into: str
    into_due: DateTime
    from_: str
    from_due: DateTime


@dataclass
class ForwardChain:
    """The upper campaign this one re-issues, and each re-issued item's chain of dues."""

    upper_id: str
    upper_title: str
    upper_issuer: str
    upper_doc_no: str | None
    unit: str  # the re-issuing unit's code
    unit_display: str
    buffer: Offset
    links: list[ChainLink] = field(default_factory=list)
    upper_chain: ForwardChain | None = None  # when the upper campaign is itself a forward

    def due_of(self, item_id: str) -> DateTime | None:
        """The due the chain gives a local item (`into` or `from`)."""
        for link in self.links:
            if item_id == link.into:
                return link.into_due
            if item_id == link.from_:
                return link.from_due
        return None


def forward_chain(spec, calendar, timeline, build_plan) -> tuple[ForwardChain | None, list[tuple[PathKey, str]]]:
    """Plan the upper spec and work out each re-issued item's dues; problems are (YAML path, message).

    `build_plan(spec, calendar)` plans the upper campaign: duban.domain.plan hands in its own, so a forward is
    planned exactly as any campaign and this module stays below the planner (no import cycle).
    """
    from duban.spec.load import load_spec

    forward = spec.campaign.forward
    if forward is None:
        return None, []
    try:
        upper_path = referenced_file(spec.path, forward.of, what="upper spec (forward.of)").resolve()
    except ValueError as exc:
        return None, [(("forward", "of"), str(exc))]
    seen = _PLANNING.get()
    if str(spec.path.resolve()) == str(upper_path):
        return None, [(("forward", "of"), f"{forward.of} forwards back to itself: a forward chain must end")]
    if str(upper_path) in seen:  # a.yaml → b.yaml → a.yaml: each said only that the other could not be planned
        files = [Path(p).name for p in seen[seen.index(str(upper_path)) :]] + [spec.path.name, upper_path.name]
        return None, [(("forward", "of"), f"{LOOP}{' → '.join(files)}; a forward chain must end")]
    token = _PLANNING.set((*seen, str(spec.path.resolve())))
    try:
        upper_spec = load_spec(upper_path)
        upper = build_plan(upper_spec, calendar)
    except DubanError as exc:  # said without quoting the other file: run validate on it to see its own errors
        loop = _loop(exc)
        if loop is not None:
            return None, [(("forward", "of"), loop)]
        return None, [
            (
                ("forward", "of"),
                f"the upper campaign {forward.of} cannot be planned ({_where(exc)}); "
                f"run `duban validate` on it to see its errors",
            )
        ]
    finally:
        _PLANNING.reset(token)
    try:
        unit = upper.registry.find(forward.unit)
    except DubanError as exc:
        return None, [(("forward", "unit"), f"{exc} (the upper campaign {upper.campaign.id})")]
    campaign = upper.campaign
    chain = ForwardChain(
        upper_id=campaign.id,
        upper_title=campaign.title,
        upper_issuer=campaign.issuer,
        upper_doc_no=campaign.doc_no,
        unit=unit.code,
        unit_display=unit.display,
        buffer=forward.buffer,
        upper_chain=upper.chain,
    )
    problems: list[tuple[PathKey, str]] = []
    names = {item.id: item.name for _stage, item in campaign.items()}
    for index, entry in enumerate(forward.items):
        owed = [a for a in upper.assignments if a.item_id == entry.upper and a.unit_code == unit.code]
        if len(owed) != 1:
            held = ", ".join(sorted({a.item_id for a in upper.assignments if a.unit_code == unit.code})) or "nothing"
            why = "repeats each period; forward one period's item" if owed else "is not owed by it"
            problems.append(
                (
                    ("forward", "items", index, "upper"),
                    f"item {entry.upper!r} of {campaign.id} {why} ({unit.display} owes: {held})",
                )
            )
            continue
        upper_due = owed[0].due_at
        into_due = earlier(timeline, upper_due, forward.buffer)
        chain.links.append(
            ChainLink(
                upper_item=entry.upper,
                upper_name=names.get(entry.upper, entry.upper),
                upper_due=upper_due,
                into=entry.into,
                into_due=into_due,
                from_=entry.from_,
                from_due=earlier(timeline, into_due, forward.buffer),
            )
        )
    return chain, problems


def earlier(timeline, due: DateTime, buffer: Offset) -> DateTime:
    """`due` moved back by `buffer` (working days skip weekends and holidays), at the same time of day."""
    local = due.in_timezone(timeline.tz)
    return timeline.shift(local, Offset(-abs(buffer.amount), buffer.unit), time(local.hour, local.minute))


def chain_problems(campaign, chain: ForwardChain | None, assignments) -> list[tuple[PathKey, str]]:
    """After planning: the local items must exist and the re-issuing unit must owe each roll-up."""
    forward = campaign.forward
    if chain is None or forward is None:
        return []
    problems: list[tuple[PathKey, str]] = []
    items = {item.id for _stage, item in campaign.items()}
    for index, entry in enumerate(forward.items):
        for key, item_id in (("into", entry.into), ("from", entry.from_)):
            if item_id not in items:
                problems.append((("forward", "items", index, key), f"no item {item_id!r} in this spec"))
        holders = {a.unit_code for a in assignments if a.item_id == entry.into}
        if entry.into in items and chain.unit not in holders:
            problems.append(
                (
                    ("forward", "items", index, "into"),
                    (f"{chain.unit_display} ({chain.unit}) does not owe {entry.into!r}: its roll-up is its own item"),
                )
            )
    return problems


def forwarded_due(chain: ForwardChain | None, item_id: str, explicit: bool) -> DateTime | None:
    """The due a forward gives an item, unless the item writes its own."""
    if chain is None or explicit:
        return None
    return chain.due_of(item_id)


def order_warnings(plan) -> list[tuple[PathKey, str]]:
    """Roll-ups due no later than the items feeding them, and forwarded roll-ups due no earlier than upward."""
    from duban.instants import fmt

    campaign, dues, tz = plan.campaign, plan.item_dues, plan.campaign.timezone
    found: list[tuple[PathKey, str]] = []
    entries: list[tuple[PathKey, str, str]] = [
        (("rollups", i), r.from_, r.into) for i, r in enumerate(campaign.rollups) if r.into
    ]
    if campaign.forward is not None:
        entries += [(("forward", "items", i), e.from_, e.into) for i, e in enumerate(campaign.forward.items)]
    for path, source, into in entries:
        if source in dues and into in dues and dues[source] >= dues[into]:
            found.append(
                (
                    path,
                    f"{into!r} is due {fmt(dues[into], tz)} but {source!r}, which feeds it, is due "
                    f"{fmt(dues[source], tz)}: no time is left to gather it",
                )
            )
    for index, link in enumerate(plan.chain.links if plan.chain else []):
        if link.into in dues and dues[link.into] >= link.upper_due:
            found.append(
                (
                    ("forward", "items", index, "into"),
                    f"{link.into!r} is due {fmt(dues[link.into], tz)}, "
                    f"not before the upper due {fmt(link.upper_due, tz)} of {link.upper_item!r}",
                )
            )
    return found


def _loop(exc: DubanError) -> str | None:
    """The forward loop the upper spec's planning found (it names only file names), if that is its problem."""
    for error in getattr(exc, "errors", None) or [exc]:
        message = str(getattr(error, "message", "") or "")
        if message.startswith(LOOP):
            return message
    return None


def _where(exc: DubanError) -> str:
    """How many problems another file has and the first one's line, never its text (its keys may be secrets)."""
    errors = getattr(exc, "errors", None) or [exc]
    line = getattr(errors[0], "line", None)
    if len(errors) == 1 and line is None and getattr(errors[0], "message", None):  # about the file, not its text:
        return str(errors[0].message)  # "is a folder", "file not found", "not UTF-8 text"
    return f"{len(errors)} problem(s)" + (f", the first at line {line}" if line else "")
