"""What operators read in the Prefect UI after a tick: progress per stage, 红黄绿 per unit, overdue and escalations."""

import re

from duban.services.submit import record_submission
from duban.views.artifacts import colour_counts, stage_description, summary_markdown, unit_table
from duban.views.progress import artifact_key, campaign_view
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import pdf_bytes


def test_after_the_self_assessment_due_the_view_shows_who_is_red_and_who_was_escalated(sqlite_engine, tmp_path):
    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    sheet = tmp_path / "自查评分表.pdf"
    sheet.write_bytes(pdf_bytes())
    record_submission(
        sqlite_engine,
        CAMPAIGN,
        "140724100",
        "self_score_sheet",
        at("2024-05-20 10:00"),
        files=[sheet],
        files_dir=tmp_path / "files",
    )
    record_submission(
        sqlite_engine,
        CAMPAIGN,
        "140724100",
        "self_report",
        at("2024-05-21 10:00"),
        files=[sheet],
        files_dir=tmp_path / "files",
    )
    moment = at("2024-05-28 09:00")
    changes = tick(sqlite_engine, moment)
    view = campaign_view(sqlite_engine, CAMPAIGN, moment)

    first = view.stages[0]
    assert (first.name, first.total, first.done, first.percent) == ("规范化建设自评阶段", 260, 2, 0.8)
    assert {k.value: v for k, v in colour_counts(view).items()} == {"红": 129, "绿": 1, "灰": 1}
    rows = unit_table(view)
    # a coloured mark beside each word (Prefect shows table cells as plain text, dark theme or light)
    assert rows[0]["总体"] == "🔴 红" and rows[-1]["总体"] != "🔴 红"  # the reddest first
    [leping] = [r for r in rows if (r["县区"], r["单位"]) == ("昔阳县", "乐平镇统计站")]
    assert (leping["县区"], leping["单位"], leping["总体"], leping["①"], leping["已报/应报"], leping["逾期未报"]) == (
        "昔阳县",
        "乐平镇统计站",
        "🟢 绿",
        "🟢 绿",
        "2/2",
        0,
    )
    counties = [r["县区"] for r in rows]
    assert all(
        counties.index(c) + counties.count(c) - 1 == len(counties) - 1 - counties[::-1].index(c) for c in set(counties)
    )  # each county's units together
    xiyang = [r for r in rows if r["县区"] == "昔阳县"]
    assert xiyang[0]["单位"] == "昔阳县统计局" and xiyang[-1]["单位"] == "乐平镇统计站"  # worst first in the county
    assert list(rows[0]) == ["县区", "单位", "总体", "①", "②", "③", "④", "已报/应报", "逾期未报"]

    events = {k: v for s in changes.values() for k, v in s.events.items()}
    text = summary_markdown(view, events, 150)
    assert "截至 **2024-05-28 周二 09:00**" in text
    assert "| ① 规范化建设自评阶段 | 🔴 红 | 260 | 2 | 0 | 0 | 258 | 0 | 0 | 0.8% |" in text
    assert "| ② 县级检查阶段 | 🟢 绿 | 22 | 0 | 0 | 0 | 0 | 22 | 0 | 0% |" in text
    assert "已报＝按时报送＋逾期报送" in text
    # the heading counts what the bullets and the last line add up to; ages as messages write them
    overdue = text.split("## 逾期未报：")[1].split("## ")[0]
    assert overdue.startswith("129 个单位 258 项")
    listed = [int(n) for n in re.findall(r"：(\d+) 项（", overdue)]
    [(rest_units, rest_items)] = re.findall(r"另有 (\d+) 个单位 (\d+) 项", overdue)
    assert len(listed) + int(rest_units) == 129 and sum(listed) + int(rest_items) == 258
    assert "截止 2024-05-25 周六 24:00，已逾期 2天9小时" in overdue and " 天" not in overdue
    # a township's slip goes to its county bureau, its items on one line
    assert (
        "经纬街道统计站 · 自查评分表、本单位统计基层基础规范化建设总结报告：第1次催办 → 榆次区统计局"
        "（2024-05-28 周二 09:00）"
    ) in text
    assert "乐平镇" not in overdue  # 乐平镇 handed everything in
    assert [stage_description(s, i).split("：")[0] for i, s in enumerate(view.stages)] == [
        "🔴 红 ① 规范化建设自评阶段",
        "🟢 绿 ② 县级检查阶段",
        "⚪\ufe0f 未开始 ③ 市级检查阶段",
        '⚪\ufe0f 未开始 ④ "回头看"检查材料整理上报阶段',
    ]


def test_artifact_keys_are_stable_lowercase_and_dashed():
    assert artifact_key("jinzhong-2024-lookback", "self_assessment", "progress") == (
        "jinzhong-2024-lookback-self-assessment-progress"
    )
    assert artifact_key("Zibo_2018 Open·Day", "units") == "zibo-2018-open-day-units"


