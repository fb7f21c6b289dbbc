"""What a handed-in file really is: its whole content, not its name or its first bytes.

A file is accepted when its extension is one the item allows (and one of EXPECTED: pdf, docx, xlsx, pptx, doc, xls,
ppt, wps, et, ofd, zip, jpg/jpeg, png, gif, mp4, txt, csv) and its content is that format from the first byte to the
last: `%PDF` with a PDF trailer for pdf, an OOXML package ([Content_Types].xml with word/, xl/ or ppt/) for docx,
xlsx and pptx, an OLE compound file with a WordDocument, Workbook or PowerPoint Document stream for doc, xls and
ppt, and so on. Then duban.domain.filescan reads all of it: programs (Windows, Linux, macOS, shortcuts) are refused
whatever the name and wherever they sit — at the start, embedded at any offset, in an archive member, in an
archive inside an archive (three deep at most) — and so are scripts (batch, PowerShell, VBScript, HTA, Python,
shell …), macros, PDF JavaScript and launch actions, polyglots (a PDF or image that is also a ZIP) and archives
that cannot be inspected (encrypted, too large when inflated, too many members). Names are made safe for every
operator's disk: no path parts, no control or format characters, no characters Windows forbids, no device names.

Every refusal is a SubmissionError with an English message (CLI) and a Chinese one (`cn`, the portal).
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

from duban.domain.filescan import (
    MAX_DEPTH,
    Budget,
    Refusal,
    check_part,
    check_pdf,
    check_text,
    embedded_program,
    mapped,
    ole_kind,
    package_kind,
    sniff_head,
    walk_zip,
    zip_members,
)
from duban.errors import SubmissionError

KIND_CN = {
    "pdf": "PDF 文件",
    "docx": "Word 文档（docx）",
    "xlsx": "Excel 表格（xlsx）",
    "pptx": "PowerPoint 演示文稿（pptx）",
    "doc": "Word 97-2003 文档（doc）",
    "xls": "Excel 97-2003 表格（xls）",
    "ppt": "PowerPoint 97-2003 演示文稿（ppt）",
    "ole": "Office 97-2003 文件",
    "ofd": "OFD 版式文件",
    "zip": "ZIP 压缩包",
    "jpg": "JPEG 图片",
    "png": "PNG 图片",
    "gif": "GIF 图片",
    "mp4": "MP4 视频",
    "text": "纯文本",
    "exe": "Windows 可执行程序",
    "elf": "Linux 可执行程序",
    "macho": "macOS 可执行程序",
    "script": "脚本程序",
    "shortcut": "Windows 快捷方式",
    "archive": "RAR/7z/gzip 压缩包",
    "empty": "空文件",
}
EXECUTABLES = {"exe", "elf", "macho", "script", "shortcut"}
# What content each extension must carry. wps/et are WPS Office's own names for Word/Excel-compatible files.
EXPECTED = {
    "pdf": {"pdf"},
    "docx": {"docx"},
    "xlsx": {"xlsx"},
    "pptx": {"pptx"},
    "doc": {"doc"},
    "xls": {"xls"},
    "ppt": {"ppt"},
    "wps": {"doc", "docx"},
    "et": {"xls", "xlsx"},
    "ofd": {"ofd"},
    "zip": {"zip", "docx", "xlsx", "pptx", "ofd"},
    "jpg": {"jpg"},
    "jpeg": {"jpg"},
    "png": {"png"},
    "gif": {"gif"},
    "mp4": {"mp4"},
    "txt": {"text"},
    "csv": {"text"},
}
_ZIPPED = {"zip", "docx", "xlsx", "pptx", "ofd"}
_FORBIDDEN_CHARS = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
MAX_NAME = 120  # characters kept of a longer name (the extension stays)
MAX_NAME_BYTES = 255  # what the file systems an operator saves to can hold
# Windows' device names: the part before the first dot, trailing spaces dropped (`CON .pdf`, `con.tar.pdf`)
_DEVICE = re.compile(r"^(con|prn|aux|nul|conin\$|conout\$|clock\$|com[0-9¹²³]|lpt[0-9¹²³]) *(\.|$)", re.IGNORECASE)


def _refuse(en: str, cn: str) -> SubmissionError:
    return SubmissionError(en, cn=cn)


def safe_name(raw: str) -> str:
    """The name to keep for an uploaded file; a name with path parts, nothing left or over 255 bytes is refused.

    Characters that change how a name is drawn (the right-to-left override that makes `报告\u202efdp.exe` read
    `报告exe.pdf`, zero-width and other format characters) are dropped, so the name an operator sees is the name
    the file has. Windows' device names (CON, PRN, AUX, NUL, CONIN$, CONOUT$, CLOCK$, COM0–9, LPT0–9 and COM¹²³,
    LPT¹²³, with any extension and with spaces before it: `CON .pdf`) cannot be saved on an operator's desktop: they
    get a leading underscore.
    """
    name = unicodedata.normalize("NFC", raw or "")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise _refuse(
            f"file name {_shown(raw)!r}… is over {MAX_NAME_BYTES} bytes; shorten it",
            f"文件名「{_shown(raw)[:40]}…」太长（超过 {MAX_NAME_BYTES} 字节，约 85 个汉字），已拒收。"
            "请改短文件名后再上传。",
        )
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cf", "Cs", "Co")).strip()
    if "/" in name or "\\" in name or name in (".", ".."):
        raise _refuse(
            f"file name {raw!r} contains a path; give the bare file name",
            f"文件名「{_shown(raw)}」含有路径（/、\\ 或 ..），已拒收。请直接选择文件上传，不要改动文件名中的路径。",
        )
    name = _FORBIDDEN_CHARS.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name or name.startswith("."):
        raise _refuse(f"file name {raw!r} is empty once made safe", f"文件名「{_shown(raw)}」无效，请改名后再上传。")
    if _DEVICE.match(name):
        name = "_" + name
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        keep = ("." + ext) if dot and len(ext) <= 8 else ""
        name = name[: MAX_NAME - len(keep)].rstrip(" .") + keep
    return name


def _shown(raw: str) -> str:
    shown = "".join(c for c in raw or "" if unicodedata.category(c) not in ("Cf", "Cs", "Co"))
    return _FORBIDDEN_CHARS.sub("?", shown)[:80]


def sniff(path: Path) -> str:
    """The format a file's content says it is (a key of KIND_CN), or 'unknown'."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    kind = sniff_head(head)
    if kind == "zip":
        members = zip_members(path)
        return "unknown" if members is None else package_kind([m.filename for m in members])
    if kind == "ole":
        return ole_kind(path)  # raises Refusal at macros or an embedded package
    return kind


