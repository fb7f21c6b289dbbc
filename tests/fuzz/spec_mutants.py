"""Hostile campaign specs: a seeded mutator over the shipped specs, and a runner that sorts every outcome.

    uv run python -m tests.fuzz.spec_mutants --cases 1000 --seed 20        # a table of outcomes by class
    uv run python -m tests.fuzz.spec_mutants --cases 300 --show traceback  # and the mutants behind a class

A mutant is one of the specs in campaign_specs/ (or the units overlay it names) with one to three mutations:
values swapped for what an attacker or a tired administrator writes (offsets of 99999999 working days, a window
ending 9999-12-31, a seed of 2^63, a lone surrogate in a title, `!!timestamp 2024-13-45`, an overlay at
/dev/zero or ../../../../etc/shadow), nesting 1,000 levels deep, a recursive alias, a billion laughs, two
stages or items with one id, and lines deleted, doubled, swapped, re-indented, cut or garbled, or the file
saved as GBK or UTF-16.

Each mutant goes through what `duban validate`, `duban plan` and a first `duban tick` do with a spec — load,
check, plan strictly, store the plan in a fresh SQLite database — in a worker process under a memory limit
(RLIMIT_AS) and a time limit. Outcome classes:

    valid      planned and stored
    line       a clean error (duban's SpecError) naming the file and a line
    noline     a clean duban error without a line (or naming no file)
    traceback  any other exception (what an administrator sees as a Python traceback)
    timeout    the time limit was hit
    memory     MemoryError, or the worker died of its memory limit
    crash      the worker died otherwise

An error that echoes another file's content (/etc/passwd, the process environment) is counted as a leak.
The same module runs against older code: only `load_spec`, `validate`, `build_plan` and `store_plan` are used.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "campaign_specs"
SPEC_NAMES = sorted(p.name for p in SPECS.glob("*.yaml"))
CLASSES = ("valid", "line", "noline", "traceback", "timeout", "memory", "crash")
CANARY = "duban-fuzz-canary-7f3a9c"  # set in the workers' environment: an error quoting /proc/self/environ shows it
_LEAK_RE = re.compile(rf"root:[^\s:]*:\d+:\d+:|root:[$*!]|{CANARY}")

# ---------------------------------------------------------------------------------------------------------------
# Hostile values, as YAML source text, by what the key means.
DATES = [
    "9999-12-31",
    "0001-01-01",
    "2024-13-45",
    "!!timestamp 2024-13-45",
    "!!timestamp 2024-02-30",
    "!!timestamp 9999-12-31",
    "1900-01-01",
    "2199-12-31",
    "3000-06-30",
    "2024-06-31",
    "2024-02-29",
    "2024-06-30 25:61",
    '"2024-06-30T17:00+99:99"',
    '"2024-06-30 17:00+14:00"',
    "99999-01-01",
    '"2024-06-30T23:59:59Z"',
    "2024-6-3",
    "1970-01-01",
    "2038-01-19 03:14",
]
OFFSETS = [
    '"3650000 days"',
    '"99999999 working days"',
    '"2147483648 minutes"',
    '"-2147483648 hours"',
    '"9223372036854775808 days"',
    '"1' + "0" * 5000 + ' days"',
    '"0 days"',
    '"-3 working days"',
    '"36500 days"',
    '"1000000 hours"',
    '"3000 working days"',
    '"99999999999 minutes"',
    "99999999999",
    '"3个工作日"',
    '"-0 days"',
]
NUMBERS = [
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    "-1",
    "0",
    str(10**30),
    "1e308",
    ".inf",
    ".nan",
    "-.inf",
    "0x7fffffffffffffff",
    "1_000_000",
    "9" * 5000,
    "2147483648",
    "0.5",
    "true",
]
PATHS = [
    "/dev/zero",
    "/dev/urandom",
    "/etc/passwd",
    "../../../../etc/shadow",
    "../../../../etc/passwd",
    "/proc/self/environ",
    ".",
    "units",
    "/",
    "units/../../../../etc/hostname",
    "calendar/overrides.yaml",
    "nope.yaml",
    "/proc/self/status",
    "units/",
    "//etc//passwd",
    '"units/jinzhong.yaml\\0"',
]
TEXTS = [
    '"\\ud800"',
    '"bad \\udfff tail"',
    '"nul \\x00 byte"',
    "x" * 200_000,
    '"\\u202e evil"',
    '"\\U0010ffff"',
    "''",
    "null",
    "[1, 2]",
    "{a: 1}",
    "!!binary aGVsbG8=",
    '"\\ufeff"',
    "🙂" * 40,
    '"\\x1b[31mred"',
    '"' + "长" * 30_000 + '"',
    "!!float 1e400",
]
IDS = ["a" * 10_000, "'1abc'", "自查", "'a b'", "''", "null", "x" * 300, '"\\ud800"', "CON", "a-", "_x"]
GENERIC = [
    "null",
    "~",
    "''",
    "[]",
    "{}",
    "true",
    "-1",
    str(2**63),
    "!!python/object/apply:os.system ['echo pwned']",
    "*undefined",
    "&a",
    "!!set {a, b}",
    "!!omap [a: 1]",
    '"\\ud800"',
    "|",
    ">",
    "@",
    "`",
    "%",
    "!",
    "?",
    "!!int 0b2",
    "!!timestamp nope",
    "!!str",
    "!!map []",
    "!!seq {}",
    "<<",
    "- a",
    ": b",
    "&a *a",
    "!<tag:yaml.org,2002:python/name:os.system>",
    "[" * 40 + "]" * 40,
]

_KEY_POOLS = {
    **dict.fromkeys(("start", "end", "due", "opens", "at", "issued_on", "reveal"), DATES),
    **dict.fromkeys(("offset", "within", "buffer", "due_after_period", "after"), OFFSETS),
    **dict.fromkeys(
        ("seed", "count", "min", "max", "minimum", "min_count", "max_count", "min_per_parent", "pass_mark", "percent"),
        NUMBERS,
    ),
    **dict.fromkeys(("overlay", "of"), PATHS),
    **dict.fromkeys(
        (
            "title",
            "issuer",
            "name",
            "label",
            "doc_no",
            "note",
            "notes",
            "heading",
            "prompt",
            "description",
            "contact",
            "phone",
            "criteria",
            "area",
            "place",
        ),
        TEXTS,
    ),
    "id": IDS,
}
_KV_RE = re.compile(
    r"(?<![A-Za-z0-9_])(?P<key>[A-Za-z_][A-Za-z0-9_]{0,40}):[ ]+(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^,{}\[\]\n#\"']+?)"
    r"(?=[ ]*(?:,|}|\]|#|\n|$))"
)
_ELEMENT_RE = re.compile(r"(?<=[\[,])[ ]*(?P<value>\"[^\"\n]*\"|[^,\[\]{}\n#:\"]+?)(?=[ ]*[,\]])")
_ID_RE = re.compile(r"\bid:[ ]+(?P<value>[A-Za-z][\w-]*)")
_OFFSET_LIKE = re.compile(r"^\"?-?\d+ ?(working days?|days?|hours?|minutes?|个?工作日|天)\"?$")
_DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")


@dataclass
class Mutant:
    """One hostile variant of a shipped spec (or of the overlay it names)."""

    number: int
    spec: str  # the shipped spec it comes from
    ops: list[str] = field(default_factory=list)
    text: bytes = b""  # the spec file's bytes
    overlay: bytes | None = None  # a mutated overlay, when the mutation is in the units file

    def describe(self) -> str:
        where = "overlay of " if self.overlay is not None else ""
        return f"#{self.number} {where}{self.spec}: " + "; ".join(self.ops)


def _pool_for(key: str | None, value: str) -> list[str]:
    if key in _KEY_POOLS:
        return _KEY_POOLS[key]
    if _OFFSET_LIKE.match(value.strip()):
        return OFFSETS
    if _DATE_LIKE.match(value.strip().strip('"')):
        return DATES
    if value.strip().isdigit():
        return NUMBERS
    return GENERIC + TEXTS


def _replace_value(rng: random.Random, text: str) -> tuple[str, str]:
    sites = [(m.start("value"), m.end("value"), m.group("key"), m.group("value")) for m in _KV_RE.finditer(text)]
    sites += [(m.start("value"), m.end("value"), None, m.group("value")) for m in _ELEMENT_RE.finditer(text)]
    if not sites:
        return text, "no site"
    start, end, key, old = rng.choice(sites)
    new = rng.choice(_pool_for(key, old))
    line = text.count("\n", 0, start) + 1
    shown = new if len(new) <= 40 else f"{new[:20]}…({len(new)} chars)"
    return text[:start] + new + text[end:], f"line {line} {key or 'element'}: {old.strip()[:30]} → {shown}"


def _deep(rng: random.Random, text: str) -> tuple[str, str]:
    depth = rng.choice([50, 200, 1_000, 5_000, 30_000])
    value = "[" * depth + "1" + "]" * depth if rng.random() < 0.5 else "{a: " * depth + "1" + "}" * depth
    text, _ = _at_some_value(rng, text, value)
    return text, f"nesting {depth} deep"


def _at_some_value(rng: random.Random, text: str, value: str) -> tuple[str, int]:
    sites = list(_KV_RE.finditer(text))
    if not sites or rng.random() < 0.3:
        return f"zz_extra: {value}\n" + text, 1
    m = rng.choice(sites)
    return text[: m.start("value")] + value + text[m.end("value") :], text.count("\n", 0, m.start()) + 1


def _recursive_alias(rng: random.Random, text: str) -> tuple[str, str]:
    value = rng.choice(["&l [*l]", "&m {a: *m}", "&n [1, [2, *n]]", "&o {a: [*o]}"])
    text, line = _at_some_value(rng, text, value)
    return text, f"recursive alias {value} at line {line}"


def _laughs(rng: random.Random, text: str) -> tuple[str, str]:
    fanout, levels = rng.choice([(2, 20), (10, 6), (10, 9), (4, 12), (2, 30), (9, 5)])
    lines = [f"lol0: &a0 [{', '.join(['lol'] * fanout)}]"]
    lines += [f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]" for i in range(1, levels + 1)]
    if rng.random() < 0.5:
        return "\n".join(lines) + "\n" + text, f"billion laughs {fanout}^{levels + 1} as top-level keys"
    sites = [m for m in _KV_RE.finditer(text) if m.group("key") in ("notes", "note", "title", "name")]
    if not sites:
        return "\n".join(lines) + "\n" + text, f"billion laughs {fanout}^{levels + 1} as top-level keys"
    m = rng.choice(sites)
    body = "\n".join(lines) + "\n" + text[: m.start("value")] + f"*a{levels}" + text[m.end("value") :]
    return (
        body,
        f"billion laughs {fanout}^{levels + 1} used at line {text.count(chr(10), 0, m.start()) + 1 + levels + 1}",
    )


def _dup_id(rng: random.Random, text: str) -> tuple[str, str]:
    ids = list(_ID_RE.finditer(text))
    if len(ids) < 2:
        return text, "no ids"
    indent = {m.start(): m.start() - text.rfind("\n", 0, m.start()) for m in ids}
    first = rng.choice(ids)
    peers = [m for m in ids if m is not first and indent[m.start()] == indent[first.start()]] or [
        m for m in ids if m is not first
    ]
    second = rng.choice(peers)
    s, e = second.start("value"), second.end("value")
    return text[:s] + first.group("value") + text[e:], f"id {second.group('value')} → {first.group('value')} (twice)"


def _line_op(rng: random.Random, text: str) -> tuple[str, str]:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    op = rng.choice(["delete", "double", "swap", "indent", "dedent", "junk", "tab", "key"])
    if op == "delete":
        del lines[i]
    elif op == "double":
        lines.insert(i, lines[i])
    elif op == "swap" and i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif op == "indent":
        lines[i] = " " * rng.choice([1, 2, 4]) + lines[i]
    elif op == "dedent":
        lines[i] = lines[i][rng.choice([1, 2]) :] if lines[i].startswith("  ") else lines[i]
    elif op == "junk":
        j = rng.randrange(len(lines[i]) + 1)
        lines[i] = (
            lines[i][:j]
            + rng.choice(
                [":", "-", "{", "[", "&", "*", "!", "%", "\t", "\x00", "\ufeff", "'", '"', "#", "\x85", "\u2028"]
            )
            + lines[i][j:]
        )
    elif op == "tab":
        lines[i] = lines[i].replace("  ", "\t", 1)
    elif op == "key":
        lines[i] = re.sub(r"^(\s*-?\s*)([A-Za-z_]+):", lambda m: m.group(1) + m.group(2)[::-1] + ":", lines[i], count=1)
    return "\n".join(lines), f"line {i + 1} {op}"


def _other_file(rng: random.Random, text: str) -> tuple[str, str]:
    """The overlay or the upper spec pointed at a device, a folder or a file outside the spec's folder."""
    sites = [m for m in _KV_RE.finditer(text) if m.group("key") in ("overlay", "of")]
    if not sites:
        return _replace_value(rng, text)
    m = rng.choice(sites)
    new = rng.choice(PATHS)
    line = text.count("\n", 0, m.start()) + 1
    return text[: m.start("value")] + new + text[m.end("value") :], f"line {line} {m.group('key')}: → {new}"


