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
