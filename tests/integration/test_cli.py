"""The `duban` command as an administrator uses it."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from duban.cli.main import app
from duban.services.lifecycle import plan_file
from tests.conftest import JINZHONG, ROOT, SPECS
from tests.samples import docx_bytes, write, xlsx_bytes

runner = CliRunner()


def _small_spec(tmp_path: Path, issued_on: str, stages: str) -> Path:
    """A one-county spec (昔阳县) issued on `issued_on` with these `stages:` lines, for plan's wording."""
    spec = tmp_path / "t.yaml"
    spec.write_text(
        f'id: t\ntitle: 测试\nissuer: 昔阳县统计局\nissued_on: {issued_on}\nregistry: {{divisions: ["140724"]}}\n'
        + stages,
        encoding="utf-8",
    )
    return spec


def _run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_every_spec_in_the_repository_validates():
    specs = sorted(SPECS.glob("*.yaml"))
    assert len(specs) >= 1
    result = _run("validate", *specs)
    assert result.exit_code == 0, result.output
    assert result.output.count("✓") == len(specs)


def test_a_broken_spec_fails_with_file_line_and_path(tmp_path):
    shutil.copytree(SPECS / "units", tmp_path / "units")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        JINZHONG.read_text(encoding="utf-8").replace("end: 2024-06-30}", "end: 2024-06-31}", 1), encoding="utf-8"
    )
    result = _run("validate", broken)
    assert result.exit_code == 1
    assert (
        "✗ 1 problem in the spec" in result.output
        and "broken.yaml:15 window.end:" in result.output
        and "2024-06-31 is not a date" in result.output
    )


def test_plan_prints_absolute_instants_with_weekdays():
    result = _run("plan", JINZHONG)
    assert result.exit_code == 0
    assert "2024-07-01 周一 24:00" in result.output
    assert "260 assignments: 乡级 236, 县级 24" in result.output
    as_json = json.loads(_run("plan", JINZHONG, "--json").output)
    assert len(as_json["assignments"]) == 324
    leping = next(a for a in as_json["assignments"] if a["unit"] == "140724100" and a["item"] == "self_report")
    assert leping["due_at"] == "2024-05-25T23:59:59.999999+08:00" and leping["due_at_local"] == "2024-05-25 周六 24:00"


