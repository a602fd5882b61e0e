"""The signal step shared by the single tick and the batch: it reads the strategy's whole
window, in pages when one request returns fewer, so the live signal is the backtest's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import core.strategy as strategy_face
from core.candles import MAX_LIMIT, closed_candles
from core.errors import ExchangeTemporaryError
from core.exchanges import SimExchange, timeframe_ms
from core.strategy import Candles, get_strategy, list_strategies
from core.trading import signal

MIN = 60_000
NOW = 1_796_093_280_000  # a whole minute
LARGEST = {  # the largest window each strategy allows (grid needs no history)
    "sma_cross": {"fast": 500, "slow": 2000},
    "rsi": {"period": 200},
    "bollinger": {"period": 500},
    "macd": {"fast": 200, "slow": 500, "signal": 200},
    "dca": {"lookback": 5000, "dip_pct": 1.0},
}


def test_every_strategys_largest_window_fits_one_read():
    for strategy in list_strategies():
        if strategy.name in LARGEST:
            params = strategy.validate(LARGEST[strategy.name])
            assert strategy.window(params) <= MAX_LIMIT, strategy.name
    assert set(LARGEST) | {"grid"} == {s.name for s in list_strategies()}


@pytest.mark.parametrize("name", ["macd", "dca", "rsi"])
def test_the_largest_windows_are_read_whole_and_give_the_backtests_signal(rt, monkeypatch, name):
    """MACD at its maximum needs 7,722 candles, DCA's 5,000-candle lookback 5,002 and Wilder's
    RSI of 200 candles 4,203: more than one request (1,000) returns. Before, the tick read at
    most 5,000: MACD's signal drifted from the backtest's and DCA's never fired."""
    strategy = get_strategy(name)
    params = strategy.validate(LARGEST[name])
    window = strategy.window(params)
    feed = SimExchange(seed=42, now_ms=lambda: NOW)
    asked: list[int] = []

    def spy(*args, **kwargs):
        asked.append(kwargs["limit"])
        return closed_candles(*args, **kwargs)

    monkeypatch.setattr(signal, "closed_candles", spy)
    history = closed_candles(
        rt, feed, symbol="BTC/USDT", timeframe="1m", limit=MAX_LIMIT, now_ms=NOW
    )
    close = np.array([c.close for c in history])
    _indicators, entry, exit_ = strategy.compute(Candles.of(pd.DataFrame(history)), params)
    for back in range(12):
        candle_ts = history[-1 - back].ts
        found = signal.compute(
            rt,
            feed,
            symbol="BTC/USDT",
            timeframe="1m",
            candle_ts=candle_ts,
            strategy=name,
            params=json.dumps(LARGEST[name]),
        )
        assert (found.entry, found.exit) == (bool(entry[-1 - back]), bool(exit_[-1 - back]))
        assert found.close == close[-1 - back]
    assert set(asked) == {window}


def test_a_candle_the_feed_does_not_have_yet_is_a_temporary_error(rt):
    feed = SimExchange(seed=42, now_ms=lambda: NOW)
    with pytest.raises(ExchangeTemporaryError, match="not available"):
        signal.compute(
            rt,
            feed,
            symbol="BTC/USDT",
            timeframe="1m",
            candle_ts=NOW + 10 * timeframe_ms("1m"),  # in the future of the feed's clock
            strategy="sma_cross",
            params=None,
        )


def test_the_batchs_cache_serves_a_group_once(rt, monkeypatch):
    feed = SimExchange(seed=42, now_ms=lambda: NOW)
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return closed_candles(*args, **kwargs)

    monkeypatch.setattr(signal, "closed_candles", counting)
    signal.clear_cache()
    kwargs = dict(symbol="ETH/USDT", timeframe="1m", candle_ts=NOW - 2 * MIN, strategy="rsi")
    first = signal.compute(rt, feed, params=None, cached=True, **kwargs)
    again = signal.compute(rt, feed, params=None, cached=True, **kwargs)
    assert first == again and len(calls) == 1
    signal.compute(rt, feed, params=None, **kwargs)  # the single tick path reads again
    assert len(calls) == 2


def test_the_tick_hands_the_strategy_the_whole_candle_frame(rt, monkeypatch):
    """`compute` gets the window's open, high, low, close and volume, as the feed has them."""
    seen: list[Candles] = []

    class Spy(strategy_face.Strategy):
        name = "spy"

        def compute(self, candles, p):
            seen.append(candles)
            n = len(candles)
            entry = candles.volume > 0
            return {}, entry, np.zeros(n, dtype=bool)

    monkeypatch.setitem(strategy_face.REGISTRY, "spy", Spy())
    feed = SimExchange(seed=42, now_ms=lambda: NOW)
    history = closed_candles(rt, feed, symbol="BTC/USDT", timeframe="1m", limit=3, now_ms=NOW)
    found = signal.compute(
        rt,
        feed,
        symbol="BTC/USDT",
        timeframe="1m",
        candle_ts=history[-1].ts,
        strategy="spy",
        params=None,
    )
    assert (found.entry, found.exit) == (True, False)
    (candles,) = seen
    expected = pd.DataFrame(history)
    for column in ("open", "high", "low", "close", "volume"):
        assert getattr(candles, column).tolist() == expected[column].tolist()
    assert candles.high.tolist() != candles.low.tolist()
