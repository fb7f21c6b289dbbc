"""`python -m tests.e2e.portal_at PORT "2024-05-21 16:30"`: the real portal (settings from DUBAN_*), served by
uvicorn as `duban serve` serves it, with its wall clock standing at the given instant.

End-to-end tests hand things in on a campaign of 2024 through it. `duban serve --as-of` cannot do that: it is a
read-only preview and refuses every submission, so nothing real is ever recorded at a made-up instant; a clock
that stands still for writes exists only here, in the tests.
"""

from __future__ import annotations

import sys

from duban.instants import parse_instant
from duban.settings import get_settings
from duban.web import create_app
from duban.web.server import serve


def main(port: int, moment: str) -> None:
    settings = get_settings()
    fixed = parse_instant(moment, settings.timezone)
    serve(create_app(settings, clock=lambda: fixed), "127.0.0.1", port)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
