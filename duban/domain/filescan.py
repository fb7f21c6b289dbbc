"""What a whole file is, inside and out: the first bytes name a format, and the rest must not disagree.

`sniff_head` reads a format from a file's first bytes. `inspect` then reads the whole file, in bounded time and
memory (it streams, and archives are spooled to disk), and refuses anything a computer could run:

- everywhere: a Windows (PE), Linux (ELF) or macOS (Mach-O) program embedded at any offset, and a ZIP hidden
  behind another format (a PDF+ZIP or image+ZIP polyglot);
- text (txt, csv; UTF-8, GB18030 or UTF-16, read to the end): scripts anywhere in it — a shebang, batch (`@echo`,
  `::`, `start x.exe`, `del /…`, `cmd /c`, `powershell -…`, `reg add`), PowerShell, VBScript/JScript, AutoIt,
  HTA/HTML/WSF markup, a tag with an on…= handler (SVG), an XSL stylesheet or external entity, Python, PHP, shell,
  registry files, shortcuts and web queries (.iqy) — a program written out in Base64, and, in a CSV, cells a
  spreadsheet would run (`=…`, `@…`, `+cmd…`, DDE);
- PDF: the header at byte 0 and the trailer (startxref, %%EOF) at the end, so a script that merely contains
  `%PDF-` is no PDF; every stream decoded as a reader decodes it (ASCIIHex, ASCII85, RunLength, LZW, Flate, chains
  of them, PNG/TIFF predictors, a truncated Flate stream as far as it goes); no JavaScript, launch actions,
  embedded files, file attachments or rich media, also when the names are #-escaped or sit in object streams; no
  XFA <script>, no program or ZIP in any decoded stream; no script text outside the streams; a stream that cannot
  be decoded (an unknown filter, an encrypted PDF) is refused rather than trusted;
- Office 97-2003 (doc/xls/ppt): no VBA macros and no embedded packages (Ole10Native);
- ZIP-based files (docx/xlsx/pptx, OFD, zip): every member, recursively to MAX_DEPTH archives deep: names that end
  (after Windows drops trailing dots and spaces) in a runnable extension, encrypted members, unsafe paths, macro
  projects and ActiveX are refused; each member is checked as a file of its own, and in a plain ZIP every member
  must be a format an item accepts (see duban.domain.filecheck.EXPECTED). Before anything is inflated, the
  central directory is bounded: at most MAX_MEMBERS members and MAX_INFLATED bytes declared in all (nested archives
  included), the whole archive at most MAX_RATIO times its packed size; symbolic links, names with `:` (NTFS
  streams) and an encrypted flag in either header are refused. While inflating no member may exceed its ratio;
- Office packages: Excel 4.0 macro sheets, a VBA project in any OLE member (whatever its name), DDE (DDE/DDEAUTO
  field codes, ddeLink, `cmd|' /C calc'!A0` formulas, WEBSERVICE/CALL/REGISTER/EXEC, IMAGE(url) and RTD, which
  fetch or run something when the file is opened), and relationships that fetch
  from elsewhere on opening (an external template, OLE object, frame, sub-document, aFChunk; an image on a share
  or file: path; protocol handlers such as ms-msdt: or mhtml:) are refused (`check_part`).

A refusal is a Refusal with the English and Chinese reason; duban.domain.filecheck turns it into a SubmissionError.
"""

from __future__ import annotations

import base64
import codecs
import html
import mmap
import re
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