def test_views_are_published_again_only_after_something_happens_or_a_new_day(engine, tmp_path):
    """An idle tick of a national campaign must not rebuild 41,568 units' colours: the views wait for news."""
    from duban.views.progress import views_published, views_stale
    from tests.samples import pdf_bytes

    plan_jinzhong(engine)
    opening = at("2024-05-10 08:30")
    tick(engine, opening)
    marks = views_stale(engine, CAMPAIGN, opening)
    assert marks is not None and marks.transition_id > 0  # never published: publish
    views_published(engine, CAMPAIGN, opening, marks)
    assert views_stale(engine, CAMPAIGN, at("2024-05-10 18:00")) is None  # nothing since, same day
    sheet = tmp_path / "自查评分表.pdf"
    sheet.write_bytes(pdf_bytes())
    record_submission(
        engine,
        CAMPAIGN,
        "140724100",
        "self_score_sheet",
        at("2024-05-10 18:10"),
        files=[sheet],
        files_dir=tmp_path / "files",
    )
    after = views_stale(engine, CAMPAIGN, at("2024-05-10 18:20"))
    assert after is not None and after.submission_id > marks.submission_id  # a submission came in
    views_published(engine, CAMPAIGN, at("2024-05-10 18:20"), after)
    views_published(engine, CAMPAIGN, opening, marks)  # a slower tick finishing late does not move marks back
    assert views_stale(engine, CAMPAIGN, at("2024-05-10 23:50")) is None
    assert views_stale(engine, CAMPAIGN, at("2024-05-11 00:10")) is not None  # a new day in Shanghai: ages change


def test_an_operators_view_being_read_does_not_hold_up_a_tick(sqlite_engine):
    """Readers on SQLite take no write lock: a tick writes while a view's read is still open, and the read keeps
    seeing the state it began with."""
    import time

    from sqlalchemy import func, select

    from duban.store.db import reading
    from duban.store.tables import Assignment

    plan_jinzhong(sqlite_engine)
    opened = select(func.count()).where(Assignment.state == "open")
    with reading(sqlite_engine) as conn:
        assert conn.execute(opened).scalar() == 0  # the read's transaction is open from here
        started = time.monotonic()
        tick(sqlite_engine, at("2024-05-10 08:30"))  # a writer would wait 30 s (busy_timeout), then fail
        assert time.monotonic() - started < 10
        assert conn.execute(opened).scalar() == 0  # the same snapshot
    with reading(sqlite_engine) as conn:
        assert conn.execute(opened).scalar() == 260


def test_stage_totals_hold_when_an_assignment_names_an_item_the_stored_spec_lacks(sqlite_engine):
    """Stage totals are counted per item from the colours index; a row whose item the spec lost still counts."""
    from duban.store.db import unit_of_work

    def totals():
        return [(s.stage_id, s.total, s.states) for s in campaign_view(sqlite_engine, CAMPAIGN, moment).stages]

    plan_jinzhong(sqlite_engine)
    moment = at("2024-05-10 09:00")
    tick(sqlite_engine, moment)
    before = totals()
    with unit_of_work(sqlite_engine) as conn:
        conn.exec_driver_sql(
            "UPDATE assignment SET item_id = 'retired_item' WHERE id = (SELECT MIN(id) FROM assignment)"
        )
    assert totals() == before and before[0][1] == 260


def test_the_unit_table_keeps_the_reddest_units_then_by_code_and_counts_every_unit(engine, tmp_path, monkeypatch):
    """On both databases: the table's units are the reddest (overdue before due soon before open before not yet
    open), ties by code; the 红黄绿 counts cover every unit, shown or not."""
    from collections import Counter

    from sqlalchemy import select

    import duban.views.progress
    from duban.domain.state import Color, State, color, worst
    from duban.store.tables import Assignment

    plan_jinzhong(engine)
    tick(engine, at("2024-05-10 08:30"))
    sheet = tmp_path / "自查评分表.pdf"
    sheet.write_bytes(pdf_bytes())
    for unit in ("140724100", "140702001"):  # two units hand everything in: green, the rest red after the due
        for item in ("self_score_sheet", "self_report"):
            record_submission(
                engine, CAMPAIGN, unit, item, at("2024-05-20 10:00"), files=[sheet], files_dir=tmp_path / "files"
            )
    moment = at("2024-05-28 09:00")
    tick(engine, moment)
    with engine.connect() as conn:
        rows = conn.execute(select(Assignment.unit_code, Assignment.state)).all()
    by_unit: dict[str, list] = {}
    for code, state in rows:
        by_unit.setdefault(code, []).append(color(State(state)))
    worst_of = {code: worst(colours) for code, colours in by_unit.items()}
    counts = Counter(worst_of.values())
    assert counts[Color.green] == 2 and counts[Color.red] > 100 and counts[Color.grey] >= 1
    rank = {c: n for n, c in enumerate((Color.red, Color.yellow, Color.green, Color.grey))}
    shown = counts[Color.red] + 1  # every red unit and the first green one by code: not the other, nor a grey one
    expected = sorted(worst_of, key=lambda code: (rank[worst_of[code]], code))[:shown]
    assert worst_of[expected[-1]] is Color.green

    monkeypatch.setattr(duban.views.progress, "ROWS_SHOWN", shown)
    view = campaign_view(engine, CAMPAIGN, moment)
    assert [unit.code for unit in view.units] == expected
    assert view.colours == counts and view.unit_total == len(by_unit)


def test_the_escalations_listed_are_read_from_their_own_index_not_from_every_intent(sqlite_engine):
    """The view lists the last day's escalations on every publishing tick: with the intents of earlier national
    campaigns in the same database (1.5 million rows), reading every intent would cost each tick."""
    from sqlalchemy import event

    plan_jinzhong(sqlite_engine)
    tick(sqlite_engine, at("2024-05-10 08:30"))
    moment = at("2024-05-28 09:00")
    tick(sqlite_engine, moment)
    statements = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        if "escalation" in statement and "FROM intent" in statement:
            statements.append((statement, parameters))

    event.listen(sqlite_engine, "before_cursor_execute", keep)
    try:
        view = campaign_view(sqlite_engine, CAMPAIGN, moment)
    finally:
        event.remove(sqlite_engine, "before_cursor_execute", keep)
    assert view.escalations and len(statements) == 1
    statement, parameters = statements[0]
    with sqlite_engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    assert any("ix_intent_escalations" in str(row) for row in plan), plan
