"""Indicators on numpy arrays (NaN until enough data), as TA-Lib and TradingView define them.

* `sma`: the mean of the last n values.
* `ema`: seeded with the SMA of the first n values, then alpha = 2/(n+1) (TA-Lib's EMA).
* `rsi`: Wilder's RSI (TA-Lib's RSI, TradingView's `ta.rsi`): the first average gain and loss
  are the simple means of the first n changes, then avg = (prev * (n-1) + current) / n;
  RSI = 100 - 100 / (1 + avg_gain / avg_loss), 100 when avg_loss is 0. First value at index n.
* `macd`: EMA(fast) - EMA(slow), its signal line the EMA of the MACD from its first value,
  and the histogram their difference (TA-Lib's MACD after its warm-up).
* `rolling_std`: population standard deviation (ddof 0) of the last n values, as in Bollinger
  bands (TA-Lib's BBANDS).

`tests/strategy/test_indicators.py` holds each one against TA-Lib on a public daily series.

Inside `reuse_indicators(*arrays)` (a parameter sweep over one candle frame) an indicator of one
of those arrays is computed once per set of arguments and shared, read-only: SMA(20) once for
every combination that uses it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pandas as pd

_REUSE: ContextVar[_Reuse | None] = ContextVar("indicator_reuse", default=None)


def _where(x: np.ndarray) -> tuple:
    """The memory an array views (two arrays with one `_where` hold the same values)."""
    return (x.__array_interface__["data"][0], x.shape, x.strides, x.dtype.str)


class _Reuse:
    def __init__(self, arrays: tuple[np.ndarray, ...]):
        self.arrays = arrays  # kept alive: their memory cannot hold other values meanwhile
        self.known = {_where(a) for a in arrays}
        self.values: dict[tuple, object] = {}


@contextmanager
def reuse_indicators(*arrays: np.ndarray) -> Iterator[None]:
    """Within: indicators of `arrays` (or of any array viewing the same memory, such as the
    columns of the same candle frame) are computed once per set of arguments and shared. The
    arrays must not change meanwhile."""
    token = _REUSE.set(_Reuse(tuple(np.asarray(a) for a in arrays)))
    try:
        yield
    finally:
        _REUSE.reset(token)


def _reusable(fn):
    @functools.wraps(fn)
    def indicator(x, *args):
        memo = _REUSE.get()
        if memo is None or not isinstance(x, np.ndarray) or _where(x) not in memo.known:
            return fn(x, *args)
        key = (fn.__name__, _where(x), args)
        if key not in memo.values:
            out = fn(x, *args)
            for array in out if isinstance(out, tuple) else (out,):
                array.flags.writeable = False  # shared: nobody may change it
            memo.values[key] = out
        return memo.values[key]

    return indicator


@_reusable
def sma(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    if len(x) >= n:
        c = np.cumsum(np.insert(x, 0, 0.0))
        out[n - 1 :] = (c[n:] - c[:-n]) / n
    return out


def _smoothed(x: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """out[n-1] = mean(x[:n]); then out[i] = alpha * x[i] + (1 - alpha) * out[i-1].

    The recursion runs in pandas' compiled `ewm(adjust=False)` (no Python loop), over the seed
    followed by the values after it."""
    out = np.full(len(x), np.nan)
    if len(x) < n:
        return out
    seeded = np.array(x[n - 1 :], dtype=float)
    seeded[0] = x[:n].mean()
    out[n - 1 :] = pd.Series(seeded, copy=False).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


@_reusable
def ema(x: np.ndarray, n: int) -> np.ndarray:
    """EMA seeded with the SMA of the first n values (alpha 2/(n+1))."""
    return _smoothed(x, n, 2.0 / (n + 1))


def wilder(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder's smoothing (RMA): seeded with the SMA of the first n values, alpha 1/n."""
    return _smoothed(x, n, 1.0 / n)


@_reusable
def rsi(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI (TA-Lib / TradingView); 100 where the average loss is 0."""
    out = np.full(len(x), np.nan)
    if len(x) <= n:
        return out
    d = np.diff(x)
    gain = wilder(np.where(d > 0, d, 0.0), n)[n - 1 :]
    loss = wilder(np.where(d < 0, -d, 0.0), n)[n - 1 :]
    with np.errstate(divide="ignore", invalid="ignore"):
        # 100 * gain / (gain + loss) is 100 - 100 / (1 + gain / loss) without the cancellation
        out[n:] = np.where(loss == 0, 100.0, 100.0 * gain / (gain + loss))
    return out


@_reusable
def macd(x: np.ndarray, fast: int, slow: int, signal: int) -> tuple[np.ndarray, ...]:
    """(MACD line, signal line, histogram)."""
    line = ema(x, fast) - ema(x, slow)
    start = slow - 1
    sig = np.full(len(x), np.nan)
    if len(x) > start:
        sig[start:] = ema(line[start:], signal)
    return line, sig, line - sig


@_reusable
def rolling_std(x: np.ndarray, n: int) -> np.ndarray:
    """Population standard deviation (ddof 0) of the last n values."""
    out = np.full(len(x), np.nan)
    if len(x) >= n:
        windows = np.lib.stride_tricks.sliding_window_view(x, n)
        out[n - 1 :] = windows.std(axis=1)
    return out


def crossed_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a), dtype=bool)
    out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out


def crossed_below(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return crossed_above(b, a)
