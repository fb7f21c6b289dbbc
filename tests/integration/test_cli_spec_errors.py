"""An administrator's errors with specs at the command line (issue 22): a folder for a file, a typo in a path."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

from typer.testing import CliRunner

from duban.cli.main import app
from tests.conftest import JINZHONG, ROOT, SPECS

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_validate_a_folder_checks_every_spec_in_it():
    result = _run("validate", SPECS)
    specs = sorted(SPECS.glob("*.yaml"))
    assert result.exit_code == 0, result.output
    assert result.output.count("✓") == len(specs) and len(specs) >= 6
    assert f"{SPECS / 'units'}" not in result.output and "overrides.yaml" not in result.output  # overlays are not specs


def test_validate_a_folder_with_a_broken_spec_says_which_and_exits_1(tmp_path):
    folder = tmp_path / "specs"
    shutil.copytree(SPECS, folder)
    (folder / "zz-broken.yaml").write_text(
        JINZHONG.read_text(encoding="utf-8").replace("end: 2024-06-30}", "end: 2024-06-31}", 1), encoding="utf-8"
    )
    result = _run("validate", folder)
    assert result.exit_code == 1
    assert result.output.count("✓") == len(list(SPECS.glob("*.yaml")))
    assert "zz-broken.yaml:" in result.output and "2024-06-31 is not a date" in result.output


def test_validate_a_folder_without_specs_is_a_one_line_error(tmp_path):
    result = _run("validate", tmp_path)
    assert result.exit_code == 1 and "is a folder, not a spec file" in result.output


def test_plan_of_a_folder_is_a_one_line_error():
    result = _run("plan", SPECS)
    assert result.exit_code == 1 and "is a folder, not a spec file" in result.output


def test_tick_of_a_missing_spec_fails_before_prefect_starts(tmp_path):
    """`duban tick campaign_specs/nope.yaml` used to start Prefect, leave a Failed flow run and a traceback after
    a minute; now the spec is checked first: a one-line error, and the flow module is never even imported."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from duban.cli.main import app\n"
        f"result = CliRunner().invoke(app, ['tick', {str(tmp_path / 'nope.yaml')!r}])\n"
        "print(result.exit_code, 'flows.campaign_tick' in sys.modules, 'Traceback' in result.output)\n"
        "print(result.output)\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    first, _, output = done.stdout.partition("\n")
    assert first == "1 False False", done.stdout + done.stderr
    assert "nope.yaml: file not found" in output
    assert time.monotonic() - started < 60


def test_tick_of_a_broken_spec_names_its_line_before_prefect_starts(tmp_path):
    shutil.copytree(SPECS / "units", tmp_path / "units")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        JINZHONG.read_text(encoding="utf-8").replace("units: design_office", "units: design_ofice", 1), encoding="utf-8"
    )
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from duban.cli.main import app\n"
        f"result = CliRunner().invoke(app, ['tick', {str(broken)!r}, '--as-of', '2024-05-20 09:00'])\n"
        "print(result.exit_code, 'flows.campaign_tick' in sys.modules)\n"
        "print(result.output)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    first, _, output = done.stdout.partition("\n")
    assert first == "1 False", done.stdout + done.stderr
    assert "broken.yaml:" in output and "'design_ofice' is neither a group" in output


def test_validate_says_what_is_wrong_not_the_name_of_a_python_class(tmp_path):
    spec = tmp_path / "通知.yaml"
    spec.write_text(JINZHONG.read_text(encoding="utf-8").replace("title:", "titel:", 1), encoding="utf-8")
    result = _run("validate", spec)
    assert result.exit_code == 1
    assert "Error" not in result.output, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("✗ ") and "problem" in first


