"""What a whole file is, inside and out: the first bytes name a format, and the rest must not disagree.

`sniff_head` reads a format from a file's first bytes. `inspect` then reads the whole file, in bounded time and
memory (it streams, and archives are spooled to disk), and refuses anything a computer could run:

- everywhere: a Windows (PE), Linux (ELF) or macOS (Mach-O) program embedded at any offset, and a ZIP hidden
  behind another format (a PDF+ZIP or image+ZIP polyglot);
- text (txt, csv): scripts — a shebang, batch, PowerShell, VBScript/JScript, HTA/HTML/WSF markup, Python, PHP,
  registry files and shortcuts — and, in a CSV, cells a spreadsheet would run (`=…`, `@…`, `+cmd…`, DDE);
- PDF: the header at byte 0 and the trailer (startxref, %%EOF) at the end, so a script that merely contains
  `%PDF-` is no PDF; no JavaScript, launch actions, embedded files or rich media, also when the names are
  #-escaped or sit in compressed object streams; no script text outside the streams;
- Office 97-2003 (doc/xls/ppt): no VBA macros and no embedded packages (Ole10Native);
- ZIP-based files (docx/xlsx/pptx, OFD, zip): every member, recursively to MAX_DEPTH archives deep: names that end
  (after Windows drops trailing dots and spaces) in a runnable extension, encrypted members, unsafe paths, macro
  projects and ActiveX are refused; each member is checked as a file of its own, and in a plain ZIP every member
  must be a format an item accepts (see duban.domain.filecheck.EXPECTED). At most MAX_MEMBERS members and
  MAX_INFLATED bytes inflated in all, and no member inflating more than MAX_RATIO times its size.

A refusal is a Refusal with the English and Chinese reason; duban.domain.filecheck turns it into a SubmissionError.
"""

from __future__ import annotations

import codecs
import mmap
import re
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

MAX_DEPTH, MAX_MEMBERS, MAX_INFLATED, MAX_RATIO = 3, 2000, 256 * 1024 * 1024, 200
CHUNK = 1 << 20
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
RUNNABLE = frozenset(
    "exe dll com scr bat cmd msi msp mst vbs vbe js jse wsf wsh wsc hta jar ps1 psm1 psd1 ps1xml sh bash zsh csh ksh "
    "lnk pif cpl msc reg inf scf url application gadget py pyw pyc pyz pl rb php phar lua tcl apk app deb rpm dmg "
    "pkg iso img vhd vhdx chm hlp appx appxbundle msix msixbundle sys drv ocx xll xlam docm dotm xlsm xltm pptm "
    "potm ppam sldm elf bin run command desktop service crx xpi ahk au3 iqy slk settingcontent-ms library-ms "
    "search-ms mht mhtml html htm svg xhtml xml xsl".split()
)  # fmt: skip
# inside an Office or OFD package, parts carry these names by design: xml and friends are its content, not a risk
_PACKAGE_PARTS = frozenset({"xml", "rels", "vml", "bin", "svg"})


class Refusal(Exception):
    """Why a file is refused: `en` for the CLI, `cn` (a clause to follow 「name」) for the portal."""

    def __init__(self, en: str, cn: str) -> None:
        super().__init__(en)
        self.en, self.cn = en, cn


# ── formats from the first bytes ─────────────────────────────────────────────────────────────────────────────
_MACHO = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce", b"\xca\xfe\xba\xbe")


def sniff_head(head: bytes) -> str:
    """The format the first bytes say (a key of duban.domain.filecheck.KIND_CN), or 'unknown'."""
    if not head:
        return "empty"
    if head[:2] == b"MZ":
        return "exe"
    if head[:4] == b"\x7fELF":
        return "elf"
    if head[:4] in _MACHO:
        return "macho"
    if head[:4] == b"L\0\0\0" and head[4:8] == b"\x01\x14\x02\x00":
        return "shortcut"
    if head[:2] == b"#!" or head[:4] in (b"\0asm", b"dex\n"):
        return "script"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"  # duban.domain.filecheck tells docx, xlsx, pptx and OFD apart by the members
    if head[:8] == OLE:
        return "ole"
    if head[:5] == b"%PDF-":
        return "pdf"
    if head[:3] == b"\xff\xd8\xff":
        return "jpg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] in (b"Rar!", b"7z\xbc\xaf") or head[:3] == b"\x1f\x8b\x08":
        return "archive"
    if _text_encoding(head) is not None:
        return "text"
    return "unknown"


def _text_encoding(head: bytes) -> str | None:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if b"\x00" in head:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        for cut in (0, 1, 2, 3):  # the 8 KB cut may split a character
            try:
                head[: len(head) - cut].decode(encoding)
                return encoding
            except UnicodeDecodeError:
                continue
    return None


