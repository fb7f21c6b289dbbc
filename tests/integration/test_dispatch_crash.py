"""Nothing lost, nothing sent twice: a dispatcher killed mid-drain, and two dispatchers at once on Postgres.

5,200 messages (40 per unit of the 晋中 campaign) go to a local WeCom-like server; every text carries its
message's key, so the server's record shows what arrived and how often.
"""

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from duban.tables import OutboxMessage
from tests.conftest import ROOT
from tests.integration.fake_bots import BotServer
from tests.integration.helpers import at, plan_jinzhong, tick

OPEN = at("2024-05-10 08:30")
COPIES = 40


def _fill_outbox(engine) -> dict[str, int]:
    """Open the first stage (130 messages), then copy each message into COPIES distinct ones."""
    plan_jinzhong(engine)
    tick(engine, OPEN)
    o = OutboxMessage.__table__
    with engine.begin() as conn:
        rows = conn.execute(select(o.c.campaign_id, o.c.recipient, o.c.kind, o.c.idempotency_key, o.c.payload,
                                   o.c.created_at, o.c.not_before)).all()  # fmt: skip
        copies = [
            dict(campaign_id=r[0], recipient=r[1], kind=r[2], payload=r[4], created_at=r[5], not_before=r[6],
                 idempotency_key=hashlib.sha256(f"{r[3]}|{n}".encode()).hexdigest()[:32], status="pending", attempts=0)
            for n in range(1, COPIES) for r in rows
        ]  # fmt: skip
        conn.execute(o.insert(), copies)
        keys = conn.execute(select(o.c.id, o.c.idempotency_key)).all()
    return {key: mid for mid, key in keys}


def _start(url, bots, worker, as_of):
    env = {**os.environ, "DUBAN_FALLBACK_CHANNELS": '["env:JZ_BOT"]', "DUBAN_RATE_LIMITS": "{}",
           "JZ_BOT": f"wecombot://okjinzhong?base={bots.base}", "DUBAN_DISPATCH_CONCURRENCY": "8"}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "tests.integration.dispatcher_proc", url, as_of.isoformat(), worker],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _arrived(bots) -> Counter:
    texts = list(bots.received["okjinzhong"])
    unkeyed = [t for t in texts if not re.search(r"编号 (\w{12})", t)]
    assert not unkeyed, unkeyed[:2]
    return Counter(re.search(r"编号 (\w{12})", t).group(1) for t in texts)


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_a_dispatcher_killed_mid_drain_loses_nothing(engine):
    keys = _fill_outbox(engine)
    assert len(keys) == 130 * COPIES
    with BotServer() as bots:
        first = _start(_url(engine), bots, "first", OPEN)
        deadline = time.monotonic() + 60
        while bots.requests < 1500 and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait()
        with engine.connect() as conn:
            in_flight = set(conn.execute(select(OutboxMessage.idempotency_key).where(
                OutboxMessage.status == "sending", OutboxMessage.claimed_by == "first")).scalars())  # fmt: skip
        before_restart = sum(_arrived(bots).values())
        # The restarted dispatcher runs after the dead one's lease (10 minutes) has expired.
        second = _start(_url(engine), bots, "second", OPEN + timedelta(minutes=11))
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 0, out
        arrived = _arrived(bots)
    with engine.connect() as conn:
        statuses = Counter(conn.execute(select(OutboxMessage.status)).scalars())
    assert statuses == {"sent": 130 * COPIES}
    assert set(arrived) == {k[:12] for k in keys}  # every message delivered
    duplicates = {k for k, n in arrived.items() if n > 1}
    assert len(in_flight) <= 200  # one claimed batch
    assert duplicates <= {k[:12] for k in in_flight}  # repeats only where the kill left claims unrecorded
    print(f"\nkilled after {before_restart} sends; {len(in_flight)} claimed but unrecorded; "
          f"{len(duplicates)} sent twice (same key); {sum(arrived.values())} sends for {len(keys)} messages")


def test_two_dispatchers_at_once_on_postgres_send_nothing_twice(pg_engine):
    keys = _fill_outbox(pg_engine)
    with BotServer() as bots:
        workers = [_start(_url(pg_engine), bots, name, OPEN) for name in ("a", "b")]
        outputs = [w.communicate(timeout=120)[0] for w in workers]
        arrived = _arrived(bots)
    assert all(w.returncode == 0 for w in workers), outputs
    assert len(arrived) == len(keys) and max(arrived.values()) == 1
    claimed = [int(re.search(r"claimed (\d+)", out).group(1)) for out in outputs]
    assert sum(claimed) == len(keys) and min(claimed) > 0, outputs  # both took part
