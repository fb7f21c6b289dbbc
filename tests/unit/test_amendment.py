"""The amendment language (调整通知): errors at their line, and the campaign as amended (pure, no database)."""

import textwrap

import pytest

from duban.domain.calendar import WorkCalendar
from duban.domain.plan import build_plan
from duban.errors import SpecError
from duban.instants import fmt
from duban.spec.amendment import amended_campaign, check_targets, load_amendment
from duban.spec.load import LoadedSpec, load_spec
from tests.conftest import SPECS

TZ = "Asia/Shanghai"
HEAD = """\
campaign: jinzhong-2024-lookback
issuer: 晋中市统计局
doc_no: 示例〔2024〕1号
reason: 防汛
"""


def _amendment(tmp_path, changes: str):
    path = tmp_path / "amend.yaml"
    path.write_text(HEAD + textwrap.dedent(changes), encoding="utf-8")
    return load_amendment(path)


@pytest.mark.parametrize(
    ("changes", "line", "path", "words"),
    [
        (
            "changes:\n  - {item: materials_uplod, due: 2024-07-05}\n",
            6,
            "changes[0].item",
            "has no item 'materials_uplod'; items: self_score_sheet",
        ),
        ("changes:\n  - {stage: county_chek, end: 2024-06-20}\n", 6, "changes[0].stage", "has no stage 'county_chek'"),
        ("changes:\n  - {item: materials_upload, due: 2024-07-32}\n", 6, "changes[0].due", "2024-07-32 is not a date"),
        (
            "changes:\n  - {stage: county_check, due: 2024-06-20}\n",
            6,
            "changes[0]",
            "a stage change takes `start:` and `end:` only",
        ),
        (
            "changes:\n  - {item: materials_upload, instance: 2024Q2, due: 2024-07-05}\n",
            6,
            "changes[0]",
            "does not repeat",
        ),
        ("changes: []\n", 5, "changes", "at least 1"),
    ],
)
def test_a_wrong_amendment_is_refused_at_its_line(tmp_path, jinzhong, changes, line, path, words):
    spec, _plan = jinzhong
    with pytest.raises(SpecError) as caught:
        check_targets(_amendment(tmp_path, changes), spec.campaign)
    error = caught.value.errors[0] if hasattr(caught.value, "errors") else caught.value
    assert (error.line, error.path) == (line, path), str(caught.value)
    assert words in str(caught.value)


def test_an_amendment_for_another_campaign_is_refused(tmp_path):
    spec = load_spec(SPECS / "hengyang-2021-law-month.yaml")
    with pytest.raises(SpecError, match="this amendment is for campaign 'jinzhong-2024-lookback', not 'hengyang"):
        check_targets(_amendment(tmp_path, "changes:\n  - {item: essays, due: 2021-12-22}\n"), spec.campaign)


def test_the_amended_campaign_moves_a_stage_and_its_following_items_but_not_the_spec(tmp_path, jinzhong):
    spec, plan = jinzhong
    loaded = _amendment(
        tmp_path,
        "changes:\n  - {stage: county_check, end: 2024-06-20}\n  - {item: materials_upload, due: 2024-07-05 17:00}\n",
    )
    check_targets(loaded, spec.campaign)
    amended = amended_campaign(spec.campaign, [loaded.amendment])
    again = build_plan(LoadedSpec(amended, spec.source, spec.path, spec.sha256), WorkCalendar())
    assert fmt(again.item_dues["county_inspection"], TZ) == "2024-06-20 周四 24:00"
    assert fmt(again.item_dues["materials_upload"], TZ) == "2024-07-05 周五 17:00"
    assert again.item_dues["self_report"] == plan.item_dues["self_report"]
    assert fmt(plan.item_dues["county_inspection"], TZ) == "2024-06-10 周一 24:00"  # the planned spec is untouched


def test_one_period_of_a_recurring_item_can_be_amended(tmp_path):
    spec = load_spec(SPECS / "shandong-2020-open-government.yaml")
    path = tmp_path / "amend.yaml"
    path.write_text(
        textwrap.dedent("""\
        campaign: shandong-2020-open-government
        issuer: 山东省统计局办公室
        reason: 四季度新闻发布会改在次年1月举行
        changes:
          - {item: press_conferences, instance: 2020Q4, due: 2021-01-20}
        """),
        encoding="utf-8",
    )
    loaded = load_amendment(path)
    check_targets(loaded, spec.campaign)
    again = build_plan(
        LoadedSpec(amended_campaign(spec.campaign, [loaded.amendment]), spec.source, spec.path, spec.sha256),
        WorkCalendar(),
    )
    dues = {a.instance: fmt(a.due_at, TZ) for a in again.assignments if a.item_id == "press_conferences"}
    assert dues == {"2020Q3": "2020-09-30 周三 24:00", "2020Q4": "2021-01-20 周三 24:00"}
