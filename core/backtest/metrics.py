"""Backtest metrics from trades and an equity curve."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

YEAR_MS = 365 * 86_400_000


def compute_metrics(
    trades: list[dict], equity: pd.Series, buy_and_hold: pd.Series, *, candles_ts: np.ndarray
) -> dict:
    start, final = float(equity.iloc[0]), float(equity.iloc[-1])
    span_ms = int(candles_ts[-1] - candles_ts[0]) if len(candles_ts) > 1 else 0
    step_ms = int(np.median(np.diff(candles_ts))) if len(candles_ts) > 1 else 0
    returns = equity.pct_change().dropna().to_numpy()
    per_year = YEAR_MS / step_ms if step_ms else 0.0
    pnl = np.array([t["pnl"] for t in trades], dtype=float)
    wins, losses = pnl[pnl > 0], pnl[pnl <= 0]
    peak = np.maximum.accumulate(equity.to_numpy())
    drawdown = ((peak - equity.to_numpy()) / peak).max() if len(peak) else 0.0
    years = span_ms / YEAR_MS
    # Annualising a few days of returns gives absurd numbers: only from a month of data on.
    cagr = ((final / start) ** (1 / years) - 1) * 100 if years >= 1 / 12 and final > 0 else None
    std = returns.std()
    downside = returns[returns < 0]
    held = sum(t["exit_time"] - t["entry_time"] for t in trades)
    return {
        "final_equity": round(final, 8),
        "total_return_pct": (final / start - 1) * 100,
        "cagr_pct": cagr,
        "max_drawdown_pct": float(drawdown * 100),
        "sharpe": float(returns.mean() / std * math.sqrt(per_year)) if std > 0 else None,
        "sortino": (
            float(returns.mean() / downside.std() * math.sqrt(per_year))
            if len(downside) > 1 and downside.std() > 0
            else None
        ),
        "num_trades": len(trades),
        "win_rate_pct": (len(wins) / len(pnl) * 100) if len(pnl) else None,
        "profit_factor": (
            float(wins.sum() / -losses.sum()) if len(losses) and losses.sum() < 0 else None
        ),
        "exposure_pct": (held / span_ms * 100) if span_ms else 0.0,
        "buy_and_hold_return_pct": float(buy_and_hold.iloc[-1] / buy_and_hold.iloc[0] - 1) * 100,
        "fees": float(sum(t["fees"] for t in trades)),
    }
