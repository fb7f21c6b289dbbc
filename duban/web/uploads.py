"""Uploads: a cap on request bodies, and saving each uploaded file under its safe name for the domain to check.

The cap is enforced while the body streams in (and up front from Content-Length), so an oversized upload
is refused before it fills a disk. Each file is written to its own folder under the data dir's tmp/,
named as the unit named it (made safe); `record_submission` then checks content and stores it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from duban.domain.filecheck import safe_name
from duban.errors import SubmissionError

MAX_FILES = 10


class BodyTooLarge(Exception):
    """A request body over the cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit


class BodyLimit:
    """ASGI middleware: POST bodies above `limit` bytes end in BodyTooLarge (a 413 page)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        too_large = declared.isdigit() and int(declared) > self.limit
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            if too_large:
                raise BodyTooLarge(self.limit)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


def sent_name(upload: UploadFile, fallback: str = "") -> str:
    """The file name as the unit's browser sent it. Starlette reads filename= bytes that are not UTF-8 as latin-1,
    so a GBK name (an older Chinese browser or client) was kept as ÆÀ·Ö±í.xlsx for good (an outside tester's
    finding): they are read as GB18030, as the 名录 import reads a file; bytes that are neither give `fallback` (the
    item's name) with the sent extension."""
    name = upload.filename or ""
    raw = upload.headers.get("content-disposition", "").encode("latin-1", "replace")
    sent = parse_options_header(raw)[1].get(b"filename")
    if not sent or name.isascii():
        return name
    for encoding in ("utf-8", "gb18030"):
        try:
            return sent.decode(encoding)
        except UnicodeDecodeError:
            continue
    suffix = Path(name).suffix
    return (fallback + suffix if suffix.isascii() else fallback) if fallback else name


@contextmanager
def saved_uploads(
    uploads: list[UploadFile], tmp_root: Path, max_bytes: int, *, fallback: str = ""
) -> Iterator[list[Path]]:
    """The uploads as files named as the unit named them (`fallback`: the name of one sent in bytes no encoding
    reads, see `sent_name`); removed when the block ends."""
    chosen = [u for u in uploads if isinstance(u, UploadFile) and (u.filename or u.size)]
    if len(chosen) > MAX_FILES:
        raise SubmissionError(f"at most {MAX_FILES} files at once", cn=f"一次最多上传 {MAX_FILES} 个文件。")
    tmp_root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=tmp_root))
    try:
        paths = []
        for index, upload in enumerate(chosen):
            name = safe_name(sent_name(upload, fallback))
            target = folder / str(index) / name
            target.parent.mkdir()
            _copy(upload, target, name, max_bytes)
            paths.append(target)
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy(upload: UploadFile, target: Path, name: str, max_bytes: int) -> None:
    written = 0
    upload.file.seek(0)
    with target.open("wb") as out:
        for block in iter(lambda: upload.file.read(1 << 20), b""):
            written += len(block)
            if written > max_bytes:
                raise SubmissionError(
                    f"{name}: over the limit of {max_bytes:,} bytes",
                    cn=f"文件「{name}」超过上限 {max_bytes // 1024 // 1024} MB，已拒收。请压缩或拆分后再上传。",
                )
            out.write(block)
