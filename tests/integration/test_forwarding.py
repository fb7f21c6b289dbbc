"""A forwarded campaign in one database with its upper one: 昔阳县's townships hand in to the county, the
county's roll-up is recorded on the city's item for 昔阳县; automatic roll-ups; hidden samples in status."""

from __future__ import annotations

from sqlalchemy import select

from duban.domain.state import State
from duban.services.lifecycle import ensure_planned
from duban.services.rollups import feed_rollups, rollup_status
from duban.services.submit import record_submission
from duban.store.tables import Assignment, Submission
from duban.views.status import status_report
from tests.conftest import SPECS
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong
from tests.samples import docx_bytes, zip_bytes

XIYANG = SPECS / "xiyang-2024-lookback.yaml"
HENGYANG = SPECS / "hengyang-2021-law-month.yaml"
UNITS = [
    "140724100",
    "140724101",
    "140724102",
    "140724103",
    "140724104",
    "140724201",
    "140724202",
    "140724203",
    "140724204",
    "140724205",
    "140724-cq",
]


def _assignment(engine, campaign, item, unit):
    with engine.connect() as conn:
        return conn.execute(
            select(Assignment).where(
                Assignment.campaign_id == campaign, Assignment.item_id == item, Assignment.unit_code == unit
            )
        ).one()


def test_the_countys_rollup_feeds_the_citys_item_for_the_county(engine, tmp_path):
    plan_jinzhong(engine)
    lower = ensure_planned(engine, XIYANG, now=at("2024-05-13 09:00")).campaign_id
    doc = tmp_path / "乡镇材料.docx"
    doc.write_bytes(docx_bytes())
    for code in UNITS[:-1]:
        record_submission(
            engine, lower, code, "township_materials", at("2024-06-24 10:00"), files=[doc], files_dir=tmp_path / "files"
        )
    [status] = rollup_status(engine, lower)
    assert (status.unit_code, len(status.finished), status.missing) == ("140724", 10, ["140724-cq"])
    assert feed_rollups(engine, lower, at("2024-06-24 12:00")).fed_up == []  # not auto: the county submits itself

    summary = tmp_path / "昔阳县汇总.zip"
    summary.write_bytes(zip_bytes())
    record_submission(
        engine,
        lower,
        "140724",
        "materials_rollup",
        at("2024-06-27 16:00"),
        files=[summary],
        files_dir=tmp_path / "files",
    )
    fed = feed_rollups(engine, lower, at("2024-06-27 16:10"))
    assert fed.fed_up == [(CAMPAIGN, "140724", "materials_upload")]
    city = _assignment(engine, CAMPAIGN, "materials_upload", "140724")
    assert city.state == State.submitted.value
    with engine.connect() as conn:
        sub = conn.execute(select(Submission).where(Submission.assignment_id == city.id)).one()
    assert sub.actor == "forward:xiyang-2024-lookback" and sub.files[0]["name"] == "昔阳县汇总.zip"
    assert sub.submitted_at == at("2024-06-27 16:00")  # judged by when the county handed it in
    assert feed_rollups(engine, lower, at("2024-06-28 09:00")).fed_up == []  # fed once
    other = _assignment(engine, CAMPAIGN, "materials_upload", "140725")  # 寿阳县 did not forward
    assert other.state == State.pending.value


def test_a_forward_whose_upper_campaign_is_elsewhere_says_so(sqlite_engine, tmp_path):
    lower = ensure_planned(sqlite_engine, XIYANG, now=at("2024-05-13 09:00")).campaign_id
    doc = tmp_path / "汇总.zip"
    doc.write_bytes(zip_bytes())
    record_submission(
        sqlite_engine,
        lower,
        "140724",
        "materials_rollup",
        at("2024-06-27 16:00"),
        files=[doc],
        files_dir=tmp_path / "files",
    )
    fed = feed_rollups(sqlite_engine, lower, at("2024-06-27 16:10"))
    assert fed.fed_up == [] and "jinzhong-2024-lookback is not planned in this database" in fed.waiting[0]


def test_counts_roll_up_from_the_counties_to_the_city(sqlite_engine, tmp_path):
    campaign = ensure_planned(sqlite_engine, HENGYANG, now=at("2021-11-29 09:00")).campaign_id
    for code, quiz, talks, essays in (("430421", 1200, 3, 2), ("430422", 800, 2, 1), ("430481", 500, 1, 1)):
        record_submission(
            sqlite_engine,
            campaign,
            code,
            "activity_report",
            at("2021-12-24 10:00"),
            metrics={
                "signed_articles": "已发表",
                "quiz_participants": str(quiz),
                "law_talks": str(talks),
                "essays_submitted": str(essays),
            },
            files_dir=tmp_path / "files",
        )
    tally = next(s for s in rollup_status(sqlite_engine, campaign) if s.rollup.id == "county_counts")
    assert tally.unit_code == "430400" and len(tally.feeders) == 12 and len(tally.finished) == 3
    assert tally.sums == {"quiz_participants": 2500, "law_talks": 6, "essays_submitted": 4}
    articles = next(s for s in rollup_status(sqlite_engine, campaign) if s.rollup.id == "articles_up")
    assert articles.unit_code == "430400" and len(articles.feeders) == 12


def test_an_automatic_rollup_is_submitted_when_every_unit_below_has_finished(sqlite_engine, tmp_path):
    spec = tmp_path / "xiyang-auto.yaml"
    spec.write_text(
        XIYANG.read_text(encoding="utf-8").replace(
            "      from: township_materials ", "      auto: true\n      from: township_materials "
        ),
        encoding="utf-8",
    )
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "xiyang.yaml").write_text(
        (SPECS / "units" / "xiyang.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "jinzhong-2024-lookback.yaml").write_text(
        (SPECS / "jinzhong-2024-lookback.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "units" / "jinzhong.yaml").write_text(
        (SPECS / "units" / "jinzhong.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    campaign = ensure_planned(sqlite_engine, spec, now=at("2024-05-13 09:00")).campaign_id
    doc = tmp_path / "材料.docx"
    doc.write_bytes(docx_bytes())
    for index, code in enumerate(UNITS):
        record_submission(
            sqlite_engine,
            campaign,
            code,
            "township_materials",
            at(f"2024-06-2{index % 5} 10:00"),
            files=[doc],
            files_dir=tmp_path / "files",
        )
    fed = feed_rollups(sqlite_engine, campaign, at("2024-06-25 09:00"))
    assert fed.submitted == [("140724", "materials_rollup")]
    county = _assignment(sqlite_engine, campaign, "materials_rollup", "140724")
    assert county.state == State.submitted.value and county.submitted_at == at("2024-06-24 10:00")


def test_status_does_not_show_a_hidden_sample_before_the_check_opens(sqlite_engine):
    plan_jinzhong(sqlite_engine)
    before = status_report(sqlite_engine, CAMPAIGN, at("2024-06-09 12:00"))
    after = status_report(sqlite_engine, CAMPAIGN, at("2024-06-10 09:00"))
    with sqlite_engine.connect() as conn:
        sampled = set(
            conn.execute(select(Assignment.unit_code).where(Assignment.item_id == "inspection_binder")).scalars()
        )
    assert len(sampled) == 30
    assert {u.code for u in before.units if "city_check" in u.stages} == {"140700-sgk"}  # the 设管科's own check
    assert {u.code for u in after.units if "city_check" in u.stages} == sampled | {"140700-sgk"}
