"""core.backtest.metrics.compute_metrics on hand-computed series, one row per series.

As the module defines them (the conventions of empyrical, checked against it in
test_metrics_reference.py): returns are candle-to-candle equity changes; Sharpe is their mean
over their sample standard deviation (ddof=1), times sqrt(candles per 365-day year); Sortino
their mean over the downside deviation sqrt(mean(min(r, 0)^2)) over all returns, times the same;
drawdown is measured from the running equity peak; a trade with pnl > 0 is a win, pnl < 0 a
loss, pnl == 0 neither; CAGR only from a month on.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.backtest.metrics import compute_metrics

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
SIX = [0.01, -0.01, 0.012, -0.011, 0.006, 0.007]  # the six small returns


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
        # returns +0.1, -0.1, +0.1: mean 1/30, deviations 1/15, -2/15, 1/15, so the sample
        # standard deviation is sqrt(6/225 / 2) = sqrt(3)/15 and Sharpe = sqrt(8760) / (2 sqrt 3);
        # the downside deviation is sqrt(0.01 / 3), so Sortino = sqrt(8760 / 3)
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
            "sharpe": math.sqrt(8760 / 12),
            "sortino": math.sqrt(8760 / 3),
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
        # (7/60)^2 = (4 + 25 + 49)/3600, so the sample variance is 78/7200 = 13/1200. The
        # downside deviation is sqrt((0.0025 + 0.01 + 0) / 3) = sqrt(1/240).
        [100.0, 95.0, 85.5, 94.05],
        DAY,
        [trade(0, 3 * DAY, -5.95, 0.1)],
        [100.0, 90.0, 80.0, 70.0],
        {
            "final_equity": 94.05,
            "total_return_pct": -5.95,
            "cagr_pct": None,  # three days
            "max_drawdown_pct": 14.5,  # 100 -> 85.5
            "sharpe": -1 / 60 / math.sqrt(13 / 1200) * math.sqrt(365),
            "sortino": -math.sqrt(365 / 15),  # -1/60 * sqrt(240) * sqrt(365)
            "num_trades": 1,
            "win_rate_pct": 0.0,
            "profit_factor": 0.0,  # no winning trade
            "exposure_pct": 100.0,
            "buy_and_hold_return_pct": -30.0,
            "fees": 0.1,
        },
    ),
    "40 days in two 20-day candles: CAGR": (
        # returns +0.2, +0.25: mean 0.225, sample standard deviation 0.025 sqrt(2)
        # -> Sharpe 9 / sqrt(2) * sqrt(365/20)
        [100.0, 120.0, 150.0],
        20 * DAY,
        [trade(0, 20 * DAY, 30.0, 1.0), trade(20 * DAY, 30 * DAY, 0.0, 0.5)],
        [100.0, 100.0, 125.0],
        {
            "final_equity": 150.0,
            "total_return_pct": 50.0,
            "cagr_pct": (1.5 ** (365 / 40) - 1) * 100,
            "max_drawdown_pct": 0.0,
            "sharpe": 9 / math.sqrt(2) * math.sqrt(365 / 20),
            "sortino": None,  # no negative return
            "num_trades": 2,
            "win_rate_pct": 100.0,  # a break-even trade is neither a win nor a loss
            "profit_factor": None,  # no losing trade
            "exposure_pct": 75.0,  # 30 of the 40 days
            "buy_and_hold_return_pct": 25.0,
            "fees": 1.5,
        },
    ),
    "six small returns, one candle a year (the issue's case)": (
        # returns +1 %, -1 %, +1.2 %, -1.1 %, +0.6 %, +0.7 %: mean 0.014/6; downside deviation
        # sqrt((0.01^2 + 0.011^2) / 6), so Sortino = 0.3845 (the spread of the two negative
        # returns around their own mean, 0.0005, gave 4.67 before). A 365-day candle makes the
        # annualisation factor 1.
        list(100 * np.cumprod([1.0, 1.01, 0.99, 1.012, 0.989, 1.006, 1.007])),
        365 * DAY,
        [
            trade(0, 365 * DAY, 1.0, 0.0),
            trade(365 * DAY, 730 * DAY, -1.0, 0.0),
            trade(730 * DAY, 1095 * DAY, 0.0, 0.0),
        ],
        [100.0] * 7,
        {
            "final_equity": round(100 * 1.01 * 0.99 * 1.012 * 0.989 * 1.006 * 1.007, 8),
            "total_return_pct": (1.01 * 0.99 * 1.012 * 0.989 * 1.006 * 1.007 - 1) * 100,
            "cagr_pct": ((1.01 * 0.99 * 1.012 * 0.989 * 1.006 * 1.007) ** (1 / 6) - 1) * 100,
            "max_drawdown_pct": 1.1,  # 1.01 * 0.99 * 1.012 -> times 0.989
            "sharpe": (0.014 / 6) / float(np.std(SIX, ddof=1)),
            "sortino": (0.014 / 6) / math.sqrt((0.01**2 + 0.011**2) / 6),
            "num_trades": 3,
            "win_rate_pct": 50.0,  # one win, one loss, one break-even
            "profit_factor": 1.0,
            "exposure_pct": 50.0,
            "buy_and_hold_return_pct": 0.0,
            "fees": 0.0,
        },
    ),
    "only break-even trades": (
        [100.0, 100.0],
        DAY,
        [trade(0, DAY, 0.0, 0.0)],
        [100.0, 100.0],
        {
            "final_equity": 100.0,
            "total_return_pct": 0.0,
            "cagr_pct": None,
            "max_drawdown_pct": 0.0,
            "sharpe": None,  # one return
            "sortino": None,  # no negative return
            "num_trades": 1,
            "win_rate_pct": None,  # no trade won or lost
            "profit_factor": None,
            "exposure_pct": 100.0,
            "buy_and_hold_return_pct": 0.0,
            "fees": 0.0,
        },
    ),
}


def test_six_returns_sortino_is_the_definition_not_the_negative_returns_spread():
    returns = np.array(SIX)
    equity = pd.Series(100 * np.cumprod(np.concatenate([[1.0], 1 + returns])))
    ts = np.arange(len(equity), dtype=np.int64) * 365 * DAY
    sortino = compute_metrics([], equity, equity, candles_ts=ts)["sortino"]
    assert round(sortino, 2) == 0.38
    old = returns.mean() / returns[returns < 0].std()  # the former formula
    assert round(old, 2) == 4.67


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


def test_every_metric_shown_has_a_help_text():
    from core.backtest import METRIC_HELP, METRICS
    from ui.backtest_view import TILES

    shown = {name for name, _label, _kind in TILES} | set(METRICS) | {"final_equity", "fees"}
    keys = set(
        compute_metrics(
            [], pd.Series([1.0, 1.0]), pd.Series([1.0, 1.0]), candles_ts=np.array([0, 1])
        )
    )
    assert shown <= set(METRIC_HELP)
    assert keys == set(METRIC_HELP)
    assert all(len(text) > 20 for text in METRIC_HELP.values())
    assert "365-day" in METRIC_HELP["sharpe"] and "365-day" in METRIC_HELP["sortino"]
