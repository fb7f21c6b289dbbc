"""The report's timeline chart (PNG): the stages' windows, key days and amendments above, submissions per day
(on time and late) below. Drawn with matplotlib's Agg canvas (no display, no global backend switch) in a CJK
font found through font_manager; without one the chart is still drawn, with a warning that Chinese labels
may show as boxes."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure

from duban.instants import in_zone
from duban.report.record import Record

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
)
GREEN, ORANGE, BLUE, RED, GREY = "#2e7d32", "#ef6c00", "#1565c0", "#c62828", "#757575"


def cjk_font() -> font_manager.FontProperties | None:
    """A font that has Chinese glyphs, or None when the machine has none of the known ones.

    By family, not by file: Noto CJK ships every region in one collection (.ttc) whose first face is the
    Japanese one, and a file name alone opens that face (Japanese glyph forms of 令, 直, 骨 …); the family
    names the SC face inside the collection. When none is known, the system's fonts are looked at once more:
    matplotlib lists them once, in a cache, so fonts installed after its first run (fonts-noto-cjk after a
    first `duban report`) would never be seen."""
    found = _known_cjk_font()
    if found is None and refresh_font_cache():
        found = _known_cjk_font()
    return found


def _known_cjk_font() -> font_manager.FontProperties | None:
    for family in CJK_FAMILIES:
        props = font_manager.FontProperties(family=family)
        try:
            font_manager.findfont(props, fallback_to_default=False)
        except ValueError:
            continue
        return props
    return None


def refresh_font_cache() -> bool:
    """Add the system's font files that matplotlib's cache lacks, and save the cache; True when any was added.

    Costs a scan of the font folders (about 20 ms), so only a missing CJK font asks for it."""
    manager = font_manager.fontManager
    known = {entry.fname for entry in (*manager.ttflist, *manager.afmlist)}
    added = False
    for path in font_manager.findSystemFonts():
        if path in known:
            continue
        try:
            manager.addfont(path)
        except Exception:  # noqa: BLE001 - a file FreeType cannot read: matplotlib skips it too
            continue
        added = True
    if added:
        font_manager.json_dump(manager, Path(matplotlib.get_cachedir(), f"fontlist-v{manager.__version__}.json"))
    return added


def timeline_png(record: Record, path: Path) -> list[str]:
    """Draw the chart to `path`; returns warnings (e.g. no CJK font)."""
    notes = []
    font = cjk_font()
    if font is None:
        notes.append("no CJK font found (install fonts-noto-cjk): the chart's Chinese labels may show as boxes")
    kw = {"fontproperties": font} if font else {}
    tz = record.tz

    def local(moment: datetime) -> float:
        return date2num(in_zone(moment, tz).naive())

    figure = Figure(figsize=(10, 5.6), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.2, 1]})
    windows = list(reversed(record.windows))
    for y, (_sid, name, start, end) in enumerate(windows):
        top.barh(y, local(end) - local(start), left=local(start), height=0.5, color=BLUE, alpha=0.75)
        first, last = in_zone(start, tz), in_zone(end, tz)
        top.text(
            (local(start) + local(end)) / 2,
            y,
            f"{first.month}/{first.day}–{last.month}/{last.day}",
            ha="center",
            va="center",
            fontsize=8,
            color="white",
        )
    top.set_yticks(range(len(windows)), [_short(w[1]) for w in windows], **kw)
    for name, at, _place in record.events:
        top.axvline(local(at), color=GREY, linestyle="--", linewidth=1)
        top.text(local(at), len(windows) - 0.4, _short(name, 10), rotation=0, fontsize=7, color=GREY, **kw)
    for amendment in record.amendments:
        top.axvline(local(amendment.effective_at), color=RED, linestyle=":", linewidth=1.5)
        top.text(local(amendment.effective_at), -0.7, f"调整 {amendment.doc_no or ''}", fontsize=7, color=RED, **kw)
    top.set_title(f"{record.spec.title}：工作阶段与每日报送", fontsize=12, **kw)
    days = [datetime(d.year, d.month, d.day) + timedelta(hours=12) for d, _on, _late in record.per_day]
    on_time = [on for _d, on, _late in record.per_day]
    late = [lt for _d, _on, lt in record.per_day]
    bottom.bar(days, on_time, width=0.8, color=GREEN, label="按时报送")
    bottom.bar(days, late, width=0.8, bottom=on_time, color=ORANGE, label="逾期报送")
    bottom.set_ylabel("报送数（首次）", **kw)
    for ax in (top, bottom):
        ax.axvline(local(record.as_of), color="black", linewidth=0.8)
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
    bottom.text(local(record.as_of), bottom.get_ylim()[1] * 0.92, "统计截至 ", fontsize=7, ha="right", **kw)
    if record.per_day:
        bottom.legend(prop=font, fontsize=8, loc="upper left") if font else bottom.legend(fontsize=8, loc="upper left")
    bottom.xaxis.set_major_formatter(DateFormatter("%m-%d"))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # said once, in `notes`
        figure.savefig(path, format="png")
    return notes


def _short(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
