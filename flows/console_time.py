"""Prefect's console lines in duban's zone.

Prefect stamps each console line with the machine's local time (`16:08:19.779 | INFO | Flow run …`). A bureau's
server often keeps UTC, so an operator in 晋中 read 16:08 beside duban's own "本次巡检（2024-05-27 周一 09:00）"
and a real clock showing 00:08. Every instant duban shows is in the campaign's zone (Asia/Shanghai unless
DUBAN_TIMEZONE says otherwise); the console's stamps are made so too, for every formatter of Prefect's, whenever it
is built (Prefect builds them again when its settings change). The Prefect UI shows times in the browser's zone.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo


def zone_console_times() -> None:
    """Stamp Prefect's console lines in duban's zone (DUBAN_TIMEZONE, Asia/Shanghai by default)."""
    from prefect.logging.formatters import PrefectFormatter

    from duban.settings import get_settings

    zone = ZoneInfo(get_settings().timezone)

    def in_zone(seconds: float | None = None) -> time.struct_time:
        return datetime.fromtimestamp(time.time() if seconds is None else seconds, zone).timetuple()

    PrefectFormatter.converter = staticmethod(in_zone)  # type: ignore[assignment]
