"""The spec's bounds fit what the database keeps: the largest seed and the longest ids a spec may give are stored
on SQLite and on PostgreSQL alike (a seed of 2^31 or an id of 65 characters is an error at its line instead —
tests/unit/test_spec_hostile.py)."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

from sqlmodel import Session, select

from duban.services.lifecycle import plan_file
from duban.store.plans import store_plan
from duban.store.tables import Assignment, SampleDraw
from tests.conftest import JINZHONG, SPECS


def test_the_largest_seed_and_longest_ids_are_stored(engine, tmp_path):
    shutil.copytree(SPECS / "units", tmp_path / "units")
    stage_id, item_id = "s" * 64, "i" * 64
    text = (
        JINZHONG.read_text(encoding="utf-8")
        .replace("seed: 20240525", f"seed: {2**31 - 1}", 1)
        .replace("  - id: self_assessment\n", f"  - id: {stage_id}\n", 1)
        .replace("- id: self_report", f"- id: {item_id}", 1)
    )
    path = tmp_path / "bounds.yaml"
    path.write_text(text, encoding="utf-8")
    spec, plan = plan_file(path)
    store_plan(engine, spec, plan, now=datetime(2024, 5, 1, tzinfo=timezone.utc))
    with Session(engine) as session:
        seeds = set(session.exec(select(SampleDraw.seed)).all())
        stages = set(session.exec(select(Assignment.stage_id).where(Assignment.item_id == item_id)).all())
    assert 2**31 - 1 in seeds
    assert stages == {stage_id}