def check_file(path: Path, name: str, allowed: list[str], *, max_bytes: int | None = None) -> str:
    """The format of file `path` (shown as `name`) if an item allowing `allowed` may accept it; else refuse."""
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise _refuse(
            f"{name}: {size:,} bytes is over the limit of {max_bytes:,}",
            f"文件「{name}」大小 {_mb(size)}，超过上限 {_mb(max_bytes)}，已拒收。请压缩或拆分后再上传。",
        )
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    ext = "jpg" if ext == "jpeg" else ext
    try:
        kind = sniff(path)
    except Refusal as refusal:
        raise _refuse(
            f"{name}: {refusal.en}; refused", f"文件「{name}」{refusal.cn}，已拒收。请上传真正的报送材料。"
        ) from None
    if kind in EXECUTABLES:
        raise _refuse(
            f"{name}: the content is an executable ({kind}), whatever its name says; refused",
            f"文件「{name}」的内容是{KIND_CN[kind]}，不是{_ext_cn(ext)}，已拒收。请上传真正的报送材料。",
        )
    if kind == "empty":
        raise _refuse(f"{name}: the file is empty", f"文件「{name}」是空文件（0 字节），请检查后重新上传。")
    try:  # what is inside first: a disguised program is told as one, whatever else is wrong with the name
        inspect(path, kind, ext, depth=0, budget=Budget())
    except Refusal as refusal:
        raise _refuse(
            f"{name}: {refusal.en}; refused", f"文件「{name}」{refusal.cn}，已拒收。请上传真正的报送材料。"
        ) from None
    if (allowed and ext not in allowed) or ext not in EXPECTED:
        listing = allowed or sorted(EXPECTED)
        raise _refuse(
            f"{name}: item accepts {', '.join(listing)}, not {ext or 'no extension'}",
            f"文件「{name}」的格式是 {ext or '（无扩展名）'}，本事项只接受 {'、'.join(listing)}。",
        )
    if kind not in EXPECTED[ext]:
        seen = KIND_CN.get(kind, "无法识别的内容")
        raise _refuse(
            f"{name}: the content is not {ext} (it looks like {kind})",
            f"文件「{name}」的扩展名是 {ext}，但内容是{seen}，不是{_ext_cn(ext)}。"
            "请用原软件另存为正确格式后再上传，不要只改扩展名。",
        )
    return ext


