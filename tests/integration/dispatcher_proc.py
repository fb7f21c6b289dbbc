"""A dispatcher process for the crash and concurrency tests: drains the outbox of DATABASE_URL at AS_OF.

python -m tests.integration.dispatcher_proc DATABASE_URL AS_OF WORKER
"""

import sys
from datetime import datetime

from duban.notify.channels import notifier_for
from duban.services.dispatch import Dispatcher
from duban.settings import get_settings
from duban.store.engine import make_engine

if __name__ == "__main__":
    url, as_of, worker = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3]
    settings = get_settings()
    dispatcher = Dispatcher(
        make_engine(url),
        notifier_for(settings),
        settings.fallback_channels,
        concurrency=settings.dispatch_concurrency,
        quiet=settings.quiet(),
    )
    result = dispatcher.run(as_of, worker=worker)
    print(f"{worker}: claimed {result.claimed}, sent {result.sent}, failed {result.failed}", flush=True)
