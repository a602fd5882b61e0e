"""The indicators against TA-Lib (the C library every charting and trading tool is checked
against; its RSI is Wilder's, as on TradingView), on real prices a package ships: Google's daily
OHLCV 2004-2013 and EUR/USD hourly candles from backtesting.py's test data.

Every value after the warm-up agrees to 1e-9 relative. The only warm-up is MACD's: TA-Lib seeds
the fast EMA at the slow EMA's first value (the SMA of the fast window there), Steadybot at its
own first value, as TradingView does; the seeds' weight fades by (1 - 2/(n+1)) a candle, so the
comparison starts 20 (n + 1) candles after TA-Lib's first value (weight < e^-40). MACD's lines
are differences of EMAs that cross zero, so they carry the EMAs' rounding (1e-16 of the price):
there values within 1e-12 of the price also pass (on EUR/USD one MACD of 5e-8 differs by 7e-17).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from backtesting.test import EURUSD, GOOG

from core.strategy import get_strategy
from core.strategy import indicators as ind

RTOL = 1e-9
SERIES = {"GOOG daily": GOOG, "EURUSD hourly": EURUSD}


@pytest.fixture(params=list(SERIES), scope="module")
def candles(request) -> pd.DataFrame:
    frame = SERIES[request.param]
    df = frame.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]]
    return df.astype(float).reset_index(drop=True)


def same(ours: np.ndarray, reference: np.ndarray, warm: int = 0, atol: float = 0.0) -> None:
    """Equal to RTOL from index `warm` on; without a warm-up, NaN exactly where the reference
    has no value yet."""
    if not warm:
        assert np.array_equal(np.isnan(ours), np.isnan(reference))
    first = max(warm, int(np.argmax(~np.isnan(reference))))
    assert len(reference) - first > 1000
    np.testing.assert_allclose(ours[first:], reference[first:], rtol=RTOL, atol=atol)


def price_floor(close: np.ndarray) -> float:
    """The absolute tolerance of a difference of two price averages: 1e-12 of the price."""
    return 1e-12 * float(np.max(np.abs(close)))


@pytest.mark.parametrize("n", [2, 5, 20, 50, 200])
def test_sma(candles, n):
    close = candles["close"].to_numpy()
    same(ind.sma(close, n), talib.SMA(close, n))


@pytest.mark.parametrize("n", [2, 5, 12, 26, 200])
def test_ema(candles, n):
    close = candles["close"].to_numpy()
    same(ind.ema(close, n), talib.EMA(close, n))


@pytest.mark.parametrize("n", [2, 5, 14, 30, 200])
def test_rsi_is_wilders(candles, n):
    close = candles["close"].to_numpy()
    ours = ind.rsi(close, n)
    same(ours, talib.RSI(close, n))
    assert np.isnan(ours[:n]).all() and not np.isnan(ours[n])  # first value at index n


def test_rsi_on_a_hand_checkable_series():
    # changes +1 +1 -1 -1 +2, n 2: seed gain 1, loss 0 -> 100; then gain (1 + 0)/2 = 0.5,
    # loss (0 + 1)/2 = 0.5 -> 50; gain 0.25, loss 0.75 -> 25; gain 1.125, loss 0.375 -> 75
    close = np.array([10, 11, 12, 11, 10, 12], dtype=float)
    ours = ind.rsi(close, 2)
    assert np.isnan(ours[:2]).all()
    np.testing.assert_allclose(ours[2:], [100, 50, 25, 75], rtol=1e-12)
    assert ind.rsi(np.full(5, 3.0), 2)[2:].tolist() == [100, 100, 100]  # no loss: 100


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 40, 15), (3, 6, 2)])
def test_macd(candles, fast, slow, signal):
    close = candles["close"].to_numpy()
    ours = ind.macd(close, fast, slow, signal)
    reference = talib.MACD(close, fast, slow, signal)
    warm = slow + signal - 2 + 20 * (max(fast, signal) + 1)
    for line, ref in zip(ours, reference, strict=True):  # line, signal line, histogram
        same(line, ref, warm, price_floor(close))


@pytest.mark.parametrize(("n", "k"), [(5, 1.5), (20, 2.0), (50, 2.5)])
def test_bollinger_bands_use_the_population_deviation(candles, n, k):
    close = candles["close"].to_numpy()
    upper, middle, lower = talib.BBANDS(close, n, k, k)
    mid, std = ind.sma(close, n), ind.rolling_std(close, n)
    same(mid + k * std, upper)
    same(mid, middle)
    same(mid - k * std, lower)
    same(std, talib.STDDEV(close, n, 1.0))  # TA-Lib's deviation divides by n (ddof 0)


def test_the_built_ins_draw_the_references_lines(candles):
    close = candles["close"].to_numpy()

    def lines(name, raw):
        strategy = get_strategy(name)
        drawn = strategy.indicators(candles, strategy.validate(raw))
        return {k: v.to_numpy() for k, v in drawn.items()}

    sma = lines("sma_cross", {"fast": 10, "slow": 30})
    same(sma["sma_fast"], talib.SMA(close, 10))
    same(sma["sma_slow"], talib.SMA(close, 30))
    same(lines("rsi", {"period": 14})["rsi"], talib.RSI(close, 14))
    bands = lines("bollinger", {"period": 20, "deviations": 2.0})
    upper, middle, lower = talib.BBANDS(close, 20, 2, 2)
    same(bands["bb_upper"], upper)
    same(bands["bb_mid"], middle)
    same(bands["bb_lower"], lower)
    macd = lines("macd", {"fast": 12, "slow": 26, "signal": 9})
    line, signal, _hist = talib.MACD(close, 12, 26, 9)
    warm = 26 + 9 - 2 + 20 * 13
    same(macd["macd"], line, warm, price_floor(close))
    same(macd["macd_signal"], signal, warm, price_floor(close))
