"""Read models for the pages: dashboard (per-bot PnL, equity, positions, cards), trades (round
trips) and fills (executed orders) with totals and CSV, bot_detail (chart data, orders), system
(worker health, admin lists), charts (plotly figures, no Streamlit), bot_summary (a bot's
settings in words), prices (a market's current price for a form), equity (PnL over time with
the open positions), markets (each market's display decimals), preferences (a person's display
choices: times in UTC)."""

from __future__ import annotations

from core.views.bot_detail import awaiting_orders, bot_label, chart_data, orders_of
from core.views.bot_summary import EXIT_PENDING, STOPPING, describe, describe_bots
from core.views.charts import candlestick, equity_curve, heatmap, pnl_chart
from core.views.dashboard import (
    bot_cards,
    bot_stats,
    first_steps,
    open_positions,
    paper_equity,
    summarise,
    unmanaged_positions,
)
from core.views.equity import pnl_curves
from core.views.fills import FillFilter, export_csv, fill_page, fill_totals
from core.views.markets import Decimals, market_decimals, with_decimals
from core.views.preferences import set_times_in_utc, times_in_utc
from core.views.prices import current_price
from core.views.system import admin_bots, aware, queue_backend, worker_status
from core.views.trades import (
    TradeFilter,
    bot_choices,
    export_trades_csv,
    trade_list,
    trade_page,
    trade_totals,
)

__all__ = [
    "EXIT_PENDING",
    "STOPPING",
    "awaiting_orders",
    "Decimals",
    "FillFilter",
    "TradeFilter",
    "admin_bots",
    "aware",
    "bot_cards",
    "bot_choices",
    "bot_label",
    "bot_stats",
    "candlestick",
    "chart_data",
    "current_price",
    "describe",
    "describe_bots",
    "equity_curve",
    "export_csv",
    "export_trades_csv",
    "first_steps",
    "fill_page",
    "fill_totals",
    "heatmap",
    "market_decimals",
    "open_positions",
    "orders_of",
    "paper_equity",
    "pnl_chart",
    "pnl_curves",
    "queue_backend",
    "set_times_in_utc",
    "summarise",
    "times_in_utc",
    "trade_list",
    "trade_page",
    "trade_totals",
    "unmanaged_positions",
    "with_decimals",
    "worker_status",
]
