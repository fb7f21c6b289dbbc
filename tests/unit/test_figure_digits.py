"""A figure is written in digits: ASCII ones, or the full-width ０-９ a Chinese IME types (read as the same digits);
Python's other integer spellings (`1_0`, Arabic-Indic `١٢`, other scripts' digits) are refused, not read as 10/12."""

from __future__ import annotations

import pytest

from duban.errors import SubmissionError
from duban.services.submit import _metric_value
from duban.spec.models import Metric

COUNT = Metric(name="n", label="实地检查乡镇(街道)数", type="int", unit="个")
AMOUNT = Metric(name="m", label="经费", type="number", unit="万元", decimals=2)


@pytest.mark.parametrize("metric", [COUNT, AMOUNT])
@pytest.mark.parametrize("typed", ["1_0", "1_000", "١٢", "۱۲", "१२", "12_", "_12", "1 2"])
def test_a_figure_in_other_digits_or_with_underscores_is_refused(metric, typed):
    with pytest.raises(SubmissionError) as refused:
        _metric_value(metric, typed)
    assert refused.value.cn.startswith(f"「{metric.label}」填写的「{typed}」不是")


@pytest.mark.parametrize(
    "metric, typed, value",
    [
        (COUNT, "７", 7),
        (COUNT, "１２", 12),
        (COUNT, "7.0", 7),
        (COUNT, " 12 ", 12),
        (COUNT, "-3", -3),
        (AMOUNT, "１２．５", 12.5),
        (AMOUNT, "12.50", 12.5),
        (AMOUNT, "7", 7.0),
    ],
)
def test_ascii_and_full_width_digits_are_read(metric, typed, value):
    assert _metric_value(metric, typed) == value
