"""Lines (条线) and levels beyond 省/市/县/乡: the bodies a division stands for, the nation above the provinces,
村/社区 and 普查小区 below the townships, and the selectors that pick them."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from duban.cli.main import app
from duban.domain.calendar import WorkCalendar
from duban.domain.lines import LINES, apply_lines
from duban.domain.overlay import build_registry
from duban.domain.plan import build_plan
from duban.domain.select import Resolver
from duban.domain.units import LEVEL_ALIASES, Level, import_divisions
from duban.errors import SpecError
from duban.spec.load import load_spec
from duban.spec.models import Selector


def test_a_housing_campaign_names_the_housing_bodies_and_the_statistics_bodies_beside_them():
    registry = build_registry(["140724"], None, line="housing", beside=["stats"])
    assert registry.get("140724").display == "昔阳县住房和城乡建设局"
    assert registry.get("140724100").display == "乐平镇人民政府"
    assert registry.get("140724@stats").display == "昔阳县统计局"
    assert registry.get("140724100@stats").display == "乐平镇统计站"
    assert registry.get("140724100@stats").parent == "140724@stats"  # each line keeps its own hierarchy
    assert registry.get("140724@stats").parent is None  # the root, as 140724 itself
    assert len(registry) == 2 * 11


def test_the_default_line_is_the_statistics_bodies_as_before():
    registry = build_registry(["140724"], None)
    assert registry.get("140724").display == "昔阳县统计局" and registry.get("140724").line == "stats"
    assert "140724@stats" not in registry


def test_a_line_names_a_municipality_and_a_county_under_its_city():
    beijing = build_registry(["110000"], None, line="housing")
    assert beijing.get("110000").display == "北京市住房和城乡建设委员会"  # a 直辖市 has a 委员会, not a 厅
    assert build_registry(["140000"], None, line="housing").get("140000").display == "山西省住房和城乡建设厅"
    ecology = build_registry(["140700"], None, line="ecology")
    assert ecology.get("140724").display == "晋中市生态环境局昔阳县分局"


def test_a_county_with_no_city_above_it_is_not_a_branch_of_its_province():
    """The ecology line named 济源市 (a 省直辖县级市) 河南省生态环境局济源市分局, 朝阳区 北京市生态环境局朝阳区分局."""
    assert build_registry(["419001"], None, line="ecology").get("419001").display == "济源市生态环境局"
    assert build_registry(["429004"], None, line="ecology").get("429004").display == "仙桃市生态环境局"
    assert build_registry(["110105"], None, line="ecology").get("110105").display == "北京市朝阳区生态环境局"
    assert build_registry(["110000"], None, line="ecology").get("110105").display == "北京市朝阳区生态环境局"
    # a registry that starts at a county still names the city its body is a branch of (was 生态环境局昔阳县分局)
    assert build_registry(["140724"], None, line="ecology").get("140724").display == "晋中市生态环境局昔阳县分局"
    # lines that name every county alike are unchanged there
    assert build_registry(["419001"], None, line="housing").get("419001").display == "济源市住房和城乡建设局"


def test_the_nation_sits_above_the_provinces_and_is_the_ministry_of_the_line():
    national = import_divisions(["全国"])
    nation = national.get("000000")
    assert nation.level is Level.nation and nation.display == "国家统计局"
    assert national.get("140000").parent == "000000"
    assert len(national.children("000000")) == 33
    apply_lines(national, LINES["housing"], [])
    assert national.get("000000").display == "住房和城乡建设部"
    assert national.get("310000").display == "上海市住房和城乡建设管理委员会"


def test_levels_below_the_township_and_their_chinese_names():
    assert LEVEL_ALIASES["社区"] is Level.village and LEVEL_ALIASES["普查小区"] is Level.block
    assert LEVEL_ALIASES["部"] is Level.nation and LEVEL_ALIASES["企业"] is Level.entity
    assert [lv.cn for lv in Level] == ["国家级", "省级", "市级", "县级", "乡级", "村级", "普查小区", "基层单位"]


def test_an_overlay_adds_villages_census_blocks_zones_and_its_own_line(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text(
        "lines:\n"
        "  civil: {name: 民政, bodies: {county: '{name}民政局', township: '{name}人民政府', "
        "village: '{name}村民委员会'}}\n"
        "units:\n"
        "  - {code: '140724100001', name: 城东, level: 村, kind: division, parent: '140724100'}\n"
        "  - {code: '140724100001-01', name: 城东第一普查小区, level: 普查小区, kind: block, parent: '140724100001'}\n"
        "  - {code: 140724-park, name: 昔阳县工业园区管理委员会, level: township, kind: zone, parent: '140724'}\n",
        encoding="utf-8",
    )
    registry = build_registry(["140724"], overlay, line="civil")
    assert registry.get("140724").display == "昔阳县民政局"
    assert registry.get("140724100001").level is Level.village
    assert registry.get("140724100001-01").parent == "140724100001"
    assert registry.get("140724-park").display == "昔阳县工业园区管理委员会"
    resolver = Resolver(registry, {})
    assert resolver.resolve(Selector.model_validate({"level": "村"})) == ["140724100001"]
    assert resolver.resolve(Selector.model_validate({"level": "普查小区", "under": "乐平镇"})) == ["140724100001-01"]


def test_selectors_pick_a_line_and_attribute_values():
    registry = build_registry(["140724"], None, line="housing", beside=["stats"])
    registry.get("140724100").attributes["risk"] = "高"
    resolver = Resolver(registry, {})
    stats = resolver.resolve(Selector.model_validate({"level": "township", "line": "stats"}))
    assert len(stats) == 10 and all(code.endswith("@stats") for code in stats)
    assert resolver.resolve(Selector.model_validate({"where": {"risk": ["高", "较高"]}})) == ["140724100"]
    assert resolver.resolve(Selector.model_validate({"where": {"risk": "低"}, "level": "township"})) == []


def test_an_unknown_line_is_an_error_at_its_line(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "id: x\ntitle: t\nissuer: i\nregistry:\n  divisions: ['140724']\n  line: housing\n  beside: [stats, forestry]\n"
        "stages:\n  - {id: s, name: 阶段, window: {start: 2025-03-03, end: 2025-03-21},\n"
        "     items: [{id: a, name: 甲, units: {level: county}}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        build_plan(load_spec(spec), WorkCalendar())
    assert "s.yaml:7 registry.beside[1]" in str(caught.value) and "forestry" in str(caught.value)
    assert "housing" in str(caught.value)  # the known lines are listed


def test_a_registry_keeps_only_the_levels_a_campaign_asks_for():
    ministry = import_divisions(["全国"], levels=[Level.nation, Level.province])
    assert len(ministry) == 34 and ministry.get("140000").parent == "000000"
    counties = import_divisions(["140700"], levels=[Level.prefecture, Level.county])
    assert len(counties) == 12 and counties.get("140724").parent == "140700"
    skipping = import_divisions(["140000"], levels=[Level.province, Level.county])
    assert skipping.get("140724").parent == "140000"  # its nearest kept ancestor


def test_a_selector_naming_a_line_the_campaign_lacks_is_an_error(tmp_path):
    """`line: stat` (for stats) selected nothing and passed with a warning, while `registry.line: houseing` was an
    error: the items of that group were silently addressed to no one."""
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "id: x\ntitle: t\nissuer: i\nregistry:\n  divisions: ['140724']\n  line: housing\n  beside: [stats]\n"
        "groups:\n  counties: {level: county, line: stat}\n"
        "stages:\n  - {id: s, name: 阶段, window: {start: 2025-03-03, end: 2025-03-21},\n"
        "     items: [{id: a, name: 甲, units: counties}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        build_plan(load_spec(spec), WorkCalendar())
    assert "no line 'stat' in this campaign (its lines: housing, stats" in str(caught.value), str(caught.value)


def test_an_overlays_statistics_title_does_not_name_another_lines_body(tmp_path):
    """The bureau's overlay patches 晋中市 as 晋中市统计局; a 住建 campaign over it addressed the city's 住建局 as
    晋中市统计局, and escalations about housing bureaus went to "晋中市统计局". A patch that is another line's name
    of the unit gives way to this line's; a title of the line's own (a 局 named otherwise) is kept."""
    overlay = tmp_path / "o.yaml"
    overlay.write_text(
        "patch:\n  '140700': {title: 晋中市统计局, channels: [env:JZ_STATS_BOT]}\n"
        "  '140724': {title: 昔阳县住房和城乡建设管理局}\n",
        encoding="utf-8",
    )
    registry = build_registry(["140700"], overlay, line="housing", beside=["stats"])
    assert registry.get("140700").display == "晋中市住房和城乡建设局" and registry.get("140700").channels == []
    assert registry.get("140724").display == "昔阳县住房和城乡建设管理局"
    beside = registry.get("140700@stats")  # the patch is the statistics bureau's: its name and its bot
    assert beside.display == "晋中市统计局" and beside.channels == ["env:JZ_STATS_BOT"]
    alone = build_registry(["140700"], overlay, line="housing").get("140700")
    assert alone.display == "晋中市住房和城乡建设局" and alone.channels == []
    assert build_registry(["140700"], overlay).get("140700").display == "晋中市统计局"  # its own line: kept


def test_a_lines_body_name_that_is_empty_or_names_every_unit_alike_is_refused(tmp_path):
    """`county: ""` named 民政 campaigns' counties 昔阳县统计局; `county: 民政局` called all eleven counties 民政局."""
    overlay = tmp_path / "o.yaml"
    for body, expected in [
        ("''", "the body name of level county is empty"),
        ("民政局", "the body name of level county ('民政局') has no {name}: every county would be called alike"),
    ]:
        overlay.write_text(f"lines:\n  civil: {{name: 民政, bodies: {{county: {body}}}}}\n", encoding="utf-8")
        with pytest.raises(SpecError) as caught:
            build_registry(["140724"], overlay, line="civil")
        assert expected in str(caught.value), str(caught.value)


