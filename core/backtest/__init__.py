"""Backtests: a strategy with the bots' own risk rules over history.

walk (the candle-by-candle walk, the reference), vectorised (the numpy path for signal-only
cases, trade for trade equal to the walk), metrics, service (settings, candle sources, runs),
sweep (parameter grids), display (tables and chart data for the page). service and sweep are
imported on first use of one of their names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.backtest.display import (
    chart_bars,
    chart_trades,
    thin,
    trade_decimals,
    trades_csv,
    trades_frame,
)
from core.backtest.metrics import METRIC_HELP
from core.backtest.walk import run_backtest
from core.platform.lazy import lazy_names

__all__ = [
    "BacktestRun",
    "BacktestSettings",
    "LoadedCandles",
    "MAX_FEE_PCT",
    "MAX_RUNS",
    "MAX_SLIPPAGE_BPS",
    "METRICS",
    "METRIC_HELP",
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
    "sweep_limit",
    "thin",
    "trade_decimals",
    "trades_csv",
    "trades_frame",
]


# Imported on first use (PEP 562): service and sweep load the candle cache, the exchanges' feeds
# and the database; `run_backtest` over a CSV needs none of them.
_LAZY = {
    "MAX_FEE_PCT": "service",
    "MAX_SLIPPAGE_BPS": "service",
    "BacktestRun": "service",
    "BacktestSettings": "service",
    "LoadedCandles": "service",
    "bot_prefill": "service",
    "check_settings": "service",
    "load_candles": "service",
    "run": "service",
    "sim_symbols": "service",
    "MAX_RUNS": "sweep",
    "METRICS": "sweep",
    "SweepAxis": "sweep",
    "SweepResult": "sweep",
    "run_sweep": "sweep",
    "settings_for_row": "sweep",
    "sweep_grid": "sweep",
    "sweep_limit": "sweep",
}
if TYPE_CHECKING:
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
        sweep_limit,
    )


__getattr__ = lazy_names(__name__, _LAZY, globals())
