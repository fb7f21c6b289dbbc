"""`duban units import`: a list (名录) stored only when every row is right, updated in place with the history of
who was listed when, and used by a spec (groups, strata) — on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from duban.cli.main import app
from duban.domain.listed import read_list
from duban.simulation.synthetic_list import HEADER, credit_code, write_csv
from duban.store.listed import history, import_list, listed_rows
from duban.store.tables import ListedUnit, UnitImport
from tests.conftest import SPECS

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=timezone.utc)
runner = CliRunner()


def _row(n: int, division: str = "140724", risk: str = "一般") -> list[str]:
    return [
        credit_code(random.Random(n), division),
        f"模拟企业{n}有限公司",
        division,
        "C30",
        "小型",
        risk,
        "王芳",
        "0354-1",
    ]


def _write(path, rows):
    path.write_text("\n".join([",".join(HEADER), *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_reimport_updates_in_place_and_keeps_who_was_listed_when(engine, tmp_path):
    first = import_list(engine, "xiyang", read_list(_write(tmp_path / "a.csv", [_row(1), _row(2), _row(3)])), now=T0)
    assert (first.added, first.changed, first.removed) == (3, 0, 0)
    moved, gone, kept = _row(1, risk="高"), _row(2), _row(3)
    later = T0 + timedelta(days=90)
    second = import_list(engine, "xiyang", read_list(_write(tmp_path / "b.csv", [moved, kept, _row(4)])), now=later)
    assert (second.added, second.changed, second.removed, second.unchanged) == (1, 1, 1, 1)
    today = {r.code: r for r in listed_rows(engine, "xiyang")}
    assert set(today) == {moved[0], kept[0], _row(4)[0]} and today[moved[0]].attributes["risk"] == "高"
    before = {r.code: r for r in listed_rows(engine, "xiyang", as_of=T0 + timedelta(days=30))}
    assert set(before) == {moved[0], gone[0], kept[0]} and before[moved[0]].attributes["risk"] == "一般"
    spells = history(engine, "xiyang", moved[0])
    assert [(s.attributes["risk"], s.listed_until is None) for s in spells] == [("一般", False), ("高", True)]
    assert history(engine, "xiyang", gone[0])[0].listed_until == later
    again = import_list(engine, "xiyang", read_list(tmp_path / "b.csv"), now=later + timedelta(days=1))
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 3)


def test_a_file_that_would_unlist_most_of_the_list_is_refused_unless_delisting(tmp_path):
    """A clerk imports 左权县's 名录 into 昔阳县's list (or last year's extract): every unit listed now but three
    would have been marked no longer listed, silently, and the next plan would drop them. The import is refused
    with nothing stored, saying how many would go and what to do; --delisting stores it when the list really
    shrinks so. A list losing fewer than half of its units is imported as before."""
    from duban.cli.common import engine as settings_engine
    from duban.settings import get_settings

    get_settings.cache_clear()
    engine = settings_engine()
    listed = [_row(n) for n in range(1, 11)]
    first = runner.invoke(app, ["units", "import", str(_write(tmp_path / "昔阳.csv", listed)), "--list", "xiyang"])
    assert first.exit_code == 0, first.output
    other = _write(tmp_path / "左权.csv", [*listed[:3], *(_row(n, "140722") for n in range(50, 60))])
    refused = runner.invoke(app, ["units", "import", str(other), "--list", "xiyang"])
    assert refused.exit_code == 1, refused.output
    assert "list 'xiyang' now has 10 units and this file keeps 3 of them: 7 would no longer be listed" in (
        " ".join(refused.output.split())
    )
    assert "nothing was stored" in refused.output and "--delisting" in refused.output
    assert "Traceback" not in refused.output
    assert len(listed_rows(engine, "xiyang")) == 10 and _count(engine, UnitImport) == 1
    shrinking = _write(tmp_path / "昔阳-6月.csv", listed[:6])  # four of ten closed down: imported as before
    assert "4 no longer listed" in runner.invoke(app, ["units", "import", str(shrinking), "--list", "xiyang"]).output
    stored = runner.invoke(app, ["units", "import", str(other), "--list", "xiyang", "--delisting"])
    assert stored.exit_code == 0 and "10 added, 0 changed, 3 no longer listed, 3 unchanged" in stored.output
    assert len(listed_rows(engine, "xiyang")) == 13


def test_a_reimport_without_a_column_the_units_carry_is_refused_unless_dropping(tmp_path):
    """A re-import from an export without its 风险等级 column changed all 30 units and every one lost its risk class:
    a sample stratified by it, or a `where: {risk: …}`, then found nobody (an outside tester's finding)."""
    from duban.cli.common import engine as settings_engine
    from duban.settings import get_settings

    get_settings.cache_clear()
    engine = settings_engine()
    listed = [_row(n, risk="较高" if n % 3 else "一般") for n in range(1, 11)]
    first = runner.invoke(app, ["units", "import", str(_write(tmp_path / "a.csv", listed)), "--list", "xy"])
    assert first.exit_code == 0, first.output
    # each class attribute's values, counted: a county's own spelling (高风险 beside 高) shows before a draw uses it
    assert "风险等级 (risk): 较高 7, 一般 3" in first.output and "规模 (size): 小型 10" in first.output
    header = [h for h in HEADER if h != "风险等级"]
    without = tmp_path / "b.csv"
    without.write_text(
        "\n".join([",".join(header), *(",".join(r[:5] + r[6:]) for r in listed)]) + "\n", encoding="utf-8"
    )
    refused = runner.invoke(app, ["units", "import", str(without), "--list", "xy"])
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "no row gives 风险等级 (risk, held by 10)" in said, refused.output
    assert "nothing was stored" in said and "--dropping" in said and "Traceback" not in said
    assert {r.attributes.get("risk") for r in listed_rows(engine, "xy")} == {"较高", "一般"}
    assert _count(engine, UnitImport) == 1
    stored = runner.invoke(app, ["units", "import", str(without), "--list", "xy", "--dropping"])
    assert stored.exit_code == 0 and "10 changed" in stored.output, stored.output
    assert all("risk" not in r.attributes for r in listed_rows(engine, "xy"))


def test_the_cli_refuses_a_file_with_bad_rows_and_stores_nothing(tmp_path):
    from duban.cli.common import engine as settings_engine

    bad = _row(2)
    bad[0] = bad[0][:17] + ("1" if bad[0][17] != "1" else "2")
    path = _write(tmp_path / "名录.csv", [_row(1), bad, _row(3, "149999")])
    result = runner.invoke(app, ["units", "import", str(path), "--list", "xiyang"])
    assert result.exit_code == 1
    assert f"{path}:3 " in result.output and f"{path}:4 " in result.output and "nothing was stored" in result.output
    assert "Traceback" not in result.output
    assert _count(settings_engine(), UnitImport) == 0 and _count(settings_engine(), ListedUnit) == 0
    good = _write(tmp_path / "ok.csv", [_row(1), _row(3)])
    result = runner.invoke(app, ["units", "import", str(good), "--list", "晋中 名录"])
    assert result.exit_code == 1 and "'晋中 名录' is not a list name" in result.output
    assert "(e.g. self_assessment)" not in result.output  # one example, the list's kind
    result = runner.invoke(app, ["units", "import", str(good), "--list", "x" * 65])
    assert result.exit_code == 1 and "a list name of 65 characters: at most 64" in result.output
    result = runner.invoke(app, ["units", "import", str(good), "--list", "xiyang"])
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    result = runner.invoke(app, ["units", "history", "xiyang", _row(1)[0]])
    assert result.exit_code == 0 and "模拟企业1有限公司 (140724)" in result.output and "→ 今" in result.output


def test_history_of_a_name_no_list_can_have_says_so_not_to_import_it(tmp_path):
    """`duban units history ../x …` advised `duban units import FILE --list ../x`, which import then refuses."""
    runner.invoke(app, ["units", "import", str(_write(tmp_path / "a.csv", [_row(1)])), "--list", "xiyang"])
    result = runner.invoke(app, ["units", "history", "../x", _row(1)[0]])
    assert result.exit_code == 1 and "'../x' is not a list name" in result.output, result.output
    assert "units import" not in result.output, result.output


def test_each_list_counts_its_own_imports(tmp_path):
    """A bureau keeps two lists (规上企业, 重点企业): the second list's first import is its import 1, and `duban units
    history` counts each list's imports from 1, whatever the other list did in between."""
    first = _write(tmp_path / "a.csv", [_row(1), _row(2)])
    second = _write(tmp_path / "b.csv", [_row(3)])
    said = [
        runner.invoke(app, ["units", "import", str(path), "--list", name]).output
        for path, name in ((first, "xiyang"), (second, "xiyang-key"), (first, "xiyang"), (second, "xiyang-key"))
    ]
    heads = [next(line for line in out.splitlines() if "of this list)" in line) for out in said]
    assert [line.rsplit("(", 1)[1].strip() for line in heads] == [
        "import 1 of this list)",
        "import 1 of this list)",
        "import 2 of this list)",
        "import 2 of this list)",
    ]
    shown = runner.invoke(app, ["units", "history", "xiyang-key"]).output.splitlines()
    assert [line.split()[0] for line in shown] == ["1", "2"] and all("b.csv" in line for line in shown)


def test_history_finds_a_code_as_typed_and_shows_what_changed_between_spells(tmp_path):
    """The import keys codes trimmed and in upper case, but `duban units history` of `91140724bj…` (as a clerk types
    it) said it was never on the list; a spell changed only in its 联系电话 showed as two identical lines; a unit
    dropped and listed again within a minute showed no import to tell the spells apart."""
    first, second = _row(1), _row(2)
    runner.invoke(app, ["units", "import", str(_write(tmp_path / "a.csv", [first, second])), "--list", "xiyang"])
    new_phone = [*first[:7], "0354-9"]
    runner.invoke(app, ["units", "import", str(_write(tmp_path / "b.csv", [new_phone, second])), "--list", "xiyang"])
    typed = f" {first[0].lower()} "
    result = runner.invoke(app, ["units", "history", "xiyang", typed])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2, lines
    assert "联系人 王芳 电话 0354-1" in lines[0] and "[第1次导入至第2次]" in lines[0], lines
    assert "联系人 王芳 电话 0354-9" in lines[1] and "[第2次导入起]" in lines[1] and "→ 今" in lines[1], lines
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in first[0])  # typed in full width: ９１１４…
    assert runner.invoke(app, ["units", "history", "xiyang", wide]).output.splitlines() == lines


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def test_a_spec_samples_a_stored_list_by_risk_class(backend, tmp_path, monkeypatch, request):
    """The issue's second shape with the list in the database: 3% of 晋中's enterprises in each risk class."""
    url = None
    if backend == "postgres":
        url = request.getfixturevalue("pg_database")("listed")
        monkeypatch.setenv("DUBAN_DATABASE_URL", url)
    from duban.cli.common import engine as settings_engine
    from duban.services.lifecycle import plan_file
    from duban.settings import get_settings

    get_settings.cache_clear()
    counties = [
        "140702",
        "140703",
        "140721",
        "140722",
        "140723",
        "140724",
        "140725",
        "140727",
        "140728",
        "140729",
        "140781",
    ]
    write_csv(tmp_path / "名录.csv", counties, 2000, seed=3)
    import_list(settings_engine(), "jinzhong-enterprises", read_list(tmp_path / "名录.csv"), now=T0)
    spec = tmp_path / "spec.yaml"
    shutil.copytree(SPECS / "units", tmp_path / "units", dirs_exist_ok=True)
    text = (SPECS / "jinzhong-2025-enterprise-checks.yaml").read_text(encoding="utf-8")
    spec.write_text(
        text.replace("    - file: units/jinzhong-enterprises.csv\n", "    - jinzhong-enterprises\n"), encoding="utf-8"
    )
    _loaded, plan = plan_file(spec)
    drawn = plan.samples["enterprise_checks"]
    by_risk = {}
    for code in drawn.members:
        by_risk.setdefault(plan.registry.get(code).attributes["risk"], []).append(code)
    sizes = {}
    for unit in plan.registry:
        if unit.kind == "enterprise":
            sizes[unit.attributes["risk"]] = sizes.get(unit.attributes["risk"], 0) + 1
    assert sum(sizes.values()) == 2000
    assert {risk: len(codes) for risk, codes in by_risk.items()} == {
        risk: -(-n * 3 // 100) for risk, n in sizes.items()
    }


def test_validate_reads_a_stored_list_and_names_an_unknown_one(tmp_path):
    from duban.cli.common import engine as settings_engine

    shutil.copytree(SPECS / "units", tmp_path / "units", dirs_exist_ok=True)
    text = (SPECS / "jinzhong-2025-enterprise-checks.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        text.replace("    - file: units/jinzhong-enterprises.csv\n", "    - jinzhong-enterprises\n"), encoding="utf-8"
    )
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1 and "registry.lists[0]" in result.output
    assert "no list 'jinzhong-enterprises' in the database" in result.output and "duban units import" in result.output
    import_list(
        settings_engine(), "jinzhong-enterprises", read_list(SPECS / "units" / "jinzhong-enterprises.csv"), now=T0
    )
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 0, result.output


def test_a_running_campaign_keeps_the_list_it_was_planned_over(backend, tmp_path, monkeypatch, request):
    """A 名录 re-imported while a campaign runs (firms closed, new ones listed) does not change the campaign: its
    re-plans from the record (a sample drawn later, follow-ups, amendments, the parents' naming forms) read the list
    as it stood when the campaign was planned, so its units and its 3% sample stay the ones planned and told.
    A new plan of the spec file reads today's list."""
    if backend == "postgres":
        monkeypatch.setenv("DUBAN_DATABASE_URL", request.getfixturevalue("pg_database")("listed_pinned"))
    from duban.cli.common import engine as settings_engine
    from duban.services.lifecycle import ensure_planned, plan_file
    from duban.settings import get_settings
    from duban.views.replanned import replan

    get_settings.cache_clear()
    engine = settings_engine()
    counties = ["140702", "140721", "140724", "140725", "140781"]
    write_csv(tmp_path / "名录-3月.csv", counties, 600, seed=3)
    import_list(engine, "jinzhong-enterprises", read_list(tmp_path / "名录-3月.csv"), now=T0)
    spec = tmp_path / "spec.yaml"
    shutil.copytree(SPECS / "units", tmp_path / "units", dirs_exist_ok=True)
    text = (SPECS / "jinzhong-2025-enterprise-checks.yaml").read_text(encoding="utf-8")
    spec.write_text(
        text.replace("    - file: units/jinzhong-enterprises.csv\n", "    - jinzhong-enterprises\n"), encoding="utf-8"
    )
    planned = ensure_planned(engine, spec, now=T0 + timedelta(days=1))
    members = planned.plan.samples["enterprise_checks"].members
    enterprises = {u.code for u in planned.plan.registry if u.kind == "enterprise"}
    assert len(enterprises) == 600

    write_csv(tmp_path / "名录-4月.csv", counties, 650, seed=4)  # a re-import: another list altogether
    later = import_list(
        engine,
        "jinzhong-enterprises",
        read_list(tmp_path / "名录-4月.csv"),
        now=T0 + timedelta(days=40),
        delisting=True,
    )
    assert later.added == 650 and later.removed == 600

    _spec, again, _timeline = replan(engine, planned.campaign_id)
    assert {u.code for u in again.registry if u.kind == "enterprise"} == enterprises
    assert again.samples["enterprise_checks"].members == members
    _loaded, fresh = plan_file(spec)  # the spec file planned anew: today's list
    assert len({u.code for u in fresh.registry if u.kind == "enterprise"} & enterprises) == 0

    # `duban plan` of the file reads today's list, and says the running campaign reads the one it was planned over
    planned_out = runner.invoke(app, ["plan", str(spec)])
    assert planned_out.exit_code == 0, planned_out.output
    assert (
        "note: this plan reads today's lists; campaign jinzhong-2025-enterprise-checks in the database runs over "
        "jinzhong-enterprises as it stood 2025-03-01" in planned_out.output
    )
    checked = runner.invoke(app, ["validate", str(spec)])  # and so does `duban validate`
    assert checked.exit_code == 0, checked.output
    assert (
        "note: this check reads today's lists; campaign jinzhong-2025-enterprise-checks in the database runs over "
        "jinzhong-enterprises as it stood 2025-03-01" in checked.output
    )
    # `duban sample show` compares the recorded draw with the campaign's own list, not a redraw from today's
    shown = runner.invoke(app, ["sample", "show", str(spec), "--sample", "enterprise_checks"])
    assert shown.exit_code == 0, shown.output
    assert "名录按本专项工作开始时的版本：jinzhong-enterprises 截至 2025-03-01" in shown.output
    assert "with seed 20250610: same members" in shown.output and "differs —" not in shown.output

    # an amendment re-plans the high-risk firms' 承诺书 from the same list: it moves their due, it does not find
    # "new" or "gone" firms (before, it refused: "the amendment would add or drop periods of a recurring item")
    from duban.domain.plan import load_calendar_for
    from duban.services.amend import apply_amendment
    from duban.spec.amendment import load_amendment

    amendment = tmp_path / "调整通知.yaml"
    amendment.write_text(
        "campaign: jinzhong-2025-enterprise-checks\nissuer: 晋中市统计局\ndoc_no: 示例〔2025〕3号\n"
        "title: 关于调整依法统计承诺书报送时间的通知\nissued_on: 2025-07-01\nreason: 与实地检查衔接\n"
        "changes:\n  - item: risk_pledge\n    due: 2025-08-27\n",
        encoding="utf-8",
    )
    moved = apply_amendment(
        engine,
        planned.spec,
        load_amendment(amendment),
        load_calendar_for(planned.spec),
        at=datetime(2025, 7, 1, 1, 0, tzinfo=timezone.utc),
    )
    high_risk = [u for u in planned.plan.assignments if u.item_id == "risk_pledge"]
    assert high_risk and len(moved.changed) == len(high_risk)


def test_a_list_asked_for_as_it_stood_before_its_first_import_is_refused_by_name(tmp_path):
    """`{name: …, as_of: 2025-02-01}` when the list was first imported 2025-03-01: said so at the spec's line,
    not "none of the 0 units of list … is under the registry's divisions" (an outside tester's finding)."""
    from duban.cli.common import engine as settings_engine

    import_list(
        settings_engine(), "jinzhong-enterprises", read_list(SPECS / "units" / "jinzhong-enterprises.csv"), now=T0
    )
    shutil.copytree(SPECS / "units", tmp_path / "units", dirs_exist_ok=True)
    text = (SPECS / "jinzhong-2025-enterprise-checks.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        text.replace(
            "    - file: units/jinzhong-enterprises.csv\n", "    - {name: jinzhong-enterprises, as_of: 2025-02-01}\n"
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1 and "registry.lists[0]" in result.output
    assert "had not been imported by 2025-02-01: its first import was on 2025-03-01 10:00" in result.output
    assert "none of the 0 units" not in result.output


def test_a_township_code_the_ministry_does_not_know_is_stored_under_its_county_and_said(tmp_path):
    """A 9- or 12-digit code whose township the Ministry's data lacks (a development zone's 统计用区划代码, or a typo)
    is stored under its county, as before, and the import now says so with the line; a real township's village
    code is attached to the township without a note (an outside tester saw 140724999 accepted silently)."""
    path = _write(
        tmp_path / "名录.csv",
        [_row(1, "140724999"), _row(2, "140724999201"), _row(3, "140724100201"), _row(4, "140724")],
    )
    result = runner.invoke(app, ["units", "import", str(path), "--list", "xiyang"])
    assert result.exit_code == 0, result.output
    assert "4 rows: 4 added" in result.output
    assert f"{path}:2 模拟企业1有限公司: division code '140724999' — the Ministry's data" in result.output
    assert f"{path}:3 模拟企业2有限公司: division code '140724999201'" in result.output
    assert "stored under the county 140724" in result.output
    assert f"{path}:4 " not in result.output and f"{path}:5 " not in result.output
    one = _write(tmp_path / "一家.csv", [_row(5)])
    assert "1 row: 1 added" in runner.invoke(app, ["units", "import", str(one), "--list", "one"]).output


def test_a_column_the_list_lacks_is_said_at_the_mapping_files_line(tmp_path):
    """A mapping file's typo (统一社会信用代玛, line 3) was reported at the list's first line (`名录.csv:1 the mapping
    names column …`): the clerk looked for it in the list (an outside tester's finding). It is said at the mapping
    file's line and field, with the columns the list has; nothing is stored."""
    from duban.cli.common import engine as settings_engine

    rows = [_row(1), _row(2)]
    header = ["统一社会信用代码", "企业名称", "所在地区划", "从业人员"]
    path = tmp_path / "名录.csv"
    path.write_text(
        "\n".join([",".join(header), *(",".join([r[0], r[1], r[2], "12"]) for r in rows)]) + "\n", encoding="utf-8"
    )
    mapping = tmp_path / "columns.yaml"
    mapping.write_text(
        "columns:\n  name: 企业名称\n  credit_code: 统一社会信用代玛\n  division: 所在地区划\n"
        "attributes:\n  employees: 从业人数\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["units", "import", str(path), "--list", "xiyang", "--mapping", str(mapping)])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "Traceback" not in said, result.output
    assert f"2 problems in {mapping}, nothing was stored" in said
    columns = "its columns: '统一社会信用代码', '企业名称', '所在地区划', '从业人员'"
    assert (
        f"{mapping}:3 columns.credit_code: {path} has no column '统一社会信用代玛' (did you mean '统一社会信用代码'?); "
        f"{columns}" in said
    )
    assert f"{mapping}:6 attributes.employees: {path} has no column '从业人数' (did you mean '从业人员'?)" in said
    assert f"{path}:1 " not in said
    assert _count(settings_engine(), UnitImport) == 0 and _count(settings_engine(), ListedUnit) == 0
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("代玛", "代码").replace("从业人数", "从业人员"))
    stored = runner.invoke(app, ["units", "import", str(path), "--list", "xiyang", "--mapping", str(mapping)])
    assert stored.exit_code == 0 and "2 rows: 2 added" in stored.output, stored.output
