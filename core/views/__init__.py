"""Read models for the pages: dashboard (per-bot PnL, equity, positions, cards), trades (round
trips) and fills (executed orders) with totals and CSV, bot_detail (chart data, orders), system
(worker health, admin lists), charts (plotly figures, no Streamlit)."""

from __future__ import annotations

from core.views.bot_detail import awaiting_orders, bot_label, chart_data, orders_of
from core.views.charts import candlestick, equity_curve, heatmap
from core.views.dashboard import (
    bot_cards,
    bot_stats,
    open_positions,
    paper_equity,
    pnl_curve,
    summarise,
)
from core.views.fills import FillFilter, export_csv, fill_page, fill_totals
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
    "awaiting_orders",
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
    "equity_curve",
    "export_csv",
    "export_trades_csv",
    "fill_page",
    "fill_totals",
    "heatmap",
    "open_positions",
    "orders_of",
    "paper_equity",
    "pnl_curve",
    "queue_backend",
    "summarise",
    "trade_list",
    "trade_page",
    "trade_totals",
    "worker_status",
]
