"""`duban status` on a phone-width terminal: one long unit name (综改区晋中开发区统计机构（开发区经济运行部）, 22
characters) padded every row of the 晋中 list to 44 columns and pushed the 级别 and 红黄绿 columns off the screen."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console

from duban.cli.show import print_status
from duban.settings import get_settings
from duban.store.db import engine_for
from duban.views.status import status_report
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick

LONG = "综改区晋中开发区统计机构（开发区经济运行部）"


def _status_on_a_terminal(width: int) -> list[str]:
    engine = engine_for(get_settings().resolved_database_url)
    plan_jinzhong(engine)
    tick(engine, at("2024-06-14 09:00"))
    report = status_report(engine, CAMPAIGN, at("2024-06-14 09:00"))
    assert any(unit.display == LONG for unit in report.units)
    terminal = Console(width=width, force_terminal=True, color_system=None, legacy_windows=False)
    with terminal.capture() as captured:
        print_status(terminal, report)
    return captured.get().splitlines()


def test_status_on_a_phone_keeps_the_colours_in_sight_and_short_rows_short():
    lines = _status_on_a_terminal(44)
    table = [line for line in lines if "县级" in line or "乡级" in line or "市级" in line]
    assert all(cell_len(line) <= 44 for line in lines)
    assert all("…" not in line for line in table)  # no column cut to an ellipsis
    yuci = next(line for line in table if line.split()[0] == "榆次区统计局")
    assert yuci.split()[1:] == ["县级", "红", "红", "绿", "绿"], yuci  # every stage's colour in sight
    gap = yuci[len(" 榆次区统计局") : yuci.index("县级")]
    assert len(gap) <= 10, yuci  # not padded to the longest name's 44 columns (32 spaces)
    first = next(i for i, line in enumerate(lines) if line.strip().startswith(LONG[:4]))
    name, rest = lines[first].split()[0], lines[first + 1 :]
    while rest and len(rest[0].split()) == 1:  # the name folds onto the lines below, the colours beside its start
        name, rest = name + rest[0].strip(), rest[1:]
    assert name == LONG and lines[first].split()[1] == "县级"


def test_status_on_a_wide_terminal_caps_the_name_column():
    lines = _status_on_a_terminal(160)
    yuci = next(line for line in lines if line.split() and line.split()[0] == "榆次区统计局")
    assert yuci.index("县级") <= 30, yuci  # the other rows are not pushed out by one long name
