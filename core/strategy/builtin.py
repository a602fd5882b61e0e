"""Built-in strategies. Each is a few lines over core.strategy.indicators; they read only the
close of the candle frame (a strategy may use open, high, low and volume too: see base.py)."""

from __future__ import annotations

import numpy as np

from core.strategy import indicators as ind
from core.strategy.base import Candles, Param, Strategy


def _false(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


class SmaCross(Strategy):
    name, title = "sma_cross", "SMA crossover"
    description = "Buy when the fast average crosses above the slow one; sell on the cross below."
    params = (
        Param(
            "fast", int, 10, 2, 500, "Fast moving-average length (candles)", title="Fast average"
        ),
        Param(
            "slow", int, 30, 3, 2000, "Slow moving-average length (candles)", title="Slow average"
        ),
    )

    def relations(self, p: dict) -> list[tuple[str, str]]:
        if p["fast"] >= p["slow"]:
            return [("fast", "The fast average must be shorter than the slow one.")]
        return []

    def warmup(self, p: dict) -> int:
        return p["slow"]

    def compute(self, candles: Candles, p: dict):
        close = candles.close
        fast, slow = ind.sma(close, p["fast"]), ind.sma(close, p["slow"])
        return (
            {"sma_fast": fast, "sma_slow": slow},
            ind.crossed_above(fast, slow),
            ind.crossed_below(fast, slow),
        )


class RsiReversion(Strategy):
    name, title = "rsi", "RSI mean reversion"
    description = (
        "Buy when RSI (Wilder's, as on TradingView and TA-Lib) crosses up out of oversold; "
        "sell when it crosses into overbought."
    )
    params = (
        Param(
            "period",
            int,
            14,
            2,
            200,
            "RSI length (candles; Wilder's smoothing)",
            title="RSI length",
        ),
        Param(
            "oversold",
            float,
            30.0,
            1,
            49,
            "Buy when RSI rises back above this",
            title="Oversold level",
        ),
        Param(
            "overbought",
            float,
            70.0,
            51,
            99,
            "Sell when RSI rises above this",
            title="Overbought level",
        ),
    )

    def warmup(self, p: dict) -> int:
        return p["period"] + 1

    def window(self, p: dict) -> int:
        # Wilder's averages remember their seed: after k more candles its weight is
        # (1 - 1/n)^k < e^(-k/n), e^-20 for k = 20 n. That many extra candles make a tick's RSI
        # the backtest's.
        return self.warmup(p) + 2 + 20 * p["period"]

    def compute(self, candles: Candles, p: dict):
        close = candles.close
        r = ind.rsi(close, p["period"])
        lo, hi = np.full(len(close), p["oversold"]), np.full(len(close), p["overbought"])
        return {"rsi": r}, ind.crossed_above(r, lo), ind.crossed_above(r, hi)


class Bollinger(Strategy):
    name, title = "bollinger", "Bollinger bands"
    description = "Buy when the close falls below the lower band; sell above the middle band."
    params = (
        Param("period", int, 20, 2, 500, "Band length (candles)", title="Band length"),
        Param(
            "deviations",
            float,
            2.0,
            0.5,
            5.0,
            "Band width in standard deviations",
            title="Band width",
        ),
    )

    def warmup(self, p: dict) -> int:
        return p["period"]

    def compute(self, candles: Candles, p: dict):
        close = candles.close
        mid = ind.sma(close, p["period"])
        std = ind.rolling_std(close, p["period"])
        lower, upper = mid - p["deviations"] * std, mid + p["deviations"] * std
        entry = ind.crossed_below(close, lower)
        exit_ = ind.crossed_above(close, mid)
        return {"bb_lower": lower, "bb_mid": mid, "bb_upper": upper}, entry, exit_


class Macd(Strategy):
    name, title = "macd", "MACD"
    description = "Buy when MACD crosses above its signal line; sell on the cross below."
    params = (
        Param("fast", int, 12, 2, 200, "Fast EMA length (candles)", title="Fast EMA"),
        Param("slow", int, 26, 3, 500, "Slow EMA length (candles)", title="Slow EMA"),
        Param("signal", int, 9, 2, 200, "Signal line EMA length (candles)", title="Signal EMA"),
    )

    def relations(self, p: dict) -> list[tuple[str, str]]:
        if p["fast"] >= p["slow"]:
            return [("fast", "The fast EMA must be shorter than the slow one.")]
        return []

    def warmup(self, p: dict) -> int:
        return p["slow"] + p["signal"]

    def window(self, p: dict) -> int:
        # An EMA remembers its seed: after k more candles its weight is (1 - 2/(n+1))^k, about
        # e^-20 for k = 10 (n + 1). That many extra candles make a tick's MACD the backtest's.
        return self.warmup(p) + 2 + 10 * (p["slow"] + 1) + 10 * (p["signal"] + 1)

    def compute(self, candles: Candles, p: dict):
        close = candles.close
        macd, sig, _hist = ind.macd(close, p["fast"], p["slow"], p["signal"])
        return (
            {"macd": macd, "macd_signal": sig},
            ind.crossed_above(macd, sig),
            ind.crossed_below(macd, sig),
        )


class Dca(Strategy):
    name, title = "dca", "DCA with safety orders"
    description = (
        "Buy the base order when flat (right away, or after a dip from the recent high); add "
        "safety orders at further dips, and optionally buy on a fixed schedule; take profit on "
        "the average entry of the position."
    )
    mode = "dca"
    ignores = ("max_open_positions",)  # its buys are counted by `safety_orders`
    params = (
        Param(
            "dip_pct",
            float,
            0.0,
            0.0,
            50.0,
            "Base order after this % dip from the recent high (0: at once)",
            title="Dip before the base order %",
        ),
        Param("lookback", int, 60, 2, 5000, "Candles for the recent high", title="Lookback"),
        Param(
            "safety_orders",
            int,
            3,
            0,
            200,
            "Safety orders at most (buys after the first)",
            title="Safety orders",
        ),
        Param(
            "safety_step_pct",
            float,
            1.0,
            0.05,
            50.0,
            "Each safety order this % below the last buy",
            title="Safety order step %",
        ),
        Param(
            "take_profit_pct",
            float,
            1.0,
            0.05,
            100.0,
            "Sell everything this % above the average entry",
            title="Take-profit on the average entry %",
        ),
        Param(
            "every_minutes",
            int,
            0,
            0,
            525_600,
            "Also buy on a schedule: every this many minutes, e.g. 1440 = daily (0: off)",
            title="Scheduled buy every (minutes)",
        ),
    )

    def warmup(self, p: dict) -> int:
        return p["lookback"] if p["dip_pct"] > 0 else 0

    def compute(self, candles: Candles, p: dict):
        close = candles.close
        n = len(close)
        if p["dip_pct"] <= 0:
            return {}, np.ones(n, dtype=bool), _false(n)
        high = np.full(n, np.nan)
        if n >= p["lookback"]:
            high[p["lookback"] - 1 :] = np.lib.stride_tricks.sliding_window_view(
                close, p["lookback"]
            ).max(axis=1)
        entry = close <= high * (1 - p["dip_pct"] / 100)
        return {"recent_high": high}, entry, _false(n)


class Grid(Strategy):
    name, title = "grid", "Grid"
    description = (
        "Levels spaced evenly between a lower and an upper price: buy a lot when the price "
        "falls through a level, sell that lot one level higher."
    )
    mode = "grid"
    # One lot per level (never more lots than levels), each sold one level above its entry.
    ignores = ("max_open_positions", "take_profit_pct")
    params = (
        Param("lower", float, 50_000.0, 0.0, 1e9, "Lowest grid price", title="Lower price"),
        Param("upper", float, 70_000.0, 0.0, 1e9, "Highest grid price", title="Upper price"),
        Param("levels", int, 10, 2, 200, "Number of grid levels", title="Levels"),
    )

    def relations(self, p: dict) -> list[tuple[str, str]]:
        if not p["lower"] > 0:
            return [("lower", "The lower price must be above 0.")]
        if not p["lower"] < p["upper"]:
            return [("upper", "The upper price must be above the lower price.")]
        return []

    def compute(self, candles: Candles, p: dict):
        n = len(candles)
        lines = {f"grid_{i}": np.full(n, lvl) for i, lvl in enumerate(grid_levels(p))}
        return lines, _false(n), _false(n)


def grid_levels(p: dict) -> list[float]:
    return list(np.linspace(p["lower"], p["upper"], p["levels"]))


def grid_price_note(p: dict, price: float | None) -> str | None:
    """What a grid will do from the current `price`, when that is not simply trading the
    range: None when the price is inside it (or unknown)."""
    if price is None or not price > 0 or p["lower"] <= price <= p["upper"]:
        return None
    if price > p["upper"]:
        return (
            f"The price {price:,.8g} is above the grid ({p['lower']:,.8g}–{p['upper']:,.8g}): "
            "it buys nothing until the price falls through its levels."
        )
    return (
        f"The price {price:,.8g} is below the grid ({p['lower']:,.8g}–{p['upper']:,.8g}): it "
        "buys nothing unless the price rises into the range and falls through a level again."
    )