# ── programs hidden anywhere ─────────────────────────────────────────────────────────────────────────────────
_ELF = re.compile(rb"\x7fELF[\x01\x02][\x01\x02]\x01")
_MZ = re.compile(rb"MZ")


def embedded_program(data, start: int = 0, end: int | None = None) -> str | None:
    """'exe' or 'elf' when a program's header sits in data[start:end] (a buffer or mmap), else None.

    A Windows program is an MZ header whose e_lfanew field points at "PE\\0\\0"; an ELF one its 7-byte ident.
    Random bytes (a compressed image) make neither by chance."""
    end = len(data) if end is None else end
    if _ELF.search(data, start, end):
        return "elf"
    for found in _MZ.finditer(data, start, end):
        at = found.start()
        field = data[at + 0x3C : at + 0x40]
        if len(field) == 4:
            offset = int.from_bytes(field, "little")
            if 0x40 <= offset <= 0x1000 and data[at + offset : at + offset + 4] == b"PE\0\0":
                return "exe"
    return None


def mapped(path: Path) -> Iterator[mmap.mmap | bytes]:
    """The file's bytes without reading them into memory."""
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            yield b""
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


# ── scripts in text ──────────────────────────────────────────────────────────────────────────────────────────
_SCRIPT = re.compile("|".join((
    r"\A\ufeff?#!", r"<\s*script\b", r"<\s*hta\s*:", r"<\s*job\b", r"<\s*package\b", r"<\s*scriptlet\b",
    r"<\s*(?:html|body|iframe|object|embed)\b", r"<\?php", r"\bjavascript\s*:", r"\bvbscript\s*:",
    r"^\s*@?\s*echo\s+(?:off|on)\b", r"%comspec%", r"%~\w*\d", r"^\s*(?:goto|call)\s+:",
    r"^\s*set\s+/?[a-z_]\w*\s*=", r"^\s*if\s+(?:not\s+)?(?:exist|errorlevel|defined)\b", r"^\s*for\s+/[fdlr]\b",
    r"^\s*start\s+\"", r"\b(?:cmd|powershell|pwsh|mshta|rundll32|regsvr32|certutil|bitsadmin|wscript|cscript|"
    r"schtasks|msiexec|wmic)(?:\.exe)?\s+[/-]\w", r"\binvoke-(?:expression|webrequest|restmethod|item|command)\b",
    r"\biex\s*[(\"'$]", r"\bnew-object\b", r"\bdownload(?:string|file)\b", r"-(?:enc|encodedcommand)\s+[a-z0-9+/=]{8}",
    r"\bstart-process\b", r"\$env:", r"\bset-executionpolicy\b", r"\bfrombase64string\b", r"\[system\.",
    r"\bcreateobject\s*\(", r"\bgetobject\s*\(", r"\bwscript\.", r"\bactivexobject\b", r"\bshell\.application\b",
    r"^\s*(?:private\s+|public\s+)?(?:sub|function)\s+\w+\s*\(", r"\b(?:autoopen|document_open|workbook_open)\b",
    r"^\s*import\s+[a-z_][\w.]*(?:\s*,\s*[a-z_][\w.]*)*\s*$", r"^\s*from\s+[a-z_.][\w.]*\s+import\s+",
    r"^\s*def\s+\w+\s*\(.*\)\s*(?:->.*)?:\s*$", r"^\s*class\s+\w+\s*(?:\(.*\))?\s*:\s*$", r"\b__import__\s*\(",
    r"\b(?:exec|eval|compile|system|popen|spawn\w*|passthru|shell_exec)\(", r"\bos\.\w+\s*\(",
    r"\bsubprocess\b", r"^\s*if\s+__name__\s*==", r"\bfunction\s*\w*\s*\([^)]*\)\s*\{", r"\brequire\s*\(",
    r"=>\s*\{", r"\bdocument\.(?:write|cookie|location)\b", r"\bwindow\.(?:location|open)\b",
    r"\b(?:curl|wget)\b[^\n]*\|\s*(?:ba|z|k|c)?sh\b", r"\bchmod\s+[+0-7]", r"/bin/(?:ba|z|k|c)?sh\b",
    r"\brm\s+-[rf]", r"^\s*use\s+strict\b", r"^\s*windows\s+registry\s+editor\b", r"^\s*regedit4\b",
    r"^\s*\[(?:internetshortcut|shell|autorun|desktop entry|\.shellclassinfo)\]",
    r"[=+\-@]\s*[\w.]+\s*\|\s*'[^'\n]*'\s*!",  # a spreadsheet's DDE call: =cmd|' /C calc'!A0
)), re.IGNORECASE | re.MULTILINE)  # fmt: skip
_CSV_FORMULA = re.compile(r"(?:^|[,;\t])[ \t]*\"?[ \t]*(?:[=@]|[+\-][ \t]*[^\d\s.,;\"])", re.MULTILINE)