def test_plan_output_does_not_depend_on_the_machine_zone():
    outputs = []
    for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
        env = dict(os.environ, TZ=zone, COLUMNS="200")
        out = subprocess.run(
            [sys.executable, "-m", "duban.cli.main", "plan", str(JINZHONG), "--json"],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        outputs.append(out.stdout)
    assert outputs[0] == outputs[1] == outputs[2]


def test_schema_is_json_schema():
    schema = json.loads(_run("schema").output)
    assert schema["title"] == "Campaign" and "stages" in schema["required"]


def test_submit_then_status(tmp_path):
    sheet = write(tmp_path / "评分表.xlsx", xlsx_bytes())
    result = _run(
        "submit",
        JINZHONG,
        "--unit",
        "140724100",
        "--item",
        "self_score_sheet",
        "--file",
        sheet,
        "--at",
        "2024-05-20 10:00",
    )
    assert result.exit_code == 0, result.output
    assert (
        "已报送 乐平镇统计站（140724100） · 自查评分表（self_score_sheet） · 第1版 · 2024-05-20 周一 10:00（按时）"
        in result.output
    )
    assert "回执消息已排入发送队列" in result.output
    refused = _run(
        "submit",
        JINZHONG,
        "--unit",
        "140724",
        "--item",
        "county_inspection",
        "--file",
        sheet,
        "--metric",
        "townships_inspected=3",
        "--at",
        "2024-06-01 10:00",
    )
    assert refused.exit_code == 1 and "error: " in refused.output and "below the minimum 6" in refused.output
    report = write(tmp_path / "总结报告.docx", docx_bytes())
    late = _run(
        "submit", JINZHONG, "--unit", "140724100", "--item", "self_report", "--file", report, "--at", "2024-05-26 09:00"
    )
    assert "逾期报送" in late.output
    status = _run("status", JINZHONG, "--as-of", "2024-05-27 10:00", "--level", "township")
    assert status.exit_code == 0
    lines = [line for line in status.output.splitlines() if "乐平镇统计站" in line or "皋落镇统计站" in line]
    assert "黄" in lines[0] and "红" in lines[1]  # 乐平镇 handed in late (yellow); 皋落镇 nothing (red)


def test_submit_says_which_file_was_the_same_as_another_and_not_kept_again(tmp_path):
    first = write(tmp_path / "甲.xlsx", xlsx_bytes())
    again = write(tmp_path / "丙.xlsx", first.read_bytes())
    args = ["submit", JINZHONG, "--unit", "140724100", "--item", "self_score_sheet", "--at", "2024-05-20 10:00"]
    result = _run(*args, "--file", first, "--file", again)
    assert result.exit_code == 0, result.output
    assert "丙.xlsx 与 甲.xlsx 内容相同，只保存一份" in result.output, result.output


def test_a_hand_in_before_its_item_opens_is_refused(tmp_path):
    """`submit --at 1999-01-01` was recorded 按时 for an item the 2024 notice opened on 5/10."""
    report = write(tmp_path / "总结报告.docx", docx_bytes())
    args = ["submit", JINZHONG, "--unit", "140724100", "--item", "self_report", "--file", report, "--at"]
    early = _run(*args, "1999-01-01 10:00")
    assert early.exit_code == 1, early.output
    said = " ".join(early.output.split())
    assert "opens at 2024-05-10 周五 08:30: a hand-in at 1999-01-01 周五 10:00 comes before it" in said, said
    assert "give --at 2024-05-10 周五 08:30 or later" in said, said
    assert "按时" not in early.output
    future = _run(*args, "2099-06-01 10:00")  # dated 2030, it made every status before 2030 "earlier than the record"
    said = " ".join(future.output.split())
    assert future.exit_code == 1 and "a hand-in at 2099-06-01 周一 10:00 is in the future" in said, said
    excused = ["excuse", JINZHONG, "--unit", "140724100", "--item", "self_report", "--reason", "合并", "--at"]
    assert "is in the future" in " ".join(_run(*excused, "2099-06-01 10:00").output.split())
    assert _run("status", JINZHONG, "--as-of", "2024-05-11 09:00").exit_code == 0  # nothing was recorded
    assert _run(*args, "2024-05-10 08:30").exit_code == 0  # at the opening itself


def test_simulate_prints_the_timeline():
    result = _run("simulate", JINZHONG, "--seed", "3", "--unit", "140724100")
    assert result.exit_code == 0
    assert "2024-05-10 周五 08:30" in result.output and "开始办理" in result.output
    assert "乐平镇统计站：" in result.output


def test_simulate_of_a_unit_the_campaign_lacks_says_so_and_a_name_finds_its_unit():
    """`--unit 999999` printed the summary and no message, exit 0, as if the unit were sent nothing; a unit's name
    as messages show it (乐平镇统计站) did the same."""
    unknown = _run("simulate", JINZHONG, "--unit", "999999")
    assert unknown.exit_code == 1 and "'999999' is not a unit of this campaign" in unknown.output
    by_name = _run("simulate", JINZHONG, "--seed", "3", "--unit", "乐平镇统计站")
    assert by_name.exit_code == 0 and "乐平镇统计站：" in by_name.output
    # a unit of the campaign's registry that is sent nothing is told so, not left to guess from the silence
    untasked = _run("simulate", JINZHONG, "--seed", "3", "--unit", "140700-bgs")
    assert untasked.exit_code == 0, untasked.output
    assert "no messages to 晋中市统计局办公室 (140700-bgs) in this run" in untasked.output, untasked.output


def test_units_show():
    result = _run("units", "show", "昔阳县")
    assert "县级 1  乡级 10" in result.output and "140724100 乐平镇统计站" in result.output


def test_units_show_of_a_name_cut_short_guesses_the_division():
    result = _run("units", "show", "晋中")
    assert result.exit_code == 1 and "did you mean 晋中市 (140700)?" in result.output, result.output


def test_units_show_a_departments_line():
    """A 住建 clerk checking how the campaign will address the county had only the 统计局 names to look at."""
    housing = _run("units", "show", "昔阳县", "--line", "housing")
    assert housing.exit_code == 0 and "140724 昔阳县住房和城乡建设局" in housing.output, housing.output
    assert "140724100 乐平镇人民政府" in housing.output
    typo = _run("units", "show", "昔阳县", "--line", "hosing")
    assert typo.exit_code == 1 and "no line 'hosing' (known: stats, housing" in typo.output, typo.output
    assert "did you mean 'housing'?" in typo.output, typo.output


@pytest.mark.prefect
def test_tick_runs_through_prefect(prefect_harness):
    result = _run("tick", JINZHONG, "--as-of", "2024-05-10 08:30")
    assert result.exit_code == 0, result.output
    assert "self_assessment: 260 due → opened 260" in result.output
    assert "messages composed: 130" in result.output
    sent = _run("dispatch", "--as-of", "2024-05-10 08:31")
    assert sent.exit_code == 0, sent.output
    assert "dispatch: 已发送 130 条（开始办理 130） · 本次领取 130" in sent.output.splitlines()  # not a dict


@pytest.mark.prefect
def test_digest_no_send_previews_the_digest_it_left_in_the_outbox(prefect_harness):
    """`duban digest --no-send` printed only `digests composed: 1 (…)`: an operator previewing the morning's digest
    reads its text, and where it waits (its outbox id, and the commands that show and send it)."""
    from duban.settings import get_settings

    assert _run("tick", JINZHONG, "--as-of", "2024-05-10 08:30").exit_code == 0
    assert _run("tick", JINZHONG, "--as-of", "2024-05-27 08:30").exit_code == 0
    first = _run("digest", "--as-of", "2024-05-27 08:30", "--no-send")
    assert first.exit_code == 0, first.output
    assert "digests composed: 1 (jinzhong-2024-lookback)" in first.output
    assert '【督办简报】统计基层基础工作规范化建设"回头看"' in first.output
    assert "【规范化建设自评阶段】应报260项，已报0项，办理中0项，逾期未报260项" in first.output
    said = re.search(r"not sent: outbox #(\d+) waits for `duban dispatch`", first.output)
    assert said, first.output
    assert f"`duban outbox show {said[1]}`" in first.output
    assert "today (dispatched after its day, it is dropped" in " ".join(first.output.split()), first.output
    sink = get_settings().sink_dir / "messages.txt"
    assert not sink.exists() or "[digest]" not in sink.read_text(encoding="utf-8")  # previewed, not sent
    again = _run("digest", "--as-of", "2024-05-27 12:00", "--no-send")  # today's is written once: shown again
    assert "digests composed: 0 (jinzhong-2024-lookback)" in again.output
    assert f"outbox #{said[1]}" in again.output and "【规范化建设自评阶段】应报260项" in again.output


def test_status_refuses_unknown_filters_with_the_known_values():
    blue = _run("status", JINZHONG, "--as-of", "2024-06-12 09:00", "--only", "blue")
    assert blue.exit_code == 2 and "--only 'blue' is not one of the known values: red (红" in blue.output
    assert "单位" not in blue.output  # refused before any table
    typo = _run("status", JINZHONG, "--as-of", "2024-06-12 09:00", "--level", "cuonty")
    assert typo.exit_code == 2
    assert "province (省), prefecture (市), county (县), township (乡)" in typo.output


def test_status_of_a_campaign_the_database_never_ran_is_refused_not_planned():
    """`duban status SPEC` on a database that never ran the campaign planned it on the spot and showed every unit
    红 (逾期), with no word that nothing had run (an outside tester's finding); `duban bulletin` refuses it too."""
    from sqlalchemy import func, select

    from duban.settings import get_settings
    from duban.store.db import engine_for
    from duban.store.tables import CampaignUnit

    nowhere = _run("status", JINZHONG, "--as-of", "2024-06-12 09:00")
    assert nowhere.exit_code == 1 and "红" not in nowhere.output, nowhere.output
    assert "error: no database at " in nowhere.output and not (get_settings().home / "duban.db").exists()
    engine = engine_for(get_settings().resolved_database_url)  # a database that runs no campaign yet
    never = _run("status", JINZHONG, "--as-of", "2024-06-12 09:00")
    said = " ".join(never.output.split())
    assert never.exit_code == 1 and "红" not in never.output, never.output
    assert "campaign 'jinzhong-2024-lookback' is not in the database: it has not run here" in said, said
    assert "`duban simulate --to` previews a campaign at any instant" in said
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CampaignUnit)).scalar() == 0


