"""Strategies: candles (a DataFrame, or `Candles` arrays) in, signals out. The registry lives
here."""

from __future__ import annotations

from core.errors import InvalidInput
from core.strategy.base import Candles, Param, Strategy
from core.strategy.builtin import (
    Bollinger,
    Dca,
    Grid,
    Macd,
    RsiReversion,
    SmaCross,
    grid_price_note,
)
from core.strategy.indicators import reuse_indicators
from core.strategy.risk import (
    BotState,
    Intent,
    Lot,
    Risk,
    buy_budget,
    close_lots,
    decide,
    fill_amount,
    fill_price,
    open_lot,
    order_quote,
)

REGISTRY: dict[str, Strategy] = {
    s.name: s for s in (SmaCross(), RsiReversion(), Bollinger(), Macd(), Dca(), Grid())
}

__all__ = [
    "BotState",
    "Candles",
    "Intent",
    "Lot",
    "Param",
    "Risk",
    "Strategy",
    "buy_budget",
    "close_lots",
    "decide",
    "fill_amount",
    "fill_price",
    "get_strategy",
    "grid_price_note",
    "list_strategies",
    "open_lot",
    "order_quote",
    "reuse_indicators",
]


def get_strategy(name: str) -> Strategy:
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        known = ", ".join(REGISTRY)
        raise InvalidInput(f"Unknown strategy {name!r}: choose one of {known}.") from None


def list_strategies() -> list[Strategy]:
    return list(REGISTRY.values())
