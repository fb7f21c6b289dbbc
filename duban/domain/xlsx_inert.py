"""User text in the spreadsheets duban writes is text: never a formula a spreadsheet program runs.

A unit types a count's remark or names a file `=cmd|' /C calc'!A0.pdf`; openpyxl stores any string that starts
with `=` as a formula, and Excel and WPS treat `+`, `-` and `@` at the start of what is typed the same way once a
cell is edited. Every exported cell of text from outside (the 汇总表, its 检查评分 worksheet, the score sheet
template) goes through `inert`: stored as a plain string with Excel's quote prefix (the cell shows exactly what was
typed, and editing it keeps it text). Only the formulas duban writes itself (a template's 合计 and 结论) stay live.
CSV exports, should one be added, prefix such a field with an apostrophe (`csv_field`).
"""

from __future__ import annotations

from collections.abc import Container
from typing import TypeGuard

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def risky(value: object) -> TypeGuard[str]:
    """Whether a spreadsheet program could read `value` as a formula."""
    return isinstance(value, str) and value.lstrip(" ").startswith(TRIGGERS)


def inert(sheet, *, formulas: Container[str] = ()) -> int:
    """Make every cell of `sheet` that holds text a program could run plain text, except the cells named in
    `formulas` (duban's own); how many were changed."""
    changed = 0
    for row in sheet.iter_rows():
        for cell in row:
            if cell.coordinate in formulas or not isinstance(cell.value, str):
                continue
            if cell.data_type == "f" or risky(cell.value):
                cell.data_type = "s"
                cell.quotePrefix = True
                changed += 1
    return changed


def csv_field(value: object) -> object:
    """A CSV field that no spreadsheet program runs (OWASP: a leading apostrophe)."""
    return "'" + value if risky(value) else value
