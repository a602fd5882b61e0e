"""Everything that touches an exchange; the only package that imports ccxt.

base (the Exchange interface, Market rounding, timeframes), factory (public market feeds),
capabilities (the exchanges offered for live trading: how each sets and finds a client order
id), live (ccxt with one error table: errormap; imported lazily, ccxt is slow to load), paper +
paper_book + paper_bulk (paper trading with its book in the database), sim + sim_price (the
deterministic simulated market). Exchange *accounts* are built one layer up, in core.accounts.
"""

from __future__ import annotations

from core.exchanges.base import (
    TIMEFRAMES,
    Balance,
    Candle,
    Exchange,
    Market,
    OrderResult,
    fill_amount,
    last_closed_open,
    step_decimals,
    timeframe_ms,
    to_step,
)
from core.exchanges.capabilities import capability, live_exchange_ids, paper_only_reason
from core.exchanges.factory import (
    SIM,
    check_feed_id,
    exchange_ids,
    has_testnet,
    known_feed_ids,
    live_exchange,
    market_feed,
    required_credentials,
)
from core.exchanges.paper import DEFAULT_SLIPPAGE_BPS, PaperExchange
from core.exchanges.paper_book import open_paper_account
from core.exchanges.paper_bulk import MarketOrder, place_market_orders
from core.exchanges.sim import SimExchange, sim_candles
from core.exchanges.sim_price import SYMBOLS as SIM_SYMBOLS

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
    "SIM_SYMBOLS",
    "SimExchange",
    "TIMEFRAMES",
    "capability",
    "check_feed_id",
    "exchange_ids",
    "has_testnet",
    "known_feed_ids",
    "last_closed_open",
    "live_exchange",
    "live_exchange_ids",
    "market_feed",
    "open_paper_account",
    "paper_only_reason",
    "place_market_orders",
    "required_credentials",
    "sim_candles",
    "fill_amount",
    "step_decimals",
    "timeframe_ms",
    "to_step",
]
