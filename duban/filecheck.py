"""What a handed-in file really is: its format read from its content (magic bytes), not only its name.

A file is accepted when its extension is one the item allows and its content is that format: `%PDF` for
pdf, an OOXML package ([Content_Types].xml with word/ or xl/) for docx and xlsx, an OLE compound file with
a WordDocument or Workbook stream for doc and xls, and so on. Executables (MZ, ELF, Mach-O, scripts) are
refused whatever the extension, and so are archives that carry them. Names are made safe for every
operator's disk: no path parts, no control characters, no characters Windows forbids.

Every refusal is a SubmissionError with an English message (CLI) and a Chinese one (`cn`, the portal).
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

from duban.errors import SubmissionError

KIND_CN = {
    "pdf": "PDF 文件", "docx": "Word 文档（docx）", "xlsx": "Excel 表格（xlsx）", "pptx": "PowerPoint 演示文稿（pptx）",
    "doc": "Word 97-2003 文档（doc）", "xls": "Excel 97-2003 表格（xls）", "ppt": "PowerPoint 97-2003 演示文稿（ppt）",
    "ole": "Office 97-2003 文件", "ofd": "OFD 版式文件", "zip": "ZIP 压缩包", "jpg": "JPEG 图片", "png": "PNG 图片",
    "gif": "GIF 图片", "mp4": "MP4 视频", "text": "纯文本", "exe": "Windows 可执行程序", "elf": "Linux 可执行程序",
    "macho": "macOS 可执行程序", "script": "脚本程序", "empty": "空文件",
}  # fmt: skip
EXECUTABLES = {"exe", "elf", "macho", "script"}
# What content each extension must carry. wps/et are WPS Office's own names for Word/Excel-compatible files.
EXPECTED = {
    "pdf": {"pdf"}, "docx": {"docx"}, "xlsx": {"xlsx"}, "pptx": {"pptx"}, "doc": {"doc", "ole"},
    "xls": {"xls", "ole"}, "ppt": {"ppt", "ole"}, "wps": {"doc", "ole", "docx"}, "et": {"xls", "ole", "xlsx"},
    "ofd": {"ofd"}, "zip": {"zip", "docx", "xlsx", "pptx", "ofd"}, "jpg": {"jpg"}, "jpeg": {"jpg"}, "png": {"png"},
    "gif": {"gif"}, "mp4": {"mp4"}, "txt": {"text"}, "csv": {"text"},
}  # fmt: skip
_RISKY_MEMBERS = (".exe", ".dll", ".com", ".scr", ".bat", ".cmd", ".msi", ".vbs", ".js", ".jar", ".ps1", ".sh", ".lnk")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FORBIDDEN_CHARS = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
MAX_NAME = 120  # characters kept of a longer name (the extension stays)
MAX_NAME_BYTES = 255  # what the file systems an operator saves to can hold
_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)", re.IGNORECASE)


def _refuse(en: str, cn: str) -> SubmissionError:
    return SubmissionError(en, cn=cn)


def safe_name(raw: str) -> str:
    """The name to keep for an uploaded file; a name with path parts, nothing left or over 255 bytes is refused.

    Characters that change how a name is drawn (the right-to-left override that makes `报告\u202efdp.exe` read
    `报告exe.pdf`, zero-width and other format characters) are dropped, so the name an operator sees is the name
    the file has. Windows' device names (CON, PRN, AUX, NUL, COM1–9, LPT1–9, with any extension) cannot be saved
    on an operator's desktop: they get a leading underscore.
    """
    name = unicodedata.normalize("NFC", raw or "")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise _refuse(f"file name {_shown(raw)!r}… is over {MAX_NAME_BYTES} bytes; shorten it",
                      f"文件名「{_shown(raw)[:40]}…」太长（超过 {MAX_NAME_BYTES} 字节，约 85 个汉字），已拒收。请改短文件名后再上传。")  # fmt: skip
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cf", "Cs", "Co")).strip()
    if "/" in name or "\\" in name or name in (".", ".."):
        raise _refuse(f"file name {raw!r} contains a path; give the bare file name",
                      f"文件名「{_shown(raw)}」含有路径（/、\\ 或 ..），已拒收。请直接选择文件上传，不要改动文件名中的路径。")  # fmt: skip
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
    if not head:
        return "empty"
    if head[:2] == b"MZ":
        return "exe"
    if head[:4] == b"\x7fELF":
        return "elf"
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce", b"\xca\xfe\xba\xbe"):
        return "macho"
    if head[:2] == b"#!":
        return "script"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(path)
    if head[:8] == _OLE:
        return _ole_kind(path)
    if b"%PDF-" in head[:1024]:  # readers accept a header anywhere in the first 1 KB
        return "pdf"
    if head[:3] == b"\xff\xd8\xff":
        return "jpg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp":
        return "mp4"
    if b"\x00" not in head and _decodes(head):
        return "text"
    return "unknown"


def _decodes(head: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError:
            # the 8 KB cut may split a character: allow a few trailing bytes
            try:
                head[:-3].decode(encoding)
                return True
            except UnicodeDecodeError:
                continue
    return False


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "unknown"
    if any(n.lower().endswith(_RISKY_MEMBERS) for n in names):
        return "exe"
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                return kind
    if "OFD.xml" in names:
        return "ofd"
    return "zip"


def _ole_kind(path: Path) -> str:
    data = path.read_bytes()  # bounded by the upload limit; the directory may sit anywhere in the file
    for stream, kind in (("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"), ("PowerPoint Document", "ppt")):
        if stream.encode("utf-16-le") in data:
            return kind
    return "ole"


def check_file(path: Path, name: str, allowed: list[str], *, max_bytes: int | None = None) -> str:
    """The format of file `path` (shown as `name`) if an item allowing `allowed` may accept it; else refuse."""
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise _refuse(f"{name}: {size:,} bytes is over the limit of {max_bytes:,}",
                      f"文件「{name}」大小 {_mb(size)}，超过上限 {_mb(max_bytes)}，已拒收。请压缩或拆分后再上传。")  # fmt: skip
    kind = sniff(path)
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    ext = "jpg" if ext == "jpeg" else ext
    if kind in EXECUTABLES:
        raise _refuse(f"{name}: the content is an executable ({kind}), whatever its name says; refused",
                      f"文件「{name}」的内容是{KIND_CN[kind]}，不是{_ext_cn(ext)}，已拒收。请上传真正的报送材料。")  # fmt: skip
    if kind == "empty":
        raise _refuse(f"{name}: the file is empty", f"文件「{name}」是空文件（0 字节），请检查后重新上传。")
    if allowed and ext not in allowed:
        raise _refuse(f"{name}: item accepts {', '.join(allowed)}, not {ext or 'no extension'}",
                      f"文件「{name}」的格式是 {ext or '（无扩展名）'}，本事项只接受 {'、'.join(allowed)}。")  # fmt: skip
    expected = EXPECTED.get(ext)
    if expected is not None and kind not in expected:
        seen = KIND_CN.get(kind, "无法识别的内容")
        raise _refuse(f"{name}: the content is not {ext} (it looks like {kind})",
                      f"文件「{name}」的扩展名是 {ext}，但内容是{seen}，不是{_ext_cn(ext)}。"
                      "请用原软件另存为正确格式后再上传，不要只改扩展名。")  # fmt: skip
    return ext


def _ext_cn(ext: str) -> str:
    kind = next(iter(EXPECTED.get(ext, ())), None) if ext not in ("doc", "xls", "wps", "et", "zip") else ext
    return KIND_CN.get(kind or "", f"{ext} 文件" if ext else "报送材料")


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"
