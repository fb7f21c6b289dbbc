"""File names made from titles are names Windows saves, and still read as the title."""

from duban.domain.file_titles import titled_file_name

WINDOWS_REFUSES = set('<>:"/\\|?*') | {chr(c) for c in range(32)}


def test_a_title_with_quotes_and_reserved_characters_becomes_a_name_windows_saves():
    name = titled_file_name('统计基层基础工作规范化建设"回头看"-汇总表-2024-07-02.xlsx')
    assert name == "统计基层基础工作规范化建设“回头看”-汇总表-2024-07-02.xlsx"
    odd = titled_file_name("A<B>C:D/E\\F|G?H*I\x07J\tK.xlsx")
    assert not WINDOWS_REFUSES & set(odd) and odd == "A〈B〉C：D／E＼F｜G？H＊IJK.xlsx"
    assert titled_file_name("检查. ") == "检查" and titled_file_name("CON.xlsx") == "_CON.xlsx"
