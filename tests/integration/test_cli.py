"""The `duban` command as an administrator uses it."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from duban.cli import app
from tests.conftest import JINZHONG, ROOT, SPECS
from tests.samples import docx_bytes, write, xlsx_bytes

runner = CliRunner()


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
    broken.write_text(JINZHONG.read_text(encoding="utf-8").replace("end: 2024-06-30}", "end: 2024-06-31}", 1),
                      encoding="utf-8")  # fmt: skip
    result = _run("validate", broken)
    assert result.exit_code == 1
    assert "SpecError" in result.output and "broken.yaml:" in result.output and "2024-06-31 is not a date" in result.output


def test_plan_prints_absolute_instants_with_weekdays():
    result = _run("plan", JINZHONG)
    assert result.exit_code == 0
    assert "2024-07-01 周一 23:59" in result.output
    assert "260 assignments: 乡级 236, 县级 24" in result.output
    as_json = json.loads(_run("plan", JINZHONG, "--json").output)
    assert len(as_json["assignments"]) == 324
    leping = next(a for a in as_json["assignments"] if a["unit"] == "140724100" and a["item"] == "self_report")
    assert leping["due_at"] == "2024-05-25T23:59:59.999999+08:00" and leping["due_at_local"] == "2024-05-25 周六 23:59"


def test_plan_output_does_not_depend_on_the_machine_zone():
    outputs = []
    for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
        env = dict(os.environ, TZ=zone, COLUMNS="200")
        out = subprocess.run([sys.executable, "-m", "duban.cli", "plan", str(JINZHONG), "--json"], env=env,
                             capture_output=True, text=True, cwd=ROOT, check=True)  # fmt: skip
        outputs.append(out.stdout)
    assert outputs[0] == outputs[1] == outputs[2]


def test_schema_is_json_schema():
    schema = json.loads(_run("schema").output)
    assert schema["title"] == "Campaign" and "stages" in schema["required"]


def test_submit_then_status(tmp_path):
    sheet = write(tmp_path / "评分表.xlsx", xlsx_bytes())
    result = _run("submit", JINZHONG, "--unit", "140724100", "--item", "self_score_sheet", "--file", sheet,
                  "--at", "2024-05-20 10:00")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "已报送 第1版 2024-05-20 周一 10:00" in result.output
    refused = _run("submit", JINZHONG, "--unit", "140724", "--item", "county_inspection", "--file", sheet,
                   "--metric", "townships_inspected=3", "--at", "2024-06-01 10:00")  # fmt: skip
    assert refused.exit_code == 1 and "SubmissionError" in refused.output and "below the minimum 6" in refused.output
    report = write(tmp_path / "总结报告.docx", docx_bytes())
    late = _run("submit", JINZHONG, "--unit", "140724100", "--item", "self_report", "--file", report,
                "--at", "2024-05-26 09:00")  # fmt: skip
    assert "逾期报送" in late.output
    status = _run("status", JINZHONG, "--as-of", "2024-05-27 10:00", "--level", "township")
    assert status.exit_code == 0
    lines = [line for line in status.output.splitlines() if "乐平镇统计站" in line or "皋落镇统计站" in line]
    assert "黄" in lines[0] and "红" in lines[1]  # 乐平镇 handed in late (yellow); 皋落镇 nothing (red)


def test_simulate_prints_the_timeline():
    result = _run("simulate", JINZHONG, "--seed", "3", "--unit", "140724100")
    assert result.exit_code == 0
    assert "2024-05-10 周五 08:30" in result.output and "开始办理" in result.output
    assert "乐平镇统计站：" in result.output


def test_units_show():
    result = _run("units", "show", "昔阳县")
    assert "县级 1  乡级 10" in result.output and "140724100 乐平镇统计站" in result.output


@pytest.mark.prefect
def test_tick_runs_through_prefect(prefect_harness):
    result = _run("tick", JINZHONG, "--as-of", "2024-05-10 08:30")
    assert result.exit_code == 0, result.output
    assert "self_assessment: 260 due → opened 260" in result.output
    assert "messages composed: 130" in result.output
