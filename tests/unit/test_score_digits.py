"""Points (评分) are read by the figures' rule (duban.domain.values): ASCII digits, or the full-width ０-９ a Chinese
IME types; `1_0` and other scripts' digits, which Python's float() reads (Arabic-Indic ١٢ as 12), are no points. The
inspection date (检查日期) takes the same digits."""

from __future__ import annotations

from datetime import date

import pytest

from duban.domain.scoring import as_points, inspection_day
from duban.domain.values import typed_number

TODAY = date(2024, 6, 20)


@pytest.mark.parametrize("typed", ["1_0", "١٢", "۱۲", "१२", "১২", "12_", "1 2", "十", "nan", "inf", "1e999", "０x1E"])
def test_points_in_other_digits_or_with_underscores_are_no_points(typed):
    assert as_points(typed) is None and typed_number(typed) is None


@pytest.mark.parametrize("typed", ["1e1", "1E1", "１e１", "1.5e1", "9" * 400])
def test_points_with_an_exponent_or_beyond_a_float_are_no_points(typed):
    """ "1e1" on a score sheet was kept as 10 points: points are digits with an optional point, nothing more."""
    assert as_points(typed) is None


@pytest.mark.parametrize(
    "typed, points",
    [("9", 9), (" 9.5 ", 9.5), ("１２", 12), ("１２．５", 12.5), ("－１", -1), (9, 9), (14.5, 14.5), (".5", 0.5)],
)
def test_ascii_and_full_width_digits_and_number_cells_are_points(typed, points):
    assert as_points(typed) == points


@pytest.mark.parametrize("typed", ["٢٠٢٤-٠٦-١٩", "2024-06-١٩", "۲۰۲۴/۶/۱۹"])
def test_an_inspection_date_in_other_scripts_digits_is_no_date(typed):
    assert inspection_day(typed, TODAY) == (None, f"检查日期「{typed}」不是日期（年-月-日）")


@pytest.mark.parametrize("typed", ["２０２４年６月１９日", "２０２４－０６－１９", "2024-06-19"])
def test_an_inspection_date_in_full_width_digits_is_read(typed):
    assert inspection_day(typed, TODAY) == (date(2024, 6, 19), None)
