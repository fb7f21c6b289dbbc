"""The formulas a workbook's cells hold, beside the values openpyxl reads with data_only=True.

A cell written by a script (or a formula not yet recalculated) holds a formula and no saved value: read with
data_only=True it is simply empty, and a list's 名称 or a score sheet's 检查人 would vanish without a word. The
readers of uploaded workbooks (名录 lists, score sheets) read the cells as written too, row by row in step with
the values, and refuse such a cell by sheet, row and column.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator


def has_formulas(raw: bytes) -> bool:
    """Whether the workbook's sheets hold a formula (<f> in a sheet's XML), read member by member in chunks."""
    with zipfile.ZipFile(io.BytesIO(raw)) as book:
        for member in book.namelist():
            if member.startswith("xl/worksheets/") and member.endswith(".xml"):
                with book.open(member) as part:
                    tail = b""
                    while chunk := part.read(1 << 20):
                        if re.search(rb"<(?:\w+:)?f[ >]", tail + chunk):
                            return True
                        tail = chunk[-16:]
    return False


def formula_rows(raw: bytes, title: str, **bounds: int) -> Iterator[tuple]:
    """Worksheet `title`'s cells as written (a formula as its text, '=…'), row by row, in step with the same
    sheet read with data_only=True and the same `bounds` (iter_rows' min_row, max_row, max_col)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    try:
        sheet = book[title]
        sheet.reset_dimensions()
        yield from sheet.iter_rows(values_only=True, **bounds)
    finally:
        book.close()


def is_formula(written: object) -> bool:
    """Whether a cell read as written holds a formula."""
    return isinstance(written, str) and written.startswith("=")