def test_status_counts_the_units_it_shows_and_says_what_its_words_mean():
    from duban.settings import get_settings
    from duban.store.db import engine_for
    from tests.integration.helpers import at, plan_jinzhong, tick

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:00"))
    everyone = _run("status", JINZHONG, "--as-of", "2024-06-12 09:00")
    red = _run("status", JINZHONG, "--as-of", "2024-06-12 09:00", "--only", "红", "--level", "县")
    assert everyone.exit_code == red.exit_code == 0
    assert "130 of 130 units shown" in everyone.output and "应报 323 · " in everyone.output  # 设管科 apart
    rows = [line for line in red.output.splitlines() if " 县级 " in line]
    shown, plan = {row.split()[0] for row in rows}, plan_file(JINZHONG)[1]
    counties = sum(1 for code in {a.unit_code for a in plan.assignments} if plan.registry.units[code].level == "county")
    assert counties < 130  # "N of 130" counted every level's units against the counties shown
    assert all(" 红 " in row + " " for row in rows)
    assert f"{len(rows)} of {counties} county units shown (130 in all)" in red.output
    owed = sum(1 for a in plan.assignments if plan.registry.units[a.unit_code].display in shown)
    tally = red.output.split("这些单位的事项：")[1]
    assert tally.startswith(f"应报 {owed} · ") and owed < 324  # the units shown, not the campaign's 324
    assert "截至 2024-06-12 周三 09:00（县级，红）" in red.output
    assert "红 逾期未报 · 黄 临近截止或逾期报送 · 绿 按时报送、免报或进行中 · 灰 未开始" in red.output
    assert "已报＝按时报送＋逾期报送" in red.output and "已报送 " not in tally  # one meaning of 已报


def test_status_counts_the_units_the_bulletin_and_the_report_count(tmp_path):
    """晋中 as of 7/2 24:00: `duban status` counted 131 units (324 items) where the 通报 and the 总结报告 counted 130
    (323): the 设管科's 市级现场检查 is the bureau's own work, which those two state apart. Status now counts the same
    130 units and shows the 设管科 on a line of its own, saying it is not counted."""
    import docx

    from duban.settings import get_settings
    from duban.store.db import engine_for
    from tests.integration.helpers import at, plan_jinzhong, tick

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-07-02 09:00"))
    status = _run("status", JINZHONG, "--as-of", "2024-07-02 24:00")
    said = " ".join(status.output.split())
    assert status.exit_code == 0, said
    assert "130 of 130 units shown · 这些单位的事项：应报 323 · " in said, said
    assert "晋中市统计局本级工作，不计入以上单位（与通报、总结报告同一口径）：晋中市统计局设管科" in said, said
    table = [line for line in status.output.splitlines() if " 市级 " in line]
    assert table == [], table
    report = _run("report", JINZHONG, "--as-of", "2024-07-02 24:00", "--out", str(tmp_path / "总结.docx"))
    assert report.exit_code == 0, report.output
    text = "\n".join(p.text for p in docx.Document(str(tmp_path / "总结.docx")).paragraphs)
    assert "130个单位共承担报送任务323项" in text, text
    bulletin = _run("bulletin", JINZHONG, "--as-of", "2024-07-02 24:00", "--out", str(tmp_path / "通报.docx"))
    assert bulletin.exit_code == 0, bulletin.output
    words = "\n".join(p.text for p in docx.Document(str(tmp_path / "通报.docx")).paragraphs)
    assert "设管科" not in words.split("联系")[0] and "130" in words, words


def test_excuse_takes_an_instant_and_names_what_it_excused():
    result = _run(
        "excuse",
        JINZHONG,
        "--unit",
        "140724100",
        "--item",
        "self_report",
        "--reason",
        "乡镇合并",
        "--at",
        "2024-05-21 09:00",
    )
    assert result.exit_code == 0, result.output
    assert (
        "免报：乐平镇统计站（140724100） · 本单位统计基层基础规范化建设总结报告（self_report），"
        "2024-05-21 周二 09:00记录（乡镇合并）" in result.output
    )


