"""The five seed notices as specs: each loads, validates and plans, and the plan says what the notice says.

Facts are taken from the notices in /work/shared/seeds (淄博 000, 衡阳 001, 山东 002, 鞍山 003, 晋中 004); a test
fails when a spec drifts from its notice. Pure domain: no Prefect, no database.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from functools import cache

import pytest

from duban.domain.calendar import Postpone
from duban.domain.plan import load_calendar_for, resolve_selector
from duban.domain.timeline import Timeline
from duban.domain.units import Level
from duban.instants import WEEKDAYS, fmt, in_zone
from duban.services.lifecycle import plan_file
from duban.spec.checks import validate
from duban.spec.models import Selector
from tests.conftest import SPECS

TZ = "Asia/Shanghai"
SEEDS = {
    "000": "zibo-2018-open-day.yaml",
    "001": "hengyang-2021-law-month.yaml",
    "002": "shandong-2020-open-government.yaml",
    "003": "anshan-2022-open-day-report.yaml",
    "004": "jinzhong-2024-lookback.yaml",
}
ZIBO_COUNTIES = ["淄川区", "张店区", "博山区", "临淄区", "周村区", "桓台县", "高青县", "沂源县"]
HENGYANG_COUNTIES = [
    "珠晖区",
    "雁峰区",
    "石鼓区",
    "蒸湘区",
    "南岳区",
    "衡阳县",
    "衡南县",
    "衡山县",
    "衡东县",
    "祁东县",
    "耒阳市",
    "常宁市",
]


@cache
def planned(seed: str):
    """(LoadedSpec, Plan) for a seed, planned once per test session."""
    return plan_file(SPECS / SEEDS[seed])


def names(plan, codes) -> set[str]:
    return {plan.registry.units[code].name for code in codes}


def units_of(plan, item_id: str, role: str | None = None) -> set[str]:
    """Names of the units holding `item_id` (in `role` when given)."""
    return names(plan, {a.unit_code for a in plan.assignments if a.item_id == item_id and role in (None, a.role)})


def one(plan, item_id: str, unit_name: str, instance: str = ""):
    found = [
        a
        for a in plan.assignments
        if a.item_id == item_id and a.instance == instance and plan.registry.units[a.unit_code].name == unit_name
    ]
    assert len(found) == 1, (item_id, unit_name, instance, len(found))
    return found[0]


def item(spec, item_id: str):
    return next(it for _stage, it in spec.campaign.items() if it.id == item_id)


def event(plan, event_id: str):
    return next(at for eid, _name, at in plan.events if eid == event_id)


# every seed ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_every_seed_validates_without_errors_and_without_a_structural_warning(seed):
    spec, _plan = planned(seed)
    plan, warnings = validate(spec, load_calendar_for(spec))
    assert plan.assignments
    structural = (
        "selects no unit",
        "outside its stage",
        "no calendar covers",
        "fewer than",
        "outside the campaign window",
    )
    assert not [w for w in warnings if any(word in w.message for word in structural)], warnings


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_printed_instants_carry_the_right_weekday(seed):
    _spec, plan = planned(seed)
    pattern = re.compile(r"^\d{4}-\d{2}-\d{2} 周[一二三四五六日] \d{2}:\d{2}$")
    instants = [t for a in plan.assignments for t in (a.open_at, a.due_at, *a.reminders)]
    instants += [at for _id, _name, at in plan.events]
    for moment in instants:
        shown = fmt(moment, TZ)
        assert pattern.match(shown), shown
        assert shown.split()[1] == "周" + WEEKDAYS[in_zone(moment, TZ).weekday()]
        assert moment.utcoffset().total_seconds() == 8 * 3600  # in the campaign zone, not the machine's


# 000 淄博 第九届"中国统计开放日" ----------------------------------------------------------------------------------


def test_zibo_open_day_is_thursday_september_20():
    spec, plan = planned("000")
    assert spec.campaign.doc_no == "淄统发〔2018〕65号"
    assert fmt(event(plan, "open_day"), TZ) == "2018-09-20 周四 00:00"
    assert next(e for e in spec.campaign.events if e.id == "open_day").kind == "meeting"


def test_zibo_five_activities_with_their_lead_units():
    _spec, plan = planned("000")
    activities = [it.id for it in plan.campaign.stages[0].items]
    assert activities == ["symposium", "knowledge_lectures", "reform_exhibition", "website_column", "new_media"]
    assert units_of(plan, "symposium", "lead") == {"市经普办", "办公室", "综合科"}
    assert units_of(plan, "knowledge_lectures", "lead") == {"人教科"}
    assert units_of(plan, "reform_exhibition", "lead") == {"综合科", "办公室"}
    assert units_of(plan, "website_column", "lead") == {"信息中心"}
    assert units_of(plan, "new_media", "lead") == {"办公室"}
    for activity in activities:
        assert fmt(plan.item_dues[activity], TZ) == "2018-09-20 周四 24:00"


def test_zibo_cooperating_units_are_the_districts_and_the_other_bureau_units():
    _spec, plan = planned("000")
    county_level = {*ZIBO_COUNTIES, "高新区统计处", "文昌湖区经发局"}
    assert units_of(plan, "symposium", "cooperating") == county_level | {"人教科", "信息中心", "社情民意调查中心"}
    assert units_of(plan, "knowledge_lectures", "cooperating") == county_level | {
        "办公室",
        "综合科",
        "信息中心",
        "社情民意调查中心",
    }
    # 二、4: the 社情民意调查中心 loads the web pages the others provide
    assert "社情民意调查中心" in units_of(plan, "website_column", "cooperating")
    assert units_of(plan, "new_media", "cooperating") == county_level | {
        "综合科",
        "人教科",
        "信息中心",
        "社情民意调查中心",
    }


def test_zibo_tasks_the_county_level_and_never_a_township():
    _spec, plan = planned("000")
    assert any(u.level is Level.township for u in plan.registry)  # the MCA data has them …
    levels = Counter(plan.registry.units[code].level for code in plan.units_in_plan())
    assert Level.township not in levels  # … but no item assigns one
    counties = [u.name for u in plan.registry if u.level is Level.county and u.kind == "division"]
    assert counties == ZIBO_COUNTIES


def test_zibo_summary_goes_to_the_publicity_team_five_working_days_after_the_event():
    spec, plan = planned("000")
    summary = item(spec, "activity_summary")
    assert names(plan, resolve_selector(plan, Selector.model_validate(summary.submit_to))) == {"市经普办宣传组"}
    # 9/21 Fri, (9/24 中秋节), 9/25, 9/26, 9/27, 9/28: the fifth working day is Friday 9/28
    assert fmt(plan.item_dues["activity_summary"], TZ) == "2018-09-28 周五 24:00"
    assert "不是通知的要求" in summary.note
    writers = units_of(plan, "activity_summary")
    assert writers == {
        *ZIBO_COUNTIES,
        "高新区统计处",
        "文昌湖区经发局",
        "办公室",
        "综合科",
        "人教科",
        "信息中心",
        "社情民意调查中心",
    }


def test_zibo_contact_and_leading_group():
    spec, _plan = planned("000")
    [contact] = spec.campaign.contacts
    assert (contact.name, contact.phone, contact.email) == ("陈闯", "3880225", "109188409@qq.com")
    assert [(l.name, l.title) for l in spec.campaign.leaders] == [
        ("孙忠廷", "局长（领导小组组长）"),
        ("张吉祥", "副局长（领导小组副组长）"),
    ]


# 001 衡阳 统计法治宣传 -----------------------------------------------------------------------------------------


def test_hengyang_signed_article_is_due_sunday_noon_as_word_and_stamped_pdf():
    spec, plan = planned("001")
    article = item(spec, "signed_article")
    assert article.formats == ["docx", "pdf"] and article.stamped
    a = one(plan, "signed_article", "衡阳县")
    assert a.due_at.isoformat() == "2021-12-05T12:00:00+08:00"
    assert fmt(a.due_at, TZ) == "2021-12-05 周日 12:00"
    assert units_of(plan, "signed_article") == set(HENGYANG_COUNTIES)  # 各县市区统计局, not 华新开发区
    assert fmt(plan.item_dues["articles_to_province"], TZ) == "2021-12-05 周日 17:30"


def test_hengyang_month_key_days_lecture_and_outreach():
    spec, plan = planned("001")
    assert spec.campaign.forwards[0].doc_no == "湘统办执法函〔2021〕38号"
    assert [fmt(t, TZ) for t in plan.stage_windows["law_month"]] == ["2021-12-01 周三 08:30", "2021-12-31 周五 24:00"]
    kinds = {e.id: (e.kind, str(e.at)) for e in spec.campaign.events}
    assert kinds["constitution_day"] == ("key_day", "2021-12-04")
    assert kinds["statistics_law_day"] == ("key_day", "2021-12-08")
    assert kinds["city_lecture"] == ("lecture", "2021-12-03")
    assert str(next(e for e in spec.campaign.events if e.id == "community_outreach").at) == "2021-12-08"
    enterprise = next(e for e in spec.campaign.events if e.id == "enterprise_outreach")
    assert (str(enterprise.at), enterprise.place) == ("2021-12-09", "白沙工业园")
    assert spec.campaign.groups["huaxin"].ref == "430400-hxkfq"
    assert plan.registry.get("430400-hxkfq").name == "华新开发区统计局"


def test_hengyang_essays_and_works_at_least_one_per_county():
    spec, plan = planned("001")
    essays = item(spec, "essays")
    assert essays.minimum == 1 and essays.metrics[0].min == 1
    assert fmt(plan.item_dues["essays"], TZ) == "2021-12-20 周一 24:00"
    assert units_of(plan, "essays") == set(HENGYANG_COUNTIES)
    assert units_of(plan, "city_essay") == {"衡阳市"}  # 其中市本级不少于1篇
    assert item(spec, "promo_works").minimum == 1


def test_hengyang_report_with_counts_by_email_before_december_25():
    spec, plan = planned("001")
    report = item(spec, "activity_report")
    assert report.via == "email"
    assert [m.label for m in report.metrics] == [
        "署名文章撰写情况",
        "统计法专项答题人数",
        "普法宣讲次数",
        "征文投稿数量",
    ]
    assert fmt(plan.item_dues["activity_report"], TZ) == "2021-12-25 周六 24:00"
    [contact] = spec.campaign.contacts
    assert (contact.name, contact.phone) == ("刘琛", "0734-8859799")


def test_hengyang_clerk_is_warned_that_the_article_falls_on_a_sunday():
    spec, _plan = planned("001")
    _plan, warnings = validate(spec, load_calendar_for(spec))
    assert any("signed_article" in w.message and "weekend" in w.message for w in warnings)


def test_hengyang_report_rolls_up_the_counties_counts():
    spec, _plan = planned("001")
    report = spec.campaign.report
    assert report.title == "衡阳市统计法治宣传活动开展情况汇总" and report.due is None  # the notice sets no date
    assert [s.fill for s in report.sections] == ["leadership", "activities", "completion", "problems", "next_steps"]
    assert "答题人数" in report.sections[2].prompt


def test_hengyang_tasks_no_township():
    _spec, plan = planned("001")
    assert all(plan.registry.units[c].level is not Level.township for c in plan.units_in_plan())


# 002 山东 政务公开 ---------------------------------------------------------------------------------------------


def test_shandong_is_an_annual_plan_of_the_provincial_bureau_alone():
    spec, plan = planned("002")
    assert spec.campaign.doc_no == "鲁统办字〔2020〕29号" and spec.campaign.registry.divisions == []
    assert len(list(spec.campaign.items())) == 33
    assert {u.level for u in plan.registry} == {Level.province}
    assert all(plan.registry.units[c].parent == "370000" for c in plan.units_in_plan())
    assert {a.role for a in plan.assignments} == {"responsible"}  # 责任单位: the notice names no lead
    assert fmt(plan.item_dues["coordination"], TZ) == "2020-12-31 周四 24:00"  # undated items run to year end


@pytest.mark.parametrize(
    ("item_id", "responsible"),
    [
        ("commitments_progress", {"办公室", "执法监督局", "综合处", "核算处", "人口处（社科处）", "机关党委"}),
        ("budget_disclosure", {"财务处", "办公室"}),
        ("data_interpretation", {"综合处", "资料管理中心"}),
        ("enforcement_disclosure", {"执法监督局", "资料管理中心"}),
        ("foreign_survey_approval", {"执法监督局"}),
        ("census_publicity", {"人普办", "社会经济调查中心"}),
        ("new_media_rules", {"综合处"}),
        ("annual_report", {"办公室", "人事处", "执法监督局", "设管处", "综合处", "财务处", "资料管理中心"}),
        ("training", {"办公室", "人事处"}),
        ("press_conferences", {"综合处"}),
    ],
)
def test_shandong_items_and_their_responsible_units(item_id, responsible):
    _spec, plan = planned("002")
    assert units_of(plan, item_id) == responsible


def test_shandong_group_words_reach_the_tagged_units():
    _spec, plan = planned("002")
    everyone = {u.name for u in plan.registry if u.parent == "370000"}
    assert len(everyone) == 14
    assert units_of(plan, "withheld_information_review") == everyone  # 各处室、中心
    # 各专业处室 brings 人口处（社科处） beside the named 综合处、核算处、普查中心
    assert units_of(plan, "development_data") == {"综合处", "核算处", "人口处（社科处）", "普查中心"}
    # 各相关处室 is every 处室 until the 办公室 narrows the tag; never the 中心 except the one named
    assert units_of(plan, "on_request_disclosure") == {u.name for u in plan.registry if "处室" in u.tags} | {
        "资料管理中心"
    }


def test_shandong_quarterly_press_conference_has_a_third_and_a_fourth_quarter():
    _spec, plan = planned("002")
    q3 = one(plan, "press_conferences", "综合处", "2020Q3")
    q4 = one(plan, "press_conferences", "综合处", "2020Q4")
    assert (fmt(q3.open_at, TZ), fmt(q3.due_at, TZ)) == ("2020-07-08 周三 08:30", "2020-09-30 周三 24:00")
    assert (fmt(q4.open_at, TZ), fmt(q4.due_at, TZ)) == ("2020-10-01 周四 08:30", "2020-12-31 周四 24:00")
    assert sorted({a.instance for a in plan.assignments if a.item_id == "press_conferences"}) == ["2020Q3", "2020Q4"]


def test_shandong_press_conference_posting_is_due_three_working_days_after_each_quarter_across_national_day():
    spec, plan = planned("002")
    assert units_of(plan, "press_conference_posting") == {"综合处"}  # 四、(四) 责任单位：综合处
    q3 = one(plan, "press_conference_posting", "综合处", "2020Q3")
    q4 = one(plan, "press_conference_posting", "综合处", "2020Q4")
    # 9/30, then 国庆·中秋 10/1–10/8: 10/9, Saturday 10/10 (调休, worked), Monday 10/12
    assert fmt(q3.due_at, TZ) == "2020-10-12 周一 24:00"
    assert fmt(q4.due_at, TZ) == "2021-01-06 周三 24:00"  # 元旦 1/1–1/3, then 1/4, 1/5, 1/6
    assert "及时" in item(spec, "press_conference_posting").note


def test_shandong_yearly_report_is_due_by_the_statutory_january_31():
    _spec, plan = planned("002")
    a = one(plan, "annual_report", "办公室", "2020")
    assert fmt(a.due_at, TZ) == "2021-01-31 周日 24:00"


# 003 鞍山 5·15政务公开日 情况汇报 -------------------------------------------------------------------------------


def test_anshan_is_the_close_out_report_with_the_documents_sections():
    spec, plan = planned("003")
    report = spec.campaign.report
    assert [s.heading for s in report.sections] == [
        "提高认识、加强领导",
        "明确任务、认真实施",
        "强化举措、务求实效",
        "下一步工作打算",
    ]
    due = Timeline(spec.campaign, load_calendar_for(spec)).due(report.due, Postpone.none)
    assert plan.report_due == due
    assert fmt(due, TZ) == "2022-05-20 周五 24:00"
    assert names(plan, resolve_selector(plan, Selector.model_validate(report.to))) == {"鞍山市人民政府办公厅"}
    assert fmt(plan.item_dues["situation_report"], TZ) == "2022-05-20 周五 24:00"
    assert units_of(plan, "situation_report") == {"鞍山市统计局"}


def test_anshan_report_sections_say_what_the_record_fills_under_them():
    spec, _plan = planned("003")
    sections = spec.campaign.report.sections
    assert [(s.fill, s.items) for s in sections] == [
        ("leadership", ["working_meeting", "activity_plan"]),  # 一、召开了相关工作会议，制定活动方案
        ("none", []),  # 二、what was publicized: the writer's words
        ("activities", ["staff_study", "online_disclosure", "outreach", "hotspot_disclosure"]),  # 三、1–4
        ("next_steps", []),
    ]


def test_anshan_meeting_and_plan_come_before_the_5_15_key_day():
    spec, plan = planned("003")
    assert next(e for e in spec.campaign.events if e.id == "open_government_day").kind == "key_day"
    assert fmt(event(plan, "open_government_day"), TZ) == "2022-05-15 周日 00:00"
    for item_id in ("working_meeting", "activity_plan"):
        assert fmt(plan.item_dues[item_id], TZ) == "2022-05-13 周五 24:00"
    assert plan.units_in_plan() == ["210300"]


def test_anshan_spec_is_written_in_simplified_characters():
    text = (SPECS / SEEDS["003"]).read_text(encoding="utf-8") + (SPECS / "units/anshan.yaml").read_text(
        encoding="utf-8"
    )
    assert "统计" in text and "汇报" in text
    assert not set("統計開務報於這齊會議導實") & set(text)


# 004 晋中 "回头看" ---------------------------------------------------------------------------------------------


def test_jinzhong_plans_118_townships_and_11_counties_with_the_development_zone():
    _spec, plan = planned("004")
    levels = Counter(plan.registry.units[c].level for c in plan.units_in_plan())
    assert levels[Level.township] == 118
    counties = {
        plan.registry.units[c].name for c in plan.units_in_plan() if plan.registry.units[c].level is Level.county
    }
    assert len(counties) == 12 and "晋中开发区" in counties and "昔阳县" in counties


def test_jinzhong_samples_six_counties_and_24_townships_and_six_per_county():
    _spec, plan = planned("004")
    city = Counter(plan.registry.units[c].level for c in plan.samples["city_check"].members)
    assert city == {Level.county: 6, Level.township: 24}
    per_county = Counter(plan.registry.units[c].parent for c in plan.samples["county_checks"].members)
    assert len(per_county) == 11 and min(per_county.values()) >= 6


def test_jinzhong_materials_reach_the_design_office_by_july_first():
    spec, plan = planned("004")
    assert fmt(plan.item_dues["materials_upload"], TZ) == "2024-07-01 周一 24:00"
    assert names(plan, resolve_selector(plan, Selector.model_validate(item(spec, "materials_upload").submit_to))) == {
        "设管科"
    }
    assert [d.issued_on for d in spec.campaign.forwarded_by] == [date(2024, 5, 13)]
