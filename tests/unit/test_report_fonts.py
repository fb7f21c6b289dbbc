"""The report's Chinese is marked as simplified Chinese everywhere, so a machine without 仿宋/黑体/楷体/宋体 draws the
simplified forms from its CJK fallback: in the docx (LibreOffice follows the run language) and in the chart."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from functools import partial

from duban.report.blocks import Draft, DraftSection, Para, Table
from duban.report.document import write_docx

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def test_every_run_and_the_defaults_say_zh_cn_and_name_the_east_asian_font(tmp_path):
    draft = Draft(
        title='晋中市统计局关于统计基层基础工作规范化建设"回头看"工作情况的报告',
        note="（草稿）",
        preamble="根据要求，现将有关情况报告如下。",
        issuer="晋中市统计局",
        day="2024年7月2日",
        sections=[
            DraftSection(
                "一、完成情况",
                [
                    Para("（一）检查情况", "sub"),
                    Para("令直骨"),
                    Table(["单位", "得分"], [["昔阳县统计局", "60"]], "检查评分情况"),
                ],
            )
        ],
    )
    path = tmp_path / "r.docx"
    write_docx(draft, path, None)
    with zipfile.ZipFile(path) as docx:
        body, styles = docx.read("word/document.xml").decode(), docx.read("word/styles.xml").decode()
    runs = re.findall(r"<w:r>.*?</w:r>", body, re.S)
    chinese = [r for r in runs if re.search(r"<w:t[^>]*>[^<]*[\u4e00-\u9fff]", r)]
    assert len(chinese) >= 8
    for run in chinese:
        assert 'w:eastAsia="zh-CN"' in run and re.search(r'w:eastAsia="(仿宋|黑体|楷体|宋体)"', run), run
    defaults = re.search(r"<w:docDefaults>.*?</w:docDefaults>", styles, re.S).group(0)
    assert 'w:eastAsia="zh-CN"' in defaults and 'w:eastAsia="仿宋"' in defaults and "eastAsiaTheme" not in defaults


def test_the_chart_draws_with_the_simplified_chinese_face_of_the_collection():
    from matplotlib import font_manager

    from duban.report.chart import cjk_font

    props = cjk_font()
    assert props is not None, "no CJK font: the README's test command installs fonts-noto-cjk"
    face = font_manager.get_font(font_manager.findfont(props, fallback_to_default=False))
    assert face.family_name.endswith(" SC") or "CJK" not in face.family_name  # not the collection's first (JP) face


STALE_CACHE = """
import json, pathlib, sys
import matplotlib
from matplotlib import font_manager
cache = pathlib.Path(matplotlib.get_cachedir(), f"fontlist-v{font_manager.FontManager.__version__}.json")
data = json.loads(cache.read_text())
data["ttflist"] = [f for f in data["ttflist"] if "CJK" not in f["name"]]  # as if built before fonts-noto-cjk
cache.write_text(json.dumps(data))
"""
FIND = """
from duban.report.chart import cjk_font
props = cjk_font()
print(props.get_family()[0] if props else "none")
"""


def test_a_cjk_font_installed_after_matplotlib_built_its_cache_is_found(tmp_path):
    """fonts-noto-cjk installed after the first `duban report`: matplotlib's cache lists no CJK font, the system
    has one; the chart finds it (and the cache is saved with it, so the next run does not scan again)."""
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")}
    run = partial(subprocess.run, env=env, capture_output=True, text=True, timeout=120, check=True)
    run([sys.executable, "-c", STALE_CACHE])
    cache = next((tmp_path / "mpl").glob("fontlist-*.json"))
    assert "Noto Sans CJK SC" not in cache.read_text()
    assert run([sys.executable, "-c", FIND]).stdout.strip() == "Noto Sans CJK SC"
    assert "Noto Sans CJK SC" in cache.read_text()
