"""The dashboard's kept counts (assignment_tally, kept by triggers) equal a recount of the assignments after every
kind of change — a plan, ticks, submissions on time and late, a review returning and accepting, an excuse, the
整改 duties a failing score adds, an amendment, a reset — on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from duban.domain.scoring import UnitScores
from duban.services.review import record_review
from duban.services.scores import record_scores
from duban.services.submit import record_excuse, record_submission
from duban.store.plans import reset_campaign
from duban.store.tally import Tally, read_tally, recount
from duban.store.tally_sql import COMPACT_ABOVE
from duban.views.samples import sample_members
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import docx_bytes, write, xlsx_bytes


def kept(engine) -> Tally:
    with engine.connect() as conn:
        return read_tally(conn, CAMPAIGN)


def counted(engine) -> Tally:
    with engine.connect() as conn:
        return recount(conn, CAMPAIGN)


def same(engine) -> Tally:
    found, expected = kept(engine), counted(engine)
    assert found.counts == expected.counts
    assert found.units == expected.units
    return found


def test_the_kept_counts_equal_a_recount_after_every_kind_of_change(engine, tmp_path):
    plan_jinzhong(engine)
    planned = same(engine)
    assert planned.units == 131 and sum(n for n, _ in planned.counts.values()) == 324
    assert {state for (_s, _i, state) in planned.counts} == {"pending"}

    tick(engine, at("2024-05-20 09:00"))
    assert {state for (_s, _i, state) in same(engine).counts} >= {"open", "pending"}
    report = write(tmp_path / "总结报告.docx", docx_bytes())
    files = tmp_path / "files"
    for index, code in enumerate(["140724100", "140724101", "140724102", "140702", "140781", "140724"]):
        when = at("2024-05-18 10:00") if index % 2 else at("2024-05-27 10:00")  # the second half late
        record_submission(engine, CAMPAIGN, code, "self_report", when, files=[report], files_dir=files)
        same(engine)
    record_excuse(engine, CAMPAIGN, "140724103", "self_report", at("2024-05-21 10:00"), reason="撤并")
    same(engine)
    tick(engine, at("2024-05-27 10:00"))  # the rest slip: overdue, escalations
    assert "overdue" in {state for (_s, _i, state) in same(engine).counts}

    # failing scores: 整改 duties, one unit owing two instances
    county, city = (sample_members(engine, CAMPAIGN, s) for s in ("county_checks", "city_check"))
    both = [c for c in city if c in county][:1] + [c for c in city if c not in county][:2]
    zero = dict.fromkeys(
        ["duties", "staffing", "rules", "ledgers", "reporting", "service", "informatization", "training", "funding"], 1
    )
    for sample, units in (("county_checks", [c for c in both if c in county]), ("city_check", both)):
        record_scores(engine, CAMPAIGN, sample, [UnitScores(c, dict(zero)) for c in units], at=at("2024-06-12 10:00"))
    tally = same(engine)
    assert tally.items_with_instances()
    assert tally.units == planned.units and sum(n for n, _ in tally.counts.values()) > 324

    # 审核: a county's 检查材料 handed in (待审核), returned, handed in again and accepted
    tick(engine, at("2024-06-12 09:30"))
    materials = write(tmp_path / "材料.xlsx", xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    record_submission(
        engine, CAMPAIGN, "140724", "materials_upload", at("2024-06-28 09:00"), files=[materials], files_dir=files
    )
    assert same(engine).counts.get(("materials", "materials_upload", "in_review"))
    record_review(
        engine, CAMPAIGN, "140724", "materials_upload", at("2024-06-28 10:00"), accept_it=False, reason="缺签章"
    )
    same(engine)
    tick(engine, at("2024-07-05 09:30"))
    materials.write_bytes(xlsx_bytes([["乡镇", "得分", "签章"], ["乐平镇", 86, "已盖章"]]))
    record_submission(
        engine, CAMPAIGN, "140724", "materials_upload", at("2024-07-05 10:00"), files=[materials], files_dir=files
    )
    record_review(engine, CAMPAIGN, "140724", "materials_upload", at("2024-07-05 11:00"), accept_it=True)
    same(engine)
    tick(engine, at("2024-09-01 00:00"))
    same(engine)

    reset_campaign(engine, CAMPAIGN)
    assert kept(engine) == Tally() == counted(engine)


def test_a_unit_counts_once_whatever_its_duties_and_leaves_with_its_last(engine):
    plan_jinzhong(engine)

    def run(sql: str) -> int:
        with engine.begin() as conn:  # moving a duty to another unit: no duban path does it today, held anyway
            conn.execute(text(sql.replace("CAMPAIGN", f"'{CAMPAIGN}'")))
        return same(engine).units

    moved = "UPDATE assignment SET unit_code = '9999' WHERE campaign_id = CAMPAIGN AND unit_code = '140724100'"
    assert run(moved + " AND item_id = 'self_report'") == 132  # a new unit, and 乐平镇 still owes its score sheet
    assert run(moved) == 131  # 乐平镇's last duty moved too
    gone = "DELETE FROM assignment WHERE campaign_id = CAMPAIGN AND unit_code = '140724101'"
    assert run(gone + " AND item_id = 'self_report'") == 131
    assert run(gone) == 130


def test_postgres_keeps_one_row_per_key_once_the_tick_folds_them(pg_engine, tmp_path):
    plan_jinzhong(pg_engine)
    tick(pg_engine, at("2024-05-20 09:00"))
    report = write(tmp_path / "总结报告.docx", docx_bytes())
    codes = ["140724100", "140724101", "140724102", "140724103", "140724104"]
    with pg_engine.begin() as conn:  # many small changes (as many submissions would leave): a row each
        for _ in range(COMPACT_ABOVE // 2 + 1):
            for state in ("submitted", "open"):
                conn.execute(
                    text(
                        "UPDATE assignment SET state = :s "
                        "WHERE campaign_id = :c AND unit_code = :u AND item_id = 'self_report'"
                    ),
                    {"s": state, "c": CAMPAIGN, "u": codes[0]},
                )
    record_submission(
        pg_engine, CAMPAIGN, codes[1], "self_report", at("2024-05-20 10:00"), files=[report], files_dir=tmp_path / "f"
    )

    def rows() -> int:
        with pg_engine.connect() as conn:
            return conn.execute(
                text("SELECT count(*) FROM assignment_tally WHERE campaign_id = :c"), {"c": CAMPAIGN}
            ).scalar()

    assert rows() > COMPACT_ABOVE
    same(pg_engine)
    tick(pg_engine, at("2024-05-20 12:00"))
    assert rows() == len(same(pg_engine).counts) + 1  # one per key, and the units row


def test_concurrent_changes_on_postgres_never_wait_on_each_others_counts(pg_engine):
    """Two transactions changing one item's state at once: both commit, neither waits for the other's counts."""
    plan_jinzhong(pg_engine)
    tick(pg_engine, at("2024-05-20 09:00"))
    first, second = pg_engine.connect(), pg_engine.connect()
    try:
        one, two = first.begin(), second.begin()
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        change = (
            "UPDATE assignment SET state = 'submitted' "
            "WHERE campaign_id = :c AND unit_code = :u AND item_id = 'self_report'"
        )
        first.execute(text(change), {"c": CAMPAIGN, "u": "140724100"})
        second.execute(text(change), {"c": CAMPAIGN, "u": "140724101"})  # would time out on a shared counter row
        two.commit()
        one.commit()
    finally:
        first.close()
        second.close()
    assert same(pg_engine).counts[("self_assessment", "self_report", "submitted")][0] == 2


def test_postgres_has_statistics_for_a_campaign_as_soon_as_it_is_planned(pg_engine):
    """A freshly planned campaign was planned for as if its tables were empty until autovacuum came by (issue 24)."""
    plan_jinzhong(pg_engine)
    with pg_engine.connect() as conn:
        counted = dict(
            conn.execute(
                text("SELECT relname, reltuples FROM pg_class WHERE relname IN ('assignment', 'campaign_unit')")
            ).all()
        )
    assert counted["assignment"] == 324 and counted["campaign_unit"] > 100
