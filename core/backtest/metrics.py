"""Backtest metrics from trades and an equity curve, as the usual references define them.

Conventions (the same as empyrical's, which the tests compare against):

* returns: the candle-to-candle changes of the equity curve, r_i = e_i / e_(i-1) - 1;
* periods per year: a 365-day year (crypto trades every day) over the median candle interval,
  so hourly candles give 8,760 and daily candles 365;
* Sharpe: mean(r) / std(r) * sqrt(periods per year), risk-free rate 0, sample standard
  deviation (ddof=1); needs two returns and some variation;
* Sortino: mean(r) / downside deviation * sqrt(periods per year), the downside deviation being
  sqrt(mean(min(r, 0)^2)) over all returns (target 0); none without a negative return;
* max drawdown: the largest fall from a running equity peak, in % of that peak;
* CAGR: (final / start) ^ (1 / years) - 1 over the candles' time span, from a month on;
* trades: a trade with pnl > 0 is a win, pnl < 0 a loss, pnl == 0 (break-even) neither.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

YEAR_MS = 365 * 86_400_000

# What each metric is, in plain words: the Backtest page shows it as the tile's help.
METRIC_HELP = {
    "final_equity": "Cash plus the value of any open position at the last candle's close.",
    "total_return_pct": "Final equity over starting cash, minus 1, in %.",
    "cagr_pct": (
        "Compound annual growth rate: the yearly return that compounds to the total return over "
        "the candles' time span (365-day years). Shown from a month of data on."
    ),
    "max_drawdown_pct": "The largest fall of equity from its running peak, in % of that peak.",
    "sharpe": (
        "Sharpe ratio: mean of the candle-to-candle equity returns over their standard "
        "deviation (sample, ddof=1), risk-free rate 0, annualised by the square root of the "
        "candles per 365-day year (8,760 for hourly candles)."
    ),
    "sortino": (
        "Sortino ratio: mean of the candle-to-candle equity returns over their downside "
        "deviation, the root mean square of the returns below 0 counted over all returns "
        "(target 0), annualised by the square root of the candles per 365-day year. "
        "None without a losing candle."
    ),
    "num_trades": "Closed trades, including a position closed at the last candle.",
    "win_rate_pct": (
        "Winning trades over winning plus losing trades, in %. Break-even trades (PnL exactly "
        "0) count as neither."
    ),
    "profit_factor": (
        "Gross profit of the winning trades over the gross loss of the losing trades. None "
        "without a losing trade."
    ),
    "exposure_pct": "Share of the candles' time span with a position open, in %.",
    "buy_and_hold_return_pct": (
        "Return of buying at the first candle's close and holding to the last close, in %."
    ),
    "fees": "Fees paid on all entries and exits, in quote currency.",
}


def periods_per_year(candles_ts: np.ndarray) -> float:
    """Candles per 365-day year, from the median interval between candles (0 for one candle)."""
    if len(candles_ts) < 2:
        return 0.0
    step_ms = int(np.median(np.diff(candles_ts)))
    return YEAR_MS / step_ms if step_ms > 0 else 0.0


def sharpe_ratio(returns: np.ndarray, per_year: float) -> float | None:
    """mean / sample std (ddof=1) * sqrt(per_year), risk-free 0; None when undefined."""
    if len(returns) < 2:
        return None
    std = returns.std(ddof=1)
    return float(returns.mean() / std * math.sqrt(per_year)) if std > 0 else None


def sortino_ratio(returns: np.ndarray, per_year: float) -> float | None:
    """mean / sqrt(mean(min(r, 0)^2)) * sqrt(per_year) (target 0); None without a loss."""
    if len(returns) == 0:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    return float(returns.mean() / downside * math.sqrt(per_year)) if downside > 0 else None


def compute_metrics(
    trades: list[dict], equity: pd.Series, buy_and_hold: pd.Series, *, candles_ts: np.ndarray
) -> dict:
    curve = equity.to_numpy(dtype=float)
    start, final = float(curve[0]), float(curve[-1])
    span_ms = int(candles_ts[-1] - candles_ts[0]) if len(candles_ts) > 1 else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = curve[1:] / curve[:-1] - 1.0
    returns = returns[np.isfinite(returns)]  # after an equity of 0 there is no return
    per_year = periods_per_year(candles_ts)
    pnl = np.array([t["pnl"] for t in trades], dtype=float)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    decided = len(wins) + len(losses)
    peak = np.maximum.accumulate(curve)
    drawdown = ((peak - curve) / peak).max() if len(peak) else 0.0
    years = span_ms / YEAR_MS
    # Annualising a few days of returns gives absurd numbers: only from a month of data on.
    cagr = ((final / start) ** (1 / years) - 1) * 100 if years >= 1 / 12 and final > 0 else None
    held = sum(t["exit_time"] - t["entry_time"] for t in trades)
    return {
        "final_equity": round(final, 8),
        "total_return_pct": (final / start - 1) * 100,
        "cagr_pct": cagr,
        "max_drawdown_pct": float(drawdown * 100),
        "sharpe": sharpe_ratio(returns, per_year),
        "sortino": sortino_ratio(returns, per_year),
        "num_trades": len(trades),
        "win_rate_pct": (len(wins) / decided * 100) if decided else None,
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else None,
        "exposure_pct": (held / span_ms * 100) if span_ms else 0.0,
        "buy_and_hold_return_pct": float(buy_and_hold.iloc[-1] / buy_and_hold.iloc[0] - 1) * 100,
        "fees": float(sum(t["fees"] for t in trades)),
    }
