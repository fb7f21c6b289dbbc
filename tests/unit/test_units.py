"""The unit registry: Ministry of Civil Affairs divisions by code or name, and bureau overlays."""

import pytest

from duban.domain.overlay import apply_overlay
from duban.domain.units import Level, import_divisions, mca_divisions
from duban.errors import RegistryError


def test_the_national_data_has_every_level():
    levels = {}
    for level, *_ in mca_divisions():
        levels[level] = levels.get(level, 0) + 1
    assert levels == {1: 33, 2: 333, 3: 2845, 4: 38723}


def test_import_by_code_and_by_name_agree():
    by_code = import_divisions(["140700"])
    by_name = import_divisions(["晋中市"])
    assert list(by_code.units) == list(by_name.units)
    counts = by_code.counts_by_level()
    assert counts == {Level.prefecture: 1, Level.county: 11, Level.township: 118}
    assert by_code.get("140700").parent is None  # the root keeps no parent outside the registry


def test_statistics_bodies_are_named_for_staff():
    registry = import_divisions(["昔阳县"])
    assert registry.get("140724").display == "昔阳县统计局"
    assert registry.get("140724100").display == "乐平镇统计站"
    assert [u.name for u in registry.children("140724")][:3] == ["乐平镇", "皋落镇", "东冶头镇"]
    assert len(registry.children("140724")) == 10


def test_ambiguous_and_unknown_names_say_what_to_write():
    with pytest.raises(RegistryError, match="not unique"):
        import_divisions(["城关镇"])
    with pytest.raises(RegistryError, match="140700"):
        import_divisions(["晋中省"])