def test_piped_output_keeps_each_line_whole():
    """In a pipe or a CI log (no terminal: Rich would wrap at 80 columns) names, instants and commands stay whole."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    out = subprocess.run(
        [sys.executable, "-m", "duban.cli.main", "simulate", str(JINZHONG)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    first = out.splitlines()[0]
    assert first.endswith("simulated 2024-05-10 周五 08:30 → 2024-07-11 周四 24:00"), first
    assert "侯城乡统计站、" in out  # a name whole
    assert not [line for line in out.splitlines() if line.startswith("│       ")]  # no cell wrapped onto a second line
    assert max(len(line) for line in out.splitlines()) > 80


@pytest.mark.prefect
def test_the_demo_in_a_ci_log_shows_progress_and_a_next_command_that_means_what_the_summary_says(tmp_path):
    """`uv run duban demo` piped (no terminal): a line per step instead of a minute of silence, no line wrapped, and
    the suggested `duban status` names the very instant the summary reports (24:00 of the last day, not 00:00);
    what it sent through Prefect is what `duban simulate` gives, seed for seed."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE") and not k.startswith("PREFECT_")
    }
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    demo = subprocess.run(
        [sys.executable, "-m", "duban.cli.main", "demo"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    lines = demo.stdout.splitlines()
    steps = [line for line in lines if line.startswith("  tick 2024-")]
    assert len(steps) >= 10 and steps[0].startswith("  tick 2024-05-10 周五 08:30 done · ")
    assert "late or missing by stage (as of 2024-07-02 周二 24:00)" in demo.stdout
    loop = demo.stdout.split("督办 loop (签收, 延期申请, 审核与退回, once each)")[1]
    [acked] = [line for line in loop.splitlines() if "个单位签收了" in line]  # 签收 shown once
    assert acked.startswith("  2024-06-11 周二 08:30 10个单位签收了") and "未签收（到签收截止时提醒" in acked
    assert "退回" in loop and "延期" in loop
    # the extension is asked by a unit still owing the item, and approved; one 通报 is drafted and kept
    assert "申请将" in loop and "批准延期至" in loop and "未提出延期申请" not in loop, loop
    [drafted] = [line for line in loop.splitlines() if "起草通报" in line]
    assert drafted.startswith("  2024-07-02 周二 24:00 起草通报（第1期") and drafted.endswith("-通报.docx")
    assert Path(drafted.split("）：", 1)[1]).is_file()
    [command] = [line.removeprefix("next: ") for line in lines if line.startswith("next: ")]
    assert (
        command
        == 'uv run duban status campaign_specs/jinzhong-2024-lookback.yaml --as-of "2024-07-02 24:00" --only red'
    )
    args = shlex.split(command)[3:]
    status = subprocess.run(
        [sys.executable, "-m", "duban.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    ).stdout
    assert status.splitlines()[0].endswith("截至 2024-07-02 周二 24:00（红）")
    missing = sum(int(n) for n in re.findall(r"· 逾期未报 (\d+)", demo.stdout))  # per stage
    assert f"逾期未报 {missing} · " in status  # the red units' overdue items: the demo's count, at the same instant
    _the_demo_matches_the_domain_simulation()


def _the_demo_matches_the_domain_simulation() -> None:
    """The demo's Prefect path and `duban simulate`'s direct path give the same campaign, seed for seed (read from
    the demo's own database and sink, in this test's DUBAN_HOME)."""
    from collections import Counter

    from sqlalchemy import func, select

    from duban.instants import parse_instant
    from duban.settings import get_settings
    from duban.simulation.demo import DEMO_END, DEMO_SEED, DEMO_START
    from duban.simulation.preview import simulate_spec
    from duban.store.db import engine_for
    from duban.store.tables import Assignment, OutboxMessage

    settings = get_settings()
    with engine_for(settings.resolved_database_url).connect() as conn:
        sent = Counter(
            dict(
                conn.execute(
                    select(OutboxMessage.kind, func.count())
                    .where(OutboxMessage.status == "sent")
                    .group_by(OutboxMessage.kind)
                ).all()
            )
        )
        states = Counter(dict(conn.execute(select(Assignment.state, func.count()).group_by(Assignment.state)).all()))
    preview = simulate_spec(
        JINZHONG,
        seed=DEMO_SEED,
        start=parse_instant(DEMO_START, "Asia/Shanghai"),
        end=parse_instant(DEMO_END, "Asia/Shanghai"),
    )
    assert sent == preview.by_kind() and sum(sent.values()) > 300
    assert sum(states.values()) == 324 and states["pending"] == 0
    lines = (settings.sink_dir / "messages.txt").read_text(encoding="utf-8")
    assert lines.count("────") == sum(sent.values())


def test_a_mistyped_instant_names_the_option_it_was_typed_in():
    cases = {
        "ack {spec} --unit 140724 --at '2024-13-45 10:00'": "--at: '2024-13-45 10:00'",
        "extension request {spec} --unit 140724 --item x --until 2024-02-30 --reason r --at '2024-06-06 10:00'": (
            "--until: '2024-02-30'"
        ),
        "tick {spec} --as-of 2024-06-31": "--as-of: '2024-06-31'",
        # an offset of a day or more read "offset must be a timedelta strictly between -timedelta(hours=24) …"
        "status {spec} --as-of 2024-07-02T09:00+25:00": "--as-of: '2024-07-02T09:00+25:00' is not a date or time",
    }
    within = "review {spec} --unit 140724 --item x --return --reason r --within abc --at '2024-06-06 10:00'"
    cases[within] = "--within: 'abc' is neither a duration (write 3 working days"
    for command, named in cases.items():
        result = _run(*shlex.split(command.format(spec=JINZHONG)))
        assert result.exit_code == 2, result.output
        assert f"error: {named}" in result.output, result.output
        assert any(why in result.output for why in ("is not a date", "nor an instant")), result.output


def test_a_day_that_does_not_exist_is_said_so_at_the_cli_as_in_validate():
    """`--as-of 2024-02-30` read "is not a date or time (write 2024-06-30 …)", where validate says of the same
    day in a spec "that day does not exist"."""
    for command in ("tick {spec} --as-of 2024-02-30", "ack {spec} --unit 140724 --at '2024-06-31 10:00'"):
        result = _run(*shlex.split(command.format(spec=JINZHONG)))
        assert result.exit_code == 2, result.output
        assert "is not a date (that day does not exist)" in result.output, result.output


def test_an_instant_outside_the_years_of_notices_is_refused_in_one_line():
    """`ack --at 0001-01-01` ended in a traceback (year 0 in UTC); `--at 9999-12-31` was recorded as a 签收 that the
    tick and `status` then read differently."""
    for when in ("0001-01-01", "9999-12-31", "1899-12-31 10:00"):
        result = _run("ack", JINZHONG, "--unit", "140724", "--at", when)
        assert result.exit_code == 2, result.output
        assert f"error: --at: '{when}': duban's instants lie between 1900 and 2199" in result.output, result.output


def test_plan_names_a_leader_as_a_target_only_when_the_spec_has_leaders(tmp_path):
    """The default 催办 (to parent and leader) printed → 上级单位、包联领导 for a spec without any leader."""
    spec = _small_spec(
        tmp_path,
        "2024-03-05",
        "defaults: {escalation: {after: 2 working days}}\n"
        "stages:\n  - id: s\n    name: 检查\n    window: {start: 2024-07-01, end: 2024-07-20}\n"
        "    items:\n      - {id: a, name: 台账, units: {level: township}}\n",
    )
    plan = _run("plan", spec)
    assert plan.exit_code == 0, plan.output
    assert "→ 上级单位" in plan.output and "包联领导" not in plan.output, plan.output
    shown = _run("plan", JINZHONG)  # 晋中 names its leaders: they are shown
    assert "→ 上级单位、包联领导" in shown.output, shown.output


def test_plan_says_a_催办_to_the_parent_of_the_top_unit_reaches_nobody(tmp_path):
    """昔阳县统计局 issues the notice and owes its own 汇总 too: the registry starts at it, so its 催办 "→ 上级单位"
    went to no one while plan promised it (an outside tester's finding). The townships' 催办 reach it."""
    spec = _small_spec(
        tmp_path,
        "2024-03-05",
        "defaults: {escalation: {after: 2 working days, to: [parent]}}\n"
        "stages:\n  - id: s\n    name: 检查\n    window: {start: 2024-07-01, end: 2024-07-20}\n"
        "    items:\n      - {id: a, name: 台账, units: {level: township}}\n"
        "      - {id: b, name: 汇总, units: {level: county}}\n"
        "      - {id: c, name: 情况, units: [昔阳县统计局, {level: township}]}\n",
    )
    plan = _run("plan", spec)
    said = " ".join(plan.output.split())
    assert plan.exit_code == 0, said
    township = said.split("台账 (a)")[1].split("汇总 (b)")[0]
    county = said.split("汇总 (b)")[1].split("情况 (c)")[0]
    both = said.split("情况 (c)")[1]
    assert "→ 上级单位" in township and "无人接收" not in township, township
    assert "→ 上级单位（无上级单位，无人接收）" in county, county
    assert "→ 上级单位（其中1个单位无上级单位，无人接收）" in both, both


def test_plan_shows_the_date_the_notice_wrote_when_a_day_off_moved_the_due(tmp_path):
    """`due: 2026-02-17` (春节) with 顺延 printed only 截止 2026-02-24: the notice's date was nowhere to check."""
    spec = _small_spec(
        tmp_path,
        "2026-01-05",
        "stages:\n  - id: s\n    name: 检查\n    window: {start: 2026-02-02, end: 2026-02-28}\n    items:\n"
        "      - {id: roster, name: 值班表, units: {level: township}, due: 2026-02-17,\n"
        "         postpone: holidays_and_weekends}\n"
        "      - {id: plain, name: 台账, units: {level: township}, due: 2026-02-26}\n",
    )
    plan = _run("plan", spec)
    assert "截止 2026-02-24 周二 24:00（原2026-02-17 周二 24:00，遇休息日顺延）" in plan.output, plan.output
    assert plan.output.count("遇休息日顺延") == 1, plan.output  # the item due on a working day says nothing
    as_json = json.loads(_run("plan", spec, "--json").output)
    assert as_json["postponed"] == {"roster": "2026-02-17T23:59:59.999999+08:00"}
    # 昔阳's re-issue moves its dues earlier by the forward's buffer (postpone: none): no 顺延 to speak of
    xiyang = _run("plan", SPECS / "xiyang-2024-lookback.yaml")
    assert xiyang.exit_code == 0 and "顺延" not in xiyang.output, xiyang.output


def test_a_tick_earlier_than_the_record_runs_is_refused_before_prefect_starts():
    """After a 签收 recorded at 6/14, `tick --as-of 6/12` ran and composed 签收提醒 dated 6/12 to units that had
    acknowledged since."""
    from duban.settings import get_settings
    from duban.store.db import engine_for
    from tests.integration.helpers import at, plan_jinzhong, tick

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-14 09:00"))
    back = _run("tick", JINZHONG, "--as-of", "2024-06-12 09:00")
    assert back.exit_code == 1, back.output
    assert (
        "error: the record of 'jinzhong-2024-lookback' already runs to 2024-06-14 周五 09:00: a tick at "
        "2024-06-12 周三 09:00 would write messages dated before what units have done since" in back.output
    ), back.output
    # a 签收 and a 延期申请 are acts of the record too (a retest found ticks before them still accepted)
    assert _run("ack", JINZHONG, "--unit", "140724", "--stage", "materials", "--at", "2024-06-14 10:00").exit_code == 0
    behind_ack = _run("tick", JINZHONG, "--as-of", "2024-06-14 09:30")
    assert behind_ack.exit_code == 1 and "already runs to 2024-06-14 周五 10:00" in behind_ack.output, behind_ack.output
    asked = _run(
        *shlex.split(
            f"extension request {JINZHONG} --unit 140725 --item materials_upload --until 2024-07-05 --reason 人手不足 "
            "--at '2024-06-14 11:00'"
        )
    )
    assert asked.exit_code == 0, asked.output
    behind_ask = _run("tick", JINZHONG, "--as-of", "2024-06-14 10:30")
    assert behind_ask.exit_code == 1 and "already runs to 2024-06-14 周五 11:00" in behind_ask.output, behind_ask.output


def test_a_tick_as_of_a_later_instant_is_refused_before_prefect_starts():
    """An outside tester's finding (F17): `tick --as-of` a later instant (a typo, 12-27 for 12-07) applied the
    opening, both reminders and the slip at once, merged into one 逾期 dated ahead: no unit was ever told the stage
    opened, and only `duban reset` undid it. Refused as a dispatch ahead is, naming the option, the instant and now."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import func, select

    from duban.settings import get_settings
    from duban.store.db import engine_for
    from duban.store.tables import OutboxMessage

    ahead = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=20)).strftime("%Y-%m-%d 09:00")
    refused = _run("tick", JINZHONG, "--as-of", ahead)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "Traceback" not in said, said
    assert said.startswith(f"error: --as-of '{ahead}': ") and "is later than now (" in said, said
    assert "`duban simulate" in said and "messages composed" not in said, said
    with engine_for(get_settings().resolved_database_url).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_tick_on_the_real_clock_of_events_long_waiting_asks_for_catch_up():
    """`duban tick SPEC` (no --as-of) of the 2024 campaign in 2026 sent 逾期, 催办 and 签收提醒 908 days late."""
    from sqlalchemy import func, select

    from duban.settings import get_settings
    from duban.store.db import engine_for
    from duban.store.tables import OutboxMessage
    from tests.integration.helpers import at, plan_jinzhong, tick

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-14 09:00"))
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    now = _run("tick", JINZHONG)
    assert now.exit_code == 1, now.output
    said = " ".join(now.output.split())
    assert "campaign 'jinzhong-2024-lookback' has events waiting since 2024-06-" in said, said
    assert "days ago): a tick now applies them all at once" in said and "--catch-up" in said
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == before


def test_a_status_before_the_campaign_was_planned_is_refused_naming_the_option():
    """`status --as-of 2023-12-30` of a campaign planned on 2024-05-09 showed red units; now it says which option
    and what was written, as a malformed instant does."""
    from duban.settings import get_settings
    from duban.store.db import engine_for
    from tests.integration.helpers import at, plan_jinzhong, tick

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:00"))
    back = _run("status", JINZHONG, "--as-of", "2023-12-30 10:00")
    said = " ".join(back.output.split())
    assert back.exit_code == 1 and "红" not in back.output, said
    assert (
        "error: --as-of '2023-12-30 10:00': 2023-12-30 周六 10:00 is before campaign 'jinzhong-2024-lookback' was "
        "planned (2024-05-09 周四 12:00)" in said
    ), said
    typo = _run("status", JINZHONG, "--as-of", "2024-06-31 18:00")
    assert typo.exit_code == 2 and "--as-of" in typo.output and "2024-06-31" in typo.output, typo.output
    assert _run("status", JINZHONG, "--as-of", "2024-06-12 09:00").exit_code == 0
    assert _run("status", JINZHONG, "--as-of", "2024-06-20 09:00").exit_code == 0  # ahead: projected, as before


def test_a_status_later_than_now_is_refused_as_the_bulletin_refuses_it():
    """`status --as-of 2030-01-01` printed 截至 2030-01-01 with every unit still owing shown 红 (逾期) and no word that
    the instant was ahead of now, while `bulletin` and `report` refuse it; now status refuses it the same way."""
    from duban.settings import get_settings
    from duban.store.db import engine_for
    from tests.integration.helpers import at, plan_jinzhong, tick

    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-12 09:00"))
    ahead = _run("status", JINZHONG, "--as-of", "2030-01-01")
    said = " ".join(ahead.output.split())
    assert ahead.exit_code == 1 and "截至" not in said and "Traceback" not in said, said
    assert "--as-of 2030-01-01 is later than now: a 进度表 reports the record as it stands" in said, said
    assert _run("status", JINZHONG, "--as-of", "2024-06-20 09:00").exit_code == 0  # ahead of the record: projected


def test_a_status_of_a_campaign_planned_after_its_replayed_ticks_answers_back_to_its_first_event():
    """`duban serve` plans a campaign on today's clock; ticks replayed at the notice's instants record 2024 events:
    a status of 6/10 2024 is answered, one before the first recorded event is refused naming it."""
    from duban.services.lifecycle import ensure_planned
    from duban.settings import get_settings
    from duban.store.db import engine_for
    from tests.integration.helpers import at, tick

    engine = engine_for(get_settings().resolved_database_url)
    ensure_planned(engine, JINZHONG, now=at("2026-12-07 10:00"))
    tick(engine, at("2024-06-12 09:00"))
    then = _run("status", JINZHONG, "--as-of", "2024-06-10 18:00")
    assert then.exit_code == 0 and "回看：记录已到 2024-06-12 周三 09:00" in " ".join(then.output.split()), then.output
    early = _run("status", JINZHONG, "--as-of", "2024-05-01")
    said = " ".join(early.output.split())
    assert early.exit_code == 1, said
    assert (
        "error: --as-of '2024-05-01': 2024-05-01 周三 00:00 is before the first event recorded for campaign "
        "'jinzhong-2024-lookback' (2024-05-10 周五 08:30)" in said
    ), said


def _status_counts(output: str) -> dict[str, int]:
    """The counts status prints under its table: 已报 and its parts, 逾期未报, 免报."""
    flat = " ".join(output.split())
    found = re.search(r"已报 (\d+)（按时 (\d+)、逾期 (\d+)(?:、待审核 (\d+))?）.*?免报 (\d+) · 逾期未报 (\d+)", flat)
    assert found, flat
    done, on_time, late, waiting, excused, missing = found.groups()
    return dict(
        done=int(done),
        on_time=int(on_time),
        late=int(late),
        in_review=int(waiting or 0),
        excused=int(excused),
        missing=int(missing),
    )


def test_a_status_of_a_past_instant_counts_as_the_bulletin_and_the_report_do(tmp_path):
    """Asked on 6/12 "where did we stand on 6/10 at 18:00", status refused (the record ran to 6/12) while the 通报
    and the report answered. Now status answers with their figures: hand-ins after 18:00 are not yet in, a late
    one before it is, and 县级总结报告 due at 24:00 that day is not yet 逾期 (the 通报 named it 逾期未报 too)."""
    from duban.domain.calendar import load_calendar
    from duban.report.record import read_record
    from duban.settings import get_settings
    from duban.store.db import engine_for
    from tests.integration.helpers import at, plan_jinzhong, tick

    settings = get_settings()
    engine = engine_for(settings.resolved_database_url)
    campaign = plan_jinzhong(engine)
    report = write(tmp_path / "总结报告.docx", docx_bytes("县级回头看总结报告"))
    hand_ins = [  # (unit, item, when): two before 6/10 18:00 (one of them late), two after it (one of them late)
        ("140721", "county_report", "2024-06-08 10:00"),
        ("140724100", "self_report", "2024-06-05 09:00"),
        ("140723", "county_report", "2024-06-10 20:00"),
        ("140724101", "self_report", "2024-06-11 09:00"),
    ]
    for unit, item, when in hand_ins:
        tick(engine, at(when))
        handed = _run("submit", JINZHONG, "--unit", unit, "--item", item, "--file", report, "--at", when)
        assert handed.exit_code == 0, handed.output
    excused = ("excuse", JINZHONG, "--unit", "140724102", "--item", "self_report", "--reason", "撤并")
    assert _run(*excused, "--at", "2024-06-11 10:00").exit_code == 0  # after 18:00: counted as it stands, and said
    tick(engine, at("2024-06-12 09:00"))
    status = _run("status", JINZHONG, "--as-of", "2024-06-10 18:00")
    assert status.exit_code == 0, status.output
    counts = _status_counts(status.output)
    record = read_record(engine, campaign, at("2024-06-10 18:00"), load_calendar(settings.calendar_file))
    tally = record.overall
    own = {kind: sum(1 for duty in record.own if duty.kind == kind) for kind in ("on_time", "late", "missing")}
    assert counts["on_time"] == tally.on_time + own["on_time"] == 1, (counts, tally)
    assert counts["late"] == tally.late + own["late"] == 1, (counts, tally)
    assert counts["in_review"] == tally.in_review == 0 and counts["excused"] == tally.excused == 1
    assert counts["missing"] == tally.missing + own["missing"], (counts, tally)
    bulletin = _run("bulletin", JINZHONG, "--as-of", "2024-06-10 18:00", "--out", tmp_path / "通报.docx")
    assert bulletin.exit_code == 0, bulletin.output
    flat = " ".join(bulletin.output.split())
    assert f"逾期未报 {counts['missing']} 项，逾期报送 {counts['late']} 项" in flat, (flat, counts)
    # the self-assessment items of the 130 units, less 乐平镇's self_report handed in (late) on 6/05 and the 免报
    assert counts["missing"] == 130 * 2 - 2, counts
    said = " ".join(status.output.split())
    assert "回看：记录已到 2024-06-12 周三 09:00" in said and "与同一时刻的通报、总结报告同一口径" in said, said
    assert "此刻之后记录的免报 1 项按现状计入" in said, said
    county = next(line for line in status.output.splitlines() if line.strip().startswith("昔阳县统计局"))
    assert county.split()[3] == "黄", county  # 县级检查阶段: 临近截止 at 18:00, not 红 (it is now)


def test_a_stages_acknowledgement_before_it_opens_says_not_yet():
    """`ack --stage materials --at 2024-06-01` said "has nothing to acknowledge", as if it had been given."""
    early = _run("ack", JINZHONG, "--unit", "140724", "--stage", "materials", "--at", "2024-06-01")
    assert early.exit_code == 1, early.output
    assert "stage materials has not asked 140724 for its 签收 by 2024-06-01 周六 00:00" in early.output, early.output
    assert "it is asked when the stage opens (2024-06-11 周二 08:30)" in " ".join(early.output.split())


def test_a_township_acknowledging_a_stage_of_the_counties_is_told_it_has_no_duty_there():
    """乐平镇 (a township) acknowledging 材料上报 (a stage of the counties, open) was told the stage "has not asked
    it yet … it is asked when the stage opens", as if it would be (an outside tester's finding)."""
    said = _run("ack", JINZHONG, "--unit", "140724100", "--stage", "materials", "--at", "2024-06-20 10:00")
    assert said.exit_code == 1, said.output
    flat = " ".join(said.output.split())
    assert "乐平镇统计站 (140724100) holds no duty in stage materials: the stage asks it no 签收" in flat, flat


def test_plan_says_whose_reminders_it_lists_for_a_recurring_item(tmp_path):
    """A monthly 台账 listed four periods and one line 提醒 … 催办 …: the first period's, read as every period's."""
    spec = _small_spec(
        tmp_path,
        "2025-11-05",
        "stages:\n  - id: s\n    name: 月报\n    window: {start: 2025-12-01, end: 2026-03-31}\n    items:\n"
        "      - {id: ledger, name: 隐患排查台账, units: {level: township}, every: {every: month}}\n",
    )
    plan = _run("plan", spec)
    assert plan.exit_code == 0, plan.output
    assert "    [2025-12] 提醒 2025-12-26 周五 09:00" in plan.output, plan.output
    assert "（其余各期按各自截止时间推算）" in plan.output, plan.output


def test_simulate_prints_a_late_rollup_marked_not_as_markup_text():
    """昔阳's summary printed "… [yellow](逾期)[/]" as text: the mark was escaped along with the unit's name."""
    result = _run("simulate", SPECS / "xiyang-2024-lookback.yaml")
    assert result.exit_code == 0, result.output
    assert "[yellow]" not in result.output and "[/]" not in result.output, result.output


def test_a_unit_escalated_to_itself_is_told_again_not_asked_to_urge_itself():
    """`to: [unit]`: 昔阳县统计局 read "以下单位的事项逾期未报，请督促办理：1. 昔阳县统计局 — …" 90 minutes after
    its own overdue notice."""
    result = _run("simulate", SPECS / "xiyang-2024-lookback.yaml", "--unit", "140724")
    assert result.exit_code == 0, result.output
    assert "昔阳县统计局：\n以下事项仍逾期未报，请尽快办理（再次催办）：\n1. " in result.output, result.output
    assert "请督促办理：\n1. 昔阳县统计局" not in result.output


def test_a_leader_is_addressed_by_name_and_title():
    """淄博's leader read "局长（领导小组组长）：" though the spec names him: 孙忠廷局长（领导小组组长）."""
    result = _run("simulate", SPECS / "zibo-2018-open-day.yaml", "--unit", "leader:sun_zhongting")
    assert result.exit_code == 0, result.output
    assert "\n孙忠廷局长（领导小组组长）：\n您包联的以下单位" in result.output, result.output


def test_a_cooperating_units_slip_is_not_escalated_to_its_parent():
    """山西 住建: each county's 统计局 cooperates (配合) on the 住建局's 台账; the city 统计局, tasked with nothing,
    were sent 逾期催办 "请督促办理：万柏林区统计局 — 房屋安全隐患排查台账"."""
    result = _run("simulate", SPECS / "shanxi-2025-housing-safety.yaml", "--unit", "140100@stats")
    assert result.exit_code == 0, result.output
    assert "no messages to 太原市统计局 (140100@stats) in this run" in result.output, result.output


def test_the_issuer_is_not_asked_to_acknowledge_its_own_notice():
    """衡阳市统计局 issued 衡统〔2021〕40号 and was told "以下通知您单位尚未签收，请打开链接点击“签收”"."""
    result = _run("simulate", SPECS / "hengyang-2021-law-month.yaml", "--unit", "430400")
    assert result.exit_code == 0, result.output
    assert "衡阳市统计局：" in result.output and "尚未签收" not in result.output, result.output
    county = _run("simulate", SPECS / "hengyang-2021-law-month.yaml", "--unit", "430482")
    assert "尚未签收" in county.output  # the counties still are


def test_plan_names_an_escalation_group_as_messages_name_it():
    """淄博's 催办 → 上级单位、包联领导、census_office: the group's id, not 市经普办."""
    plan = _run("plan", SPECS / "zibo-2018-open-day.yaml")
    assert plan.exit_code == 0, plan.output
    assert "→ 上级单位、包联领导、淄博市第四次全国经济普查领导小组办公室（市经普办）" in plan.output, plan.output
    assert "census_office" not in plan.output.split("assignments")[0]


def test_dispatch_of_a_campaign_not_in_the_database_says_so():
    """`dispatch --campaign nosuch` printed 已发送 0 条 and succeeded, as if the outbox were empty."""
    result = _run("dispatch", "--campaign", "jinzhong-2042-lookback", "--as-of", "2024-05-10 08:31")
    assert result.exit_code == 1 and "campaign 'jinzhong-2042-lookback' is not in the database" in result.output
    assert "已发送" not in result.output and "Traceback" not in result.output


def test_a_dispatch_as_of_a_later_instant_is_refused_before_anything_is_posted():
    """An outside tester's finding: `dispatch --as-of` an instant still to come posted now, to the real groups, what
    was held for then: at 23:05 a dispatch "as of" tomorrow 09:00 sent the openings quiet hours kept for 07:30,
    counting time left to 09:00. A dispatch posts at the real clock's instant; a later --as-of is refused."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).strftime("%Y-%m-%d 09:00")
    ahead = _run("dispatch", "--as-of", tomorrow)
    said = " ".join(ahead.output.split())
    assert ahead.exit_code == 1 and "Traceback" not in said, said
    assert f"--as-of '{tomorrow}'" in said and "is later than now" in said and "posts now" in said, said
    assert "已发送" not in said


def test_validate_warns_of_a_units_channel_whose_url_apprise_cannot_read(monkeypatch):
    """An outside tester's finding: a unit's channel variable holding `wecombot://` (no key) was found only when its
    messages went dead. validate now says which channel, which variable and whose messages wait, never the URL."""
    spec = SPECS / "shanxi-2025-housing-safety.yaml"
    monkeypatch.setenv("DUBAN_XIYANG_WECOM", "wecombot://")
    monkeypatch.setenv("DUBAN_XIYANG_HOUSING_WECOM", "wecombot://s3cret key0042")
    checked = _run("validate", spec)
    said = " ".join(checked.output.split())
    assert checked.exit_code == 0, said
    assert "warning channel env:DUBAN_XIYANG_WECOM：环境变量 DUBAN_XIYANG_WECOM 中的 wecombot:// 地址不完整" in said, (
        said
    )
    assert "昔阳县统计局" in said and "昔阳县住房和城乡建设局" in said and "wait until it is fixed" in said, said
    assert "s3cret" not in said and "key0042" not in said
    monkeypatch.delenv("DUBAN_XIYANG_WECOM")  # unset here: the machine that validates may not be the one that sends
    monkeypatch.delenv("DUBAN_XIYANG_HOUSING_WECOM")
    assert "warning channel" not in _run("validate", spec).output


def test_serve_on_a_port_that_cannot_be_is_told_not_a_traceback():
    """`duban serve --port 99999` ended in a 99-line OverflowError traceback."""
    for port in ("99999", "-1", "0"):
        result = _run("serve", "--port", port)
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert "Invalid value for '--port'" in result.output


def test_a_simulation_whose_end_comes_before_its_start_is_refused():
    """`simulate --from 2024-06-30 --to 2024-05-01` ran 0 ticks and 0 messages with success."""
    result = _run("simulate", JINZHONG, "--from", "2024-06-30", "--to", "2024-05-01")
    assert result.exit_code == 1 and "--to 2024-05-01 is not after --from 2024-06-30" in result.output, result.output
    assert "Traceback" not in result.output


def test_a_duban_home_that_is_a_file_is_said_to_be_a_file(tmp_path, monkeypatch):
    """`DUBAN_HOME=/tmp/afile` said `no database at /tmp/afile/duban.db … check the path` (outbox list) and
    `cannot open the database …: unable to open database file` (tick): the path is there, but it is a file."""
    from duban.settings import get_settings

    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    monkeypatch.setenv("DUBAN_HOME", str(afile))
    monkeypatch.delenv("DUBAN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        for args in (("outbox", "list"), ("tick", str(JINZHONG), "--as-of", "2024-05-20")):
            result = runner.invoke(app, list(args))
            said = " ".join(result.output.split())
            assert result.exit_code != 0 and f"{afile} is a file, not a folder" in said, (args, result.output)
    finally:
        get_settings.cache_clear()


def test_a_mistyped_database_path_is_said_not_shown_as_an_empty_outbox(tmp_path, monkeypatch):
    """An administrator's typo in DUBAN_DATABASE_URL made `outbox list` create an empty database and list nothing:
    staff read "no messages". The commands that only look say there is no database there, and make none."""
    from duban.settings import get_settings

    typo = tmp_path / "var" / "dubna.db"
    monkeypatch.setenv("DUBAN_DATABASE_URL", f"sqlite:///{typo}")
    get_settings.cache_clear()
    try:
        for args in (
            ("outbox", "list"),
            ("outbox", "show", "1"),
            ("outbox", "retry", "1"),
            ("units", "history", "enterprises"),
        ):
            result = runner.invoke(app, list(args))
            assert result.exit_code != 0, (args, result.output)
            assert f"no database at {typo}" in " ".join(result.output.split()), (args, result.output)
            assert "Traceback" not in result.output
        current = _run("db", "current")
        assert current.exit_code == 0 and "no file there yet" in current.output, current.output
        assert not typo.exists() and not typo.parent.exists()
    finally:
        get_settings.cache_clear()


def test_the_database_and_the_units_materials_are_readable_by_duban_alone(tmp_path):
    """The database (links, sessions, every record) and the stored uploads were 0644: anyone on the server could
    read a unit's materials. A tester's finding; the old default umask is kept to show it is not what decides."""
    import stat

    from duban.settings import get_settings

    old = os.umask(0o022)
    try:
        sheet = write(tmp_path / "评分表.xlsx", xlsx_bytes())
        args = ("submit", JINZHONG, "--unit", "140724100", "--item", "self_score_sheet", "--file", sheet)
        result = _run(*args, "--at", "2024-05-20 10:00")
        assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    settings = get_settings()
    database = Path(settings.resolved_database_url.split("///", 1)[1])
    stored = [p for p in settings.files_dir.rglob("*") if p.is_file()]
    assert stored and database.exists()
    for path in [database, *stored]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in {settings.files_dir, *(p.parent for p in stored)}:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert _run("status", JINZHONG, "--as-of", "2024-05-21 10:00").exit_code == 0  # still opened as before


def test_a_unit_named_by_its_name_is_found_and_one_outside_the_campaign_is_said(tmp_path):
    """`submit --unit 广东省住房和城乡建设厅` said the unit "owes nothing" for the item — as it did for a made-up unit:
    a name staff read in a message is taken, and a unit the campaign lacks is said as such (a tester's finding)."""
    sheet = write(tmp_path / "评分表.xlsx", xlsx_bytes())
    args = ("--item", "self_score_sheet", "--file", sheet, "--at", "2024-05-20 10:00")
    named = _run("submit", JINZHONG, "--unit", "乐平镇统计站", *args)
    assert named.exit_code == 0 and "已报送 乐平镇统计站（140724100）" in named.output, named.output
    for ref in ("广东省住房和城乡建设厅", "999999"):
        outside = runner.invoke(app, ["submit", str(JINZHONG), "--unit", ref, *map(str, args)])
        said = " ".join(outside.output.split())
        assert outside.exit_code == 1 and f"--unit '{ref}' is no unit of campaign" in said, outside.output
        assert "owes nothing" not in said


def test_a_correction_after_the_due_of_an_on_time_hand_in_is_said_so(tmp_path):
    """submit of a second version after the due printed （逾期报送）→ 已报送 for an item still on time."""
    sheet = tmp_path / "评分表.xlsx"
    for moment in ("2024-05-20 10:00", "2024-05-27 10:00"):
        write(sheet, xlsx_bytes([["报送", moment]]))  # the correction differs from the first version
        args = ("--unit", "140724100", "--item", "self_score_sheet", "--file", sheet, "--at", moment)
        result = _run("submit", JINZHONG, *args)
        assert result.exit_code == 0, result.output
    assert (
        "第2版 · 2024-05-27 周一 10:00（截止后更正，第1版已于2024-05-20 周一 10:00按时报送）→ 已报送" in result.output
    )


def test_plan_puts_a_reminder_off_a_sunday_under_postpone():
    """山西 住建 (`postpone: holidays_and_weekends`): the 整治报告 due Monday 6/30 was reminded on Sunday 6/29."""
    result = _run("plan", SPECS / "shanxi-2025-housing-safety.yaml")
    assert result.exit_code == 0, result.output
    assert "提醒 2025-06-25 周三 09:00、2025-06-27 周五 09:00  催办" in result.output
    assert "周日 09:00" not in result.output and "周六 09:00" not in result.output


def test_a_folder_or_a_device_given_as_a_file_is_named_so_not_not_found(tmp_path):
    """`duban submit --file <a folder>` and `--file /dev/zero`, and `scores import SPEC <a folder>`, said "file …
    not found" of a path that is there (an outside tester's finding): validate says it is a folder."""
    folder = tmp_path / "评分表.xlsx"
    folder.mkdir()
    handed = ["submit", JINZHONG, "--unit", "140724100", "--item", "self_score_sheet", "--at", "2024-05-20 10:00"]
    result = _run(*handed, "--file", folder)
    assert result.exit_code == 1 and "is a folder, not a file" in result.output, result.output
    assert "not found" not in result.output, result.output
    device = _run(*handed, "--file", "/dev/zero")
    assert device.exit_code == 1 and "is not a regular file" in device.output, device.output
    scores = _run("scores", "import", JINZHONG, folder, "--at", "2024-06-20 10:00")
    assert scores.exit_code == 1 and "is a folder, not a file" in scores.output, scores.output
