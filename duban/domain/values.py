"""Bounds of a reported figure (a metric's value): what a bureau's count or amount can be, and how a value stored
before the bound existed is shown.

A submitted number must be finite, below 10^15 in magnitude (a quadrillion: well above any count of units, people
or 元 a statistics bureau reports, and inside the 15 significant digits a spreadsheet keeps exactly) and carry no
more decimals than the metric declares (`decimals`, at most 6; 6 when not declared). A value stored out of those
bounds (by an older duban) is never lost: exports show it as text and totals leave it out, saying how many.

A number is typed in ASCII digits or the full-width ones a Chinese IME gives (１２), for a figure (报送数字) and for
points on a score sheet (评分表) alike; other scripts' digits and `1_0` are no number (FULL_WIDTH, DECIMAL). Points
take no exponent either (POINTS): a figure may be written 1.5e3, a score is written as the inspector counts it.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

METRIC_BOUND = 10**15
DEFAULT_DECIMALS = 6
MAX_INPUT_CHARS = 40  # "-999999999999999.999999" is 23; longer is no figure anyone typed

FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－．", "0123456789+-.")
"""A Chinese IME's full-width digits, signs and point, read as the ASCII ones they are."""
DECIMAL = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
"""How a number typed by a clerk or an inspector may be written: ASCII digits only. Python's int()/float() also take
`1_0` and any script's digits (Arabic-Indic `١٢`, Devanagari `१२`), which a form or a sheet would otherwise keep as
10 and 12."""

POINTS = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
"""How points on a score sheet (评分) may be typed: digits with an optional decimal point, no exponent ("1e1" is
no score an inspector writes; it was kept as 10)."""


def typed_points(text: str) -> float | None:
    """Points as typed on a score sheet, ASCII or full-width digits with an optional point; None otherwise (1e1)."""
    typed = text.strip().translate(FULL_WIDTH)
    if not POINTS.fullmatch(typed):
        return None
    number = float(typed)
    return number if math.isfinite(number) else None


def typed_number(text: str) -> float | None:
    """A number as typed (报送数字, 评分), ASCII or full-width digits, as a finite float; None when it is written
    any other way (其他文字的数字, `1_0`, 十, NaN, inf)."""
    typed = text.strip().translate(FULL_WIDTH)
    if not DECIMAL.fullmatch(typed):
        return None
    number = float(typed)
    return number if math.isfinite(number) else None


def in_bounds(value: Any) -> bool:
    """A stored number within the bound (bools and text are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return -METRIC_BOUND < value < METRIC_BOUND


def as_text(value: Any) -> str:
    """A stored value as text, whatever it is (a 5,000-digit integer included)."""
    try:
        return str(value)
    except ValueError:  # an integer past Python's digit limit
        return f"（{value.bit_length()} 位二进制的整数，超出范围）"


def cell(value: Any) -> Any:
    """A stored metric value for a spreadsheet cell or a report: numbers within the bound as they are, a number out
    of it as its text (openpyxl cannot write it as a number, and a float would lose it)."""
    if value is None or isinstance(value, (bool, str)) or in_bounds(value):
        return value
    return as_text(value)


def exact_sum(values: list[Any]) -> tuple[float | int, int]:
    """The total of the values within the bound, and how many numbers out of it were left out."""
    kept = [v for v in values if in_bounds(v)]
    left_out = sum(1 for v in values if not isinstance(v, bool) and isinstance(v, (int, float)) and not in_bounds(v))
    if all(isinstance(v, int) for v in kept):
        return sum(kept), left_out
    try:
        return float(sum(Decimal(repr(v)) for v in kept)), left_out
    except (InvalidOperation, ValueError):
        return math.fsum(kept), left_out
