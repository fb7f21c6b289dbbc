"""File names made from titles (a campaign's, a score sheet's): names Windows can save.

A title such as 统计基层基础工作规范化建设"回头看" holds straight double quotes, which Windows refuses in a file
name (as it refuses <>:/\\|?* and control characters): a browser on a bureau PC renamed the 汇总表's download. Each
such character becomes its full-width or typographic form, so the name still reads as the title does.
"""

from __future__ import annotations

import re
import unicodedata

_WIDE = str.maketrans({"<": "〈", ">": "〉", ":": "：", "/": "／", "\\": "＼", "|": "｜", "?": "？", "*": "＊"})
_DEVICE = re.compile(r"^(con|prn|aux|nul|conin\$|conout\$|clock\$|com[0-9¹²³]|lpt[0-9¹²³]) *(\.|$)", re.IGNORECASE)


def titled_file_name(title: str) -> str:
    """`title` as a file name any system saves: straight double quotes paired as “”, <>:/\\|?* in their full-width
    forms, control and format characters dropped, no trailing dot or space, a device name (CON …) prefixed."""
    text = "".join(c for c in unicodedata.normalize("NFC", title) if unicodedata.category(c) not in ("Cc", "Cf"))
    quoted, opened = [], False
    for c in text.translate(_WIDE):
        if c == '"':
            c, opened = ("”" if opened else "“"), not opened
        quoted.append(c)
    name = "".join(quoted).strip().rstrip(". ")
    return "_" + name if _DEVICE.match(name) else name
