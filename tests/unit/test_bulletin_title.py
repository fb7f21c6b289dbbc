"""The 通报 title joins the campaign title and the stage name, an overlap written once."""

from duban.report.bulletin import joined


def test_an_overlap_of_the_title_end_and_the_stage_start_is_written_once():
    assert joined('统计基层基础工作规范化建设"回头看"', '"回头看"检查材料整理上报阶段') == (
        '统计基层基础工作规范化建设"回头看"检查材料整理上报阶段'
    )
    title = '统计基层基础工作规范化建设"回头看"'
    assert joined(title, "县级检查阶段") == title + "县级检查阶段"
    assert joined("某某工作", "作业阶段") == "某某工作作业阶段"  # one character is a chance match
    assert joined("专项工作", "") == "专项工作"