def test_overlay_units_in_any_order_a_loop_of_parents_and_a_level_above_its_parent(tmp_path):
    """Two overlay units each other's parent said "parent unit X2 is not in the registry" (X2 was in the file); a
    village listed before its parent village committee was refused the same way; a 省级 unit under a township was
    accepted."""
    overlay = tmp_path / "o.yaml"
    overlay.write_text(
        "units:\n"
        "  - {code: 'V1-01', name: 城东第一普查小区, level: block, kind: block, parent: 'V1'}\n"
        "  - {code: 'V1', name: 城东, level: village, kind: division, parent: '140724100'}\n",
        encoding="utf-8",
    )
    assert build_registry(["140724"], overlay).get("V1-01").parent == "V1"
    overlay.write_text(
        "units:\n"
        "  - {code: X1, name: 甲, level: village, parent: X2}\n"
        "  - {code: X2, name: 乙, level: village, parent: X1}\n",
        encoding="utf-8",
    )
    assert "units X1 → X2 → X1 are each other's parent (a loop)" in _refused(overlay)
    overlay.write_text("units:\n  - {code: X3, name: 倒挂, level: province, parent: '140724100'}\n", encoding="utf-8")
    assert "unit X3 (省级) is under 140724100 (乡级), a lower level" in _refused(overlay)


