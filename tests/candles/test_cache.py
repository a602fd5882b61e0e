"""Candle cache: closed candles only, fetched once per candle, served from the cache."""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import func, select

from core.candles import cache as marketdata
from core.errors import InvalidInput, RateLimited
from core.exchanges.base import Candle, Exchange
from core.models import Candle as CandleRow

MINUTE = 60_000
NOW = 1_700_000_000_000 + 30_000  # 30 s into a minute


class CountingFeed(Exchange):
    """Candles that exist up to the one forming at `now`; counts fetch_candles calls."""

    id = "count"

    def __init__(self, now: int, delay: float = 0.0, lag: int = 0) -> None:
        self.now, self.delay, self.lag = now, delay, lag
        self.calls: list[tuple[int, int]] = []
        self.fail_next: list[Exception] = []
        self._lock = threading.Lock()

    def load_markets(self):
        return {}

    def fetch_candles(self, symbol, timeframe, since=None, limit=None):
        with self._lock:
            self.calls.append((since, limit))
            if self.fail_next:
                raise self.fail_next.pop(0)
        time.sleep(self.delay)
        step = MINUTE if timeframe == "1m" else 300_000
        newest = self.now - self.now % step - self.lag * step
        out = []
        ts = since
        while ts <= newest and len(out) < (limit or 500):
            p = 100 + (ts // step) % 7
            out.append(Candle(ts, p, p + 1, p - 1, p + 0.5, 1.0))
            ts += step
        return out

    def last_price(self, symbol):
        return 100.0

    fetch_balance = create_order = fetch_order = cancel_order = fetch_open_orders = None


@pytest.fixture(autouse=True)
def _fresh_memory():
    marketdata.clear_memory_cache()
    yield
    marketdata.clear_memory_cache()


def closed(rt, feed, limit=50, now=NOW, symbol="BTC/USDT"):
    return marketdata.closed_candles(
        rt, feed, symbol=symbol, timeframe="1m", limit=limit, now_ms=now
    )


def test_returns_the_last_closed_candles_oldest_first(rt):
    candles = closed(rt, CountingFeed(NOW), limit=5)
    newest_closed = NOW - NOW % MINUTE - MINUTE
    assert [c.ts for c in candles] == [newest_closed - i * MINUTE for i in range(4, -1, -1)]


def test_the_forming_candle_is_never_cached(rt):
    closed(rt, CountingFeed(NOW), limit=5)
    with rt.read() as s:
        newest = s.exec(select(func.max(CandleRow.ts))).one()
    assert newest == NOW - NOW % MINUTE - MINUTE


def test_the_first_window_takes_one_request(rt):
    feed = CountingFeed(NOW)
    closed(rt, feed, limit=300)
    assert len(feed.calls) == 1


def test_a_repeat_is_served_from_the_database_without_a_request(rt):
    feed = CountingFeed(NOW)
    first = closed(rt, feed)
    marketdata.clear_memory_cache()
    assert closed(rt, feed) == first
    assert len(feed.calls) == 1


def test_the_next_candle_fetches_only_the_new_candle(rt):
    feed = CountingFeed(NOW)
    closed(rt, feed)
    feed.now = NOW + MINUTE
    candles = closed(rt, feed, now=NOW + MINUTE)
    assert feed.calls[-1] == (NOW - NOW % MINUTE, 1)
    assert len(feed.calls) == 2 and len(candles) == 50


def test_a_longer_window_backfills_older_history_once(rt):
    feed = CountingFeed(NOW)
    closed(rt, feed, limit=10)
    assert len(closed(rt, feed, limit=100)) == 100
    assert len(closed(rt, feed, limit=100)) == 100
    assert len(feed.calls) == 2


def test_markets_are_cached_separately(rt):
    feed = CountingFeed(NOW)
    closed(rt, feed, symbol="BTC/USDT")
    closed(rt, feed, symbol="ETH/USDT")
    assert len(feed.calls) == 2


def test_many_threads_on_one_market_cause_one_request(rt):
    feed = CountingFeed(NOW, delay=0.05)
    barrier = threading.Barrier(30)
    results = []

    def bot() -> None:
        barrier.wait()
        results.append(closed(rt, feed))

    threads = [threading.Thread(target=bot) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(feed.calls) == 1
    assert all(r == results[0] for r in results) and len(results) == 30


def test_a_candle_the_exchange_has_not_published_is_not_asked_for_in_a_loop(rt):
    feed = CountingFeed(NOW, lag=2)  # the candle that just closed is not out yet
    first = closed(rt, feed, limit=5)
    closed(rt, feed, limit=5)
    assert first[-1].ts == NOW - NOW % MINUTE - 2 * MINUTE
    assert len(feed.calls) == 1


def test_a_bad_limit_is_refused(rt):
    with pytest.raises(InvalidInput):
        closed(rt, CountingFeed(NOW), limit=0)


def test_download_fills_only_the_gaps(rt):
    feed = CountingFeed(NOW)
    start = NOW - NOW % MINUTE - 100 * MINUTE
    with rt.session() as s:
        marketdata.store_candles(
            s,
            exchange="count",
            symbol="BTC/USDT",
            timeframe="1m",
            candles=feed.fetch_candles("BTC/USDT", "1m", since=start + 40 * MINUTE, limit=20),
        )
    feed.calls.clear()
    stats = marketdata.download_candles(
        rt, feed, symbol="BTC/USDT", timeframe="1m", since_ms=start, until_ms=NOW, now_ms=NOW
    )
    assert [since for since, _ in feed.calls] == [start, start + 60 * MINUTE]
    assert (stats.inserted, stats.cached_before) == (80, 20)


def test_download_waits_and_retries_after_a_rate_limit(rt):
    feed = CountingFeed(NOW)
    feed.fail_next.append(RateLimited("slow down", retry_after=3.0))
    waits = []
    stats = marketdata.download_candles(
        rt,
        feed,
        symbol="BTC/USDT",
        timeframe="1m",
        since_ms=NOW - NOW % MINUTE - 10 * MINUTE,
        until_ms=NOW,
        now_ms=NOW,
        sleep=waits.append,
    )
    assert waits == [3.0] and stats.inserted == 10


def test_missing_runs_finds_every_gap():
    have = {0, 1, 2, 5, 6, 9}
    assert marketdata.missing_runs(have, 0, 11, 1) == [(3, 4), (7, 8), (10, 11)]


def test_many_threads_on_one_market_cause_one_request_on_postgresql(pg_rt):
    feed = CountingFeed(NOW, delay=0.05)
    barrier = threading.Barrier(10)

    def bot() -> None:
        barrier.wait()
        closed(pg_rt, feed)

    threads = [threading.Thread(target=bot) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(feed.calls) == 1
    marketdata.clear_memory_cache()
    assert len(closed(pg_rt, feed)) == 50
