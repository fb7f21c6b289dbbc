"""Stages ordered by each other (issue 25): the tick decides from the record when a stage waiting for another's
units opens, counts its dues from that opening, and the stages after it follow. Instants are checked by hand
against the 2024 schedule (端午节 Monday 6/10)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from duban.domain.state import State
from duban.instants import fmt
from duban.services.compose import compose_messages
from duban.services.lifecycle import ensure_planned
from duban.services.stage_release import release_stages
from duban.services.submit import record_submission
from duban.services.tick import tick_stage
from duban.simulation.preview import simulate_spec
from duban.store.tables import Assignment
from tests.conftest import ROOT
from tests.integration.helpers import at

TZ = "Asia/Shanghai"
SPEC = ROOT / "tests" / "specs" / "jinzhong-2024-stage-order.yaml"
CAMPAIGN = "jinzhong-2024-stage-order"
STAGES = ("self_assessment", "county_check", "city_check", "materials")


def _tick(engine, moment):
    release_stages(engine, CAMPAIGN, moment)
    results = {s: tick_stage(engine, CAMPAIGN, s, moment) for s in STAGES}
    compose_messages(engine, CAMPAIGN, moment)
    return results


def _rows(engine, stage):
    with engine.connect() as conn:
        return conn.execute(
            select(Assignment)
            .where(Assignment.campaign_id == CAMPAIGN, Assignment.stage_id == stage)
            .order_by(Assignment.unit_code)
        ).all()


@pytest.mark.parametrize("engine", ["sqlite", "pg"], indirect=True)
def test_a_stage_waiting_for_80_percent_opens_when_the_record_reaches_it(engine, tmp_path):
    ensure_planned(engine, SPEC, now=at("2024-05-06 12:00"))
    opened = _tick(engine, at("2024-06-03 09:00"))  # the earliest instant the plan prints for the city check
    assert opened["county_check"].events["opened"] == 2  # county check: when the self-assessment closed (5/31 24:00)
    assert not opened["city_check"].events and {r.state for r in _rows(engine, "city_check")} == {"pending"}
    record_submission(engine, CAMPAIGN, "140724", "county_report", at("2024-06-05 10:00"), files_dir=tmp_path)
    _tick(engine, at("2024-06-05 11:00"))
    assert {r.next_event_at for r in _rows(engine, "city_check")} == {None}  # 1 of 2 counties: below 80%
    record_submission(engine, CAMPAIGN, "140725", "county_report", at("2024-06-12 15:00"), files_dir=tmp_path)
    released = release_stages(engine, CAMPAIGN, at("2024-06-12 16:00"))
    # 80% of 2 counties is both, reached Wednesday 6/12 15:00; one working day later opens Thursday 6/13 08:30
    assert [(stage, fmt(when, TZ)) for stage, when in released] == [
        ("city_check", "2024-06-13 周四 08:30"),
        ("materials", "2024-06-25 周二 08:30"),
    ]
    city = _rows(engine, "city_check")[0]
    assert fmt(city.open_at, TZ) == "2024-06-13 周四 08:30"
    assert fmt(city.due_at, TZ) == "2024-06-18 周二 24:00"  # 3 working days from the actual opening: 6/14, 6/17, 6/18
    materials = _rows(engine, "materials")[0]
    # the city check lasts 5 working days (to 6/20); materials open 3 working days after (6/21, 6/24, 6/25), last 5 days
    assert (fmt(materials.open_at, TZ), fmt(materials.due_at, TZ)) == ("2024-06-25 周二 08:30", "2024-06-30 周日 24:00")
    assert release_stages(engine, CAMPAIGN, at("2024-06-12 17:00")) == []  # released once
    results = _tick(engine, at("2024-06-13 08:30"))
    assert results["city_check"].events["opened"] == 2
    assert {r.state for r in _rows(engine, "city_check")} == {State.open.value}


def test_a_campaign_with_stages_ordered_by_each_other_simulates():
    """The counties' county reports are a day's batch: the tick that follows it reads the record and opens the
    city check (80% of the counties) one working day later, and the materials after it, as a real tick does."""
    preview = simulate_spec(SPEC, seed=1)
    assert preview.assignments == 8
    opened = sorted(fmt(datetime.fromisoformat(e.at), TZ) for e in preview.messages if e.kind == "opened")
    # 自查 5/11; 县级检查 when it closes (5/31 24:00, held to 07:30); the second county report on Wednesday 6/12:
    # 市级抽查 Thursday 6/13 08:30; it lasts 5 working days (to 6/20), materials 3 working days after (6/25)
    assert [when[:10] for when in opened[::2]] == ["2024-05-11", "2024-06-01", "2024-06-13", "2024-06-25"]
    assert "2024-06-13 周四 08:30" in opened
    assert preview.never_opened == []
    assert preview.planned_submissions + preview.never == 8  # the released stages' units are drawn and counted


def test_a_stage_that_never_opens_is_named_in_the_preview_with_why():
    from duban.simulation.synthetic import Behaviour

    preview = simulate_spec(SPEC, seed=1, behaviour=Behaviour(on_time=0.0, late=0.0))  # nobody hands anything in
    assert preview.never_opened == [
        ("市级抽查阶段", "it waits for 80% of 县级检查阶段's units to finish (报送或免报): 0 of 2 had, 2 needed"),
        ("材料上报阶段", "it follows 市级抽查阶段, which never opened"),
    ]


def test_a_held_stage_shows_as_not_started_in_status_until_the_record_opens_it(sqlite_engine):
    from duban.views.campaigns import load_campaign
    from duban.views.duties import load_duties
    from duban.views.status import status_report

    ensure_planned(sqlite_engine, SPEC, now=at("2024-05-06 12:00"))
    moment = at("2024-06-20 09:00")  # past the city check's earliest due (6/6): it has not opened, so not overdue
    _tick(sqlite_engine, moment)
    duties = load_duties(sqlite_engine, load_campaign(sqlite_engine, CAMPAIGN), moment)
    assert {d.state for d in duties if d.item_id == "city_binder"} == {State.pending}
    report = status_report(sqlite_engine, CAMPAIGN, moment)
    assert report.by_stage["city_check"] == {State.pending: 2}


def test_an_amendment_to_a_waiting_stage_keeps_it_waiting_and_its_opening_counts_the_new_due(sqlite_engine, tmp_path):
    from duban.domain.calendar import WorkCalendar
    from duban.services.amend import apply_amendment
    from duban.spec.amendment import load_amendment
    from duban.spec.load import load_spec

    ensure_planned(sqlite_engine, SPEC, now=at("2024-05-06 12:00"))
    amendment = tmp_path / "amend.yaml"
    amendment.write_text(
        "campaign: jinzhong-2024-stage-order\nissuer: 晋中市统计局\nreason: 抽查台账多给一个工作日\n"
        "changes:\n  - {item: city_binder, due: {after: stage:city_check.start, offset: 4 working days}}\n",
        encoding="utf-8",
    )
    apply_amendment(
        sqlite_engine, load_spec(SPEC), load_amendment(amendment), WorkCalendar(), at=at("2024-06-03 09:00")
    )
    assert {r.next_event_at for r in _rows(sqlite_engine, "city_check")} == {None}  # still waiting for the counties
    for unit in ("140724", "140725"):
        record_submission(sqlite_engine, CAMPAIGN, unit, "county_report", at("2024-06-12 15:00"), files_dir=tmp_path)
    release_stages(sqlite_engine, CAMPAIGN, at("2024-06-12 16:00"))
    city = _rows(sqlite_engine, "city_check")[0]
    # opens Thursday 6/13 08:30; four working days (6/14, 6/17, 6/18, 6/19) as amended, not three
    assert fmt(city.due_at, TZ) == "2024-06-19 周三 24:00"


def test_an_amendment_moving_a_stage_moves_the_stage_that_follows_it(sqlite_engine):
    """自查 extended to Wednesday 6/5 (an amendment of 5/20): 县级检查 follows it (自查结束后), so it no longer opens
    on 6/1 but when 自查 now ends, and its `lasts: 10 working days` counts from there; the city check still waits."""
    from duban.domain.calendar import WorkCalendar
    from duban.services.amend import apply_amendment
    from duban.spec.amendment import load_amendment
    from duban.spec.load import load_spec

    ensure_planned(sqlite_engine, SPEC, now=at("2024-05-06 12:00"))
    _tick(sqlite_engine, at("2024-05-13 09:00"))
    moved = ROOT / "tests" / "specs" / "amendments" / "jinzhong-2024-stage-order-move.yaml"
    result = apply_amendment(
        sqlite_engine, load_spec(SPEC), load_amendment(moved), WorkCalendar(), at=at("2024-05-20 09:00")
    )
    county = _rows(sqlite_engine, "county_check")[0]
    # 10 working days from 6/5 24:00: 6/6, 6/7, 6/11 (端午 Monday 6/10), 6/12, 6/13, 6/14, 6/17, 6/18, 6/19, 6/20
    assert (fmt(county.open_at, TZ), fmt(county.due_at, TZ)) == ("2024-06-05 周三 24:00", "2024-06-20 周四 24:00")
    assert result.moving == ["county_check"] and {c.item_id for c in result.changed} >= {"county_report"}
    assert not _tick(sqlite_engine, at("2024-06-03 09:00"))["county_check"].events  # 自查 still runs
    assert {r.state for r in _rows(sqlite_engine, "county_check")} == {State.pending.value}
    assert _tick(sqlite_engine, at("2024-06-06 08:30"))["county_check"].events["opened"] == 2
    assert {r.next_event_at for r in _rows(sqlite_engine, "city_check")} == {None}  # waits for the counties


def test_an_amendment_on_a_running_campaign_keeps_the_following_stages_already_opened(
    sqlite_engine, tmp_path, monkeypatch
):
    """晋中 国庆安全排查 (2026): 自查 extended to Friday 10/9, 县级复查 opened when it closed (10/9 24:00), both
    counties reported Monday 10/12, so 市级抽查 opened one working day later (Tuesday 10/13 08:30). On 10/14 a
    notice moves 自查's end to 10/20: both stages follow it, but the record opened them and keeps
    them; nothing of theirs moves."""
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.domain.plan import load_calendar_for
    from duban.services.amend import apply_amendment
    from duban.services.sample_draws import draw_open_sample
    from duban.settings import get_settings
    from duban.spec.amendment import load_amendment
    from duban.spec.load import load_spec

    spec_path, campaign = ROOT / "tests" / "specs" / "yj-2026-safety.yaml", "yj-2026-safety"
    amendments = ROOT / "tests" / "specs" / "amendments"
    stages = ("self_check", "county_check", "city_check")

    def tick_all(moment):
        release_stages(sqlite_engine, campaign, moment)
        for stage in stages:
            tick_stage(sqlite_engine, campaign, stage, moment)
        compose_messages(sqlite_engine, campaign, moment)

    def instants():
        with sqlite_engine.connect() as conn:
            rows = conn.execute(
                select(Assignment.__table__).where(
                    Assignment.campaign_id == campaign, Assignment.stage_id != "self_check"
                )
            ).all()
        return sorted((r.item_id, r.unit_code, r.state, fmt(r.open_at, TZ), fmt(r.due_at, TZ)) for r in rows)

    ensure_planned(sqlite_engine, spec_path, now=at("2026-09-10 12:00"))
    spec = load_spec(spec_path)
    calendar = load_calendar_for(spec)
    oct9 = load_amendment(amendments / "yj-2026-safety-extend-to-oct9.yaml")
    apply_amendment(sqlite_engine, spec, oct9, calendar, at=at("2026-09-25 09:00"))
    draw_open_sample(sqlite_engine, campaign, "city_sample", count=2, at=at("2026-09-28 09:00"))
    tick_all(at("2026-10-10 09:00"))
    for county in ("140724", "140725"):
        record_submission(sqlite_engine, campaign, county, "county_report", at("2026-10-12 10:00"), files_dir=tmp_path)
    for moment in ("2026-10-12 11:00", "2026-10-13 09:00", "2026-10-14 08:00"):
        tick_all(at(moment))
    before = instants()
    assert {(item, state, opens) for item, _unit, state, opens, _due in before} == {
        ("county_report", "submitted", "2026-10-09 周五 24:00"),
        ("rectify", "open", "2026-10-13 周二 08:30"),
    }
    oct20 = load_amendment(amendments / "yj-2026-safety-extend.yaml")
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DUBAN_DATABASE_URL", str(sqlite_engine.url))
    get_settings.cache_clear()
    shown = CliRunner().invoke(
        app,
        [
            "amend",
            str(spec_path),
            str(amendments / "yj-2026-safety-extend.yaml"),
            "--at",
            "2026-10-14 09:00",
            "--dry-run",
        ],
    )
    assert shown.exit_code == 0, shown.output
    assert (
        "note stage county_check counts from stage:self_check, which the amendment moves, but already opened on "
        "2026-10-09 周五 24:00: it does not move (the record keeps it)"
    ) in shown.output
    assert "note stage city_check counts from stage:county_check, which counts from stage:self_check, which the " in (
        shown.output
    )
    assert "already opened on 2026-10-13 周二 08:30" in shown.output
    assert "moves with it" not in shown.output and "waits for the record" not in shown.output
    dry = apply_amendment(sqlite_engine, spec, oct20, calendar, at=at("2026-10-14 09:00"), dry_run=True)
    apply_amendment(sqlite_engine, spec, oct20, calendar, at=at("2026-10-14 09:00"))
    assert instants() == before  # 县级复查's opening stays 10/9 24:00 (it moved to 10/20 before)
    assert {c.item_id for c in dry.changed} <= {"mobilize", "self_ledger", "county_sum"}
    assert (dry.moving, dry.waiting) == ([], [])
    assert {stage: fmt(when, TZ) for stage, when in dry.opened.items()} == {
        "county_check": "2026-10-09 周五 24:00",
        "city_check": "2026-10-13 周二 08:30",
    }


def test_a_hand_in_to_a_stage_still_waiting_for_the_record_is_refused(sqlite_engine, tmp_path):
    """`submit --at` for the city check before 80% of the counties had finished was recorded 按时: its rows hold
    the earliest instant the stage could open, and the hand-in came after that, though the stage had not opened."""
    from duban.errors import SubmissionError
    from duban.store.tables import Submission

    ensure_planned(sqlite_engine, SPEC, now=at("2024-05-06 12:00"))
    _tick(sqlite_engine, at("2024-06-03 09:00"))
    with pytest.raises(SubmissionError) as refused:
        record_submission(sqlite_engine, CAMPAIGN, "140724", "city_binder", at("2024-06-04 10:00"), files_dir=tmp_path)
    said = str(refused.value)
    assert "--at 2024-06-04 周二 10:00" in said and "stage 'city_check' (item 'city_binder') has not opened" in said, (
        said
    )
    assert "「市级抽查阶段」尚未开始（县级检查阶段80%单位完成后1个工作日开始）" in refused.value.cn, refused.value.cn
    assert {r.state for r in _rows(sqlite_engine, "city_check")} == {"pending"}
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(Submission)).all() == []  # nothing stored
    for county, moment in (("140724", "2024-06-05 10:00"), ("140725", "2024-06-12 15:00")):
        record_submission(sqlite_engine, CAMPAIGN, county, "county_report", at(moment), files_dir=tmp_path)
    _tick(sqlite_engine, at("2024-06-13 09:00"))  # 80% reached: the city check opened 6/13 08:30
    receipt = record_submission(
        sqlite_engine, CAMPAIGN, "140724", "city_binder", at("2024-06-13 10:00"), files_dir=tmp_path
    )
    assert receipt.state is State.submitted