def script_in(text: str, *, csv: bool = False) -> str | None:
    """The first run of `text` that makes it a script (or, in a CSV, a cell a spreadsheet would run), or None."""
    found = _SCRIPT.search(text) or (_CSV_FORMULA.search(text) if csv else None)
    return found.group(0).strip()[:40] if found else None


def check_text(path: Path, csv: bool) -> None:
    with path.open("rb") as handle:
        encoding = _text_encoding(handle.read(8192)) or "utf-8"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)("replace")
        tail = ""
        first = True
        for block in iter(lambda: handle.read(CHUNK), b""):
            if encoding != "utf-16" and b"\x00" in block:
                raise Refusal("binary data in a text file", "含有二进制数据，不是纯文本")
            text = decoder.decode(block)
            window = text if first else tail + text
            found = script_in(window, csv=csv) if first else script_in(window.split("\n", 1)[-1], csv=csv)
            if found:
                raise Refusal(f"the text is a script ({found!r})", f"是一段可执行的脚本（含「{found}」）")
            tail, first = text[-400:], False


# ── PDF ──────────────────────────────────────────────────────────────────────────────────────────────────────
_STREAM = re.compile(rb"stream\r?\n")
_ENDSTREAM = re.compile(rb"\bendstream\b")
_NAME = re.compile(rb"/[A-Za-z0-9#_.\-]+")
_ACTIVE = {b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/EmbeddedFiles", b"/RichMedia", b"/ImportData"}
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
MAX_OBJECT_STREAM, MAX_OBJECT_STREAMS = 8 << 20, 64 << 20  # inflated bytes of one object stream, of all of a PDF's


def check_pdf(path: Path) -> None:
    for data in mapped(path):
        tail = data[max(0, len(data) - 1024) :]
        if b"startxref" not in tail or not tail.rstrip(b"\r\n\t \0").endswith(b"%%EOF"):
            raise Refusal("no PDF trailer (startxref … %%EOF) at the end", "不是完整的 PDF 文件（文件末尾没有 PDF 的结尾标记）")
        outside, position, inflated = [], 0, 0
        while True:
            found = _STREAM.search(data, position)
            if found is None:
                outside.append((position, len(data)))
                break
            outside.append((position, found.start()))
            end = _ENDSTREAM.search(data, found.end())
            stop = end.start() if end else len(data)
            dictionary = data[max(position, found.start() - 512) : found.start()]
            if b"/ObjStm" in dictionary and b"FlateDecode" in dictionary:
                content = _inflate(data[found.end() : stop], min(MAX_OBJECT_STREAM, MAX_OBJECT_STREAMS - inflated))
                inflated += len(content)
                _pdf_names(content)
            position = end.end() if end else len(data)
        for start, stop in outside:
            _pdf_names(data[start:stop])
            found = script_in(data[start:stop].decode("latin-1"))
            if found:
                raise Refusal(f"script text in the PDF ({found!r})", f"夹带了脚本（含「{found}」）")


def _inflate(raw: bytes, budget: int) -> bytes:
    engine = zlib.decompressobj()
    try:
        content = engine.decompress(raw, max(budget, 0) + 1)
    except zlib.error:
        return b""
    if len(content) > budget:
        raise Refusal("the PDF's object streams inflate beyond the bound", "PDF 内部的压缩数据过大，无法检查")
    return content


def _pdf_names(region: bytes) -> None:
    for name in _NAME.findall(region):
        plain = _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), name) if b"#" in name else name
        if plain in _ACTIVE:
            word = plain.decode("latin-1")[1:]
            raise Refusal(f"the PDF carries {word} (it can run or drop a program)",
                          f"含有可执行的内容（{word}：脚本、启动程序或内嵌文件）")  # fmt: skip


# ── Office 97-2003 (OLE compound files) ──────────────────────────────────────────────────────────────────────
def ole_has(data, name: str) -> bool:
    """Whether an OLE file's directory has a storage or stream called `name`: a directory entry is 128 bytes on a
    128-byte boundary, its UTF-16 name NUL-ended, the name's length in bytes at +64 and its type at +66."""
    pattern = name.encode("utf-16-le") + b"\0\0"
    for found in re.finditer(re.escape(pattern), data):
        at = found.start()
        if at % 128 == 0 and at >= 512 and int.from_bytes(data[at + 64 : at + 66], "little") == len(pattern) \
                and data[at + 66 : at + 67] in (b"\x01", b"\x02"):
            return True
    return False


_MACROS = ("_VBA_PROJECT", "_VBA_PROJECT_CUR", "VBA", "Macros", "\x01Ole10Native", "Ole10Native")


