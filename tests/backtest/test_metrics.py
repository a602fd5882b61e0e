"""core.backtest.metrics.compute_metrics on hand-computed series, one row per series.

As the code defines them: returns are candle-to-candle equity changes; Sharpe is their mean
over their (population) standard deviation, times sqrt(candles per year); Sortino the same
over the standard deviation of the negative returns (needs two of them); drawdown is measured
from the running equity peak; a trade with pnl <= 0 is a loss; CAGR only from a month on.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.backtest.metrics import compute_metrics

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000


def trade(entry_time: int, exit_time: int, pnl: float, fees: float) -> dict:
    return {"entry_time": entry_time, "exit_time": exit_time, "pnl": pnl, "fees": fees}


# id: (equity per candle, candle step in ms, trades, buy and hold per candle, metrics)
SERIES = {
    "flat, no trades": (
        [100.0, 100.0, 100.0],
        MIN,
        [],
        [50.0, 50.0, 50.0],
        {
            "final_equity": 100.0,
            "total_return_pct": 0.0,
            "cagr_pct": None,
            "max_drawdown_pct": 0.0,
            "sharpe": None,  # no variation
            "sortino": None,
            "num_trades": 0,
            "win_rate_pct": None,
            "profit_factor": None,
            "exposure_pct": 0.0,
            "buy_and_hold_return_pct": 0.0,
            "fees": 0.0,
        },
    ),
    "up 10 %, down 10 %, up 10 %, hourly": (
        # returns +0.1, -0.1, +0.1: mean 1/30, deviations 1/15, -2/15, 1/15, so the standard
        # deviation is sqrt(6/225 / 3) = sqrt(2)/15 and Sharpe = sqrt(8760) / (2 sqrt 2)
        [100.0, 110.0, 99.0, 108.9],
        HOUR,
        [
            trade(0, HOUR, 10.0, 0.2),
            trade(HOUR, 2 * HOUR, -11.0, 0.2),
            trade(2 * HOUR, 3 * HOUR, 9.9, 0.2),
        ],
        [100.0, 105.0, 102.0, 110.0],
        {
            "final_equity": 108.9,
            "total_return_pct": 8.9,
            "cagr_pct": None,  # three hours
            "max_drawdown_pct": 11 / 110 * 100,
            "sharpe": math.sqrt(8760 / 8),
            "sortino": None,  # one negative return
            "num_trades": 3,
            "win_rate_pct": 2 / 3 * 100,
            "profit_factor": 19.9 / 11,
            "exposure_pct": 100.0,
            "buy_and_hold_return_pct": 10.0,
            "fees": 0.6,
        },
    ),
    "down 5 %, down 10 %, up 10 %, daily": (
        # returns -0.05, -0.1, +0.1: mean -1/60; squared deviations (1/30)^2, (1/12)^2,
        # (7/60)^2 = (4 + 25 + 49)/3600, so the variance is 78/10800 = 13/1800. The negative
        # returns -0.05, -0.1 have mean -0.075 and standard deviation 0.025.
        [100.0, 95.0, 85.5, 94.05],
        DAY,
        [trade(0, 3 * DAY, -5.95, 0.1)],
        [100.0, 90.0, 80.0, 70.0],
        {
            "final_equity": 94.05,
            "total_return_pct": -5.95,
            "cagr_pct": None,  # three days
            "max_drawdown_pct": 14.5,  # 100 -> 85.5
            "sharpe": -1 / 60 / math.sqrt(13 / 1800) * math.sqrt(365),
            "sortino": -1 / 60 / 0.025 * math.sqrt(365),
            "num_trades": 1,
            "win_rate_pct": 0.0,
            "profit_factor": 0.0,  # no winning trade
            "exposure_pct": 100.0,
            "buy_and_hold_return_pct": -30.0,
            "fees": 0.1,
        },
    ),
    "40 days in two 20-day candles: CAGR": (
        # returns +0.2, +0.25: mean 0.225, standard deviation 0.025 -> Sharpe 9 sqrt(365/20)
        [100.0, 120.0, 150.0],
        20 * DAY,
        [trade(0, 20 * DAY, 30.0, 1.0), trade(20 * DAY, 30 * DAY, 0.0, 0.5)],
        [100.0, 100.0, 125.0],
        {
            "final_equity": 150.0,
            "total_return_pct": 50.0,
            "cagr_pct": (1.5 ** (365 / 40) - 1) * 100,
            "max_drawdown_pct": 0.0,
            "sharpe": 9 * math.sqrt(365 / 20),
            "sortino": None,  # no negative return
            "num_trades": 2,
            "win_rate_pct": 50.0,  # a break-even trade is not a win
            "profit_factor": None,  # the losses add up to 0
            "exposure_pct": 75.0,  # 30 of the 40 days
            "buy_and_hold_return_pct": 25.0,
            "fees": 1.5,
        },
    ),
}


@pytest.mark.parametrize(
    ("equity", "step_ms", "trades", "buy_and_hold", "expected"), SERIES.values(), ids=SERIES
)
def test_compute_metrics(equity, step_ms, trades, buy_and_hold, expected):
    candles_ts = np.arange(len(equity), dtype=np.int64) * step_ms + 1_767_225_600_000
    metrics = compute_metrics(
        trades, pd.Series(equity), pd.Series(buy_and_hold), candles_ts=candles_ts
    )
    assert set(metrics) == set(expected)
    for name, value in expected.items():
        if value is None:
            assert metrics[name] is None, name
        else:
            assert metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