def test_an_overlay_unit_code_given_twice_or_a_packaged_line_redefined_is_refused(tmp_path):
    """甲 and 甲2 under one code: 甲2 was dropped without a word; `lines: {stats: …}` replaced the statistics
    bodies (昔阳县假统计局) without a word."""
    overlay = tmp_path / "o.yaml"
    overlay.write_text(
        "units:\n"
        "  - {code: 140724-a, name: 甲, level: county, kind: office, parent: '140724'}\n"
        "  - {code: 140724-a, name: 甲2, level: county, kind: office, parent: '140724'}\n",
        encoding="utf-8",
    )
    assert "unit code 140724-a is given twice (first as units[0])" in _refused(overlay)
    overlay.write_text("lines:\n  stats: {name: 伪统计, bodies: {county: '{name}假统计局'}}\n", encoding="utf-8")
    assert "line stats is packaged with duban" in _refused(overlay)


def _refused(overlay) -> str:
    """What building 昔阳县's registry with `overlay` says (it must refuse it)."""
    with pytest.raises(SpecError) as caught:
        build_registry(["140724"], overlay)
    return str(caught.value)


def test_units_a_line_names_no_body_for_are_a_warning(tmp_path):
    """A 民政 line naming only counties, its townships tasked: messages began "乐平镇：" and validate said nothing."""
    from duban.spec.checks import validate

    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "o.yaml").write_text(
        "lines:\n  civil: {name: 民政, bodies: {county: '{name}民政局'}}\n", encoding="utf-8"
    )
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "id: x\ntitle: t\nissuer: i\nregistry:\n  divisions: ['140724']\n  line: civil\n  overlay: units/o.yaml\n"
        "stages:\n  - {id: s, name: 阶段, window: {start: 2025-03-03, end: 2025-03-21},\n"
        "     items: [{id: a, name: 甲, units: {level: township}}]}\n",
        encoding="utf-8",
    )
    _plan, warnings = validate(load_spec(spec), WorkCalendar())
    said = [w.message for w in warnings]
    assert any("10 unit(s) at level township are addressed by their place name (乐平镇" in m for m in said), said