def test_help_read_through_a_pipe_is_plain_text():
    """`duban --help | less`, `duban units --help | grep`: plain text as other tools print it, every command
    named, no Rich panel drawn 80 columns wide; a mistyped command says so the same way."""
    duban = [sys.executable, "-c", "from duban.cli.main import app; app()"]
    shown = subprocess.run([*duban, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "╭" not in shown.stdout and "│" not in shown.stdout
    commands = shown.stdout.split("Commands:", 1)[1]
    for name in ("validate", "tick", "submit", "units", "outbox", "extension"):
        assert f"\n  {name} " in commands, name
    typo = subprocess.run([*duban, "tikc"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert typo.returncode == 2 and "╭" not in typo.stderr and "No such command 'tikc'" in typo.stderr


def test_a_window_that_ends_before_it_starts_is_refused_at_its_line(tmp_path):
    """自查阶段 4月18日至4月1日 (a typo in the month): every item would be due before it opens and overdue the moment
    it does. validate refuses it at the window's end (it was a warning, exit 0), and so do plan and tick."""
    spec = tmp_path / "backwards.yaml"
    spec.write_text(
        (ROOT / "tests" / "specs" / "xiyang-2024-outcomes.yaml")
        .read_text(encoding="utf-8")
        .replace("window: {start: 2024-05-13, end: 2024-05-24}", "window: {start: 2024-05-13, end: 2024-04-24}"),
        encoding="utf-8",
    )
    checked = _run("validate", spec)
    assert checked.exit_code == 1
    assert (
        f"{spec}:13 stages[0].window.end: the window of stage 自查阶段 ends (2024-04-24 周三 24:00) before it starts"
        in (checked.output)
    )
    planned = _run("plan", spec)
    assert planned.exit_code == 1 and "before it starts" in planned.output and "Traceback" not in planned.output


def test_a_campaign_window_that_ends_before_it_starts_is_refused_at_its_line(tmp_path):
    """活动时间 5月9日至4月20日 (a typo in the month): every stage would run outside the campaign's window. validate
    used to pass it with a warning per stage (exit 0) and never said the window itself was backwards; now it is
    refused at the window's end, and so is plan."""
    spec = tmp_path / "anshan.yaml"
    shutil.copytree(ROOT / "campaign_specs" / "units", tmp_path / "units")
    text = (ROOT / "campaign_specs" / "anshan-2022-open-day-report.yaml").read_text(encoding="utf-8")
    assert "  start: 2022-05-09\n  end: 2022-05-20\n" in text
    spec.write_text(
        text.replace("  start: 2022-05-09\n  end: 2022-05-20\n", "  start: 2022-05-09\n  end: 2022-04-20\n")
    )
    checked = _run("validate", spec)
    assert checked.exit_code == 1, checked.output
    assert (
        f"{spec}:17 window.end: the campaign's window (活动时间) ends (2022-04-20 周三 24:00) before it starts "
        "(2022-05-09 周一 08:30)" in checked.output
    )
    planned = _run("plan", spec)
    assert planned.exit_code == 1 and "before it starts" in planned.output and "Traceback" not in planned.output


def test_help_at_a_terminal_wraps_at_its_width_not_at_the_docstrings_line_ends():
    """At a 100-column terminal `duban --help` draws Rich's panels: each command's description flows to the
    panel's width (amend's used to break after "keep every", mid-sentence, where its docstring's line ended)."""
    import os
    import re
    import shlex

    if shutil.which("script") is None:  # util-linux: on every Debian machine
        raise AssertionError("`script` (util-linux) is needed to give duban a terminal")
    command = f"stty cols 100; {shlex.quote(sys.executable)} -c 'from duban.cli.main import app; app()' --help"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TERMINAL_WIDTH")}
    shown = subprocess.run(
        ["script", "-qc", command, "/dev/null"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", shown.stdout)
    assert "╭" in text, text  # a terminal: Rich's panels
    lines = text.splitlines()
    first = next(k for k, line in enumerate(lines) if line.startswith("│ amend "))
    entry = [lines[first][13:].rstrip(" │")]
    for line in lines[first + 1 :]:  # its continuation lines, up to the next command
        if not line.startswith("│            "):
            break
        entry.append(line[13:].rstrip(" │"))
    assert " ".join(entry).startswith("Apply a later notice that changes dues or stage windows: re-plan only what")
    assert all(len(line) >= 60 for line in entry[:-1]), entry  # no line cut short where the docstring's ended


def test_a_database_that_cannot_be_opened_is_one_line_without_its_password(monkeypatch):
    """An administrator mistypes the database in DUBAN_DATABASE_URL, or PostgreSQL is down: `duban tick` and
    `duban status` say which database (its password hidden) and why, in one line, not a driver's traceback."""
    from duban.settings import get_settings

    for url, why in (
        ("postgresql+psycopg://postgres@127.0.0.1:5432/duban_no_such_database", 'database "duban_no_such_database"'),
        ("postgresql+psycopg://duban:s3cret-pw@127.0.0.1:1/duban", "Connection refused"),
    ):
        monkeypatch.setenv("DUBAN_DATABASE_URL", url)
        get_settings.cache_clear()
        for command in (["tick", JINZHONG, "--as-of", "2024-05-10 08:30"], ["status", JINZHONG]):
            result = runner.invoke(app, [str(a) for a in command])
            assert result.exit_code == 1, result.output
            assert "Traceback" not in result.output and "s3cret-pw" not in result.output
            assert result.output.startswith("error: cannot open the database postgresql+psycopg://") and why in (
                result.output
            ), result.output
    get_settings.cache_clear()


def test_a_database_password_is_hidden_in_every_form_a_url_may_carry_it(monkeypatch):
    """An outside tester's finding: libpq's `?password=` came back in clear, a password with an @ in it left its
    tail in the message and the driver's, and a URL that does not parse was a 62-line traceback."""
    from duban.settings import get_settings

    for url in (
        "postgresql+psycopg:///duban_nodb?host=127.0.0.1&user=duban&password=S3cretPW",
        "postgresql+psycopg://duban:S3c@retPW@127.0.0.1:5432/duban_nodb",
        "postgresql+psycopg://duban:S3cretPW@[::1:5432/duban_nodb",
    ):
        monkeypatch.setenv("DUBAN_DATABASE_URL", url)
        get_settings.cache_clear()
        result = runner.invoke(app, ["outbox", "list"])
        assert result.exit_code == 1 and result.output.startswith("error: "), result.output
        for part in ("S3cretPW", "S3c", "retPW", "Traceback"):
            assert part not in result.output, result.output
    get_settings.cache_clear()


def test_a_listing_pointed_at_another_applications_database_makes_no_tables_there(monkeypatch, pg_database):
    """`duban outbox list` with DUBAN_DATABASE_URL on an empty database (or another application's) created duban's
    28 tables in it (an outside tester's finding): a command that only reads says the database holds no duban
    tables and leaves it as it was."""
    import sqlalchemy

    from duban.settings import get_settings

    url = pg_database("other_app")
    monkeypatch.setenv("DUBAN_DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["outbox", "list"])
    assert result.exit_code == 1 and "has no duban tables" in result.output, result.output
    assert "empty (newest" in runner.invoke(app, ["db", "current"]).output  # says so, and makes nothing either
    get_settings.cache_clear()
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        assert sqlalchemy.inspect(conn).get_table_names() == []
    engine.dispose()


def test_a_path_to_a_file_that_is_no_spec_is_said_so_without_echoing_its_lines(tmp_path):
    """A typo in the path took another readable file (as root, /etc/shadow): each of its lines came back as an
    unknown key, password hashes and all. Now one line says the file is no duban spec; a spec with a few keys
    wrong still names them."""
    shadow = tmp_path / "shadow"
    shadow.write_text("root:$6$rounds$Zq8SECRETHASHxyz:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
    for command in (("validate", shadow), ("tick", shadow, "--as-of", "2024-05-10 08:30")):
        result = runner.invoke(app, [str(a) for a in command])
        assert result.exit_code != 0 and "is not a duban spec" in result.output, result.output
        assert "SECRETHASH" not in result.output and "daemon" not in result.output
        assert "Traceback" not in result.output
    typo = tmp_path / "typo.yaml"
    typo.write_text(JINZHONG.read_text(encoding="utf-8").replace("title:", "titel:", 1), encoding="utf-8")
    named = _run("validate", typo)
    assert named.exit_code == 1 and "unknown key `titel`" in named.output


def test_out_naming_a_folder_or_another_kind_of_file_is_one_line(tmp_path):
    """`--out` naming a folder was a 53-line traceback in bulletin, report and scores template, and `--out b.txt`
    wrote a docx named .txt (an outside tester's findings)."""
    commands = (
        ["bulletin", str(JINZHONG), "--as-of", "2024-06-15 09:00"],
        ["report", str(JINZHONG), "--as-of", "2024-07-02 24:00"],
        ["scores", "template", str(JINZHONG), "--sample", "city_check"],
    )
    for command, suffix in zip(commands, (".docx", ".docx", ".xlsx")):
        folder = runner.invoke(app, [*command, "--out", str(tmp_path)])
        assert folder.exit_code == 2 and "Traceback" not in folder.output, folder.output
        assert f"is a folder: name the {suffix} file to write in it" in " ".join(folder.output.split())
        wrong = runner.invoke(app, [*command, "--out", str(tmp_path / "b.txt")])
        assert wrong.exit_code == 2 and f"does not end in {suffix}" in " ".join(wrong.output.split()), wrong.output


def test_validate_says_every_bad_parent_of_the_overlay_in_one_run(tmp_path):
    """Three bad `parent:` entries in units/jinzhong.yaml: `duban validate` said the first, the next run the second
    (an outside tester's finding); now one run says all three, each at its overlay line, and exits 1."""
    folder = tmp_path / "specs"
    shutil.copytree(SPECS / "units", folder / "units")
    shutil.copytree(SPECS / "calendar", folder / "calendar")
    shutil.copy(JINZHONG, folder / JINZHONG.name)
    overlay = folder / "units" / "jinzhong.yaml"
    text = overlay.read_text(encoding="utf-8")
    assert text.count('    parent: "140700"\n') == 3
    for wrong in ("140799", "140798", "140797"):
        text = text.replace('    parent: "140700"\n', f'    parent: "{wrong}"\n', 1)
    overlay.write_text(text, encoding="utf-8")
    result = _run("validate", folder / JINZHONG.name)
    assert result.exit_code == 1
    said = [line for line in result.output.splitlines() if "is not in the registry" in line]
    assert len(said) == 3, result.output
    lines = [line.split(" units[")[0].rsplit(":", 1)[1] for line in said]
    assert len(set(lines)) == 3 and all("jinzhong.yaml" in line for line in said), result.output


def test_validate_of_a_spec_saved_as_gbk_or_utf16_says_which_it_is(tmp_path):
    """A spec saved by Notepad as GBK (ANSI on a Chinese Windows) or as Unicode (UTF-16) was "not UTF-8 text (bad
    byte at offset 0)": it now says which encoding it is in and to save it as UTF-8, as the 名录 import does."""
    text = "id: t\ntitle: 测试\n"
    (tmp_path / "gbk.yaml").write_bytes(text.encode("gbk"))
    (tmp_path / "u16.yaml").write_bytes(text.encode("utf-16"))
    gbk = _run("validate", tmp_path / "gbk.yaml")
    assert gbk.exit_code == 1 and "GBK/GB18030 text, not UTF-8: save the file as UTF-8" in gbk.output, gbk.output
    u16 = _run("validate", tmp_path / "u16.yaml")
    assert u16.exit_code == 1 and "UTF-16 text, not UTF-8: save the file as UTF-8" in u16.output, u16.output