def test_overlay_adds_patches_and_excludes(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text(
        "units:\n"
        "  - {code: 140724-bgs, name: 办公室, title: 昔阳县统计局办公室, level: county, kind: office, "
        "parent: '140724', tags: [局机关]}\n"
        "patch:\n"
        "  '140724100': {contact: 王芳, phone: 0354-4000000, channels: [env:DUBAN_LEPING_WECOM]}\n"
        "exclude: ['140724205']\n",
        encoding="utf-8",
    )
    registry = apply_overlay(import_divisions(["140724"]), overlay)
    assert registry.get("140724-bgs").display == "昔阳县统计局办公室"
    assert registry.get("140724100").channels == ["env:DUBAN_LEPING_WECOM"]
    assert registry.get("140724100").contact == "王芳"
    assert "140724205" not in registry  # 孔氏乡


def test_overlay_errors_name_file_and_path(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text("units:\n  - {code: x1, name: 某科, level: 县级, parent: '999999'}\n", encoding="utf-8")
    with pytest.raises(Exception) as caught:
        apply_overlay(import_divisions(["140724"]), overlay)
    assert "o.yaml:2 units[0].parent" in str(caught.value) and "999999" in str(caught.value)


def test_an_overlay_re_parents_a_division_and_its_side_lines_follow(tmp_path):
    """辛集市 (省直管, filed under 石家庄's 1301) is 河北省's: its body is no branch of 石家庄's 生态环境局, and
    its 统计局 beside it sits under 河北省统计局."""
    from duban.domain.overlay import build_registry

    overlay = tmp_path / "o.yaml"
    overlay.write_text("patch:\n  '130181': {parent: 河北省}\n", encoding="utf-8")
    levels = [Level.province, Level.prefecture, Level.county]
    before = build_registry(["130000"], None, line="ecology", levels=levels)
    assert before.get("130181").display == "石家庄市生态环境局辛集市分局"
    registry = build_registry(["130000"], overlay, line="ecology", beside=["stats"], levels=levels)
    assert registry.get("130181").parent == "130000" and registry.get("130181").display == "辛集市生态环境局"
    assert registry.get("130181@stats").parent == "130000@stats"
    assert "130181" in {u.code for u in registry.children("130000")}
    assert "130181" not in {u.code for u in registry.children("130100")}


@pytest.mark.parametrize(
    ("patch", "said"),
    [
        ("'130181': {parent: 河南省}", "o.yaml:2 patch.130181.parent: the parent of 130181 辛集市: no unit '河南省'"),
        ("'130100': {parent: '130181'}", "o.yaml:2 patch.130100.parent: 130181 辛集市 is below 130100 石家庄市"),
        ("130181: {parent: 130181}", "o.yaml:2 patch.130181.parent: 130181 辛集市 cannot be its own parent"),
        (
            "'130181': {parent: '130102'}",
            "o.yaml:2 patch.130181.parent: 130181 辛集市 (县级) cannot be under 130102 长安区 (县级)",
        ),
        ("'130181@stats': {parent: '130000'}", "patch.130181@stats.parent: 130181@stats is a side line's body"),
    ],
    ids=["unknown", "loop", "itself", "same-level", "side-line"],
)
def test_a_re_parenting_the_registry_cannot_hold_is_an_error_at_its_line(tmp_path, patch, said):
    """A parent the registry lacks, one below the unit (a loop) or at its level is refused with file, line and
    field (`patch:` took no `parent:` at all before)."""
    from duban.domain.overlay import build_registry
    from duban.errors import SpecError

    overlay = tmp_path / "o.yaml"
    overlay.write_text(f"patch:\n  {patch}\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        build_registry(["130000"], overlay, line="housing", beside=["stats"])
    assert said in str(caught.value), str(caught.value)


def test_the_ministrys_provincially_administered_counties_are_the_provinces():
    """济源市, 仙桃市 … 神农架林区, 海南's counties and 新疆's 师市 answer to their province: no prefecture between
    (an escalation `to: [parent]` reaches the province's body), each under its own name."""
    from duban.domain.overlay import build_registry

    registry = build_registry(
        ["410000", "420000", "460000", "650000"],
        None,
        line="housing",
        levels=[Level.province, Level.prefecture, Level.county],
    )
    expected = {
        "419001": ("410000", "济源市住房和城乡建设局"),
        "429004": ("420000", "仙桃市住房和城乡建设局"),
        "429021": ("420000", "神农架林区住房和城乡建设局"),
        "469001": ("460000", "五指山市住房和城乡建设局"),
        "469021": ("460000", "定安县住房和城乡建设局"),
        "659001": ("650000", "石河子市住房和城乡建设局"),
    }
    assert {code: (registry.get(code).parent, registry.get(code).display) for code in expected} == expected
    assert not [u for u in registry if "直辖" in u.name]


def test_every_bad_parent_of_an_overlay_is_said_at_once_each_at_its_line(tmp_path):
    """An overlay with several bad `parent:` entries said only the first per run (an outside tester fixed one and
    met the next): each is said now, at its own line, and a unit under a refused one is not said again."""
    from duban.domain.overlay import build_registry
    from duban.errors import SpecError

    overlay = tmp_path / "o.yaml"
    overlay.write_text(
        "units:\n"
        "  - {code: 130100-bgs, name: 办公室, level: prefecture, kind: office, parent: '130199'}\n"
        "  - {code: 130100-bgs-1, name: 文秘组, level: prefecture, kind: office, parent: 130100-bgs}\n"
        "  - {code: 130100-xx, name: 信息科, level: province, kind: office, parent: '130100'}\n"
        "patch:\n"
        "  '130181': {parent: 河南省}\n"
        "  '130100': {parent: '130181'}\n"
        "  '130682': {parent: '130000'}\n"
        "  '130183': {parent: '130183'}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        build_registry(["130000"], overlay, levels=[Level.province, Level.prefecture, Level.county])
    said = str(caught.value)
    for where in (
        "o.yaml:2 units[0].parent: parent unit 130199 is not in the registry",
        "o.yaml:4 units[2].level: unit 130100-xx (省级) is under 130100 (市级)",
        "o.yaml:6 patch.130181.parent: the parent of 130181 辛集市: no unit '河南省'",
        "o.yaml:7 patch.130100.parent: 130181 辛集市 is below 130100 石家庄市",
        "o.yaml:9 patch.130183.parent: 130183 晋州市 cannot be its own parent",
    ):
        assert where in said, said
    assert "units[1]" not in said and "130682" not in said  # under a refused unit; a good re-parenting
    assert said.startswith("5 problems"), said


def test_every_entry_the_registry_cannot_take_is_said_in_one_run(tmp_path):
    """A code given twice, a loop of parents, a unit already in the registry, a patch or an exclude of no unit:
    all said at once, each at its line (a loop once)."""
    from duban.errors import SpecError

    overlay = tmp_path / "o.yaml"
    overlay.write_text(
        "units:\n"
        "  - {code: a1, name: 甲科, level: county, kind: office, parent: a2}\n"
        "  - {code: a2, name: 乙科, level: county, kind: office, parent: a1}\n"
        "  - {code: b1, name: 丙科, level: county, kind: office, parent: '140724'}\n"
        "  - {code: b1, name: 丁科, level: county, kind: office, parent: '140724'}\n"
        "  - {code: '140724100', name: 乐平, level: township, kind: office, parent: '140724'}\n"
        "patch:\n"
        "  '140799': {contact: 王芳}\n"
        "exclude: ['140798']\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        apply_overlay(import_divisions(["140724"]), overlay)
    said = str(caught.value)
    assert said.startswith("5 problems"), said
    for where in (
        "o.yaml:2 units[0].parent: units a1 → a2 → a1 are each other's parent",
        "o.yaml:5 units[3].code: unit code b1 is given twice (first as units[2])",
        "o.yaml:6 units[4].code: unit code 140724100 is already in the registry",
        "o.yaml:8 patch.140799: no unit 140799 in the registry to patch",
        "o.yaml:9 exclude[0]: no unit 140798 in the registry to exclude",
    ):
        assert where in said, said