@pytest.mark.parametrize("line", ["housing", "ecology", "emergency", "government"])
def test_a_street_is_addressed_as_its_office_not_as_a_peoples_government(line):
    """榆次区's 北关街道 was told "北关街道人民政府：…" in the 住建, 生态环境 and 政府 lines: a 街道 has a 街道办事处
    (an outside tester's finding); a 镇 or 乡 keeps its 人民政府."""
    if line not in LINES:
        pytest.skip(f"no packaged line {line}")
    registry = build_registry(["140702"], None, line=line)
    streets = [u for u in registry if u.level is Level.township and u.name.endswith("街道")]
    towns = [u for u in registry if u.level is Level.township and u.name.endswith(("镇", "乡"))]
    assert streets and towns
    assert all(u.display == f"{u.name}办事处" for u in streets), [u.display for u in streets][:3]
    assert all(u.display == f"{u.name}人民政府" for u in towns), [u.display for u in towns][:3]


def test_a_district_office_is_its_own_body():
    """赵家蓬区公所 read "赵家蓬区公所人民政府" in the 住建 line: a 区公所 is itself the township's body (a second
    tester's finding)."""
    registry = build_registry(["130731"], None, line="housing")
    assert registry.get("130731999").display == "赵家蓬区公所"


MUNICIPAL = ["110000", "110105", "120000", "120101", "310000", "310101", "500000", "500229"]
"""北京市 朝阳区, 天津市 和平区, 上海市 黄浦区, 重庆市 城口县: a 直辖市 and one 区县 each (朝阳区, 和平区 are also
长春's and 沈阳's)."""


