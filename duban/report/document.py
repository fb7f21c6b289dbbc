"""The draft as a Word document (python-docx), laid out like an official report (GB/T 9704 in spirit):
A4, title in 宋体 二号, body in 仿宋 三号 with a two-character indent, first-level headings in 黑体, second-level
in 楷体, tables in 仿宋 小四. Every run names its East Asian font and says its East Asian text is zh-CN; on a
machine without these fonts (LibreOffice on Linux) the CJK fallback (Noto CJK) renders them, and the zh-CN
language makes it use the simplified Chinese glyph forms (the collection's Japanese ones otherwise)."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Cell

from duban.report.blocks import Draft, Figure, Para, Table

BODY, HEADING, SUBHEADING, TITLE = "仿宋", "黑体", "楷体", "宋体"
LATIN = "Times New Roman"
GREY = RGBColor(0x75, 0x75, 0x75)


def write_docx(draft: Draft, path: Path, chart: Path | None) -> None:
    """Write the draft to `path`, with the chart where the completion section places it."""
    document = Document()
    _page(document)
    _styles(document)
    _para(document, draft.title, font=TITLE, size=22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(document, draft.note, size=12, color=GREY, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    if draft.addressee:
        _para(document, f"{draft.addressee}：", indent=False)
    _para(document, draft.preamble)
    for section in draft.sections:
        _para(document, section.heading, font=HEADING)
        for block in section.blocks:
            if isinstance(block, Para):
                _block(document, block)
            elif isinstance(block, Table):
                _table(document, block)
            elif isinstance(block, Figure) and chart is not None:
                document.add_picture(str(chart), width=Cm(15.5))
                picture = document.paragraphs[-1]
                picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
                picture.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE  # exact 28 pt would crop it
                _para(document, block.caption, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(document, "")
    _para(document, draft.issuer, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _para(document, draft.day, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    document.core_properties.title = draft.title
    document.core_properties.author = draft.issuer
    document.save(str(path))


def _page(document) -> None:
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)


def _styles(document) -> None:
    # The template's defaults say en-US for East Asian text and point at theme fonts with Japanese entries:
    # every run, style and the defaults say zh-CN, which is what makes LibreOffice draw the simplified
    # Chinese glyph forms when it falls back to Noto CJK for 仿宋/黑体/楷体/宋体.
    defaults = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if defaults is not None:
        _fonts(defaults, BODY)
    normal = document.styles["Normal"]
    normal.font.size = Pt(16)
    _fonts(normal.element.get_or_add_rPr(), BODY)
    fmt = normal.paragraph_format
    fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(28)


def _fonts(rpr, east_asia: str) -> None:
    """Latin text in Times New Roman, Chinese in `east_asia`; the language says zh-CN for the fallback."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr, value in (("w:ascii", LATIN), ("w:hAnsi", LATIN), ("w:eastAsia", east_asia), ("w:cs", LATIN)):
        fonts.set(qn(attr), value)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")


def _para(
    document,
    text: str,
    *,
    font: str = BODY,
    size: float = 16,
    bold: bool = False,
    color=None,
    align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    indent: bool = True,
    italic: bool = False,
):
    paragraph = document.add_paragraph()
    paragraph.alignment = align
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(size * 2)
    if size > 16:
        paragraph.paragraph_format.line_spacing = Pt(size * 1.6)
        paragraph.paragraph_format.space_after = Pt(12)
    run = paragraph.add_run(text)
    run.font.size, run.font.bold, run.font.italic = Pt(size), bold, italic
    if color is not None:
        run.font.color.rgb = color
    _fonts(run._element.get_or_add_rPr(), font)
    return paragraph


def _block(document, block: Para) -> None:
    if block.style == "sub":
        _para(document, block.text, font=SUBHEADING)
    elif block.style == "prompt":
        _para(document, block.text, font=SUBHEADING, size=14, color=GREY)
    else:
        _para(document, block.text)


def _table(document, block: Table) -> None:
    if block.caption:
        _para(document, block.caption, font=HEADING, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    table = document.add_table(rows=1 + len(block.rows), cols=len(block.headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = block.widths or [15.6 / len(block.headers)] * len(block.headers)
    table.autofit = False
    for c, width in enumerate(widths):
        table.columns[c].width = Cm(width)
    # table.cell(r, c) walks the whole grid each call; a 260-row list would take a minute that way
    for r, (tr, values) in enumerate(zip(table._tbl.tr_lst, [block.headers, *block.rows])):
        for c, (tc, value) in enumerate(zip(tr.tc_lst, values)):
            cell = _Cell(tc, table)
            cell.width = Cm(widths[c])
            cell.text = ""
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.paragraph_format.line_spacing = Pt(18)
            run = paragraph.add_run(str(value))
            run.font.size, run.font.bold = Pt(block.size), r == 0
            _fonts(run._element.get_or_add_rPr(), HEADING if r == 0 else BODY)