_TEXT_OPS = [
    (_replace_value, 12),
    (_dup_id, 2),
    (_line_op, 4),
    (_deep, 1),
    (_recursive_alias, 1),
    (_laughs, 1),
    (_other_file, 1),
]


def _encode(rng: random.Random, text: str, ops: list[str]) -> bytes:
    roll = rng.random()
    if roll < 0.02:
        ops.append("saved as GBK")
        return text.encode("gbk", errors="replace")
    if roll < 0.03:
        ops.append("saved as UTF-16")
        return text.encode("utf-16")
    if roll < 0.04:
        raw = text.encode("utf-8", errors="surrogatepass")
        cut = rng.randrange(len(raw))
        ops.append(f"cut at byte {cut}")
        return raw[:cut]
    if roll < 0.05:
        ops.append("an empty file")
        return b""
    return text.encode("utf-8", errors="surrogatepass")


def make_mutants(seed: int, count: int) -> list[Mutant]:
    """`count` mutants, the same for the same seed."""
    rng = random.Random(seed)
    texts = {name: (SPECS / name).read_text(encoding="utf-8") for name in SPEC_NAMES}
    ops_, weights = zip(*_TEXT_OPS)
    mutants = []
    for number in range(count):
        name = rng.choice(SPEC_NAMES)
        mutant = Mutant(number=number, spec=name)
        on_overlay = rng.random() < 0.15
        overlay_name = re.search(r"overlay:\s*(\S+)", texts[name])
        text = (
            (SPECS / overlay_name.group(1)).read_text(encoding="utf-8") if on_overlay and overlay_name else texts[name]
        )
        on_overlay = on_overlay and overlay_name is not None
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            op = rng.choices(ops_, weights)[0]
            text, what = op(rng, text)
            mutant.ops.append(what)
        raw = _encode(rng, text, mutant.ops)
        if on_overlay:
            mutant.overlay = raw
            mutant.text = texts[name].encode("utf-8")
        else:
            mutant.text = raw
        mutants.append(mutant)
    return mutants


