"""Backtest results shaped for people: the trades as a table and CSV, and candles, indicators
and curves thinned so long ranges stay light in the browser (pure functions, no Streamlit)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.exchanges import Market
from core.platform.present import csv_number, decimals_of, iso_utc, step_decimals, words

CHART_BARS = 2_000  # candles drawn at most; longer ranges are merged for the chart


# CSV column -> the trade's key: times ISO-8601 UTC, prices and amounts at the market's steps
# (as the fills were rounded), fees and PnL to 10 significant digits.
CSV_COLUMNS = {
    "Entry time (UTC)": "entry_time",
    "Exit time (UTC)": "exit_time",
    "Entry price": "entry_price",
    "Exit price": "exit_price",
    "Amount": "amount",
    "Fees": "fees",
    "PnL": "pnl",
    "Exit reason": "exit_reason",
}


def trade_decimals(
    trades: list[dict], market: Market | None = None
) -> tuple[int | None, int | None]:
    """(price, amount) decimals of the market's steps; without a market, what the trades'
    own prices and amounts need."""
    if market is not None and market.price_step and market.amount_step:
        return step_decimals(market.price_step), step_decimals(market.amount_step)
    prices = [t[k] for t in trades for k in ("entry_price", "exit_price")]
    return decimals_of(prices), decimals_of(t["amount"] for t in trades)


def trades_frame(trades: list[dict], market: Market | None = None) -> pd.DataFrame:
    """The trades as the export table: column names in words, ISO-8601 UTC times, prices and
    amounts at the market's steps, fees and PnL without float noise."""
    price_dp, amount_dp = trade_decimals(trades, market)
    kinds = {"entry_price": price_dp, "exit_price": price_dp, "amount": amount_dp}
    rows = []
    for t in trades:
        row = {}
        for column, key in CSV_COLUMNS.items():
            value = t.get(key)
            if key.endswith("_time"):
                row[column] = iso_utc(value)
            elif key == "exit_reason":
                row[column] = words(value)
            else:
                row[column] = csv_number(value, kinds.get(key))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS))


def trades_csv(trades: list[dict], market: Market | None = None) -> bytes:
    return trades_frame(trades, market).to_csv(index=False).encode()


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
