"""Every view of one campaign at one instant gives a unit the same colour and counts it the same way: `duban status`,
the operators' matrix (on the portal too), the unit's page and the Prefect summary. A 配合 unit whose 牵头 unit has
handed the item in reads as that hand-in, and a version handed in after the due and waiting for review is 黄, in
each of them (the matrix, the unit's page and the summary still showed the first 红, the summary the second 绿)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from duban.domain.state import State, worst
from duban.services.links import issue
from duban.services.operators import save_operator
from duban.settings import Settings
from duban.views.matrix import matrix
from duban.views.progress import campaign_view
from duban.views.status import status_report
from duban.views.unit_page import unit_page
from tests.integration.helpers import CAMPAIGN, at
from tests.integration.portal_site import OPERATOR, Site, text_of
from tests.integration.test_in_review_counts import SHOUYANG, XIYANG, _two_in_review
from tests.integration.test_lead_covers import XIAODIAN, XIAODIAN_STATS, _lead_hands_in

YINGZE_STATS = "140106@stats"  # 迎泽区统计局: its 住建局 has handed nothing in


def _views_agree(engine, campaign: str, when: str) -> dict:
    """Each unit's colour as status gives it, after holding every other view to it; status's colours by code."""
    moment = at(when)
    status = status_report(engine, campaign, moment)
    colours = {unit.code: unit.overall for unit in status.units}
    # the operators' matrix: the whole campaign (its kept counts), a level, a colour
    whole = matrix(engine, campaign, moment, limit=100_000)
    assert {row.code: row.overall for row in whole.rows} == colours
    cells: dict[str, Counter] = defaultdict(Counter)
    for row in whole.rows:
        for item, cell in row.cells.items():
            cells[item][cell.color] += 1
    assert {item: +counts for item, counts in whole.counts.items()} == dict(cells)
    county = matrix(engine, campaign, moment, level="county", limit=100_000)
    assert {row.code: row.overall for row in county.rows} == {row.code: colours[row.code] for row in county.rows}
    for colour in ("red", "yellow", "green"):
        only = matrix(engine, campaign, moment, only=colour, limit=100_000)
        assert {row.code for row in only.rows} == {code for code, c in colours.items() if c.name == colour}, colour
        held: dict[str, Counter] = defaultdict(Counter)
        for row in only.rows:
            for item, cell in row.cells.items():
                held[item][cell.color] += 1
        assert {item: +counts for item, counts in only.counts.items() if +counts} == dict(held), colour
    # the Prefect summary: every unit's colour counted, the reddest shown, each stage's states
    summary = campaign_view(engine, campaign, moment)
    assert summary.colours == Counter(colours.values())
    assert {row.code: row.overall for row in summary.units} == {row.code: colours[row.code] for row in summary.units}
    for stage in summary.stages:
        handed = sum(status.by_stage[stage.stage_id][s] for s in (State.submitted, State.late, State.in_review))
        assert stage.handed_in == handed, stage.name
        assert stage.states[State.overdue] == status.by_stage[stage.stage_id][State.overdue], stage.name
    assert summary.overdue_units == len({code for code, _stage, _item, _due in status.overdue})
    return colours


def _page_colour(engine, campaign: str, code: str, when: str):
    return worst([entry.duty.color for entry in unit_page(engine, campaign, code, at(when)).entries])


def test_a_cooperating_unit_its_lead_handed_in_for_is_green_in_every_view(tmp_path):
    engine, campaign = _lead_hands_in(tmp_path, "2025-05-12 10:00")
    colours = _views_agree(engine, campaign, "2025-05-20 09:00")
    assert (colours[XIAODIAN_STATS].value, colours[XIAODIAN].value, colours[YINGZE_STATS].value) == ("绿", "绿", "红")
    for code in (XIAODIAN_STATS, XIAODIAN, YINGZE_STATS):
        assert _page_colour(engine, campaign, code, "2025-05-20 09:00") is colours[code], code
    settings = Settings()
    save_operator(settings.operators_file, *OPERATOR)
    site = Site(settings, engine, at("2025-05-20 09:00"))
    site.login()
    county = site.client.get(f"/ops/c/{campaign}?level=county&limit=500")
    rows = {row.split("</td>")[0]: row for row in county.text.split('<td class="unit">')[1:]}
    cell = rows[next(k for k in rows if "小店区统计局" in k)].split('class="cell ')[1].split('"')[0]
    assert cell == "green"
    page = text_of(site.client.get(f"/ops/c/{campaign}/u/{XIAODIAN_STATS}").text)
    assert "绿 · 已报送（牵头单位）" in page and "逾期未报" not in page
    token = issue(settings.portal_key(), campaign, XIAODIAN_STATS, site.now, timedelta(days=45))
    own = text_of(site.client.get(f"/u/{token}").text)  # the unit's own page
    assert "绿 · 已报送（牵头单位）" in own and "已逾期" not in own, own
    duties = site.client.get(f"/api/u/{token}").json()["duties"]
    ledger = next(d for d in duties if d["item_id"] == "county_ledger")
    assert (ledger["color"], ledger["state_cn"]) == ("绿", "已报送（牵头单位）")


def test_a_late_version_in_review_is_yellow_in_every_view(tmp_path):
    engine = _two_in_review(tmp_path)
    colours = _views_agree(engine, CAMPAIGN, "2024-07-02 10:30")
    summary = campaign_view(engine, CAMPAIGN, at("2024-07-02 10:30"))
    stages = {row.code: row.stages for row in summary.units}
    for code in (SHOUYANG, XIYANG):
        assert _page_colour(engine, CAMPAIGN, code, "2024-07-02 10:30") is colours[code], code
    assert (stages[SHOUYANG]["materials"].value, stages[XIYANG]["materials"].value) == ("黄", "绿")


def test_the_summarys_stage_row_is_yellow_for_a_late_version_in_review_as_its_unit_is(tmp_path):
    """The 检查材料 stage of the Prefect summary read 绿 with 寿阳县's late version waiting for review (the other
    counties excused), its unit's cell 黄."""
    from duban.services.submit import record_excuse
    from duban.views.artifacts import summary_markdown

    engine = _two_in_review(tmp_path)
    owing = [unit for unit, state in _materials(engine) if state == "overdue"]
    for unit in owing:
        record_excuse(engine, CAMPAIGN, unit, "materials_upload", at("2024-07-02 10:00"), reason="不在抽查范围")
    view = campaign_view(engine, CAMPAIGN, at("2024-07-02 10:30"))
    assert {row.code: row.stages["materials"].value for row in view.units if "materials" in row.stages}[
        SHOUYANG
    ] == "黄"
    stage = next(s for s in view.stages if s.stage_id == "materials")
    assert stage.colour.value == "黄", stage.states
    row = next(line for line in summary_markdown(view).splitlines() if '"回头看"检查材料整理上报阶段 |' in line)
    assert "🟡 黄" in row, row


