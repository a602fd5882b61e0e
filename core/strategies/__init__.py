"""Strategies: pure DataFrame/array in, signals out. The registry lives here."""

from __future__ import annotations

from core.errors import InvalidInput
from core.strategies.base import Param, Strategy
from core.strategies.builtin import Bollinger, Dca, Grid, Macd, RsiReversion, SmaCross

REGISTRY: dict[str, Strategy] = {
    s.name: s for s in (SmaCross(), RsiReversion(), Bollinger(), Macd(), Dca(), Grid())
}

__all__ = ["Param", "Strategy", "get_strategy", "list_strategies"]


def get_strategy(name: str) -> Strategy:
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        known = ", ".join(REGISTRY)
        raise InvalidInput(f"Unknown strategy {name!r}: choose one of {known}.") from None


def list_strategies() -> list[Strategy]:
    return list(REGISTRY.values())