def ole_kind(path: Path) -> str:
    """doc, xls, ppt or ole; macros and embedded packages refused."""
    for data in mapped(path):
        for entry in _MACROS:
            if ole_has(data, entry):
                what = "嵌入的程序包" if "Ole10Native" in entry else "宏代码（VBA）"
                raise Refusal(f"the Office file carries {entry.strip(chr(1))}", f"含有{what}，可能被执行")
        for stream, kind in (("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"),
                             ("PowerPoint Document", "ppt")):  # fmt: skip
            if ole_has(data, stream):
                return kind
    return "ole"


# ── ZIP and the packages built on it ─────────────────────────────────────────────────────────────────────────
class Budget:
    """What one upload may cost to open: members and inflated bytes, over every nested archive."""

    def __init__(self) -> None:
        self.members = 0
        self.inflated = 0


def member_extension(name: str) -> str:
    """A member's extension as Windows sees it: trailing dots and spaces dropped, case folded."""
    base = unicodedata.normalize("NFKC", name.replace("\\", "/").rsplit("/", 1)[-1]).rstrip(" .\t\u3000")
    return base.rpartition(".")[2].lower() if "." in base else ""


def zip_members(path: Path) -> list[zipfile.ZipInfo] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return None


def package_kind(names: list[str]) -> str:
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                return kind
    if "OFD.xml" in names:
        return "ofd"
    return "zip"


def walk_zip(path: Path, kind: str, depth: int, budget: Budget, check_member) -> None:  # noqa: ANN001
    """Open every member of a ZIP-based file (spooled to disk, bounded) and hand it to `check_member`
    (name, extension, path, depth: the archives around it, package: a part of an Office or OFD file) — the caller
    checks it as a file of its own."""
    package = kind != "zip"
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        raise Refusal("the ZIP cannot be read", "已损坏或不是完整的压缩包，无法检查") from None
    with archive, tempfile.TemporaryDirectory(prefix="duban-scan-") as folder:
        if package and "[Content_Types].xml" in archive.namelist():
            types = _read(archive, archive.getinfo("[Content_Types].xml"), budget, Path(folder) / "types")
            with types.open("rb") as handle:
                text = handle.read(4 * 1024 * 1024).lower()
            if b"macroenabled" in text or b"vbaproject" in text or b"activex" in text:
                raise Refusal("the Office file declares macros or ActiveX", "含有宏代码或 ActiveX 控件，可能被执行")
        for index, info in enumerate(archive.infolist()):
            budget.members += 1
            if budget.members > MAX_MEMBERS:
                raise Refusal(f"more than {MAX_MEMBERS} files in the archive", f"里的文件超过 {MAX_MEMBERS} 个，无法检查")
            name = info.filename
            if info.is_dir():
                continue
            shown = name[-60:]
            if info.flag_bits & 0x1:
                raise Refusal(f"{name}: encrypted", f"里的「{shown}」加了密码，无法检查")
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[a-zA-Z]:", name):
                raise Refusal(f"{name}: an unsafe path", f"里的「{shown}」路径不安全（含 .. 或绝对路径）")
            ext = member_extension(name)
            lowered = name.lower()
            if ext in RUNNABLE and not (package and ext in _PACKAGE_PARTS):
                raise Refusal(f"{name}: an executable or script file ({ext})", f"里有可执行或脚本文件「{shown}」")
            if package and ("vbaproject" in lowered or "activex" in lowered or "vbadata" in lowered):
                raise Refusal(f"{name}: macros or ActiveX", f"含有宏代码或 ActiveX 控件（{shown}）")
            spooled = _read(archive, info, budget, Path(folder) / str(index))
            check_member(name, ext, spooled, depth, package)
            spooled.unlink()


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, target: Path) -> Path:
    """A member copied out to `target`, counting what it inflates to against the budget and its ratio."""
    written = 0
    try:
        with archive.open(info) as source, target.open("wb") as out:
            for block in iter(lambda: source.read(CHUNK), b""):
                written += len(block)
                budget.inflated += len(block)
                if budget.inflated > MAX_INFLATED:
                    raise Refusal("the archive inflates beyond the bound",
                                  f"解压后超过 {MAX_INFLATED // 1024 // 1024} MB，无法检查")  # fmt: skip
                if written > 1024 * 1024 and written > MAX_RATIO * max(info.compress_size, 1):
                    raise Refusal(f"{info.filename}: inflates over {MAX_RATIO} times (a zip bomb)",
                                  f"里的「{info.filename[-60:]}」压缩比异常（疑似压缩炸弹）")  # fmt: skip
                out.write(block)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, zlib.error) as exc:
        raise Refusal(f"{info.filename}: cannot be read ({exc})", f"里的「{info.filename[-60:]}」已损坏，无法检查") from None
    return target

