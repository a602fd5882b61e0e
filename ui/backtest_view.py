"""How a backtest and a sweep are shown: metric tiles, charts, trades, export, heatmap."""

from __future__ import annotations

from collections import Counter

import streamlit as st

from core import backtest, views
from core.backtest import METRICS, SweepResult

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
METRIC_LABELS = {name: label for name, label, _kind in TILES} | {"final_equity": "Final equity"}


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


def metric_tiles(metrics: dict) -> None:
    for row in (TILES[:5], TILES[5:]):
        for column, (name, label, kind) in zip(st.columns(5), row, strict=True):
            column.metric(label, fmt(metrics.get(name), kind))
    st.caption(
        f"Final equity {metrics['final_equity']:,.2f} · fees {metrics['fees']:,.2f} · "
        "CAGR needs a month of data; Sharpe and Sortino are annualised per candle."
    )


def show_run(run: backtest.BacktestRun, key: str) -> None:
    """Everything about one backtest, with the export and the 'create a bot' button."""
    result, settings = run.result, run.settings
    metric_tiles(result.metrics)
    if result.skipped:
        with st.expander(f"{len(result.skipped)} order(s) not placed"):
            st.write("\n".join(f"- {reason}" for reason in result.skipped[:50]))
    bars, indicators = backtest.chart_bars(run.candles, run.indicators)
    title = (
        "CSV upload" if settings.source == "csv" else f"{settings.symbol} · {settings.timeframe}"
    )
    if len(bars) < len(run.candles):
        st.caption(f"{len(run.candles):,} candles, drawn as {len(bars):,} merged bars.")
    st.plotly_chart(
        views.candlestick(
            bars, title=title, indicators=indicators, trades=backtest.chart_trades(result.trades)
        ),
        key=f"{key}candles",
    )
    st.plotly_chart(
        views.equity_curve(
            {
                "strategy": backtest.thin(result.equity),
                "buy and hold": backtest.thin(result.buy_and_hold),
            },
            title="Equity vs buy and hold",
        ),
        key=f"{key}equity",
    )
    st.markdown(f"**Trades** ({len(result.trades)})")
    if result.trades:
        st.dataframe(
            backtest.trades_frame(result.trades),
            hide_index=True,
            key=f"{key}trades",
            column_config={
                "entry_time": st.column_config.DatetimeColumn(
                    "entry (UTC)", format="YYYY-MM-DD HH:mm"
                ),
                "exit_time": st.column_config.DatetimeColumn(
                    "exit (UTC)", format="YYYY-MM-DD HH:mm"
                ),
                "pnl": st.column_config.NumberColumn("PnL", format="%+.2f"),
                "fees": st.column_config.NumberColumn(format="%.4f"),
            },
        )
    else:
        st.info("No trades: the strategy never entered in this range.")
    cols = st.columns(2)
    cols[0].download_button(
        "Download trades (CSV)",
        data=backtest.trades_csv(result.trades),
        file_name=f"trades-{settings.strategy}-{(settings.symbol or 'csv').replace('/', '')}.csv",
        mime="text/csv",
        on_click="ignore",
        key=f"{key}download",
    )
    if cols[1].button("Create a bot with these settings", key=f"{key}make_bot"):
        st.session_state["bot_prefill"] = backtest.bot_prefill(settings)
        st.switch_page("pages/bots.py")


def _sweep_columns() -> dict:
    kinds = {name: kind for name, _label, kind in TILES} | {"final_equity": "ratio"}
    formats = {"signed": "%+.2f %%", "pct": "%.2f %%", "ratio": "%.2f", "count": "%d"}
    return {
        m: st.column_config.NumberColumn(METRIC_LABELS.get(m, m), format=formats[kinds[m]])
        for m in METRICS
    }


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
        column_config=_sweep_columns(),
    )
    rows = event.selection.rows if event is not None else []
    return rows[0] if rows else None