MAX_DEPTH, MAX_MEMBERS, MAX_INFLATED, MAX_RATIO = 3, 2000, 256 * 1024 * 1024, 200
CHUNK = 1 << 20
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
RUNNABLE = frozenset(
    "exe dll com scr bat cmd msi msp mst vbs vbe js jse wsf wsh wsc hta jar ps1 psm1 psd1 ps1xml sh bash zsh csh ksh "
    "lnk pif cpl msc reg inf scf url application gadget py pyw pyc pyz pl rb php phar lua tcl apk app deb rpm dmg "
    "pkg iso img vhd vhdx chm hlp appx appxbundle msix msixbundle sys drv ocx xll xlam docm dotm xlsm xltm pptm "
    "potm ppam sldm elf bin run command desktop service crx xpi ahk au3 iqy slk settingcontent-ms library-ms "
    "search-ms mht mhtml html htm svg xhtml xml xsl".split()
)
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
# What makes text a script, each rule with the words (lower case) one of which a match must contain: a rule runs only
# on text holding one of its words, so a 20 MB text costs a few substring searches, not 80 regular expressions at
# every character. None: the rule always runs (it starts with a rare character).
_PROGRAMS = (
    "cmd",
    "powershell",
    "pwsh",
    "mshta",
    "rundll32",
    "regsvr32",
    "certutil",
    "bitsadmin",
    "wscript",
    "cscript",
    "schtasks",
    "msiexec",
    "wmic",
)
_RULES: list[tuple[tuple[str, ...] | None, str]] = [
    (("#!",), r"\A\ufeff?#!"),
    (("script",), r"<\s*(?:[\w.-]+:)?script\b"),
    (("hta",), r"<\s*hta\s*:"),
    (("job",), r"<\s*job\b"),
    (("package",), r"<\s*package\b"),
    (("html", "body", "iframe", "object", "embed"), r"<\s*(?:html|body|iframe|object|embed)\b"),
    (("<?php",), r"<\?php"),
    (("javascript",), r"\bjavascript\s*:"),
    (("vbscript",), r"\bvbscript\s*:"),
    # batch
    (("echo",), r"^\s*@?\s*echo\s+(?:off|on)\b|^\s*@\s*echo\b"),
    (("%comspec%",), r"%comspec%"),
    (("%~",), r"%~\w*\d"),
    (("goto", "call"), r"^\s*(?:goto|call)\s+:"),
    (("set",), r"^\s*set\s+/?[a-z_]\w*\s*="),
    (("exist", "errorlevel", "defined"), r"^\s*if\s+(?:not\s+)?(?:exist|errorlevel|defined)\b"),
    (("for",), r"^\s*for\s+/[fdlr]\b"),
    (("::",), r"^[ \t]*::(?![0-9a-f:.]*[ \t]*\r?$)"),
    (
        ("start",),
        r"^\s*start\s+(?:\"|/\w|%|[\w.\\:~-]+\.(?:exe|bat|cmd|com|vbs|vbe|js|jse|wsf|hta|ps1|msi|lnk|scr|pif"
        r"|url)\b|(?:https?|file|ms-[\w-]+|shell):)",
    ),
    (("del", "erase", "rd", "rmdir"), r"^\s*(?:del|erase|rd|rmdir)\s+/[a-z]\b"),
    (("powershell", "pwsh"), r"^\s*(?:powershell|pwsh)(?:\.exe)?(?=\s+[-/\"'(&$]|\s*$)"),
    (("reg",), r"^\s*reg(?:\.exe)?\s+(?:add|delete|import|load|save|copy|restore)\s+\S"),
    (_PROGRAMS, r"\b(?:" + "|".join(_PROGRAMS) + r")(?:\.exe)?\s+[/-]\w"),
    # PowerShell, VBScript, JScript
    (("invoke-",), r"\binvoke-(?:expression|webrequest|restmethod|item|command)\b"),
    (("iex",), r"\biex\s*[(\"'$]"),
    (("new-object",), r"\bnew-object\b"),
    (("download",), r"\bdownload(?:string|file)\b"),
    (("-enc",), r"-(?:enc|encodedcommand)\s+[a-z0-9+/=]{8}"),
    (("start-process",), r"\bstart-process\b"),
    (("$env:",), r"\$env:"),
    (("set-executionpolicy",), r"\bset-executionpolicy\b"),
    (("frombase64string",), r"\bfrombase64string\b"),
    (("[system.",), r"\[system\."),
    (("createobject",), r"\bcreateobject\s*\("),
    (("getobject",), r"\bgetobject\s*\("),
    (("wscript.",), r"\bwscript\."),
    (("activexobject",), r"\bactivexobject\b"),
    (("shell.application",), r"\bshell\.application\b"),
    (("sub", "function"), r"^\s*(?:private\s+|public\s+)?(?:sub|function)\s+\w+\s*\("),
    (("autoopen", "document_open", "workbook_open"), r"\b(?:autoopen|document_open|workbook_open)\b"),
    # AutoIt
    (("run", "shellexecute"), r"^\s*(?:run|runwait|shellexecute|shellexecutewait)\s*\(\s*[\"'@$]"),
    # Python, PHP, JavaScript, shell, Perl
    (("import",), r"^\s*import\s+[a-z_][\w.]*(?:\s*,\s*[a-z_][\w.]*)*\s*$|^\s*from\s+[a-z_.][\w.]*\s+import\s+"),
    (("def",), r"^\s*def\s+\w+\s*\(.*\)\s*(?:->.*)?:\s*$"),
    (("class",), r"^\s*class\s+\w+\s*(?:\(.*\))?\s*:\s*$"),
    (("__import__",), r"\b__import__\s*\("),
    (
        ("exec(", "eval(", "compile(", "system(", "popen(", "spawn", "passthru(", "shell_exec("),
        r"\b(?:exec|eval|compile|system|popen|spawn\w*|passthru|shell_exec)\(",
    ),
    (("os.",), r"\bos\.\w+\s*\("),
    (("subprocess",), r"\bsubprocess\b"),
    (("__name__",), r"^\s*if\s+__name__\s*=="),
    (("function",), r"\bfunction\s*\w*\s*\([^)]*\)\s*\{"),
    (("require",), r"\brequire\s*\("),
    (("=>",), r"=>\s*\{"),
    (("document.",), r"\bdocument\.(?:write|cookie|location)\b"),
    (("window.",), r"\bwindow\.(?:location|open)\b"),
    (("curl", "wget"), r"\b(?:curl|wget)\b[^\n]*\|\s*(?:ba|z|k|c)?sh\b"),
    (("chmod",), r"\bchmod\s+[+0-7]"),
    (("/bin/",), r"/bin/(?:ba|z|k|c)?sh\b"),
    (("rm",), r"\brm\s+-[rf]"),
    (("strict",), r"^\s*use\s+strict\b"),
    # registry files, shortcuts, web queries
    (("registry",), r"^\s*windows\s+registry\s+editor\b"),
    (("regedit4",), r"^\s*regedit4\b"),
    (
        ("internetshortcut", "[shell]", "autorun", "desktop entry", "shellclassinfo"),
        r"^\s*\[(?:internetshortcut|shell|autorun|desktop entry|\.shellclassinfo)\]",
    ),
    (("web",), r"^[ \t]*WEB[ \t]*\r?\n[ \t]*\d[ \t]*\r?\n[ \t]*(?:https?|ftp|file)://"),  # an Excel web query (.iqy)
    # markup that runs or fetches: an event handler on a tag (SVG onload=), an XSL stylesheet, an external entity
    (None, r"<[a-z][\w:.-]*\s(?:[^<>]{0,2000}?\s)?on[a-z]+\s*="),
    (("xml-stylesheet",), r"<\?\s*xml-stylesheet\b"),
    (("entity",), r"<!ENTITY\s+(?:%\s*)?[\w.:-]+\s+(?:SYSTEM|PUBLIC)\b"),
    (("|",), r"[=+\-@]\s*[\w.]+\s*\|\s*'[^'\n]*'\s*!"),  # a spreadsheet's DDE call: =cmd|' /C calc'!A0
]
_COMPILED = [(words, re.compile(rule, re.IGNORECASE | re.MULTILINE)) for words, rule in _RULES]
# a lone CR starts a row as well: Excel and LibreOffice split a classic Mac CSV there (an outside tester's finding)
_CSV_FORMULA = re.compile(r"(?:^|[\r,;\t])[ \t]*\"?[ \t]*(?:[=@]|[+\-][ \t]*[^\d\s.,;\"])", re.MULTILINE)


