"""What every duban flow tells Prefect about results: keep none.

A tick's truth is duban's database, so Prefect persists no flow or task results. Naming the storage anyway
(Prefect's own local default) spares each flow run three round trips that ask the server for its default
result storage (about 36 ms of a tick against a running server).
"""

from pathlib import Path
from typing import Any

from prefect.settings import get_current_settings

NO_RESULTS: dict[str, Any] = {
    "persist_result": False,
    "result_storage": Path(get_current_settings().results.local_storage_path),
}
