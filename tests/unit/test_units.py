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
