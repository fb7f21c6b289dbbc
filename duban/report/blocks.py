"""What a draft is made of: paragraphs, tables and the chart, under numbered sections (layout-free)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Para:
    text: str
    style: str = "body"  # body | sub (（一）) | prompt (【起草提示】) | caption


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str | None = None
    widths: list[float] | None = None  # cm, summing to the text width (15.6 cm on A4)
    size: float = 12  # pt: 小四; lists use 五号 (10.5)
    numbered: bool = False  # the caption gets its number (表1, 表2 …) when the draft is put together


@dataclass
class Figure:
    caption: str


@dataclass
class DraftSection:
    heading: str
    blocks: list = field(default_factory=list)


@dataclass
class Draft:
    title: str
    note: str
    preamble: str
    sections: list[DraftSection]
    issuer: str
    day: str
    addressee: str | None = None  # 主送机关, from report.to
