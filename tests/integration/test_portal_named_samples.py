"""由上级指定 on the portal (issue 25): for 县级示范点 ("各县指定1个乡镇，其余随机抽取") each county names one township
on its own page (its link), only among its own townships and only before the draw; `duban sample draw` takes
what the counties named and draws the rest at random. Every refusal says what is wrong with the field, never a
traceback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from duban.errors import RequestError
from duban.services.lifecycle import ensure_planned
from duban.services.links import issue
from duban.services.sample_draws import draw_open_sample
from duban.services.sample_naming import name_units
from duban.services.tick import tick_stage
from duban.settings import Settings
from tests.conftest import ROOT
from tests.integration.helpers import at
from tests.integration.portal_site import Site, text_of

SPEC = ROOT / "tests" / "specs" / "jinzhong-2024-open-samples.yaml"
CAMPAIGN = "jinzhong-2024-open-samples"
XIYANG, SHOUYANG = "140724", "140725"
LEPING, GAOLUO = "140724100", "140724101"  # 昔阳县's 乐平镇, 皋落镇
SHOUYANG_TOWN = "140725100"  # a township of 寿阳县


@pytest.fixture
def site(sqlite_engine):
    ensure_planned(sqlite_engine, SPEC, now=at("2024-05-20 09:00"))
    tick_stage(sqlite_engine, CAMPAIGN, "checks", at("2024-06-01 08:30"))  # the counties' 县级检查方案 open
    return Site(Settings(), sqlite_engine, at("2024-06-01 10:00"))


def _token(site: Site, unit: str) -> str:
    return issue(site.settings.portal_key(), CAMPAIGN, unit, site.now, timedelta(days=45))


def _name(site: Site, token: str, units: list[str], sample: str = "county_models"):
    data = {"csrf": site.csrf(f"/u/{token}"), "units": units}
    return site.client.post(f"/u/{token}/samples/{sample}/named", data=data, follow_redirects=False)


def test_a_county_names_one_of_its_own_townships_and_the_draw_takes_it(site):
    xiyang, shouyang = _token(site, XIYANG), _token(site, SHOUYANG)
    page = site.page(xiyang)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "指定抽查单位：县级示范点" in text and "请从本单位的下级单位中指定1个" in text
    assert f'value="{LEPING}"' in page.text and f'value="{SHOUYANG_TOWN}"' not in page.text  # its own only

    refused = _name(site, xiyang, [SHOUYANG_TOWN])  # another county's township
    assert refused.status_code == 400
    assert f"指定单位：「{SHOUYANG_TOWN}」不是本单位可指定的下级单位" in text_of(refused.text)
    two = _name(site, xiyang, [LEPING, GAOLUO])
    assert two.status_code == 400 and "指定单位：请指定1个单位（现选了2个）" in text_of(two.text)
    none = _name(site, xiyang, [])
    assert none.status_code == 400 and "指定单位：请指定1个单位（现选了0个）" in text_of(none.text)
    assert [a.detail for a in site.audit("refused")][-3:] == [
        f"指定单位：「{SHOUYANG_TOWN}」不是本单位可指定的下级单位，只能从本单位的下级单位中指定。",
        "指定单位：请指定1个单位（现选了2个）。",
        "指定单位：请指定1个单位（现选了0个）。",
    ]

    assert _name(site, xiyang, [GAOLUO]).status_code == 303
    named = _name(site, xiyang, [LEPING])  # changed its mind before the draw: replaces 皋落镇
    assert named.status_code == 303 and named.headers["location"].endswith("#naming-county_models")
    assert "本单位已指定：乐平镇统计站" in text_of(site.page(xiyang).text)
    assert _name(site, shouyang, [SHOUYANG_TOWN]).status_code == 303

    result, made = draw_open_sample(site.engine, CAMPAIGN, "county_models", at=at("2024-06-03 09:00"))
    assert {LEPING, SHOUYANG_TOWN} <= set(result.members) and GAOLUO not in result.draws[0].designated
    assert len(result.members) == 4 and made == 4 and "2 designated + 2 at random" in result.draws[0].rule

    site.now = at("2024-06-03 10:00")
    late = _name(site, shouyang, [SHOUYANG_TOWN])
    assert late.status_code == 400 and "指定单位：「县级示范点」已于6月3日 周一 09:00抽取，不能再指定" in text_of(
        late.text
    )
    assert "指定抽查单位" not in text_of(site.page(xiyang).text)  # drawn: the form is gone


def test_an_operators_named_unit_stands_in_for_what_its_county_named(site):
    assert _name(site, _token(site, XIYANG), [LEPING]).status_code == 303
    assert _name(site, _token(site, SHOUYANG), [SHOUYANG_TOWN]).status_code == 303
    result, _made = draw_open_sample(site.engine, CAMPAIGN, "county_models", named=(GAOLUO,), at=at("2024-06-03"))
    assert set(result.draws[0].designated) == {GAOLUO, SHOUYANG_TOWN}


def test_hostile_namings_are_refused_with_the_field_named(site):
    xiyang, leping = _token(site, XIYANG), _token(site, LEPING)
    for sample in ("city_check", "no-such-sample", "x" * 500):  # a sample parents do not name for; none at all
        answer = _name(site, xiyang, [LEPING], sample=sample)
        assert answer.status_code in (400, 404), (sample, answer.status_code)
        assert "Traceback" not in answer.text and "Internal Server Error" not in answer.text
    assert "这项工作没有由上级单位指定的抽查样本" in text_of(_name(site, xiyang, [LEPING], "city_check").text)
    with pytest.raises(RequestError) as township:  # a township has no units to name (and its page no form)
        name_units(site.engine, CAMPAIGN, "county_models", LEPING, [LEPING], at=site.now, actor="unit:" + LEPING)
    assert "指定单位：「县级示范点」不从本单位的下级单位中抽取，本单位无需指定" in township.value.cn
    assert "指定抽查单位" not in text_of(site.page(leping).text)
    for junk in (["' OR 1=1 --"], ["\x00"], ["乐" * 5000], [str(n) for n in range(150)]):
        answer = _name(site, xiyang, junk)
        assert answer.status_code == 400 and "指定单位：" in text_of(answer.text), junk
    script = _name(site, xiyang, ["<script>alert(1)</script>"])
    assert script.status_code == 400 and "<script>alert(1)" not in script.text  # shown, escaped
    assert "指定单位：「&lt;script&gt;alert(1)&lt;/script&gt;」" in script.text
    flood = _name(site, xiyang, [str(n) for n in range(1000)])  # more fields than a county has townships
    assert flood.status_code == 400 and "指定单位：一次提交的单位过多" in text_of(flood.text)
    assert "一次提交的单位过多" in site.audit("refused")[-1].detail  # audited as every other refusal
    no_csrf = site.client.post(f"/u/{xiyang}/samples/county_models/named", data={"units": [LEPING]})
    assert no_csrf.status_code in (400, 403)
    assert _name(site, xiyang, [LEPING]).status_code == 303  # nothing hostile stuck


def test_sample_show_tells_the_operator_who_has_named_and_who_has_not(site, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.settings import get_settings

    assert _name(site, _token(site, XIYANG), [LEPING]).status_code == 303
    monkeypatch.setenv("DUBAN_DATABASE_URL", str(site.engine.url))
    get_settings.cache_clear()
    shown = CliRunner().invoke(app, ["sample", "show", str(SPEC), "--sample", "county_models"])
    assert shown.exit_code == 0, shown.output
    assert "named on the portal so far: 昔阳县 → 乐平镇; still to name: 寿阳县" in shown.output
    assert "not drawn yet (left open by the notice): `duban sample draw SPEC --sample county_models`" in shown.output


def test_taps_and_a_draw_at_the_same_moment_follow_one_another_on_postgres(pg_engine):
    """Two parents tapping twice each while the operator draws: on PostgreSQL every naming either lands before
    the draw (and is drawn) or is refused as too late — none is lost and none fails with a database error."""
    import threading

    ensure_planned(pg_engine, SPEC, now=at("2024-05-20 09:00"))
    start, errors, done = threading.Barrier(5), [], []

    def run(work):
        start.wait()
        try:
            done.append(work())
        except RequestError as exc:
            errors.append(exc.cn)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    def tap(parent, unit):
        return lambda: name_units(
            pg_engine, CAMPAIGN, "county_models", parent, [unit], at=at("2024-06-03 09:00"), actor="t"
        )

    def draw():
        try:
            return draw_open_sample(pg_engine, CAMPAIGN, "county_models", at=at("2024-06-03 09:00"))
        except Exception as exc:  # noqa: BLE001 - a draw before both have named is refused by the rule
            return exc

    works = [tap(XIYANG, LEPING), tap(XIYANG, LEPING), tap(SHOUYANG, SHOUYANG_TOWN), tap(SHOUYANG, SHOUYANG_TOWN)]
    threads = [threading.Thread(target=run, args=(w,)) for w in [*works, draw]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all("已于" in e and "抽取，不能再指定" in e for e in errors), errors  # too late, said so; nothing else
    from duban.store.sample_names import named_units

    assert named_units(pg_engine, CAMPAIGN, "county_models") in (
        {},
        {XIYANG: [LEPING]},
        {SHOUYANG: [SHOUYANG_TOWN]},
        {XIYANG: [LEPING], SHOUYANG: [SHOUYANG_TOWN]},
    )


def _cli(engine, monkeypatch, *args):
    from typer.testing import CliRunner

    from duban.cli.main import app
    from duban.settings import get_settings

    monkeypatch.setenv("DUBAN_DATABASE_URL", str(engine.url))
    get_settings.cache_clear()
    return CliRunner().invoke(app, [*args])


def test_a_unit_named_by_its_name_stands_in_for_what_its_county_named(site, monkeypatch):
    """`--named 皋落镇` is 140724101, as the spec and `duban units show` take a unit: it replaces 乐平镇, which
    昔阳县 named on its page (before, the name matched no parent, 乐平镇 was added too and the draw was refused
    with "昔阳县统计局 named 2")."""
    assert _name(site, _token(site, XIYANG), [LEPING]).status_code == 303
    assert _name(site, _token(site, SHOUYANG), [SHOUYANG_TOWN]).status_code == 303
    draw = ("sample", "draw", str(SPEC), "--sample", "county_models", "--at", "2024-06-03 09:00")
    drawn = _cli(site.engine, monkeypatch, *draw, "--named", "皋落镇")
    assert drawn.exit_code == 0, drawn.output
    assert "2 designated + 2 at random" in drawn.output
    from duban.views.sample_audit import recorded_samples

    members = set(recorded_samples(site.engine, CAMPAIGN)["county_models"].members)
    assert {GAOLUO, SHOUYANG_TOWN} <= members and LEPING not in members


def test_an_ambiguous_name_is_refused_with_the_candidates(sqlite_engine, tmp_path, monkeypatch):
    """李家庄乡 is a township of 昔阳县 (140724201) and of 阳泉市郊区 (140311202): the name alone is refused, the
    candidates listed, nothing drawn; the code is taken."""
    text = SPEC.read_text(encoding="utf-8").replace(
        'divisions: ["140724", "140725"]', 'divisions: ["140724", "140311"]'
    )
    spec = tmp_path / "open-samples.yaml"
    spec.write_text(text, encoding="utf-8")
    ensure_planned(sqlite_engine, spec, now=at("2024-05-20 09:00"))
    draw = ("sample", "draw", str(spec), "--sample", "county_models", "--at", "2024-06-03 09:00")
    refused = _cli(sqlite_engine, monkeypatch, *draw, "--named", "李家庄乡", "--named", "140311202")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "'李家庄乡' names 2 units (140724201 李家庄乡" in refused.output and "140311202" in refused.output
    assert "write the code instead" in refused.output
    unknown = _cli(sqlite_engine, monkeypatch, *draw, "--named", "no such town", "--named", "140311202")
    assert unknown.exit_code == 1 and "no unit 'no such town'" in unknown.output
    taken = _cli(sqlite_engine, monkeypatch, *draw, "--named", "140724201", "--named", "140311202")
    assert taken.exit_code == 0, taken.output
