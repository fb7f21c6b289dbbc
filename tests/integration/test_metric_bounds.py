"""A reported figure is bounded (issue 20, the outside attacker's section 3): a submission's number must be below
10^15 in magnitude with no more decimals than the metric declares, refused in Chinese otherwise; a value stored out
of bounds before (a 401-digit count, 2^63) never crashes the /ops 汇总表, the close-out report or its 汇总表 — it is
shown as text and left out of totals, saying so, and nothing stored is lost."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from duban.domain.plan import load_calendar_for
from duban.errors import SubmissionError
from duban.report import write_report
from duban.report.blocks import Para, Table
from duban.report.draft import build_draft
from duban.report.record import read_record
from duban.services.submit import _metric_value, record_submission
from duban.spec.load import load_spec
from duban.spec.models import Metric
from duban.store.tables import Submission
from duban.views.summary_table import summary_workbook
from tests.conftest import JINZHONG
from tests.integration.helpers import CAMPAIGN, at, plan_jinzhong, tick
from tests.samples import pdf_bytes, write

COUNT = Metric(name="n", label="检查乡镇数", type="int", unit="个")
AMOUNT = Metric(name="m", label="经费", type="number", unit="万元", decimals=2)
LOOSE = Metric(name="x", label="比率", type="number")


@pytest.mark.parametrize(
    "metric, typed",
    [
        (COUNT, "1" + "0" * 400),
        (COUNT, str(2**63 - 1)),
        (COUNT, str(2**63)),
        (COUNT, str(-(2**63) - 1)),
        (COUNT, "1000000000000000"),
        (COUNT, "-1000000000000000"),
        (COUNT, "9" * 5000),
        (AMOUNT, "1e15"),
        (AMOUNT, "1e300"),
        (AMOUNT, "12.345"),
        (AMOUNT, "0.001"),
        (LOOSE, "0.1234567"),
    ],
)
def test_a_figure_no_bureau_reports_is_refused_in_chinese(metric, typed):
    with pytest.raises(SubmissionError) as caught:
        _metric_value(metric, typed)
    cn = caught.value.cn
    assert metric.label in cn and ("超出范围" in cn or "过长" in cn or "位小数" in cn), cn
    assert "set_int_max_str_digits" not in cn + str(caught.value)


@pytest.mark.parametrize(
    "metric, typed, value",
    [
        (COUNT, "999999999999999", 999_999_999_999_999),
        (COUNT, "-999999999999999", -999_999_999_999_999),
        (AMOUNT, "12.34", 12.34),
        (AMOUNT, "12.300", 12.3),
        (AMOUNT, "1.5e3", 1500.0),
        (LOOSE, "0.123456", 0.123456),
    ],
)
def test_figures_within_the_bound_are_kept(metric, typed, value):
    assert _metric_value(metric, typed) == value


@pytest.fixture
def stored_out_of_bounds(engine, tmp_path):
    """Three counties report; two of their counts are then out of bounds in the database, as an older duban kept
    them."""
    plan_jinzhong(engine)
    tick(engine, at("2024-05-27 10:00"))
    pdf = write(tmp_path / "检查评分表.pdf", pdf_bytes())
    for county, count in (("140724", "7"), ("140725", "6"), ("140723", "8")):
        record_submission(
            engine,
            CAMPAIGN,
            county,
            "county_inspection",
            at("2024-06-01 10:00"),
            files=[pdf],
            metrics={"townships_inspected": count},
            files_dir=tmp_path / "files",
        )
    with engine.begin() as conn:
        ids = conn.execute(select(Submission.id).order_by(Submission.id)).scalars().all()
        conn.execute(update(Submission).where(Submission.id == ids[0]).values(metrics={"townships_inspected": 10**400}))
        conn.execute(update(Submission).where(Submission.id == ids[1]).values(metrics={"townships_inspected": 2**63}))
    return engine


def test_the_ops_summary_shows_a_stored_out_of_bounds_value_as_text_and_totals_the_rest(stored_out_of_bounds):
    book = load_workbook(io.BytesIO(summary_workbook(stored_out_of_bounds, CAMPAIGN, at("2024-06-02 10:00"))))
    rows = {(r[1], r[2]): r for r in book["汇总"].iter_rows(min_row=5, values_only=True)}
    assert rows[("县级实地检查评分表（不少于6个乡镇）", "县级")][13] == "8（另有 2 个超出范围的数值未计入）"
    sheet = book["县级检查阶段"]
    head = [c.value for c in sheet[2]]
    column = head.index("县级实地检查评分表（不少于6个乡镇）·实地检查乡镇(街道)数")
    shown = {r[0]: r[column] for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert shown["140724"] == "1" + "0" * 400 and shown["140725"] == str(2**63) and shown["140723"] == 8


def test_the_close_out_report_and_its_summary_never_crash_on_a_stored_value(stored_out_of_bounds, tmp_path):
    calendar = load_calendar_for(load_spec(JINZHONG))
    record = read_record(stored_out_of_bounds, CAMPAIGN, at("2024-06-02 10:00"), calendar)
    draft = build_draft(record)
    text = "\n".join(
        b.text if isinstance(b, Para) else "\n".join(" ".join(row) for row in b.rows)
        for s in draft.sections
        for b in s.blocks
        if isinstance(b, (Para, Table))
    )
    assert "8个（另有2个超出范围的数值未计入）" in text or "8（另有2个超出范围的数值未计入）" in text, text
    files = write_report(stored_out_of_bounds, CAMPAIGN, at("2024-06-02 10:00"), tmp_path / "总结.docx", calendar)
    assert files.docx.is_file()
    with stored_out_of_bounds.connect() as conn:  # nothing stored is lost
        kept = [
            m["townships_inspected"] for m in conn.execute(select(Submission.metrics).order_by(Submission.id)).scalars()
        ]
    assert kept == [10**400, 2**63, 8]
