"""Only the store speaks SQL — in what it writes, not only in what it imports.

The import-linter contract (tests/unit/test_layers.py) sees `import sqlalchemy`; a module that writes a statement as
a string and runs it through a store helper (duban.store.codec.Codec) imports nothing it forbids. This test reads
every module outside duban/store/ (duban/, flows/, tasks/) with `ast` and fails on any string — a plain constant, or
an f-string with its holes filled — that begins (after whitespace) with an SQL statement.

A statement is recognised by its keywords in capitals, where the string begins, and by its shape (UPDATE x SET,
INSERT INTO x, …), so a message that mentions SQL ("整理数据库…（VACUUM）", "Select a campaign") is not one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("duban", "flows", "tasks")
STORE = ROOT / "duban" / "store"

_STATEMENT = re.compile(
    r"""\A\s*(?:
        SELECT\s+\S.*?\bFROM\s+[\w("]              # SELECT … FROM table
      | SELECT\s+[\w().,'*\s]+\Z                   # SELECT 1, SELECT nextval('…')
      | INSERT\s+(?:OR\s+\w+\s+)?INTO\s+\w
      | UPDATE\s+\w+(?:\s+AS\s+\w+)?\s+SET\s
      | DELETE\s+FROM\s+\w
      | WITH\s+(?:RECURSIVE\s+)?\w+(?:\s*\([^)]*\))?\s+AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(
      | (?:CREATE|DROP|ALTER)\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+|OR\s+REPLACE\s+)?(?:TABLE|INDEX|TRIGGER)\b
      | VACUUM\s*(?:;|\Z)                                           # VACUUM
      | VACUUM\s+(?:INTO|FULL|ANALYZE|VERBOSE)\b                    # VACUUM INTO '…'
      | VACUUM\s*(?:\([A-Z,\s]+\)\s*)?[a-z_]\w*(?:\s*,\s*\w+)*\s*;?\Z  # VACUUM (ANALYZE) outbox, delivery
      | ANALYZE(?:\s*(?:;|\Z)|\s+[a-z_]\w*\s*(?:,|;|\Z))
      | TRUNCATE\s+(?:TABLE\s+)?[a-z_]
      | PRAGMA\s+[A-Za-z_]
      | SET\s+LOCAL\s+\w
    )""",
    re.VERBOSE | re.DOTALL,
)
_HOLE = "x"  # what stands for an f-string's {…} when the string is read as a whole


def looks_like_sql(text: str) -> bool:
    return _STATEMENT.match(text) is not None


def _literal(part: ast.expr) -> str | None:
    return part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else None


def _texts(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, text to match, text to show) of every string constant, and of every f-string read whole (its holes
    filled) and part by part."""
    found: list[tuple[int, str, str]] = []
    in_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            texts = [_literal(part) for part in node.values]
            found.append(
                (node.lineno, "".join(t if t is not None else _HOLE for t in texts), "".join(t or "{…}" for t in texts))
            )
            for part, text in zip(node.values, texts):
                if text is not None:
                    in_fstrings.add(id(part))
                    found.append((node.lineno, text, text))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstrings:
            found.append((node.lineno, node.value, node.value))
    return found


def statements_in(path: Path) -> list[str]:
    """ "file:line: start of the string" for each SQL statement written in the file (one per line)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    first: dict[int, str] = {}
    for line, text, shown in _texts(tree):
        if line not in first and looks_like_sql(text):
            first[line] = " ".join(shown.split())[:70]
    return [f"{where}:{line}: {start!r}" for line, start in sorted(first.items())]


def _modules() -> list[Path]:
    return sorted(
        path for folder in SCANNED for path in (ROOT / folder).rglob("*.py") if not path.is_relative_to(STORE)
    )


def test_no_module_outside_the_store_writes_sql():
    modules = _modules()
    assert any(p.name == "dispatch.py" for p in modules), "the scan reaches duban/services/"
    leaks = [hit for path in modules for hit in statements_in(path)]
    assert not leaks, "SQL written outside duban/store/ (move it into a store module):\n" + "\n".join(leaks)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT DISTINCT claimed_by FROM outbox WHERE status = 'sending'",
        "  SELECT 1",
        "SELECT nextval(pg_get_serial_sequence('outbox', 'id'))",
        "\n    SELECT id\n    FROM outbox",
        "INSERT INTO delivery (message_id) VALUES (?)",
        "INSERT OR IGNORE INTO unit (code) VALUES (?)",
        "UPDATE outbox SET status = 'pending' WHERE id = ?",
        "UPDATE outbox AS t SET status = s.status FROM staging AS s",
        "DELETE FROM session WHERE token = ?",
        "WITH due AS (SELECT id FROM assignment) SELECT * FROM due",
        "CREATE INDEX IF NOT EXISTS ix_outbox ON outbox (status)",
        "CREATE TEMPORARY TABLE IF NOT EXISTS staging AS SELECT 1",
        "DROP TABLE staging",
        "ALTER TABLE outbox ADD COLUMN x INTEGER",
        "CREATE TRIGGER t AFTER INSERT ON outbox BEGIN SELECT 1; END",
        "VACUUM",
        "VACUUM INTO '/tmp/copy.db'",
        "VACUUM (ANALYZE) outbox, delivery",
        "VACUUM outbox",
        "ANALYZE campaign_unit, assignment",
        "TRUNCATE _duban_staging",
        "PRAGMA journal_mode=WAL",
        "SET LOCAL lock_timeout = '5s'",
    ],
)
def test_statements_are_recognised(text):
    assert looks_like_sql(text)


@pytest.mark.parametrize(
    "text",
    [
        "整理数据库…（VACUUM）",
        "整理数据库（VACUUM）完成",
        "VACUUM 完成，释放 3 MB",
        "VACUUM (ANALYZE) on PostgreSQL after a large tick",
        "ANALYZE 结果",
        "TRUNCATE 之前请先备份",
        "select the campaign from the list",
        "Select a campaign from the list",
        "SELECTED units: 12",
        "Update the plan, then set its due",
        "update outbox set status",  # lower case: prose as far as this test can tell
        "Delete from the list the units that left",
        "With the units as (listed) below",
        "Create table of contents",
        "DROP 表",
        "PRAGMA：数据库设置",
        "Set local time zone to Asia/Shanghai",
        "请用 duban outbox retry 12 --unconfirmed 再发（UPDATE outbox SET …）",
        "the claim SELECT … FOR UPDATE SKIP LOCKED",
        "",
    ],
)
def test_messages_are_not_statements(text):
    assert not looks_like_sql(text)


def test_a_statement_in_an_f_string_is_found(tmp_path):
    module = tmp_path / "leaky.py"
    module.write_text(
        "def claim(codec, scope, ids):\n"
        "    marks = ', '.join('?' * len(ids))\n"
        "    codec.select(f\"SELECT {', '.join(('id', 'kind'))} FROM outbox WHERE id IN ({marks})\", ids)\n"
        "    codec.execute(\n"
        "        'UPDATE outbox SET status = ?, '\n"
        "        'claimed_by = NULL WHERE id = ?', ('pending', 1)\n"
        "    )\n"
        "    log = f'整理数据库…（VACUUM）{scope}'\n",
        encoding="utf-8",
    )
    hits = statements_in(module)
    assert [h.split(": ", 1)[0].rsplit(":", 1)[1] for h in hits] == ["3", "5"], hits
    assert "SELECT {…} FROM outbox" in hits[0]