def script_in(text: str, *, csv: bool = False) -> str | None:
    """The first run of `text` that makes it a script (or, in a CSV, a cell a spreadsheet would run), or None."""
    lowered = text.lower()
    for words, rule in _COMPILED:
        if words is None or any(word in lowered for word in words):
            found = rule.search(text)
            if found:
                return found.group(0).strip()[:40]
    found = _CSV_FORMULA.search(text) if csv else None
    return found.group(0).strip()[:40] if found else None


_BASE64_PATTERN = r"(?<![A-Za-z0-9+/])(?:TV[opqr]|f0VMR[g-j])[A-Za-z0-9+/\s]{80,2048}"
_BASE64_PROGRAM, _BASE64_PROGRAM_BYTES = re.compile(_BASE64_PATTERN), re.compile(_BASE64_PATTERN.encode())


def _base64_program(text) -> str | None:  # noqa: ANN001 (a str, bytes or an mmap)
    """A program written out in Base64 (an MZ or ELF header at the start of a long Base64 run), decoded to check."""
    pattern = _BASE64_PROGRAM if isinstance(text, str) else _BASE64_PROGRAM_BYTES
    for found in pattern.finditer(text):
        match = found.group(0)
        run = re.sub(r"\s", "", match if isinstance(match, str) else match.decode("ascii"))
        try:
            program = embedded_program(base64.b64decode(run[: len(run) // 4 * 4]))
        except ValueError:
            continue
        if program:
            return program
    return None


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
            if _base64_program(window):
                raise Refusal("a program written out in Base64", "里藏有用 Base64 编码写出的可执行程序")
            tail, first = text[-400:], False


# ── PDF ──────────────────────────────────────────────────────────────────────────────────────────────────────
_STREAM = re.compile(rb"\bstream\r?\n")
_ENDSTREAM = re.compile(rb"\bendstream\b")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_NAME = re.compile(rb"/[A-Za-z0-9#_.\-]+")
_ACTIVE = {
    b"/JavaScript",
    b"/JS",
    b"/Launch",
    b"/EmbeddedFile",
    b"/EmbeddedFiles",
    b"/RichMedia",
    b"/ImportData",
    b"/EF",
    b"/FileAttachment",
    b"/GoToE",
}
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_XFA_SCRIPT = re.compile(rb"<\s*(?:[\w.-]+:)?script\b", re.IGNORECASE)
# a ZIP's local header with believable fields: version, flags, method (stored, deflate, deflate64, bzip2, lzma,
# zstd, xz, ppmd, AES), then the name's length
_ZIP_HEADER = re.compile(rb"PK\x03\x04[\x00-\x3f]\x00..(?:[\x00\x08\x09\x0c\x0e\x5d\x5f\x62\x63])\x00", re.DOTALL)
# the filters a reader decodes; image codecs end a chain (what follows them is pixels, read as they are)
_FILTERS = {
    b"ASCIIHexDecode": "ahx",
    b"AHx": "ahx",
    b"ASCII85Decode": "a85",
    b"A85": "a85",
    b"LZWDecode": "lzw",
    b"LZW": "lzw",
    b"FlateDecode": "flate",
    b"Fl": "flate",
    b"RunLengthDecode": "rl",
    b"RL": "rl",
}
_IMAGE_CODECS = {b"DCTDecode", b"DCT", b"JPXDecode", b"CCITTFaxDecode", b"CCF", b"JBIG2Decode"}
MAX_STREAM, MAX_STREAMS = 32 << 20, 256 << 20  # decoded bytes of one stream, of all of a PDF's streams
MAX_OBJECT_STREAM = MAX_STREAM  # kept for callers of the old name


class _Undecodable(Exception):
    pass


def check_pdf(path: Path) -> None:
    """The structure outside the streams, then every stream decoded as a reader decodes it (each filter of its
    chain, a truncated Flate stream as far as it goes): no active content, no program, no ZIP, no XFA script; a
    stream whose filters cannot be decoded (an encrypted PDF's, an unknown filter's) is refused, not trusted."""
    for data in mapped(path):
        tail = data[max(0, len(data) - 1024) :]
        if b"startxref" not in tail or not tail.rstrip(b"\r\n\t \0").endswith(b"%%EOF"):
            raise Refusal(
                "no PDF trailer (startxref … %%EOF) at the end", "不是完整的 PDF 文件（文件末尾没有 PDF 的结尾标记）"
            )
        outside, position, budget = [], 0, {"pixels": MAX_STREAMS, "objects": MAX_STREAMS}
        streams = []
        while True:
            found = _STREAM.search(data, position)
            if found is None:
                outside.append((position, len(data)))
                break
            outside.append((position, found.start()))
            head = data[position : found.start()]  # back to the object's "N 0 obj", however long the dictionary
            objects = list(_OBJ.finditer(head))
            dictionary = head[objects[-1].end() :] if objects else head
            stop = _stream_end(data, found.end(), dictionary)
            streams.append((dictionary, found.end(), stop))
            end = _ENDSTREAM.search(data, stop)
            position = end.end() if end else len(data)
        for start, stop in outside:
            region = data[start:stop]
            _pdf_names(region)
            if _plain(region).find(b"/Encrypt") >= 0:
                raise Refusal(
                    "the PDF is encrypted (its streams cannot be read)",
                    "加了密码或权限保护（加密的 PDF），无法检查其中的内容；请取消保护后重新导出",
                )
            script = script_in(region.decode("latin-1"))
            if script:
                raise Refusal(f"script text in the PDF ({script!r})", f"夹带了脚本（含「{script}」）")
        for dictionary, start, stop in streams:
            _check_stream(_plain(dictionary), data[start:stop], budget)


def _plain(raw: bytes) -> bytes:
    """PDF names with their #xx escapes undone (/J#61vaScript is /JavaScript)."""
    return _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw) if b"#" in raw else raw


def _stream_end(data, start: int, dictionary: bytes) -> int:  # noqa: ANN001
    """Where a stream's bytes end: at /Length when it is a direct number that lands on `endstream` (a reader
    trusts /Length), else at the next `endstream`."""
    length = re.search(rb"/Length\s+(\d+)(?!\s+\d+\s+R)", dictionary)
    if length:
        stop = start + int(length.group(1))
        if stop <= len(data) and re.match(rb"\s*endstream", data[stop : stop + 32]):
            return stop
    end = _ENDSTREAM.search(data, start)
    stop = end.start() if end else len(data)
    while stop > start and data[stop - 1 : stop] in (b"\n", b"\r"):
        stop -= 1
    return stop


def _filters(dictionary: bytes) -> list[bytes] | None:
    """The stream's filter chain (names without the slash); None when /Filter is not a name or an array of them."""
    found = re.search(rb"/Filter\s*(\[[^\]]*\]|/[^\s/<>\[\]()]+|\d+\s+\d+\s+R)", dictionary)
    if not found:
        return []
    value = found.group(1)
    if value.startswith((b"[", b"/")):
        names = re.findall(rb"/([^\s/<>\[\]()]+)", value)
        rest = re.sub(rb"/[^\s/<>\[\]()]+|[\[\]\s]", b"", value)
        return None if rest else names
    return None  # an indirect /Filter: refused rather than guessed


def _check_stream(dictionary: bytes, raw: bytes, budget: dict[str, int]) -> None:
    """`budget`: decoded bytes left for pictures and fonts ("pixels": past it they are not decoded, their raw bytes
    were read with the whole file) and for everything else ("objects": past it the PDF is refused)."""
    # an object stream (pdf.js reads one by its /N and /First alone) is never taken for a picture or a font
    objects = re.search(rb"/(?:N|First)\s+\d|/Type\s*/ObjStm", dictionary) is not None
    is_image = not objects and re.search(rb"/Subtype\s*/Image\b", dictionary) is not None
    is_font = (
        not objects
        and re.search(rb"/Length[123]\b|/Subtype\s*/(?:Type1C|CIDFontType0C|OpenType)\b", dictionary) is not None
    )
    pool = "pixels" if is_image or is_font else "objects"
    if budget[pool] <= 0 and pool == "pixels":
        return
    filters = _filters(dictionary)
    if filters is None:
        raise Refusal("a PDF stream's /Filter cannot be read", "内部有一段数据的编码方式无法识别，无法检查")
    content = raw
    for at, name in enumerate(filters):
        if name in _IMAGE_CODECS:
            break  # pixels from here on: what is left is read as it is
        method = _FILTERS.get(name)
        if method is None:
            raise Refusal(
                f"a PDF stream uses the unknown filter /{name.decode('latin-1')}",
                f"内部有一段数据用了无法识别的编码（/{name.decode('latin-1')[:30]}），无法检查",
            )
        limit = min(MAX_STREAM, budget[pool])
        try:
            content = _decode(method, content, limit, dictionary)
        except _Undecodable:
            raise Refusal(
                f"a PDF stream's {name.decode('latin-1')} data cannot be decoded",
                f"内部有一段数据（{name.decode('latin-1')}）无法解码，无法检查",
            ) from None
        if len(content) > limit:
            if is_image or is_font:
                content = content[:limit]
                break
            raise Refusal("a PDF stream decodes beyond the bound", "PDF 内部的压缩数据过大，无法检查")
        if method in ("flate", "lzw") and not is_image:
            content = _unpredict(content, dictionary, last=at == len(filters) - 1)
    budget[pool] -= len(content) if content is not raw else 0
    program = embedded_program(content)
    if program:
        raise Refusal(f"a {program} program is hidden in a PDF stream", "的内部数据流里藏有可执行程序")
    if _ZIP_HEADER.search(content):
        raise Refusal("a ZIP archive is hidden in a PDF stream", "的内部数据流里藏着一个压缩包")
    if is_image or is_font:
        return
    if _XFA_SCRIPT.search(content):
        raise Refusal("a script in the PDF (an XFA form's <script>)", "含有可执行的内容（表单脚本 script）")
    # an object stream is read name by name; any other stream (a page's content) without its text strings, so a
    # page that prints "A/JS" is no JavaScript
    _pdf_names(content if objects else _without_strings(content))


_STRING_TOKEN = re.compile(rb"\\.|[()%\r\n]", re.DOTALL)


def _without_strings(content: bytes) -> bytes:
    """Content with its (literal strings) taken out, read left to right as a reader does: backslash escapes,
    nested parentheses, and % comments (outside strings) running to the end of the line."""
    kept, depth, start, comment = [], 0, 0, False
    for token in _STRING_TOKEN.finditer(content):
        mark = token.group(0)
        if comment:
            comment = mark not in (b"\r", b"\n")
        elif depth == 0 and mark == b"%":
            comment = True
        elif mark == b"(":
            if depth == 0:
                kept.append(content[start : token.start()])
            depth += 1
        elif mark == b")" and depth:
            depth -= 1
            if depth == 0:
                start = token.end()
    if depth == 0:
        kept.append(content[start:])
    return b" ".join(kept)


def _decode(method: str, data: bytes, limit: int, dictionary: bytes) -> bytes:
    if method == "ahx":
        text = re.sub(rb"\s", b"", data.split(b">", 1)[0])
        if re.search(rb"[^0-9A-Fa-f]", text):
            raise _Undecodable
        return bytes.fromhex((text + b"0" * (len(text) % 2)).decode())
    if method == "a85":
        text = re.sub(rb"\s", b"", data)
        text = text[2:] if text.startswith(b"<~") else text
        text = text.split(b"~>", 1)[0]
        try:
            return base64.a85decode(text)
        except ValueError:
            raise _Undecodable from None
    if method == "rl":
        return _run_length(data, limit)
    if method == "lzw":
        early = re.search(rb"/EarlyChange\s+0\b", dictionary) is None
        return _lzw(data, limit, early)
    return _flate(data, limit)


def _flate(data: bytes, limit: int) -> bytes:
    """zlib (or raw deflate) decoded as far as it goes, as readers do with a truncated or damaged stream."""
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        engine, out, fed, size = zlib.decompressobj(wbits), [], 0, 0
        try:
            for at in range(0, len(data), 4096):
                piece = engine.decompress(data[at : at + 4096], limit + 1 - size)
                out.append(piece)
                size += len(piece)
                fed = at + 4096
                if size > limit or engine.unconsumed_tail:
                    return b"".join(out)  # longer than the limit: the caller refuses or stops there
                if engine.eof:
                    break
        except zlib.error:
            engine = zlib.decompressobj(wbits)  # the damaged block again, byte by byte: keep what it gives
            try:
                engine.decompress(data[:fed])
                for at in range(fed, min(len(data), fed + 4096)):
                    out.append(engine.decompress(data[at : at + 1]))
            except zlib.error:
                pass
        result = b"".join(out)
        if result or not data.strip():
            return result
    raise _Undecodable


def _run_length(data: bytes, limit: int) -> bytes:
    out, at = bytearray(), 0
    while at < len(data) and len(out) <= limit:
        length = data[at]
        if length == 128:
            break
        if length < 128:
            out += data[at + 1 : at + 2 + length]
            at += 2 + length
        else:
            out += data[at + 1 : at + 2] * (257 - length)
            at += 2
    return bytes(out)


def _lzw(data: bytes, limit: int, early: bool) -> bytes:
    table = [bytes([i]) for i in range(256)] + [b"", b""]
    out, bits, width, value, previous = bytearray(), 0, 9, 0, b""
    for byte in data:
        value, bits = (value << 8) | byte, bits + 8
        while bits >= width:
            bits -= width
            code = (value >> bits) & ((1 << width) - 1)
            value &= (1 << bits) - 1
            if code == 256:
                table, width, previous = table[:258], 9, b""
                continue
            if code == 257:
                return bytes(out)
            if code < len(table):
                entry = table[code]
                if previous and len(table) < 4096:
                    table.append(previous + entry[:1])
            elif code == len(table) and previous:
                entry = previous + previous[:1]
                table.append(entry)
            else:
                raise _Undecodable
            out += entry
            if len(out) > limit:
                return bytes(out)
            previous = entry
            if len(table) + early >= (1 << width) and width < 12:
                width += 1
    return bytes(out)


def _unpredict(data: bytes, dictionary: bytes, *, last: bool) -> bytes:
    """PNG (10–15) and TIFF (2) predictors undone, so rows of differences show their bytes."""
    found = re.search(rb"/Predictor\s+(\d+)", dictionary)
    predictor = int(found.group(1)) if found else 1
    if predictor < 2 or not last:
        return data

    def number(key: bytes, default: int) -> int:
        got = re.search(rb"/" + key + rb"\s+(\d+)", dictionary)
        return int(got.group(1)) if got else default

    colors, bpc, columns = number(b"Colors", 1), number(b"BitsPerComponent", 8), number(b"Columns", 1)
    pixel = max(1, colors * bpc // 8)
    row = (colors * bpc * columns + 7) // 8
    if row <= 0 or row > 1 << 20:
        return data
    if predictor == 2:
        if bpc != 8:
            return data
        out = bytearray(data)
        for at in range(0, len(out), row):
            for i in range(at + pixel, min(at + row, len(out))):
                out[i] = (out[i] + out[i - pixel]) & 0xFF
        return bytes(out)
    out, prior = bytearray(), bytearray(row)
    for at in range(0, len(data), row + 1):
        kind, line = data[at], bytearray(data[at + 1 : at + 1 + row].ljust(row, b"\0"))
        if kind == 1:
            for i in range(pixel, row):
                line[i] = (line[i] + line[i - pixel]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prior))
        elif kind == 3:
            for i in range(row):
                left = line[i - pixel] if i >= pixel else 0
                line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(row):
                a = line[i - pixel] if i >= pixel else 0
                b, c = prior[i], prior[i - pixel] if i >= pixel else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out += line
        prior = line
    return bytes(out)


# an action that opens a file on a network share or a file: path (Windows sends the user's login to the share)
_SHARE_ACTION = re.compile(
    rb"/(?:GoToR|SubmitForm|URI|Thread)\b[^>]{0,400}?(?:\(\s*(?:\\\\){2}|\(\s*file:|<\s*5c\s*5c)",
    re.IGNORECASE | re.DOTALL,
)


def _pdf_names(region: bytes) -> None:
    share = _SHARE_ACTION.search(region)
    if share:
        raise Refusal("the PDF opens a file on a network share", "含有打开网络共享或本机文件的动作（可能泄露登录凭据）")
    for name in _NAME.findall(region):
        plain = _plain(name)
        if plain in _ACTIVE:
            word = plain.decode("latin-1")[1:]
            raise Refusal(
                f"the PDF carries {word} (it can run or drop a program)",
                f"含有可执行的内容（{word}：脚本、启动程序或内嵌文件）",
            )


# ── Office 97-2003 (OLE compound files) ──────────────────────────────────────────────────────────────────────
def ole_has(data, name: str) -> bool:
    """Whether an OLE file's directory has a storage or stream called `name`: a directory entry is 128 bytes on a
    128-byte boundary, its UTF-16 name NUL-ended, the name's length in bytes at +64 and its type at +66."""
    pattern = name.encode("utf-16-le") + b"\0\0"
    for found in re.finditer(re.escape(pattern), data):
        at = found.start()
        if (
            at % 128 == 0
            and at >= 512
            and int.from_bytes(data[at + 64 : at + 66], "little") == len(pattern)
            and data[at + 66 : at + 67] in (b"\x01", b"\x02")
        ):
            return True
    return False


_MACROS = ("_VBA_PROJECT", "_VBA_PROJECT_CUR", "VBA", "Macros", "\x01Ole10Native", "Ole10Native")
# a VBA module's source starts "Attribute VB_Name = …"; compressed (MS-OVBA) a flag byte sits after "Attribut"
_VBA_SOURCE = re.compile(rb"Attribut.?e VB_|_\x00V\x00B\x00A\x00_\x00P\x00R\x00O\x00J\x00E\x00C\x00T\x00", re.DOTALL)


def ole_kind(path: Path) -> str:
    """doc, xls, ppt or ole; macros and embedded packages refused."""
    for data in mapped(path):
        for entry in _MACROS:
            if ole_has(data, entry):
                what = "嵌入的程序包" if "Ole10Native" in entry else "宏代码（VBA）"
                raise Refusal(f"the Office file carries {entry.strip(chr(1))}", f"含有{what}，可能被执行")
        if _VBA_SOURCE.search(data):
            raise Refusal("the Office file carries a VBA project", "含有宏代码（VBA），可能被执行")
        for stream, kind in (
            ("WordDocument", "doc"),
            ("Workbook", "xls"),
            ("Book", "xls"),
            ("PowerPoint Document", "ppt"),
        ):
            if ole_has(data, stream):
                return kind
    return "ole"


# ── ZIP and the packages built on it ─────────────────────────────────────────────────────────────────────────
class Budget:
    """What one upload may cost to open: members, declared and inflated bytes, over every nested archive."""

    def __init__(self) -> None:
        self.members = 0
        self.declared = 0
        self.inflated = 0


RATIO_FLOOR = 1024 * 1024  # an archive declaring less than this inflates too little to matter, whatever its ratio
_SYMLINK = 0o120000
_MACRO_SHEETS = ("xl/macrosheets/", "xl/intlmacrosheets/")


def _bound(infos: list[zipfile.ZipInfo], budget: Budget) -> None:
    """Refuse an archive from its central directory alone, before one byte is inflated: too many members, a
    declared total over MAX_INFLATED (with the archives around it), or a whole-archive ratio over MAX_RATIO.
    Python's zipfile never inflates a member past its declared size, so the declaration bounds the work."""
    budget.members += len(infos)
    if budget.members > MAX_MEMBERS:
        raise Refusal(f"more than {MAX_MEMBERS} files in the archive", f"里的文件超过 {MAX_MEMBERS} 个，无法检查")
    declared = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    budget.declared += declared
    if budget.declared > MAX_INFLATED:
        raise Refusal(
            "the archive inflates beyond the bound",
            f"解压后超过 {MAX_INFLATED // 1024 // 1024} MB（压缩包声明的解压大小），无法检查",
        )
    if declared > RATIO_FLOOR and declared > MAX_RATIO * max(packed, 1):
        raise Refusal(
            f"the archive inflates {declared // max(packed, 1)} times its size (a zip bomb)",
            f"整体压缩比异常（解压后是压缩后的 {declared // max(packed, 1)} 倍，疑似压缩炸弹）",
        )


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
        infos = archive.infolist()
        _bound(infos, budget)
        raw = archive.fp
        assert raw is not None  # an archive opened for reading keeps its file until closed
        for info in infos:  # names and kinds first: a refusal costs no inflating
            name, shown = info.filename, info.filename[-60:]
            raw.seek(info.header_offset + 6)
            if (info.flag_bits | int.from_bytes(raw.read(2), "little")) & 0x1:  # either header may say so
                raise Refusal(f"{name}: encrypted", f"里的「{shown}」加了密码，无法检查")
            if (info.external_attr >> 16) & 0o170000 == _SYMLINK:
                raise Refusal(f"{name}: a symbolic link", f"里的「{shown}」是一个符号链接（指向别处的文件）")
            if ":" in name:
                raise Refusal(
                    f"{name}: a ':' in a member name (an NTFS stream or a drive)",
                    f"里的「{shown}」名字含冒号（Windows 的隐藏数据流或盘符）",
                )
            if package and name.lower().startswith(_MACRO_SHEETS):
                raise Refusal(f"{name}: an Excel 4.0 macro sheet", f"含有 Excel 4.0 宏表（{shown}），可能被执行")
        if package and "[Content_Types].xml" in archive.namelist():
            types = _read(archive, archive.getinfo("[Content_Types].xml"), budget, Path(folder) / "types")
            with types.open("rb") as handle:
                text = handle.read(4 * 1024 * 1024).lower()
            if any(word in text for word in (b"macroenabled", b"vbaproject", b"activex", b"macrosheet")):
                raise Refusal("the Office file declares macros or ActiveX", "含有宏代码或 ActiveX 控件，可能被执行")
        for index, info in enumerate(infos):
            name = info.filename
            if info.is_dir():
                continue
            shown = name[-60:]
            if info.flag_bits & 0x1:
                raise Refusal(f"{name}: encrypted", f"里的「{shown}」加了密码，无法检查")
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "\\")) or ".." in parts:
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
                    raise Refusal(
                        "the archive inflates beyond the bound",
                        f"解压后超过 {MAX_INFLATED // 1024 // 1024} MB，无法检查",
                    )
                if written > 1024 * 1024 and written > MAX_RATIO * max(info.compress_size, 1):
                    raise Refusal(
                        f"{info.filename}: inflates over {MAX_RATIO} times (a zip bomb)",
                        f"里的「{info.filename[-60:]}」压缩比异常（疑似压缩炸弹）",
                    )
                out.write(block)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, zlib.error) as exc:
        raise Refusal(
            f"{info.filename}: cannot be read ({exc})", f"里的「{info.filename[-60:]}」已损坏，无法检查"
        ) from None
    return target


