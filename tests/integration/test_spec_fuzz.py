"""Hostile specs under a time and memory limit: every outcome is a valid plan or a clean error naming the file.

A seeded mutator (tests/fuzz/spec_mutants.py) turns the shipped specs into 250 hostile ones — values
an attacker or a tired administrator writes, nesting a thousand deep, recursive aliases, billion laughs, ids
twice, overlays at /dev/zero or ../../../../etc/shadow, lines cut, doubled and garbled, files saved as GBK —
and runs each through load, check, plan and store in a worker process with a memory limit (1 GB above its
start) and a time limit (10 s). `DUBAN_FUZZ_CASES` and `DUBAN_FUZZ_SEED` run more or other mutants; the
module runs by itself too (`uv run python -m tests.fuzz.spec_mutants --cases 1000`) and prints the table.
"""

from __future__ import annotations

import os

import pytest

from tests.fuzz.spec_mutants import Runner, make_mutants, mutant_of, summary

CASES = int(os.environ.get("DUBAN_FUZZ_CASES", "250"))
SEED = int(os.environ.get("DUBAN_FUZZ_SEED", "20"))


@pytest.fixture(scope="module")
def runner():
    worker = Runner(seconds=10.0, memory_mb=1024)
    yield worker
    worker.close()


def _clean(result: dict) -> bool:
    if result.get("leak"):
        return False
    if result["class"] in ("valid", "line"):
        return True
    if result["class"] == "noline":  # a file-level problem (empty, not UTF-8 …) or a year without calendar data
        return (result["type"] in ("SpecError", "SpecErrors") and result.get("named")) or result[
            "type"
        ] == "CalendarGapError"
    return False


def test_every_hostile_spec_plans_or_fails_cleanly(runner):
    outcomes = [(mutant, runner.run(mutant)) for mutant in make_mutants(SEED, CASES)]
    print(summary(outcomes))
    bad = [
        f"{r['class']} {r.get('type')} {r.get('where') or r.get('message', '')[:200]!r}\n    {m.describe()[:300]!r}"
        for m, r in outcomes
        if not _clean(r)
    ]
    assert not bad, f"{len(bad)} of {len(outcomes)} mutants did not end cleanly:\n" + "\n".join(bad)
    assert sum(1 for _m, r in outcomes if r["class"] == "valid") >= CASES // 20  # the mutator also keeps specs valid


@pytest.mark.parametrize(
    "old, new, said",
    [
        (
            'reminders: ["3 working days", "1 day"]',
            'reminders: ["99999999 working days"]',
            "at most 2,500 working days",
        ),
        (
            "title: ",
            "lol0: &a0 [lol, lol]\n"
            + "".join(f"lol{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 20))
            + "title: ",
            "more than 10,000 values",
        ),
        (
            "title: ",
            "lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            + "".join(f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
            + "title: ",
            "more than 10,000 values",
        ),
        ("timezone: Asia/Shanghai", "timezone: " + "{a: " * 5000 + "1" + "}" * 5000, "nested more than 64 levels"),
    ],
    ids=["99999999-working-days", "laughs-2^20", "laughs-10^9", "nesting-5000"],
)
def test_what_took_minutes_or_gigabytes_is_a_quick_error_at_its_line(runner, old, new, said):
    """On the old code: 78 s then an OverflowError; 34 s and 2 GB; 3.5 GB; a RecursionError."""
    result = runner.run(mutant_of("jinzhong-2024-lookback.yaml", old, new))
    assert result["class"] == "line", result
    assert said in result["message"]
    assert result["seconds"] < 5
