"""How a backtest and a sweep are shown: metric tiles, charts, trades, export, heatmap."""

from __future__ import annotations

from collections import Counter

import streamlit as st

from core import backtest, views
from core.backtest import METRIC_HELP, METRICS, SweepResult
from core.platform.present import label, quote_of
from ui.format import Column, balance, zone_name
from ui.format import table as data_table

TRADE_COLUMNS = (
    Column("entry_time", "time"),
    Column("entry_price", "price"),
    Column("amount", "amount"),
    Column("exit_time", "time"),
    Column("exit_price", "price"),
    Column("exit_reason", "words"),
    Column("fees", "money"),
    Column("pnl", "pnl"),
)

TILES = (
    ("total_return_pct", "Total return", "signed"),
    ("cagr_pct", "CAGR", "signed"),
    ("max_drawdown_pct", "Max drawdown", "pct"),
    ("sharpe", "Sharpe", "ratio"),
    ("sortino", "Sortino", "ratio"),
    ("win_rate_pct", "Win rate", "pct"),
    ("profit_factor", "Profit factor", "ratio"),
    ("exposure_pct", "Exposure", "pct"),
    ("num_trades", "Trades", "count"),
    ("buy_and_hold_return_pct", "Buy and hold", "signed"),
)
METRIC_LABELS = {name: title for name, title, _kind in TILES} | {"final_equity": "Final equity"}


def fmt(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "signed":
        return f"{value:+.2f} %"
    if kind == "pct":
        return f"{value:.2f} %"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:,}"


def metric_tiles(metrics: dict, unit: str = "USDT") -> None:
    for row in (TILES[:5], TILES[5:]):
        for column, (name, title, kind) in zip(st.columns(5), row, strict=True):
            column.metric(title, fmt(metrics.get(name), kind), help=METRIC_HELP[name])
    st.caption(
        f"Final equity {balance(metrics['final_equity'], unit)} · fees "
        f"{balance(metrics['fees'], unit)}."
    )
    st.caption(
        "CAGR needs a month of data; Sharpe and Sortino are annualised from the candle "
        "interval on a 365-day year. Each tile's ? says how it is computed."
    )


def show_run(run: backtest.BacktestRun, key: str) -> None:
    """Everything about one backtest, with the export and the 'create a bot' button."""
    result, settings = run.result, run.settings
    unit = quote_of(settings.symbol)
    metric_tiles(result.metrics, unit)
    if result.skipped:
        with st.expander(f"{len(result.skipped)} order(s) not placed"):
            st.write("\n".join(f"- {reason}" for reason in result.skipped[:50]))
    bars, indicators = backtest.chart_bars(run.candles, run.indicators)
    title = (
        "CSV upload" if settings.source == "csv" else f"{settings.symbol} · {settings.timeframe}"
    )
    if len(bars) < len(run.candles):
        st.caption(f"{len(run.candles):,} candles, drawn as {len(bars):,} merged bars.")
    price_dp, amount_dp = backtest.trade_decimals(result.trades, run.market)
    st.plotly_chart(
        views.candlestick(
            bars,
            title=title,
            indicators=indicators,
            trades=backtest.chart_trades(result.trades),
            bands=_bands(settings.params),
            zone=zone_name(),
            price_decimals=price_dp,
        ),
        key=f"{key}candles",
    )
    st.plotly_chart(
        views.equity_curve(
            {
                "strategy": backtest.thin(result.equity),
                "buy and hold": backtest.thin(result.buy_and_hold),
            },
            title=f"Equity vs buy and hold ({unit})",
            zone=zone_name(),
        ),
        key=f"{key}equity",
    )
    st.markdown(f"**Trades** ({len(result.trades)})")
    if result.trades:
        steps = {"price_dp": price_dp, "amount_dp": amount_dp, "symbol": settings.symbol}
        data_table([{**t, **steps} for t in result.trades], TRADE_COLUMNS, key=f"{key}trades")
    else:
        st.info("No trades: the strategy never entered in this range.")
    cols = st.columns(2)
    cols[0].download_button(
        "Download trades (CSV)",
        data=backtest.trades_csv(result.trades, run.market),
        file_name=f"trades-{settings.strategy}-{(settings.symbol or 'csv').replace('/', '')}.csv",
        mime="text/csv",
        on_click="ignore",
        key=f"{key}download",
    )
    if cols[1].button("Create a bot with these settings", key=f"{key}make_bot"):
        st.session_state["bot_prefill"] = backtest.bot_prefill(settings)
        st.switch_page("pages/bots.py")


def _bands(params: dict) -> dict[str, tuple[float, float]]:
    """The RSI panel's lines at the strategy's own oversold / overbought levels."""
    if {"oversold", "overbought"} <= params.keys():
        return {"rsi": (float(params["oversold"]), float(params["overbought"]))}
    return {}


def _sweep_columns(params: tuple[str, ...] = ()) -> dict:
    kinds = {name: kind for name, _label, kind in TILES} | {"final_equity": "ratio"}
    formats = {"signed": "%+.2f %%", "pct": "%.2f %%", "ratio": "%.2f", "count": "%d"}
    return {
        m: st.column_config.NumberColumn(
            METRIC_LABELS.get(m, m), format=formats[kinds[m]], help=METRIC_HELP[m]
        )
        for m in METRICS
    } | {p: st.column_config.NumberColumn(label(p)) for p in params}


def show_sweep(result: SweepResult, key: str) -> int | None:
    """The sweep's heatmap (two parameters) and table; the selected row, if any."""
    table = result.table
    st.caption(f"{len(table)} backtest(s) run; {len(result.skipped)} combination(s) skipped.")
    if result.skipped:
        with st.expander("Skipped combinations"):
            for reason, count in Counter(s["reason"] for s in result.skipped).most_common():
                st.write(f"- {count} × {reason}")
    if table.empty:
        st.warning("No combination could run: adjust the ranges.")
        return None
    metric = st.columns(3)[0].selectbox(
        "Colour by",
        [m for m in METRICS if m in table],
        format_func=lambda m: METRIC_LABELS.get(m, m),
        key=f"{key}metric",
    )
    if len(result.params) == 2:
        x, y = result.params
        st.plotly_chart(
            views.heatmap(table, x=x, y=y, value=metric, title=METRIC_LABELS.get(metric, metric)),
            key=f"{key}heatmap",
        )
    else:
        st.line_chart(table.sort_values(result.params[0]).set_index(result.params[0])[metric])
    st.caption("Click a row to see that combination's full backtest below.")
    event = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"{key}table",
        column_config=_sweep_columns(tuple(result.params)),
    )
    rows = event.selection.rows if event is not None else []
    return rows[0] if rows else None