def _materials(engine) -> list[tuple[str, str]]:
    from duban.store.tables import Assignment

    a = Assignment.__table__
    with engine.connect() as conn:
        query = a.select().with_only_columns(a.c.unit_code, a.c.state).where(a.c.item_id == "materials_upload")
        return [(unit, state) for unit, state in conn.execute(query)]


def test_the_summary_workbook_writes_a_cooperating_unit_its_lead_handed_in_for_as_it_colours_it(tmp_path):
    """The 汇总表's stage sheet called 小店区统计局's 台账 逾期未报, which the other views read as its lead's."""
    import io

    from openpyxl import load_workbook

    from duban.views.summary_table import summary_workbook

    engine, campaign = _lead_hands_in(tmp_path, "2025-05-12 10:00")
    book = load_workbook(io.BytesIO(summary_workbook(engine, campaign, at("2025-05-20 09:00"))))
    found = {}
    for sheet in book.worksheets[1:]:
        head = [cell.value for cell in sheet[2]]
        if "房屋安全隐患排查台账·状态" in head:
            column = head.index("房屋安全隐患排查台账·状态")
            for row in sheet.iter_rows(min_row=3, values_only=True):
                if row[0] in (XIAODIAN_STATS, YINGZE_STATS):
                    found[row[0]] = row[column]
    assert found == {XIAODIAN_STATS: "已报送（牵头单位）", YINGZE_STATS: "逾期未报"}, found