def mutant_of(spec: str, old: str, new: str, *, number: int = 0) -> Mutant:
    """A hand-made mutant: one shipped spec with `old` replaced by `new` (for tests of one finding)."""
    text = (SPECS / spec).read_text(encoding="utf-8")
    assert old in text, old
    return Mutant(number=number, spec=spec, ops=[f"{old[:30]} → {new[:30]}"], text=text.replace(old, new, 1).encode())


# ---------------------------------------------------------------------------------------------------------------
# The worker: one process runs mutants one after another; the parent restarts it after a timeout or a death.


class _OutOfTime(BaseException):
    """Raised by the timer in the worker (a BaseException, so duban's `except Exception` cannot swallow it)."""


def _pipeline(path: Path) -> str:
    """What validate, plan and a first tick do with a spec file; returns the step reached."""
    from datetime import datetime, timezone

    from duban.domain.plan import build_plan, load_calendar_for
    from duban.spec import checks
    from duban.spec.load import load_spec
    from duban.store.db import init_db
    from duban.store.engine import make_engine
    from duban.store.plans import store_plan

    try:  # what `duban validate` runs, where the code has it (older code ran load_spec and validate alone)
        from duban.spec.every_error import validate_file
    except ImportError:
        spec = load_spec(path)
        checks.validate(spec, load_calendar_for(spec))
    else:
        spec, _plan, _warnings = validate_file(path)
    plan = build_plan(spec, load_calendar_for(spec))  # what `duban plan` and the first tick do
    engine = make_engine("sqlite://")
    try:
        init_db(engine)
        store_plan(engine, spec, plan, now=datetime(2024, 5, 1, tzinfo=timezone.utc))
    finally:
        engine.dispose()
    return "stored"


