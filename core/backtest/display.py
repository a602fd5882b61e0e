"""Backtest results shaped for people: the trades as a table and CSV, and candles, indicators
and curves thinned so long ranges stay light in the browser (pure functions, no Streamlit)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

CHART_BARS = 2_000  # candles drawn at most; longer ranges are merged for the chart


def trades_frame(trades: list[dict]) -> pd.DataFrame:
    """The trades as a table with UTC times, for display and CSV export."""
    cols = ["entry_time", "exit_time", "entry_price", "exit_price", "amount", "fees", "pnl"]
    frame = pd.DataFrame(trades, columns=[*cols, "exit_reason"])
    for name in ("entry_time", "exit_time"):
        frame[name] = pd.to_datetime(frame[name].astype("int64"), unit="ms", utc=True)
    return frame


def trades_csv(trades: list[dict]) -> bytes:
    return trades_frame(trades).to_csv(index=False).encode()


def chart_trades(trades: list[dict]) -> list[dict]:
    """Trades with the keys `core.views.charts.candlestick` marks (entry_ts, exit_ts, ...)."""
    return [{**t, "entry_ts": t["entry_time"], "exit_ts": t["exit_time"]} for t in trades]


def chart_bars(
    candles: pd.DataFrame, indicators: dict[str, pd.Series], max_bars: int = CHART_BARS
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """At most `max_bars` candles for a chart: every k candles merged into one (open of the
    first, high/low of all, close of the last); indicators sampled at each merged close."""
    n = len(candles)
    k = max(1, math.ceil(n / max_bars))
    if k == 1:
        return candles, indicators
    groups = candles.groupby(np.arange(n) // k)
    bars = pd.DataFrame(
        {
            "ts": groups["ts"].first(),
            "open": groups["open"].first(),
            "high": groups["high"].max(),
            "low": groups["low"].min(),
            "close": groups["close"].last(),
            "volume": groups["volume"].sum(),
        }
    ).reset_index(drop=True)
    last = np.minimum(np.arange(len(bars)) * k + k - 1, n - 1)
    sampled = {name: pd.Series(np.asarray(s)[last]) for name, s in indicators.items()}
    return bars, sampled


def thin(series: pd.Series, max_points: int = CHART_BARS) -> pd.Series:
    """Every k-th point and the last one, so a long curve stays light in the browser."""
    k = max(1, math.ceil(len(series) / max_points))
    if k == 1:
        return series
    picked = np.unique(np.append(np.arange(0, len(series), k), len(series) - 1))
    return series.iloc[picked]
