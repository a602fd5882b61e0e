"""Backtests: a strategy with the bots' own risk rules over history.

walk (the candle-by-candle walk, the reference), vectorised (the numpy path for signal-only
cases, trade for trade equal to the walk), metrics, service (settings, candle sources, runs),
sweep (parameter grids), display (tables and chart data for the page)."""

from __future__ import annotations

from core.backtest.display import chart_bars, chart_trades, thin, trades_csv, trades_frame
from core.backtest.service import (
    MAX_FEE_PCT,
    MAX_SLIPPAGE_BPS,
    BacktestRun,
    BacktestSettings,
    LoadedCandles,
    bot_prefill,
    check_settings,
    load_candles,
    run,
    sim_symbols,
)
from core.backtest.sweep import (
    MAX_RUNS,
    METRICS,
    SweepAxis,
    SweepResult,
    run_sweep,
    settings_for_row,
    sweep_grid,
)
from core.backtest.walk import run_backtest

__all__ = [
    "BacktestRun",
    "BacktestSettings",
    "LoadedCandles",
    "MAX_FEE_PCT",
    "MAX_RUNS",
    "MAX_SLIPPAGE_BPS",
    "METRICS",
    "SweepAxis",
    "SweepResult",
    "bot_prefill",
    "chart_bars",
    "chart_trades",
    "check_settings",
    "load_candles",
    "run",
    "run_backtest",
    "run_sweep",
    "settings_for_row",
    "sim_symbols",
    "sweep_grid",
    "thin",
    "trades_csv",
    "trades_frame",
]