def _classify(exc: BaseException, folder: Path) -> dict:
    from duban.errors import DubanError, SpecError

    text = str(exc)
    result = {"type": type(exc).__name__, "message": text[:400], "leak": bool(_LEAK_RE.search(text))}
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        result.update({"class": "traceback", "type": "UnencodableMessage"})
        return result
    if isinstance(exc, MemoryError):
        result["class"] = "memory"
    elif isinstance(exc, SpecError):
        errors = getattr(exc, "errors", None) or [exc]
        named = all(e.file and Path(e.file).resolve().is_relative_to(folder.resolve()) for e in errors)
        lined = all(e.line is not None for e in errors)
        result["class"] = "line" if (named and lined) else "noline"
        result["named"] = named
    elif isinstance(exc, DubanError):
        result["class"] = "noline"
        result["named"] = False
    else:
        result["class"] = "traceback"
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            result["where"] = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno} {tb.tb_frame.f_code.co_name}"
    return result


def _worker(conn, seconds: float, memory_mb: int) -> None:  # pragma: no cover - runs in the worker process
    import duban.domain.plan  # noqa: F401  (warm imports before the limit is set)
    import duban.spec.checks  # noqa: F401
    import duban.store.db  # noqa: F401

    os.environ["FUZZ_CANARY"] = CANARY
    with open("/proc/self/status") as status:
        vm = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = vm * 1024 + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def ring(_signum, _frame):
        raise _OutOfTime

    signal.signal(signal.SIGALRM, ring)
    home = Path(tempfile.mkdtemp(prefix="duban-fuzz-"))
    folder = home / "specs"
    shutil.copytree(SPECS, folder)
    os.chdir(home)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            break
        if job is None:
            break
        name, spec_bytes, overlay_bytes, spec_from = job
        path = folder / name
        path.write_bytes(spec_bytes)
        overlay_path = None
        if overlay_bytes is not None:
            original = re.search(rb"overlay:\s*(\S+)", spec_bytes).group(1).decode()  # type: ignore[union-attr]
            overlay_path = folder / "units" / f"mutant-{name}"
            overlay_path.write_bytes(overlay_bytes)
            path.write_bytes(spec_bytes.replace(original.encode(), f"units/mutant-{name}".encode(), 1))
        started = time.perf_counter()
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                result = {"class": "valid", "step": _pipeline(path)}
            except _OutOfTime:
                raise
            except BaseException as exc:  # noqa: BLE001 - every outcome is sorted, nothing escapes the worker
                try:
                    result = _classify(exc, folder)
                except MemoryError:
                    result = {"class": "memory", "type": "MemoryError"}
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _OutOfTime:  # the timer rang, wherever it found the worker
            result = {"class": "timeout", "type": "timeout"}
        result["seconds"] = round(time.perf_counter() - started, 3)
        path.unlink(missing_ok=True)
        if overlay_path is not None:
            overlay_path.unlink(missing_ok=True)
        conn.send(result)
    shutil.rmtree(home, ignore_errors=True)


