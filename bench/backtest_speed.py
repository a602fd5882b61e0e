"""Backtest speed: SMA crossover 10/30, fee 0.1 %, over 1,000,000 one-minute candles.

The reference is a minimal plain-numpy implementation of the same rules (enter on the fast/slow
cross up at the next open, exit on the cross down at the next open, fee on each side, a fixed
quote amount per trade), run in the same process. Prints a table, then one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.backtest import run_backtest

N, FAST, SLOW, FEE, QUOTE, CASH = 1_000_000, 10, 30, 0.001, 1_000.0, 1e9


def candles(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    ts = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 60_000
    return pd.DataFrame(
        {
            "ts": ts,
            "open": open_,
            "high": np.maximum(open_, close),
            "low": np.minimum(open_, close),
            "close": close,
            "volume": 1.0,
        }
    )


def numpy_reference(df: pd.DataFrame) -> tuple[int, float]:
    close, open_ = df["close"].to_numpy(), df["open"].to_numpy()
    c = np.cumsum(np.insert(close, 0, 0.0))
    fast = np.full(len(close), np.nan)
    slow = np.full(len(close), np.nan)
    fast[FAST - 1 :] = (c[FAST:] - c[:-FAST]) / FAST
    slow[SLOW - 1 :] = (c[SLOW:] - c[:-SLOW]) / SLOW
    above = fast > slow
    up = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    down = np.flatnonzero(~above[1:] & above[:-1] & ~np.isnan(slow[:-1])) + 1
    up = up[up >= SLOW]
    cash, trades, i = CASH, 0, 0
    while True:
        k = np.searchsorted(up, i)
        if k >= len(up) or up[k] + 1 >= len(close):
            break
        buy_at = up[k] + 1
        amount = QUOTE / close[up[k]]
        cash -= amount * open_[buy_at] * (1 + FEE)
        j = np.searchsorted(down, up[k] + 1)
        sell_at = down[j] + 1 if j < len(down) and down[j] + 1 < len(close) else len(close) - 1
        price = open_[sell_at] if sell_at != len(close) - 1 or j < len(down) else close[-1]
        cash += amount * price * (1 - FEE)
        trades += 1
        i = sell_at
    return trades, cash


def main() -> None:
    df = candles(N)
    runs, refs = [], []
    for _ in range(3):
        t = time.perf_counter()
        result = run_backtest(
            df,
            "sma_cross",
            {"fast": FAST, "slow": SLOW},
            fee_rate=FEE,
            cash=CASH,
            order_quote=QUOTE,
        )
        runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        ref_trades, _cash = numpy_reference(df)
        refs.append(time.perf_counter() - t)
    seconds, ref = min(runs), min(refs)
    trades = len(result.trades)
    print(f"{'implementation':<28}{'seconds':>10}{'trades':>10}")
    print(f"{'steadybot run_backtest':<28}{seconds:>10.3f}{trades:>10}")
    print(f"{'plain numpy reference':<28}{ref:>10.3f}{ref_trades:>10}")
    print(f"ratio {seconds / ref:.2f}x; same trade count: {trades == ref_trades}")
    print(
        json.dumps(
            {
                "candles": N,
                "seconds": round(seconds, 4),
                "numpy_ref_seconds": round(ref, 4),
                "ratio": round(seconds / ref, 2),
                "candles_per_s": round(N / seconds),
                "trades": trades,
                "numpy_ref_trades": ref_trades,
                "final_equity": result.metrics["final_equity"],
            }
        )
    )


if __name__ == "__main__":
    main()
