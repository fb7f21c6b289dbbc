"""The report block of a spec: what each heading is filled with, and names that must exist."""

import textwrap

import pytest

from duban.errors import SpecError
from duban.report.wording import fill_of
from duban.spec.load import load_spec
from duban.spec.models import Section


@pytest.mark.parametrize(
    ("heading", "fill"),
    [
        ("提高认识、加强领导", "leadership"),
        ("领导重视，组织有力", "leadership"),
        ("活动开展情况", "activities"),
        ("强化举措、务求实效", "activities"),
        ("完成情况", "completion"),
        ("取得的成效", "completion"),
        ("存在的问题和不足", "problems"),
        ("下一步工作打算", "next_steps"),
    ],
)
def test_a_heading_s_words_say_what_fills_it(heading, fill):
    assert fill_of(Section(heading=heading)) == fill


def test_the_spec_s_fill_wins_over_the_heading():
    assert fill_of(Section(heading="明确任务、认真实施", fill="none")) == "none"


def test_a_report_section_naming_an_unknown_item_is_an_error(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        textwrap.dedent("""\
        id: t
        title: 测试
        issuer: 昔阳县统计局
        registry: {divisions: ["140724"]}
        stages:
          - id: s
            name: 阶段
            window: {start: 2024-05-10, end: 2024-05-25}
            items:
              - {id: sheet, name: 自查评分表, units: "140724"}
        report:
          title: 总结
          sections:
            - {heading: 强化举措, items: [sheet, shet]}
        """),
        encoding="utf-8",
    )
    with pytest.raises(SpecError, match="report section '强化举措' names no item 'shet'"):
        load_spec(path)