def inspect(path: Path, kind: str, ext: str, *, depth: int, budget: Budget, part: bool = False) -> None:
    """Read the whole of a file whose first bytes say `kind`; raise Refusal at anything runnable inside.
    `part`: a part of an Office or OFD package (its XML is content, not a text file to read for scripts)."""
    for data in mapped(path):
        program = embedded_program(data)
        if program:
            raise Refusal(f"a {program} program is embedded", f"中藏有{KIND_CN[program]}")
    if kind not in _ZIPPED and zipfile.is_zipfile(path):
        raise Refusal(
            "a ZIP archive is hidden in it (a polyglot)", f"不只是{KIND_CN.get(kind, '报送材料')}：里面还藏着一个压缩包"
        )
    if kind == "pdf":
        check_pdf(path)
    elif kind == "text" and not part:
        check_text(path, csv=ext == "csv")
    elif kind == "png":
        check_png(path)
    elif kind in _ZIPPED:
        if depth >= MAX_DEPTH:
            raise Refusal(f"archives nested more than {MAX_DEPTH} deep", f"里的压缩包嵌套超过 {MAX_DEPTH} 层，无法检查")
        walk_zip(path, kind, depth + 1, budget, _member(budget))


def _member(budget: Budget):  # noqa: ANN202
    def check(name: str, ext: str, path: Path, depth: int, package: bool) -> None:
        shown = name[-60:]
        kind = sniff(path)
        if kind in EXECUTABLES:
            raise Refusal(f"{name} is a {kind}", f"里的「{shown}」是{KIND_CN[kind]}")
        if package:
            check_part(name, path)
        else:
            ext = "jpg" if ext == "jpeg" else ext
            if ext not in EXPECTED:
                raise Refusal(
                    f"{name}: {ext or 'no extension'} is not a format an item accepts",
                    f"里的「{shown}」不是可接受的材料格式（{ext or '无扩展名'}）",
                )
            if kind not in EXPECTED[ext]:
                raise Refusal(
                    f"{name}: the content is not {ext} (it looks like {kind})",
                    f"里的「{shown}」扩展名是 {ext}，内容却是{KIND_CN.get(kind, '无法识别的内容')}",
                )
        try:
            inspect(path, kind, ext, depth=depth, budget=budget, part=package)
        except Refusal as inner:
            if inner.cn.startswith(("里的", "里有")):
                raise
            raise Refusal(f"{name}: {inner.en}", f"里的「{shown}」{inner.cn}") from None

    return check


def check_png(path: Path) -> None:
    """Chunks to IEND; bytes after it are somebody's payload."""
    for data in mapped(path):
        at = 8
        while at + 8 <= len(data):
            length = int.from_bytes(data[at : at + 4], "big")
            kind = data[at + 4 : at + 8]
            at += 12 + length
            if kind == b"IEND":
                if data[at:].strip(b"\0\r\n\t "):
                    raise Refusal("data follows the end of the image", "图片结尾之后还附带了其他数据")
                return


def _ext_cn(ext: str) -> str:
    kind = next(iter(EXPECTED.get(ext, ())), None) if ext not in ("doc", "xls", "wps", "et", "zip") else ext
    return KIND_CN.get(kind or "", f"{ext} 文件" if ext else "报送材料")


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"
