"""compute_metrics against empyrical (empyrical-reloaded, a test dependency) on the same returns.

empyrical takes the per-period returns and an annualisation factor; Steadybot's factor is the
candles per 365-day year (YEAR_MS over the median candle interval), passed to empyrical as is.
Conventions compared: Sharpe (risk-free 0, sample std ddof=1), Sortino (target 0, downside
deviation over all returns), max drawdown and CAGR (on regular candles, where empyrical's
len(returns) / factor years equal the candles' time span).
"""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest

from core.backtest import run_backtest
from core.backtest.metrics import YEAR_MS, compute_metrics
from core.exchanges.sim import sim_candles

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
T0 = 1_767_225_600_000
REL = 1e-9


def reference(returns: np.ndarray, per_year: float) -> dict:
    return {
        "sharpe": empyrical.sharpe_ratio(returns, annualization=per_year),
        "sortino": empyrical.sortino_ratio(returns, annualization=per_year),
        "max_drawdown_pct": -empyrical.max_drawdown(returns) * 100,
        "cagr_pct": empyrical.cagr(returns, annualization=per_year) * 100,
    }


def check(equity: np.ndarray, step_ms: int, *, cagr: bool = True) -> dict:
    ts = T0 + np.arange(len(equity), dtype=np.int64) * step_ms
    ours = compute_metrics([], pd.Series(equity), pd.Series(equity), candles_ts=ts)
    returns = equity[1:] / equity[:-1] - 1
    theirs = reference(returns, YEAR_MS / step_ms)
    for name in ("sharpe", "sortino", "max_drawdown_pct", *(("cagr_pct",) if cagr else ())):
        assert ours[name] == pytest.approx(theirs[name], rel=REL), name
    return ours


@pytest.mark.parametrize(
    ("step_ms", "count", "scale", "drift", "seed"),
    [
        (MIN, 50_000, 0.001, 0.00001, 1),  # a month of minutes
        (HOUR, 2_000, 0.01, 0.0005, 2),
        (HOUR, 2_000, 0.01, -0.0005, 3),  # a losing strategy
        (DAY, 400, 0.03, 0.001, 4),
        (DAY, 60, 0.05, 0.0, 5),
    ],
)
def test_random_curves_match_empyrical(step_ms, count, scale, drift, seed):
    rng = np.random.default_rng(seed)
    returns = drift + scale * rng.standard_normal(count)
    # flat stretches (out of the market) as a backtest's curve has them
    returns[rng.random(count) < 0.3] = 0.0
    check(10_000 * np.cumprod(np.concatenate([[1.0], 1 + returns])), step_ms)


def test_six_small_returns_match_empyrical():
    returns = np.array([0.01, -0.01, 0.012, -0.011, 0.006, 0.007])
    ours = check(100 * np.cumprod(np.concatenate([[1.0], 1 + returns])), 365 * DAY)
    assert ours["sortino"] == pytest.approx(0.3844645254667, rel=1e-9)


@pytest.mark.parametrize(
    ("strategy", "params", "timeframe"),
    [
        ("sma_cross", {"fast": 10, "slow": 30}, "1h"),
        ("rsi", {}, "15m"),
    ],
)
def test_backtest_equity_matches_empyrical(strategy, params, timeframe):
    step = {"1h": HOUR, "15m": 15 * MIN}[timeframe]
    candles = pd.DataFrame(sim_candles("BTC/USDT", timeframe, T0, 4_000))
    result = run_backtest(candles, strategy, params, fee_rate=0.001)
    equity = result.equity.to_numpy(dtype=float)
    assert result.trades, "the strategy should trade on this series"
    returns = equity[1:] / equity[:-1] - 1
    theirs = reference(returns, YEAR_MS / step)
    for name in ("sharpe", "sortino", "max_drawdown_pct", "cagr_pct"):
        assert result.metrics[name] == pytest.approx(theirs[name], rel=REL), name
