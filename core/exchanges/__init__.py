"""Everything that touches an exchange. The only package that imports ccxt."""

from __future__ import annotations

from core.exchanges.base import (
    TIMEFRAMES,
    Balance,
    Candle,
    Exchange,
    Market,
    OrderResult,
    last_closed_open,
    step_decimals,
    timeframe_ms,
    to_step,
)
from core.exchanges.factory import SIM, check_feed_id, known_feed_ids, market_feed
from core.exchanges.paper import DEFAULT_SLIPPAGE_BPS, PaperExchange
from core.exchanges.paper_book import open_paper_account
from core.exchanges.paper_bulk import MarketOrder, place_market_orders
from core.exchanges.sim import SimExchange, sim_candles

__all__ = [
    "Balance",
    "Candle",
    "DEFAULT_SLIPPAGE_BPS",
    "Exchange",
    "Market",
    "MarketOrder",
    "OrderResult",
    "PaperExchange",
    "SIM",
    "SimExchange",
    "TIMEFRAMES",
    "check_feed_id",
    "known_feed_ids",
    "last_closed_open",
    "market_feed",
    "open_paper_account",
    "place_market_orders",
    "sim_candles",
    "step_decimals",
    "timeframe_ms",
    "to_step",
]
