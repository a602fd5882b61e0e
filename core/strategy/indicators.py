"""Indicators on numpy arrays (NaN until enough data)."""

from __future__ import annotations

import numpy as np


def sma(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    if len(x) >= n:
        c = np.cumsum(np.insert(x, 0, 0.0))
        out[n - 1 :] = (c[n:] - c[:-n]) / n
    return out


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """EMA seeded with the SMA of the first n values (alpha 2/(n+1))."""
    out = np.full(len(x), np.nan)
    if len(x) < n:
        return out
    alpha = 2.0 / (n + 1)
    out[n - 1] = x[:n].mean()
    for i in range(n, len(x)):  # recursive by nature; windows are short in the hot path
        out[i] = alpha * x[i] + (1 - alpha) * out[i - 1]
    return out


def rsi(x: np.ndarray, n: int) -> np.ndarray:
    """Cutler's RSI (simple moving averages of gains and losses)."""
    out = np.full(len(x), np.nan)
    if len(x) <= n:
        return out
    d = np.diff(x)
    gain = sma(np.where(d > 0, d, 0.0), n)
    loss = sma(np.where(d < 0, -d, 0.0), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        rs = np.where(loss == 0, np.inf, gain / loss)
        out[1:] = np.where(loss == 0, 100.0, 100.0 - 100.0 / (1.0 + rs))
    out[1:][np.isnan(gain)] = np.nan
    return out


def rolling_std(x: np.ndarray, n: int) -> np.ndarray:
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
