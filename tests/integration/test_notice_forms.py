"""Notices as they are written (issue 25), run through `duban simulate`: the campaign in tests/specs plays out on
a throw-away database with its instants as planned."""

from __future__ import annotations

from datetime import datetime

from duban.instants import fmt
from duban.simulation.preview import simulate_spec
from tests.conftest import ROOT

TZ = "Asia/Shanghai"
SPECS = ROOT / "tests" / "specs"


def _opened(preview) -> set[str]:
    return {fmt(datetime.fromisoformat(e.at), TZ) for e in preview.messages if e.kind == "opened"}


def test_a_notice_in_its_own_words_simulates_at_the_planned_instants():
    preview = simulate_spec(SPECS / "xiyang-2024-words.yaml", seed=3)
    assert preview.assignments == 29  # 20 旬报 (每月10日、20日前, 3–12月), 4 季报, 2 半年, 3 one-off
    opened = _opened(preview)
    assert "2024-03-01 周五 08:30" in opened  # 3月至12月 opens on 3/1
    assert "2024-05-11 周六 08:30" in opened  # 5月中旬: the 11th, a 调休 working Saturday
    assert "2024-03-11 周一 08:30" in opened  # the 20th's 旬报 opens the day after the 10th
    assert preview.end.year == 2025  # the timeline runs into 次年 (1月15日前 + escalations)