class Runner:
    """Runs mutants in worker processes (forkserver: warm imports, no fork of a threaded parent)."""

    def __init__(self, seconds: float = 10.0, memory_mb: int = 1024) -> None:
        self.seconds = seconds
        self.memory_mb = memory_mb
        self.ctx = multiprocessing.get_context("forkserver")
        self.ctx.set_forkserver_preload(
            ["duban.domain.plan", "duban.spec.checks", "duban.store.db", "tests.fuzz.spec_mutants"]
        )
        self.proc = None
        self.conn = None

    def _start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.seconds, self.memory_mb), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent

    def _stop(self, kill: bool) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            try:
                self.conn.send(None)  # type: ignore[union-attr]
            except (BrokenPipeError, OSError):
                pass
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()  # type: ignore[union-attr]
        self.proc = self.conn = None

    def run(self, mutant: Mutant) -> dict:
        if self.proc is None:
            self._start()
        name = f"mutant-{mutant.number}-{mutant.spec}"
        started = time.perf_counter()
        self.conn.send((name, mutant.text, mutant.overlay, mutant.spec))  # type: ignore[union-attr]
        if self.conn.poll(self.seconds + 20):  # type: ignore[union-attr]
            try:
                result = self.conn.recv()  # type: ignore[union-attr]
                if result["class"] in ("timeout", "memory"):
                    self._stop(kill=True)  # a worker that ran out may be left in a bad state
                return result
            except EOFError:
                pass
        else:
            self._stop(kill=True)
            return {"class": "timeout", "type": "timeout (killed)", "seconds": round(time.perf_counter() - started, 3)}
        code = self.proc.exitcode if self.proc is not None else None  # the worker died
        self._stop(kill=True)
        died = {
            "class": "crash",
            "type": f"worker died (exit {code})",
            "seconds": round(time.perf_counter() - started, 3),
        }
        if code in (-signal.SIGKILL, -signal.SIGSEGV, -signal.SIGABRT):
            died["class"] = "memory" if code != -signal.SIGSEGV else "crash"
        return died

    def close(self) -> None:
        self._stop(kill=False)


