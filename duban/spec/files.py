"""The files a spec is read from, and the files it names: hostile input until proven otherwise.

Only a regular file of at most MAX_FILE_BYTES is opened (a folder, /dev/zero, a pipe or a huge file is a
SpecError naming it, and nothing it holds is quoted); text must be UTF-8. A spec names other files
(`registry.overlay`, `forward.of`) by relative paths inside its own folder, so a spec handed in for review cannot
make duban open /etc/shadow or ../../other-bureau/keys.yaml.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from duban.errors import SpecError

MAX_FILE_BYTES = 4 * 1024 * 1024
"""A spec is a few KB and an overlay of every unit of a province well under this; a larger file is refused."""


def read_bytes(path: Path | str, *, what: str = "spec") -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES; a folder, a device, a pipe or a larger file is a
    SpecError naming the file (and never quoting what it holds)."""
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SpecError("file not found", file=name, hint=f"give the path of {_an(what)} file (YAML)") from None
    except OSError as exc:
        raise SpecError(f"cannot be read ({exc.strerror})", file=name) from None
    if stat.S_ISDIR(info.st_mode):
        hint = "give one file; `duban validate FOLDER` checks every spec in a folder" if what == "spec" else None
        raise SpecError(f"is a folder, not {_an(what)} file", file=name, hint=hint)
    if not stat.S_ISREG(info.st_mode):
        raise SpecError(f"is not a regular file (a device, pipe or socket): {_an(what)} is a YAML file", file=name)
    if info.st_size > MAX_FILE_BYTES:
        raise SpecError(
            f"is {info.st_size:,} bytes: {_an(what)} file is at most {MAX_FILE_BYTES // 2**20} MB", file=name
        )
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot be read ({exc.strerror})", file=name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(f"is larger than {MAX_FILE_BYTES // 2**20} MB: {_an(what)} file is at most that", file=name)
    return raw


def _an(what: str) -> str:
    return f"an {what}" if what[:1] in "aeiou" else f"a {what}"


def decode(raw: bytes, name: str) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); anything else is a SpecError saying how to save it."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        found = _encoding(raw)
        if found is not None:  # Notepad's "ANSI" on a Chinese Windows, or its "Unicode"
            raise SpecError(f"{found} text, not UTF-8: save the file as UTF-8", file=name) from None
        raise SpecError(
            f"not UTF-8 text (bad byte at offset {exc.start})",
            file=name,
            line=line,
            hint="save the file as UTF-8 (not GBK or UTF-16)",
        ) from None


def _encoding(raw: bytes) -> str | None:
    """'UTF-16' or 'GBK/GB18030' for text saved so (a byte-order mark; Chinese that GB18030 reads), else None."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16"
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return "GBK/GB18030"


def referenced_file(spec_file: Path | str, name: Any, *, what: str) -> Path:
    """A file a spec names (its overlay, the upper spec it forwards): a relative path inside the spec's folder.

    An absolute path or one leaving the folder (`../../etc/shadow`) is a ValueError, so a spec handed in for
    review cannot make duban open files elsewhere; the file itself is read with `read_bytes`' checks.
    """
    text = str(name)
    folder = Path(spec_file).parent
    if not text.strip() or "\x00" in text:
        raise ValueError(f"the {what} is not a file name")
    candidate = Path(text)
    if candidate.is_absolute():
        raise ValueError(
            f"the {what} {text!r} is an absolute path: name a file in the spec's folder ({folder or '.'}/)"
        )
    base = os.path.normpath(folder)
    resolved = os.path.normpath(folder / candidate)
    inside = resolved == base or (
        resolved.startswith(base + os.sep) if base != "." else resolved.split(os.sep)[0] != ".."
    )
    if not inside:
        raise ValueError(f"the {what} {text!r} lies outside the spec's folder: name a file inside {folder}/")
    confined(folder, Path(resolved), what=what, shown=text)
    return Path(resolved)


ROOT_VARIABLE = "DUBAN_SPEC_ROOT"
"""A folder (the setting DUBAN_SPEC_ROOT) whose files every spec may name besides those of its own folder: the shared
units/ and calendar/ of a bureau's spec repository, when specs live in sub-folders of it."""


def confined(folder: Path | str, path: Path, *, what: str, shown: str | None = None) -> None:
    """`path` with every symlink followed must lie under `folder` (or DUBAN_SPEC_ROOT) with symlinks followed too: a
    link inside the folder to /etc/passwd or another bureau's files is a ValueError naming the link — never its
    target — and the target is not opened (only the links are read)."""
    real = os.path.realpath(path)
    roots = [os.path.realpath(folder or ".")]
    from duban.settings import get_settings  # the one reader of the environment

    spec_root = get_settings().spec_root
    if spec_root:
        roots.append(os.path.realpath(spec_root))
    if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
        raise ValueError(
            f"the {what} {shown or path.name!r} is a link to a file outside the spec's folder: duban opens only "
            f"files inside {folder or '.'}/ (or {ROOT_VARIABLE}); copy the file there instead of linking it"
        )
