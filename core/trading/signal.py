"""The signal step shared by the single tick and the batch: the closed candles a strategy needs
for the candle that opened at `candle_ts`, and its entry / exit on that candle.

`Strategy.window` candles are read (in pages when one request returns fewer) and handed to the
strategy as `Candles` (open, high, low, close, volume arrays), so the signal equals the one
computed over the whole history, as in a backtest. Closed candles never change: the batch keeps
computed signals in a small per-process cache, shared by every bot of the same market, strategy
and parameters.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from core.candles import closed_candles
from core.errors import ExchangeTemporaryError
from core.exchanges import Candle, Exchange, Market, timeframe_ms
from core.platform.runtime import Runtime
from core.strategy import Candles, get_strategy

CACHE_SIZE = 4096

_cache: OrderedDict[tuple, tuple[bool, bool, float]] = OrderedDict()
_cache_guard = threading.Lock()


@dataclass(frozen=True)
class Signal:
    """What every bot of one (market, candle, strategy, parameters) group sees."""

    entry: bool
    exit: bool
    close: float
    market: Market
    mode: str
    params: dict


def clear_cache() -> None:
    with _cache_guard:
        _cache.clear()


def compute(
    rt: Runtime,
    feed: Exchange,
    *,
    symbol: str,
    timeframe: str,
    candle_ts: int,
    strategy: str,
    params: str | None,
    cached: bool = False,
) -> Signal:
    """The strategy's signal on the candle that opened at `candle_ts` (`params`: the bot's
    JSON). `ExchangeTemporaryError` when the feed does not have that candle yet."""
    chosen = get_strategy(strategy)
    values = chosen.validate(json.loads(params or "{}"))
    market = feed.market(symbol)
    key = (str(rt.engine.url), feed.id, symbol, timeframe, candle_ts, strategy, params)
    hit = None
    if cached:
        with _cache_guard:
            hit = _cache.get(key)
    if hit is None:
        candles = closed_candles(
            rt,
            feed,
            symbol=symbol,
            timeframe=timeframe,
            limit=chosen.window(values),  # read in pages of one request each
            now_ms=candle_ts + timeframe_ms(timeframe),
        )
        if not candles or candles[-1].ts != candle_ts:
            raise ExchangeTemporaryError(f"the {timeframe} candle at {candle_ts} is not available")
        frame = _frame(candles)
        entry, exit_signal = chosen.last_signal(frame, values)
        hit = (bool(entry), bool(exit_signal), float(frame.close[-1]))
        if cached:
            with _cache_guard:
                _cache[key] = hit
                while len(_cache) > CACHE_SIZE:
                    _cache.popitem(last=False)
    return Signal(hit[0], hit[1], hit[2], market, chosen.mode, values)


def _frame(candles: list[Candle]) -> Candles:
    """The strategy's `Candles` from the cache's rows, one column at a time."""
    n = len(candles)
    return Candles(
        open=np.fromiter((c.open for c in candles), dtype=float, count=n),
        high=np.fromiter((c.high for c in candles), dtype=float, count=n),
        low=np.fromiter((c.low for c in candles), dtype=float, count=n),
        close=np.fromiter((c.close for c in candles), dtype=float, count=n),
        volume=np.fromiter((c.volume for c in candles), dtype=float, count=n),
    )
