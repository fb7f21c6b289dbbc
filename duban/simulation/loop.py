"""The 督办 loop played once each on a simulated clock (`duban demo`, `duban simulate`), the same way on both paths.

- 延期申请: four days before the due of the first item the notice lets be extended, the first unit (in code order)
  that still owes it (not handed in, due more than a day ahead) asks for a due three days later (or the notice's
  limit, when shorter); the issuer approves it the next day.
- 审核: the reviewer looks at every version waiting for review the morning after it came in, returns the first of
  each item with a reason and accepts the others (a version handed in again is accepted).
- 签收: when a notice or stage that asks 签收 has opened, every unit asked taps 签收 at the next tick but the last in
  code order, which is reminded at its 签收 due and escalated after, as the spec says.
Each moment is played at the first tick at or after it, before the tick, and said in words for the summary.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from duban.domain.extension_rules import policy
from duban.domain.quiet import QuietHours
from duban.errors import RequestError
from duban.instants import fmt
from duban.services.acknowledgements import record_acknowledgement
from duban.services.extension import decide_extension, request_extension
from duban.services.review import record_review
from duban.store.acknowledgement_rows import asked_and_not_given
from duban.store.db import reading
from duban.store.loop_rows import first_of_item, owing
from duban.views.campaigns import load_campaign
from duban.views.reviews import review_queue

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Engine

    from duban.simulation.synthetic import PlannedSubmission

REVIEW_AFTER = timedelta(hours=12)  # the morning after


class LoopScript:
    def __init__(
        self, engine: Engine, campaign_id: str, *, quiet: QuietHours, submissions: Iterable[PlannedSubmission] = ()
    ) -> None:
        self.engine, self.campaign_id, self.quiet = engine, campaign_id, quiet
        # the synthetic units' hand-ins (duban.simulation.synthetic): the unit asking for 延期 is one not handing
        # the item in on time anyway (else its request is settled as 不再需要 before the operator decides it)
        self.handing = {(s.unit_code, s.item_id): s for s in submissions}
        self.campaign = load_campaign(engine, campaign_id, units=False)
        self.tz = self.campaign.tz
        self.done: list[str] = []
        self.returned: set[str] = set()
        self.asked: int | None = None
        self.acked: set[str] = set()  # the stages ('' : the notice) whose 签收 was played
        self.plan = self._extension_plan()

    def _extension_plan(self):
        """(unit, item, instance, ask at, until) of the one request, or None when the notice allows none."""
        for _stage, item in self.campaign.spec.items():
            rule = policy(self.campaign.spec, item)
            if rule is None:
                continue
            with reading(self.engine) as conn:
                row = first_of_item(conn, self.campaign_id, item.id)
            if row is None:
                continue
            later = timedelta(days=3)
            if rule.max is not None and rule.max.unit.value in ("hours", "minutes"):
                later = min(
                    later,
                    timedelta(hours=rule.max.amount)
                    if rule.max.unit.value == "hours"
                    else timedelta(minutes=rule.max.amount),
                )
            return row.unit_code, item.id, row.instance, row.due_at - timedelta(days=4), later
        return None

    def _owing(self, item: str, at: datetime, planned: tuple[str, str | None]) -> tuple[str, str | None, datetime]:
        """(unit, instance, due) of the first unit in code order that still owes `item` at `at` with its due more
        than a day ahead (so the approval the next day comes before it), preferring one whose synthetic hand-in is
        late or never comes; the planned one when none owes it."""
        with reading(self.engine) as conn:
            rows = owing(conn, self.campaign_id, item, due_after=at + timedelta(days=1))
        if not rows:
            return planned[0], planned[1], at
        behind = [r for r in rows if (s := self.handing.get((r.unit_code, item))) is None or s.late]
        row = (behind or rows)[0]
        return row.unit_code, row.instance, row.due_at

    def name(self, code: str) -> str:
        return load_campaign(self.engine, self.campaign_id, units={code}).display(code)

    def play(self, at: datetime) -> None:
        self._acknowledgements(at)
        self._extension(at)
        self._reviews(at)

    def _acknowledgements(self, at: datetime) -> None:
        with reading(self.engine) as conn:
            waiting = asked_and_not_given(conn, self.campaign_id, at)
        by_stage: dict[str, list[str]] = {}
        for stage, unit in waiting:
            if stage not in self.acked:
                by_stage.setdefault(stage, []).append(unit)
        names = {s.id: s.name for s in self.campaign.spec.stages}
        for stage, units in by_stage.items():
            self.acked.add(stage)
            tapping, left = (units[:-1], units[-1]) if len(units) > 1 else (units, None)
            for unit in tapping:
                record_acknowledgement(self.engine, self.campaign_id, unit, at, stage_id=stage, actor="simulated")
            what = f"“{names[stage]}”的通知" if stage in names else "通知"
            line = f"{fmt(at, self.tz)} {len(tapping)}个单位签收了{what}"
            if left is not None:
                line += f"；{self.name(left)}未签收（到签收截止时提醒，仍未签收的向上级催办）"
            self.done.append(line)

    def _extension(self, at: datetime) -> None:
        if self.plan is None:
            return
        planned, item, planned_instance, ask_at, later = self.plan
        items = {i.id: i.name for _s, i in self.campaign.spec.items()}
        if self.asked is None and at >= ask_at:
            unit, instance, due = self._owing(item, at, (planned, planned_instance))
            until = due + later
            try:
                asked = request_extension(
                    self.engine,
                    self.campaign_id,
                    unit,
                    item,
                    until,
                    at,
                    reason="确有困难，申请延期（模拟）",
                    instance=instance or None,
                    actor="simulated",
                )
                self.asked = asked.id
                self.done.append(f"{fmt(at, self.tz)} {self.name(unit)}申请将{items[item]}延期至{fmt(until, self.tz)}")
            except RequestError as exc:  # handed in already, or past its due, by the seeded draw
                self.asked = 0
                self.done.append(f"{fmt(at, self.tz)} {self.name(unit)}未提出延期申请：{exc.cn}")
        if self.asked and at >= ask_at + timedelta(days=1):
            try:
                decision = decide_extension(
                    self.engine,
                    self.asked,
                    at,
                    approve=True,
                    note="同意延期（模拟）",
                    actor="simulated",
                    quiet=self.quiet,
                )
            except RequestError as exc:  # the unit handed in (or was excused) meanwhile: the request is settled
                self.done.append(f"{fmt(at, self.tz)} 延期申请未审批：{exc.cn}")
            else:
                self.done.append(
                    f"{fmt(at, self.tz)} 批准延期至{fmt(decision.new_due, self.tz)}（{decision.new_state.cn}）"
                )
            self.asked = 0

    def _reviews(self, at: datetime) -> None:
        for row in review_queue(self.engine, self.campaign_id):
            if at - row.submitted_at < REVIEW_AFTER:
                continue
            accept = row.item_id in self.returned or row.version > 1
            result = record_review(
                self.engine,
                self.campaign_id,
                row.unit_code,
                row.item_id,
                at,
                accept_it=accept,
                reason=None if accept else "材料不全，请补充后重报（模拟）",
                reviewer="simulated",
                instance=row.instance,
                quiet=self.quiet,
            )
            if not accept:
                self.returned.add(row.item_id)
                self.done.append(
                    f"{fmt(at, self.tz)} 退回{self.name(row.unit_code)}的材料（{result.reason}），"
                    f"新的截止时间{fmt(result.new_due, self.tz)}"
                )
