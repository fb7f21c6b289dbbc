"""`duban simulate --from/--to`: a window onto the same campaign the full preview runs, not a campaign that
starts with nobody having handed in."""

from typer.testing import CliRunner

from duban.cli.main import app
from tests.conftest import JINZHONG

runner = CliRunner()


def _rows(output: str) -> set[tuple[str, str, str]]:
    """(when, kind, count) of the table of messages that would go out."""
    rows = set()
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) >= 5 and cells[1][:4].isdigit():
            rows.add((cells[1], cells[2], cells[3]))
    return rows


def test_a_window_shows_the_full_runs_messages_that_fall_in_it():
    """From 5/24 the window said 即将截止 to 130 units at 18:00 where the full run sends it to 74 at 09:00, and kept
    the whole draw's `294 submit (50 late)` in its header (t1 #24)."""
    full = runner.invoke(app, ["simulate", str(JINZHONG), "--seed", "1"])
    days = ["--from", "2024-05-24", "--to", "2024-05-26"]
    window = runner.invoke(app, ["simulate", str(JINZHONG), "--seed", "1", *days])
    assert full.exit_code == 0 and window.exit_code == 0, window.output
    inside = {row for row in _rows(full.output) if "2024-05-24" <= row[0][:10] <= "2024-05-26"}
    assert inside and _rows(window.output) == inside
    said = " ".join(window.output.split())
    assert "shown 2024-05-24 周五 00:00 → 2024-05-26 周日 24:00" in said, said
    assert "run from 2024-05-10 周五 08:30" in said, said


def test_a_window_lists_only_the_rollups_handed_in_within_it(tmp_path):
    """昔阳's automatic 汇总 goes in on 6/25 (seed 8): a window from 6/26 does not list it as handed in then."""
    from tests.conftest import SPECS

    (tmp_path / "units").mkdir()
    for name in ("units/xiyang.yaml", "units/jinzhong.yaml", "jinzhong-2024-lookback.yaml"):
        (tmp_path / name).write_text((SPECS / name).read_text(encoding="utf-8"), encoding="utf-8")
    spec = tmp_path / "xiyang-auto.yaml"
    spec.write_text(
        (SPECS / "xiyang-2024-lookback.yaml")
        .read_text(encoding="utf-8")
        .replace("      from: township_materials ", "      auto: true\n      from: township_materials "),
        encoding="utf-8",
    )
    whole = runner.invoke(app, ["simulate", str(spec), "--seed", "8"])
    assert "2024-06-25 周二 13:10  昔阳县统计局" in whole.output, whole.output
    later = runner.invoke(app, ["simulate", str(spec), "--seed", "8", "--from", "2024-06-26", "--to", "2024-06-28"])
    assert later.exit_code == 0, later.output
    assert "2024-06-25 周二 13:10" not in later.output, later.output
    assert "roll-ups at the end" in later.output  # where each stands at the window's end, as before


def test_a_window_lists_only_the_outcomes_decided_within_it():
    """大寨镇's 通报批评 is decided on 5/27: a window from 5/28 lists the two 约谈 of 5/29 only."""
    from tests.conftest import ROOT

    spec = ROOT / "tests" / "specs" / "xiyang-2024-outcomes.yaml"
    result = runner.invoke(app, ["simulate", str(spec), "--from", "2024-05-28", "--to", "2024-05-30"])
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and "outcomes decided (处理): 逾期3个工作日未报：约谈 2" in said, said
    assert "2024-05-27" not in said and "通报批评" not in said, said