@pytest.mark.parametrize(
    ("line", "bodies"),
    [
        (
            "stats",
            [
                "北京市统计局",
                "北京市朝阳区统计局",
                "天津市统计局",
                "天津市和平区统计局",
                "上海市统计局",
                "上海市黄浦区统计局",
                "重庆市统计局",
                "重庆市城口县统计局",
            ],
        ),
        (
            "housing",
            [
                "北京市住房和城乡建设委员会",
                "北京市朝阳区住房和城乡建设委员会",
                "天津市住房和城乡建设委员会",
                "天津市和平区住房和城乡建设委员会",
                "上海市住房和城乡建设管理委员会",
                "上海市黄浦区建设和管理委员会",
                "重庆市住房和城乡建设委员会",
                "重庆市城口县住房和城乡建设委员会",
            ],
        ),
        (
            "ecology",
            [
                "北京市生态环境局",
                "北京市朝阳区生态环境局",
                "天津市生态环境局",
                "天津市和平区生态环境局",
                "上海市生态环境局",
                "上海市黄浦区生态环境局",
                "重庆市生态环境局",
                "重庆市城口县生态环境局",
            ],
        ),
        (
            "market",
            [
                "北京市市场监督管理局",
                "北京市朝阳区市场监督管理局",
                "天津市市场监督管理委员会",
                "天津市和平区市场监督管理局",
                "上海市市场监督管理局",
                "上海市黄浦区市场监督管理局",
                "重庆市市场监督管理局",
                "重庆市城口县市场监督管理局",
            ],
        ),
        (
            "emergency",
            [
                "北京市应急管理局",
                "北京市朝阳区应急管理局",
                "天津市应急管理局",
                "天津市和平区应急管理局",
                "上海市应急管理局",
                "上海市黄浦区应急管理局",
                "重庆市应急管理局",
                "重庆市城口县应急管理局",
            ],
        ),
        (
            "government",
            [
                "北京市人民政府",
                "北京市朝阳区人民政府",
                "天津市人民政府",
                "天津市和平区人民政府",
                "上海市人民政府",
                "上海市黄浦区人民政府",
                "重庆市人民政府",
                "重庆市城口县人民政府",
            ],
        ),
    ],
)
def test_a_municipality_and_its_districts_are_named_as_the_city_names_them(line, bodies):
    """A 住建厅 administrator's finding: 上海's 住建 body was 上海市住房和城乡建设委员会 (it is a 管理委员会), and a
    直辖市's 区 came without its city in every line but 生态环境 (黄浦区住房和城乡建设局, 朝阳区统计局: 朝阳区 is
    also 长春's); a registry that starts at the 区 names it alike."""
    registry = build_registry(["110000", "120000", "310000", "500000"], None, line=line)
    assert [registry.get(code).display for code in MUNICIPAL] == bodies
    assert build_registry(["310101"], None, line=line).get("310101").display == bodies[5]


def test_units_show_names_shanghais_housing_bodies():
    """`duban units show 上海市 --line housing`, as the tester ran it: the city's 管理委员会, each 区's 建管委
    (浦东新区's 建设和交通委员会)."""
    shown = CliRunner().invoke(app, ["units", "show", "上海市", "--line", "housing"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "310000 上海市住房和城乡建设管理委员会 (省级" in shown.output
    assert "310101 上海市黄浦区建设和管理委员会 (县级" in shown.output
    assert "310115 上海市浦东新区建设和交通委员会 (县级" in shown.output


def test_an_overlays_statistics_title_of_a_district_without_its_city_is_still_the_statistics_bodys(tmp_path):
    """An overlay written before the 区县 of a 直辖市 carried their city (`110105: {title: 朝阳区统计局}`) named the
    住建委 of a housing campaign 朝阳区统计局: the short form is the statistics line's body still."""
    overlay = tmp_path / "o.yaml"
    overlay.write_text("patch:\n  '110105': {title: 朝阳区统计局, channels: [env:CHAOYANG_STATS]}\n", encoding="utf-8")
    registry = build_registry(["110000"], overlay, line="housing", beside=["stats"])
    assert (
        registry.get("110105").display == "北京市朝阳区住房和城乡建设委员会" and registry.get("110105").channels == []
    )
    assert registry.get("110105@stats").display == "朝阳区统计局"
    assert registry.get("110105@stats").channels == ["env:CHAOYANG_STATS"]
