"""Backtest speed: SMA crossover 10/30, fee 0.1 %, over 1,000,000 one-minute candles.

Four configurations of `run_backtest`, in one process, warm (each run once, then the best of
3): `fixed_quote` (1,000 quote per entry), `all_cash` (the default sizing: every entry spends
the cash), `sl_tp` (fixed quote, stop-loss 2 % + take-profit 3 %) and `trailing` (fixed quote,
trailing stop 1 %). The reference is a minimal plain-numpy implementation of the fixed-quote
rules (enter on the fast/slow cross up at the next open, exit on the cross down at the next
open, fee on each side), run in the same process.

Then `fresh_cli_200k`: `python -m core.cli backtest` (all cash) over a 200,000-candle CSV in a
fresh process, timed end to end (best of 3), and `sweep_per_combination`: a 100-combination
sweep (fast 5..14 x slow 20..38) over 200,000 candles, seconds per combination.

`--check` also runs the candle-by-candle walk (`fast=False`, slow) and says whether every
configuration's trades equal it. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.backtest import (  # noqa: E402
    BacktestSettings,
    LoadedCandles,
    SweepAxis,
    run_backtest,
    run_sweep,
)
from core.exchanges import Market  # noqa: E402
from core.strategy import Risk  # noqa: E402

N, FAST, SLOW, FEE, QUOTE, CASH = 1_000_000, 10, 30, 0.001, 1_000.0, 1e9
CLI_N, SWEEP_N = 200_000, 200_000
CONFIGS = {
    "fixed_quote": {"order_quote": QUOTE},
    "all_cash": {"order_quote": None, "cash": 10_000.0},
    "sl_tp": {"order_quote": QUOTE, "risk": Risk(stop_loss_pct=2, take_profit_pct=3)},
    "trailing": {"order_quote": QUOTE, "risk": Risk(trailing_stop_pct=1)},
}


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
        amount = QUOTE / (open_[buy_at] * (1 + FEE))  # sized at the fill
        cash -= amount * open_[buy_at] * (1 + FEE)
        j = np.searchsorted(down, up[k] + 1)
        sell_at = down[j] + 1 if j < len(down) and down[j] + 1 < len(close) else len(close) - 1
        price = open_[sell_at] if sell_at != len(close) - 1 or j < len(down) else close[-1]
        cash += amount * price * (1 - FEE)
        trades += 1
        i = sell_at
    return trades, cash


def best_of_3(fn):
    fn()  # warm
    times, out = [], None
    for _ in range(3):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def run_config(df: pd.DataFrame, name: str, **extra):
    kwargs = {"fee_rate": FEE, "cash": CASH, **CONFIGS[name], **extra}
    return run_backtest(df, "sma_cross", {"fast": FAST, "slow": SLOW}, **kwargs)


def fresh_cli(tmp: Path) -> float:
    """A fresh `python -m core.cli backtest` over a 200k-candle CSV, end to end (best of 3)."""
    df = candles(CLI_N)
    dates = pd.to_datetime(df["ts"], unit="ms", utc=True).dt.strftime("%Y-%m-%d %H:%M:%S")
    path = tmp / "candles_200k.csv"
    df.drop(columns="ts").assign(date=dates)[
        ["date", "open", "high", "low", "close", "volume"]
    ].to_csv(path, index=False)
    cmd = [sys.executable, "-m", "core.cli", "backtest", "--strategy", "sma_cross"]
    cmd += ["--param", f"fast={FAST}", "--param", f"slow={SLOW}", "--csv", str(path), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(3):
        t = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - t)
        if done.returncode != 0:
            raise SystemExit(f"the CLI failed: {done.stderr.decode()[-2000:]}")
    json.loads(done.stdout)  # one JSON object
    return min(times)


def sweep_per_combination() -> float:
    df = candles(SWEEP_N)
    market = Market("X/USDT", "X", "USDT", amount_step=1e-8, price_step=1e-8)
    loaded = LoadedCandles(df, market)
    settings = BacktestSettings(strategy="sma_cross", params={"fast": FAST, "slow": SLOW})
    axes = [SweepAxis("fast", 5, 14, 1), SweepAxis("slow", 20, 38, 2)]
    run_sweep(settings, loaded, [SweepAxis("fast", 5, 6, 1)])  # warm
    t = time.perf_counter()
    result = run_sweep(settings, loaded, axes)
    seconds = time.perf_counter() - t
    combos = len(result.table) + len(result.skipped)
    assert combos == 100, combos
    return seconds / combos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare with the full walk (slow)")
    args = parser.parse_args()
    df = candles(N)
    figures, results = {}, {}
    for name in CONFIGS:
        figures[name], results[name] = best_of_3(lambda name=name: run_config(df, name))
    ref, (ref_trades, _cash) = best_of_3(lambda: numpy_reference(df))
    same = {}
    if args.check:
        for name in CONFIGS:
            same[name] = run_config(df, name, fast=False).trades == results[name].trades
    with tempfile.TemporaryDirectory() as tmp:
        cli = fresh_cli(Path(tmp))
    sweep = sweep_per_combination()

    print(f"{'configuration (1M candles)':<30}{'seconds':>10}{'trades':>10}{'= walk':>8}")
    for name in CONFIGS:
        check = {True: "yes", False: "NO"}.get(same.get(name), "-")
        print(f"{name:<30}{figures[name]:>10.3f}{len(results[name].trades):>10}{check:>8}")
    print(f"{'plain numpy reference':<30}{ref:>10.3f}{ref_trades:>10}{'-':>8}")
    print(f"{'fresh CLI, 200k candles':<30}{cli:>10.3f}")
    print(f"{'sweep, s per combination':<30}{sweep:>10.4f}   (100 x 200k candles)")
    fixed = figures["fixed_quote"]
    line = {f"{name}_s": round(figures[name], 4) for name in CONFIGS}
    line |= {f"{name}_trades": len(results[name].trades) for name in CONFIGS}
    line |= {
        "numpy_ref_s": round(ref, 4),
        "fresh_cli_200k_s": round(cli, 4),
        "sweep_s_per_combination": round(sweep, 5),
        "candles": N,
        "seconds": round(fixed, 4),
        "numpy_ref_seconds": round(ref, 4),
        "ratio": round(fixed / ref, 2),
        "candles_per_s": round(N / fixed),
        "trades": len(results["fixed_quote"].trades),
        "numpy_ref_trades": ref_trades,
        "final_equity": results["fixed_quote"].metrics["final_equity"],
    }
    if same:
        line["same_trades_as_walk"] = all(same.values())
    print(json.dumps(line))


if __name__ == "__main__":
    main()
