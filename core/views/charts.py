"""Plotly figure builders: pure functions from data to figures (no Streamlit, no database)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

# The dark template's layout part only: assigning the full "plotly_dark" template costs ~10 ms
# of validation per figure (and ~6 KB per chart sent to the browser); this costs ~1 ms.
DARK = go.layout.Template(
    layout={
        key: pio.templates["plotly_dark"].layout[key]
        for key in ("paper_bgcolor", "plot_bgcolor", "font", "xaxis", "yaxis", "colorway",
                    "hoverlabel", "title")
    }
)  # fmt: skip
UP, DOWN = "#22c55e", "#ef4444"
ENTRY, EXIT = "#38bdf8", "#f59e0b"
LAYOUT = {
    "template": DARK,
    "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
    "legend": {"orientation": "h", "y": 1.02, "x": 0},
    "hovermode": "x unified",
    # Keeps zoom and legend choices across live refreshes of the same chart.
    "uirevision": "keep",
}


def _times(ms: pd.Series | Sequence[int]) -> pd.DatetimeIndex:
    return pd.to_datetime(pd.Series(ms, dtype="int64"), unit="ms", utc=True)


def candlestick(
    candles: pd.DataFrame,
    *,
    title: str = "",
    indicators: Mapping[str, pd.Series] | None = None,
    trades: Sequence[Mapping] = (),
) -> go.Figure:
    """Candles (columns ts, open, high, low, close) with indicator lines and trade markers.

    `trades` are mappings with entry_ts, entry_price, amount and optionally exit_ts,
    exit_price, pnl, exit_reason; hovering a marker shows price, amount and PnL.
    """
    x = _times(candles["ts"])
    fig = go.Figure(
        go.Candlestick(
            x=x,
            open=candles["open"],
            high=candles["high"],
            low=candles["low"],
            close=candles["close"],
            name="price",
            increasing_line_color=UP,
            decreasing_line_color=DOWN,
        )
    )
    for name, series in (indicators or {}).items():
        fig.add_trace(go.Scatter(x=x, y=list(series), name=name, mode="lines", line={"width": 1.2}))
    _add_markers(fig, trades)
    fig.update_layout(title=title, xaxis_rangeslider_visible=False, height=520, **LAYOUT)
    return fig


def _add_markers(fig: go.Figure, trades: Sequence[Mapping]) -> None:
    if not trades:
        return
    entries = [t for t in trades if t.get("entry_ts") is not None]
    exits = [t for t in trades if t.get("exit_ts") is not None]
    fig.add_trace(
        go.Scatter(
            x=_times([t["entry_ts"] for t in entries]),
            y=[t["entry_price"] for t in entries],
            mode="markers",
            name="entries",
            marker={"symbol": "triangle-up", "size": 11, "color": ENTRY},
            customdata=[[t["amount"]] for t in entries],
            hovertemplate="buy %{y:.6g}<br>amount %{customdata[0]:.6g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=_times([t["exit_ts"] for t in exits]),
            y=[t["exit_price"] for t in exits],
            mode="markers",
            name="exits",
            marker={"symbol": "triangle-down", "size": 11, "color": EXIT},
            customdata=[
                [t["amount"], t.get("pnl") or 0.0, t.get("exit_reason", "")] for t in exits
            ],
            hovertemplate=(
                "sell %{y:.6g}<br>amount %{customdata[0]:.6g}<br>PnL %{customdata[1]:+.2f}"
                " (%{customdata[2]})<extra></extra>"
            ),
        )
    )


def equity_curve(
    series: Mapping[str, pd.Series], *, title: str = "Equity", height: int = 320
) -> go.Figure:
    """One line per named series indexed by time (e.g. equity and buy-and-hold)."""
    fig = go.Figure()
    for name, values in series.items():
        fig.add_trace(go.Scatter(x=values.index, y=values.values, name=name, mode="lines"))
    fig.update_layout(title=title, height=height, **LAYOUT)
    return fig


def heatmap(table: pd.DataFrame, *, x: str, y: str, value: str, title: str = "") -> go.Figure:
    """A parameter-sweep heatmap: `value` over the grid of `x` and `y`."""
    grid = table.pivot_table(index=y, columns=x, values=value)
    fig = go.Figure(
        go.Heatmap(
            z=grid.values,
            x=list(grid.columns),
            y=list(grid.index),
            colorscale="RdYlGn",
            colorbar={"title": value},
        )
    )
    fig.update_layout(title=title, height=420, xaxis_title=x, yaxis_title=y, **LAYOUT)
    return fig
