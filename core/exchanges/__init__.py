"""Everything that touches an exchange; the only package that imports ccxt.

base (the Exchange interface, Market rounding, timeframes), factory (public market feeds),
capabilities (the exchanges offered for live trading: how each sets and finds a client order
id), live (ccxt with one error table: errormap; imported lazily, ccxt is slow to load), paper +
paper_book + paper_bulk (paper trading with its book in the database), sim + sim_price (the
deterministic simulated market). Exchange *accounts* are built one layer up, in core.accounts.
factory and the paper modules (settings, the database) are imported on first use of one of their
names, so a CSV backtest loads neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from core.exchanges.sim import SimExchange, sim_candles
from core.exchanges.sim_price import SYMBOLS as SIM_SYMBOLS
from core.platform.lazy import lazy_names

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
    "exchange_name",
    "exchange_names",
    "feed_choices",
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


# Imported on first use (PEP 562): the settings (pydantic) and the database stack.
_LAZY = {
    "SIM": "factory",
    "check_feed_id": "factory",
    "exchange_ids": "factory",
    "exchange_name": "factory",
    "exchange_names": "factory",
    "feed_choices": "factory",
    "has_testnet": "factory",
    "known_feed_ids": "factory",
    "live_exchange": "factory",
    "market_feed": "factory",
    "required_credentials": "factory",
    "DEFAULT_SLIPPAGE_BPS": "paper",
    "PaperExchange": "paper",
    "open_paper_account": "paper_book",
    "MarketOrder": "paper_bulk",
    "place_market_orders": "paper_bulk",
}
if TYPE_CHECKING:
    from core.exchanges.factory import (
        SIM,
        check_feed_id,
        exchange_ids,
        exchange_name,
        exchange_names,
        feed_choices,
        has_testnet,
        known_feed_ids,
        live_exchange,
        market_feed,
        required_credentials,
    )
    from core.exchanges.paper import DEFAULT_SLIPPAGE_BPS, PaperExchange
    from core.exchanges.paper_book import open_paper_account
    from core.exchanges.paper_bulk import MarketOrder, place_market_orders


__getattr__ = lazy_names(__name__, _LAZY, globals())
