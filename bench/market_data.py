"""Market data shared across bots: 1,000 bots on 20 markets for several closed candles.

The fake Binance runs in-process on 127.0.0.1; every bot reads through the real ccxt.binance
client (LiveExchange, one per worker thread) and the candle cache on a temporary SQLite file.
The fake's clock is advanced one minute per round instead of waiting. Measured:

- klines requests per market per closed candle at the fake (goal: exactly 1.0);
- candles served per second while every bot reads its window (the first reader of a market
  fetches, the rest read the cache), and again with the in-process LRU cleared (database only).

Run: `python -m bench.market_data [--bots 1000 --markets 20 --candles 5 --window 100]`.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.candles import clear_memory_cache, closed_candles
from core.exchanges import Exchange, live_exchange
from core.platform import db, migrate
from tests.fakes.clocked import ClockedFake

MINUTE = 60_000


Venue = ClockedFake


def run(bots: int, markets: int, candles: int, window: int, threads: int) -> dict:
    venue = Venue()
    tmp = tempfile.TemporaryDirectory()
    engine = db.make_engine(f"sqlite:///{Path(tmp.name) / 'bench.db'}")
    migrate.upgrade(engine)
    symbols = venue.symbols(markets)[:markets]
    local = threading.local()

    def feed() -> Exchange:
        if not hasattr(local, "feed"):
            local.feed = live_exchange(exchange_id="binance", api_url=venue.url, timeout_ms=5_000)
            local.feed.load_markets()
        return local.feed

    def bot(i: int, now: int) -> int:
        symbol = symbols[i % len(symbols)]
        got = closed_candles(
            engine, feed(), symbol=symbol, timeframe="1m", limit=window, now_ms=now
        )
        return len(got)

    rows, served, busy = [], 0, 0.0
    cache_served, cache_busy = 0, 0.0
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: feed(), range(threads * 4)))  # markets loaded up front
        for round_no in range(1, candles + 1):
            venue.advance(MINUTE)
            now = venue.now()
            before = venue.klines_requests()
            start = time.perf_counter()
            served_now = sum(pool.map(lambda i, now=now: bot(i, now), range(bots)))
            elapsed = time.perf_counter() - start
            requests = venue.klines_requests() - before
            clear_memory_cache()  # the same reads again, database only
            start = time.perf_counter()
            cache_served += sum(pool.map(lambda i, now=now: bot(i, now), range(bots)))
            cache_busy += time.perf_counter() - start
            served, busy = served + served_now, busy + elapsed
            rows.append((round_no, requests, requests / len(symbols), served_now / elapsed))
    venue.stop()
    engine.dispose()
    tmp.cleanup()
    print(f"{'candle':>6} {'klines requests':>16} {'per market':>11} {'candles/s':>12}")
    for round_no, requests, per_market, rate in rows:
        print(f"{round_no:>6} {requests:>16} {per_market:>11.2f} {rate:>12,.0f}")
    total_requests = sum(r[1] for r in rows)
    print(f"database-only reads (LRU cleared): {cache_served / cache_busy:,.0f} candles/s")
    return {
        "bots": bots,
        "markets": len(symbols),
        "candles": candles,
        "window": window,
        "threads": threads,
        "requests_per_market_candle": round(total_requests / (len(symbols) * candles), 4),
        "candles_from_cache_per_s": round(served / busy),
        "candles_from_db_per_s": round(cache_served / cache_busy),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=1000)
    parser.add_argument("--markets", type=int, default=20)
    parser.add_argument("--candles", type=int, default=5)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    result = run(args.bots, args.markets, args.candles, args.window, args.threads)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