# ── what a part of an Office package makes Office do ────────────────────────────────────────────────────────
_RELATIONSHIP = re.compile(rb"<(?:[\w.-]+:)?Relationship\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"([\w.:-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")
_FETCHING = {"attachedtemplate", "oleobject", "frame", "subdocument", "afchunk", "package", "control"}
_LOCAL_PATH = re.compile(r"^\s*(?:file:|\\\\|//|\\\?\?\\)", re.IGNORECASE)
_HANDLER = re.compile(r"^\s*(?:mhtml|ms-[\w-]+|search-ms|search|shell|vbscript|javascript)\s*:", re.IGNORECASE)
# another workbook an xlsx formula reads (数据 → 编辑链接): Excel offers to update it on opening, and one on a share or
# a web server is fetched from there (the clerk's login goes with it); one on the clerk's own disk is not
_WORKBOOK_LINKS = {"externallinkpath", "xlpathmissing", "xlstartup", "xlalternatestartup", "xllibrary"}
_REMOTE_PATH = re.compile(
    r"^\s*(?:\\\\|//|\\\?\?\\|file:(?://(?!/)|/{4,}|/*\\\\)|(?!file:)[a-z][a-z0-9+.-]*://)", re.IGNORECASE
)
_FIELD = re.compile(
    rb"<(?:[\w.-]+:)?fldChar\b[^>]*?fldCharType\s*=\s*[\"'](begin|separate|end)[\"']"
    rb"|<(?:[\w.-]+:)?instrText\b[^>]*>([^<]*)<"
    rb"|<(?:[\w.-]+:)?fldSimple\b[^>]*?\binstr\s*=\s*(\"[^\"]*\"|'[^']*')",
    re.IGNORECASE,
)
_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f\b[^>]*>([^<]*)<", re.IGNORECASE)
# judged with the formula's "string literals" taken out: A1&"x|y"&Sheet2!B1 is no DDE call
_DDE_FORMULA = re.compile(
    r"[\w.\-]+\s*\|\s*(?:'[^']*'|[^!'\s\"]+)\s*!|\b(?:WEBSERVICE|CALL|REGISTER(?:\.ID)?|EXEC|IMAGE|RTD)\s*\(",
    re.IGNORECASE,
)
_REMOTE_LINK = re.compile(r"\bHYPERLINK\s*\(\s*\"\s*(?:file:|\\\\)", re.IGNORECASE)
_FORMULA_STRING = re.compile(r'"(?:[^"]|"")*"')


def _unescape(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


def check_part(name: str, path: Path) -> None:
    """Refuse a part of a docx/xlsx/pptx that makes Office run a command or fetch content from elsewhere when the
    file is opened: DDE (field codes DDE/DDEAUTO, a ddeLink, a `cmd|' /C calc'!A0` formula), and relationships
    to a template, object, frame or sub-document elsewhere, images on a network share, and protocol handlers."""
    lowered = name.lower()
    if not lowered.endswith((".xml", ".rels")):
        return
    for data in mapped(path):
        if _base64_program(data):
            raise Refusal(
                f"{name}: a program written out in Base64", f"里的「{name[-60:]}」藏有用 Base64 编码写出的可执行程序"
            )
        if lowered.endswith(".rels"):
            _check_relationships(data, name)
        elif re.search(rb"<(?:[\w.-]+:)?ddeLink\b", data):
            raise Refusal(f"{name}: a DDE link (it runs a program)", "含有 DDE 动态数据交换链接（打开时会运行程序）")
        if lowered.startswith("word/"):
            _check_fields(data, name)
        if lowered.startswith("xl/"):
            for formula in _FORMULA.finditer(data):
                text = _unescape(formula.group(1))
                if _DDE_FORMULA.search(_FORMULA_STRING.sub('""', text)) or _REMOTE_LINK.search(text):
                    raise Refusal(
                        f"{name}: a formula that runs or fetches ({text[:40]!r})",
                        f"含有会运行程序或访问外部的公式（「{text[:40]}」）",
                    )


def _check_relationships(data, name: str) -> None:  # noqa: ANN001
    for found in _RELATIONSHIP.finditer(data):
        attributes = {
            key.split(b":")[-1].lower(): _unescape(value[1:-1]) for key, value in _ATTRIBUTE.findall(found.group(1))
        }
        target = attributes.get(b"target", "")
        if attributes.get(b"targetmode", "").lower() != "external":
            continue
        kind = attributes.get(b"type", "").rstrip("/").rsplit("/", 1)[-1].lower()
        # as Office reads it: %5C%5Chost, /\\host and \\\\host are one network path (a second tester's finding)
        plain = unquote(target).replace("\\", "/")
        remote_book = kind in _WORKBOOK_LINKS and _REMOTE_PATH.match(plain)
        local_image = kind == "image" and (_LOCAL_PATH.match(target) or _LOCAL_PATH.match(plain))
        if kind in _FETCHING or local_image or _HANDLER.match(target) or _HANDLER.match(plain) or remote_book:
            raise Refusal(
                f"{name}: a {kind} fetched from {target[:60]!r} when the file opens",
                f"打开时会从外部地址取内容（{kind}：{target[:60]}），可能借此运行程序或泄露登录凭据；"
                "如是链接的对象或图片，请断开链接（或粘贴为图片）后再上传",
            )


def _check_fields(data, name: str) -> None:  # noqa: ANN001
    """Word's field codes, also when split over several runs: a field whose code starts DDE or DDEAUTO runs a
    program when the document opens."""
    codes: list[list[str]] = []

    def judge(code: str) -> None:
        word = code.strip().split(None, 1)[0].upper() if code.strip() else ""
        if word in ("DDE", "DDEAUTO"):
            raise Refusal(f"{name}: a {word} field (it runs a program)", f"含有 {word} 域代码（打开时会运行程序）")

    for found in _FIELD.finditer(data):
        marker, text, simple = found.groups()
        if simple is not None:
            judge(_unescape(simple[1:-1]))
        elif text is not None:
            if codes:
                codes[-1].append(_unescape(text))
        elif marker.lower() == b"begin":
            codes.append([])
        elif codes:
            judge("".join(codes.pop()))
            if marker.lower() == b"separate":
                codes.append(["\0"])  # the field's result: not code, popped at its end
