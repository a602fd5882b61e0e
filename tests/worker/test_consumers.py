"""Real Huey consumers: paper bots trade end to end on SQLite; two worker processes on the real
Redis, on real PostgreSQL and on the SQLite files run every (bot, candle) tick exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from core.models import BotOrder, Tick, Trade
from core.platform.runtime import start
from tests.conftest import make_settings
from tests.factories import make_bot, make_paper_account, make_running_bots, make_user
from worker.embedded import ThreadConsumer
from worker.queue import make_huey, queue_backend
from worker.service import build_service

MIN = 60_000
ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def run_consumer(service):
    consumer = service.consumer(ThreadConsumer)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    return consumer, thread


def test_paper_bots_trade_through_a_real_consumer(rt):
    with rt.session() as s:
        owner = make_user(s, username="alice", role="admin")
        acc = make_paper_account(s, owner=owner)
        for i in range(3):  # DCA with no dip buys at its first tick
            make_bot(
                s,
                owner=owner,
                account_id=acc.id,
                name=f"dca{i}",
                symbol="ETH/USDT",
                strategy="dca",
                params={"dip_pct": 0},
                order_size=200.0,
                start=True,
            )
    service = build_service(rt, mode="embedded")
    assert queue_backend(service.huey) == "sqlite"
    consumer, thread = run_consumer(service)
    try:
        assert service.app.schedule_once() == 3

        def done():
            with rt.read() as s:
                return len(s.exec(select(Tick).where(Tick.status == "done")).all()) == 3

        assert wait_for(done)
    finally:
        consumer.stop(graceful=True)
        thread.join(10)
    with rt.read() as s:
        orders = s.exec(select(BotOrder)).all()
        trades = s.exec(select(Trade)).all()
    assert len(orders) == 3 and {o.status for o in orders} == {"closed"}
    assert len(trades) == 3 and all(t.entry_price > 0 for t in trades)


def _tick_states(rt) -> dict:
    with rt.read() as s:
        return dict(s.exec(select(Tick.status, func.count()).group_by(Tick.status)).all())


def _exactly_once(tmp_path: Path, settings) -> None:
    """Two worker processes on one database and one queue, each scheduling both candles."""
    rt = start("test", settings=settings)
    bot_ids = make_running_bots(rt, 200)
    now = int(time.time() * 1000)
    first = now - now % MIN - MIN  # the candle that closed last
    expected = {(b, first + m * MIN) for b in bot_ids for m in range(2)}
    runs, log = tmp_path / "runs.txt", tmp_path / "workers.log"
    args = [str(settings.data_dir), settings.database_url, settings.queue_url, str(runs)]
    with log.open("ab") as out:
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.worker.consumer_proc",
                    *args,
                    str(now),
                    str(now + MIN),
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            for _ in range(2)
        ]
    try:
        ready = [runs.with_suffix(f".ready.{p.pid}") for p in procs]
        assert wait_for(lambda: all(r.exists() for r in ready), 60), log.read_text()[-3000:]
        runs.with_suffix(".go").touch()

        def all_done() -> bool:
            with rt.read() as s:
                return s.exec(
                    select(func.count()).select_from(Tick).where(Tick.status == "done")
                ).one() == len(expected)

        assert wait_for(all_done, 120), (_tick_states(rt), log.read_text()[-3000:])
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        rt.engine.dispose()
    lines = [line.split() for line in runs.read_text().splitlines()]
    counts = Counter((int(bot), int(ts)) for bot, ts, _pid in lines)
    assert set(counts) == expected
    assert max(counts.values()) == 1
    assert len({pid for _b, _t, pid in lines}) == 2  # both consumers took a share


# 3-4 s each: two worker processes
@pytest.mark.slow
def test_two_worker_processes_on_redis_run_each_tick_once(redis_url, data_dir, tmp_path):
    settings = make_settings(data_dir, queue_url=redis_url)
    assert queue_backend(make_huey(settings)) == "redis"
    _exactly_once(tmp_path, settings)


@pytest.mark.slow
def test_two_worker_processes_on_postgresql_run_each_tick_once(pg_url, data_dir, tmp_path):
    settings = make_settings(data_dir, database_url=pg_url, queue_url=pg_url)
    assert queue_backend(make_huey(settings)) == "postgresql"
    _exactly_once(tmp_path, settings)


@pytest.mark.slow
def test_two_worker_processes_on_sqlite_run_each_tick_once(data_dir, tmp_path):
    settings = make_settings(data_dir)
    assert queue_backend(make_huey(settings)) == "sqlite"
    _exactly_once(tmp_path, settings)


@pytest.mark.parametrize("url", ["amqp://x", "ftp://y"])
def test_unknown_queue_urls_are_refused(data_dir, url):
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="STEADYBOT_QUEUE_URL"):
        make_huey(make_settings(data_dir, queue_url=url))