def run_mutants(mutants: list[Mutant], *, seconds: float = 10.0, memory_mb: int = 1024) -> list[tuple[Mutant, dict]]:
    runner = Runner(seconds=seconds, memory_mb=memory_mb)
    try:
        return [(mutant, runner.run(mutant)) for mutant in mutants]
    finally:
        runner.close()


def summary(outcomes: list[tuple[Mutant, dict]]) -> str:
    counts = Counter(result["class"] for _m, result in outcomes)
    leaks = sum(1 for _m, result in outcomes if result.get("leak"))
    slowest = max((result.get("seconds", 0) for _m, result in outcomes), default=0)
    cells = " · ".join(f"{name} {counts.get(name, 0)}" for name in CLASSES)
    return f"{len(outcomes)} mutants: {cells} · leaks {leaks} · slowest {slowest:.1f} s"


def main() -> None:  # pragma: no cover - a tool for people
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit per mutant")
    parser.add_argument("--memory-mb", type=int, default=1024, help="memory a mutant may add to the worker")
    parser.add_argument("--show", action="append", default=[], help="print the mutants of this class")
    parser.add_argument("--json", type=Path, help="write every outcome here")
    args = parser.parse_args()
    started = time.perf_counter()
    outcomes = run_mutants(make_mutants(args.seed, args.cases), seconds=args.seconds, memory_mb=args.memory_mb)
    if args.json:  # ASCII: a mutant's description may hold a lone surrogate
        args.json.write_text(json.dumps([{"mutant": m.describe(), **r} for m, r in outcomes], indent=1))
    for mutant, result in outcomes:
        if result["class"] in args.show or (result.get("leak") and "leak" in args.show):
            detail = result.get("where") or result.get("message", "")[:160].replace("\n", " ⏎ ")
            if result.get("leak"):
                detail = "(message withheld: it quotes another file)"
            line = f"{result['class']:9} {result.get('type', '')} {detail}\n          {mutant.describe()[:300]}"
            print(line.encode("utf-8", "backslashreplace").decode("utf-8"))
    print(summary(outcomes) + f" · {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
