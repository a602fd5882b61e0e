"""Real Huey consumers: paper bots trade end to end on SQLite; two consumers on the real Redis
and on real PostgreSQL run every (bot, candle) tick exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlmodel import select

from core import bots, engine, users
from core.exchanges.paper_book import open_paper_account
from core.models import BotOrder, Tick, Trade, WorkerHeartbeat
from core.runtime import start
from tests.conftest import make_settings
from tests.worker.conftest import make_running_bots
from worker.embedded import ThreadConsumer
from worker.heartbeat import beat
from worker.queue import make_huey, queue_backend
from worker.service import build_service

MIN = 60_000


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
        owner = users.register(
            s, username="alice", email="a@x.io", name="A", password="Correct-Horse-9"
        )
        acc = open_paper_account(s, owner_id=owner.id, label="paper")
        for i in range(3):  # DCA with no dip buys at its first tick
            spec = bots.BotSpec(
                name=f"dca{i}",
                account_id=acc.id,
                symbol="ETH/USDT",
                timeframe="1m",
                strategy="dca",
                params={"dip_pct": 0},
                order_size=200.0,
            )
            bot = bots.create_bot(s, owner=owner, spec=spec, markets=engine.market_lookup(rt))
            bots.change_status(s, owner=owner, bot_id=bot.id, action="start")
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


def test_heartbeat_row_is_written_and_refreshed(rt):
    from core.models import utcnow

    huey = make_huey(rt.settings)
    now = utcnow()
    beat(rt, huey, worker_id="h:1:1", mode="external", started=now)
    with rt.read() as s:
        first = s.get(WorkerHeartbeat, "h:1:1").last_beat
    time.sleep(0.01)
    beat(rt, huey, worker_id="h:1:1", mode="external", started=now)
    with rt.read() as s:
        row = s.get(WorkerHeartbeat, "h:1:1")
    assert row.last_beat > first and row.queue_depth == 0


def _exactly_once(rt_a, rt_b) -> None:
    bot_ids = make_running_bots(rt_a, 200)
    runs: Counter = Counter()
    lock = threading.Lock()

    def counting_runner(rt, *, bot_id, candle_ts, worker_id):
        with lock:
            runs[(bot_id, candle_ts)] += 1
        time.sleep(0.001)
        return "ok"

    services = [build_service(r, mode="external", runner=counting_runner) for r in (rt_a, rt_b)]
    consumers = [run_consumer(s) for s in services]
    try:
        now = int(time.time() * 1000)
        for minute in range(2):  # two candle closes, scheduled by both workers each time
            for service in services:
                service.app.schedule_once(now + minute * MIN)
        expected = {(b, now - now % MIN - MIN + m * MIN) for b in bot_ids for m in range(2)}
        assert wait_for(lambda: set(runs) >= expected, 90)
        time.sleep(1.0)  # a late duplicate would show up now
    finally:
        for consumer, thread in consumers:
            consumer.stop(graceful=True)
            thread.join(10)
    assert set(runs) == expected
    assert max(runs.values()) == 1


def test_two_consumers_on_redis_run_each_tick_once(redis_url, data_dir, tmp_path):
    rts = [start("test", settings=make_settings(data_dir, queue_url=redis_url)) for _ in range(2)]
    assert queue_backend(make_huey(rts[0].settings)) == "redis"
    _exactly_once(*rts)


def test_two_consumers_on_postgresql_run_each_tick_once(pg_url, data_dir):
    settings = make_settings(data_dir, database_url=pg_url, queue_url=pg_url)
    rts = [start("test", settings=settings) for _ in range(2)]
    assert queue_backend(make_huey(settings)) == "postgresql"
    _exactly_once(*rts)


def test_two_consumers_on_sqlite_run_each_tick_once(rt):
    _exactly_once(rt, rt)


@pytest.mark.parametrize("url", ["amqp://x", "ftp://y"])
def test_unknown_queue_urls_are_refused(data_dir, url):
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="STEADYBOT_QUEUE_URL"):
        make_huey(make_settings(data_dir, queue_url=url))
