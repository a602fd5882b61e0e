"""Sharing and downloading through the real ccxt.binance client (LiveExchange) against the fake
exchange on 127.0.0.1: requests are counted at the fake.

The fake runs with a clock the tests move (tests.fakes.clocked).
"""

from __future__ import annotations

import threading

import pytest
from sqlmodel import func, select

from core.candles import cache as marketdata
from core.exchanges import live
from core.models import Candle as CandleRow
from tests.fakes.clocked import ClockedFake

MINUTE = 60_000
SYMBOL = "BTC/USDT"


Venue = ClockedFake


@pytest.fixture
def venue():
    v = Venue()
    yield v
    v.close()


@pytest.fixture(autouse=True)
def _fresh_memory():
    marketdata.clear_memory_cache()
    yield
    marketdata.clear_memory_cache()


def binance(venue: Venue):
    return live.LiveExchange(exchange_id="binance", api_url=venue.url, timeout_ms=2_000)


# ~5 s: 300 threads against the fake exchange
@pytest.mark.slow
def test_100_bots_on_one_market_make_one_klines_request_per_closed_candle(rt, venue):
    local = threading.local()
    barrier = threading.Barrier(100)

    def bot(now: int) -> None:
        if not hasattr(local, "feed"):
            local.feed = binance(venue)
            local.feed.load_markets()
        barrier.wait()
        candles = marketdata.closed_candles(
            rt, local.feed, symbol=SYMBOL, timeframe="1m", limit=30, now_ms=now
        )
        assert candles[-1].ts == now - now % MINUTE - MINUTE

    per_candle = []
    for _ in range(3):
        venue.advance(MINUTE)
        now, before = venue.now(), venue.klines_requests()
        threads = [threading.Thread(target=bot, args=(now,)) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        per_candle.append(venue.klines_requests() - before)
    assert per_candle == [1, 1, 1]


def count_cached(rt) -> tuple[int, int]:
    with rt.read() as s:
        rows = s.exec(select(func.count(), func.count(func.distinct(CandleRow.ts)))).one()
    return tuple(rows)


def download(rt, feed, venue, since, **kw):
    return marketdata.download_candles(
        rt,
        feed,
        symbol=SYMBOL,
        timeframe="1m",
        since_ms=since,
        until_ms=venue.now(),
        now_ms=venue.now(),
        **kw,
    )


def test_an_interrupted_download_resumes_without_duplicates_gaps_or_refetching(rt, venue):
    feed = binance(venue)
    now = venue.now()
    since = now - now % MINUTE - 3_500 * MINUTE  # 3,500 closed candles: 4 pages of 1,000

    def stop_after_two_pages(done: int, total: int) -> None:
        if done >= 2_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download(rt, feed, venue, since, progress=stop_after_two_pages)
    assert count_cached(rt) == (2_000, 2_000)
    before = venue.klines_requests()
    stats = download(rt, feed, venue, since)
    assert venue.klines_requests() - before == 2  # only the two pages not yet cached
    assert (stats.cached_before, stats.inserted) == (2_000, 1_500)
    assert count_cached(rt) == (3_500, 3_500)
    with rt.read() as s:
        lo, hi = s.exec(select(func.min(CandleRow.ts), func.max(CandleRow.ts))).one()
    assert (hi - lo) // MINUTE + 1 == 3_500  # no gaps


# ~18 s: the live adapter's retries back off for real
@pytest.mark.slow
def test_a_download_that_failed_at_the_exchange_resumes(rt, venue):
    feed = binance(venue)
    now = venue.now()
    since = now - now % MINUTE - 2_500 * MINUTE
    venue.fail_klines_after(1)
    with pytest.raises(Exception):  # noqa: B017 - whichever domain error the adapter raises
        download(rt, feed, venue, since, sleep=lambda _s: None)
    cached_after_failure = count_cached(rt)[0]
    assert cached_after_failure == 1_000
    venue.heal()
    stats = download(rt, feed, venue, since)
    assert stats.inserted == 1_500 and count_cached(rt) == (2_500, 2_500)
