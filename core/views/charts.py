"""Plotly figure builders: pure functions from data to figures (no Streamlit, no database)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from core.platform.present import label, words

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
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    # Above the plot, to the right of the title: never over the first points of a line.
    "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.01, "yanchor": "bottom"},
    "hovermode": "x unified",
    # Keeps zoom and legend choices across live refreshes of the same chart.
    "uirevision": "keep",
}


# Indicator lines drawn in a panel of their own under the candles (their scale is not the
# price's): panel title and the lines it holds, in order.
PANELS = {"RSI": ("rsi",), "MACD": ("macd", "macd_signal", "macd_hist")}
RSI_BANDS = (30.0, 70.0)
TIME_HOVER = "%Y-%m-%d %H:%M"
GRID_LINE = {"width": 1, "dash": "dot", "color": "rgba(148, 163, 184, 0.55)"}


def _times(ms: pd.Series | Sequence[int], zone: str = "UTC") -> pd.Series:
    """Epoch ms as wall-clock times in `zone` (plotly draws the wall clock it is given)."""
    utc = pd.to_datetime(pd.Series(ms, dtype="int64"), unit="ms", utc=True)
    return (utc if zone == "UTC" else utc.dt.tz_convert(zone)).dt.tz_localize(None)


def _x_axis(zone: str) -> dict:
    """Times to the minute in the hover, with the zone ('2026-12-05 14:03 Europe/Berlin')."""
    return {"hoverformat": f"{TIME_HOVER} {zone}", "type": "date"}


def _panel_of(name: str) -> str | None:
    return next((title for title, names in PANELS.items() if name in names), None)


def candlestick(
    candles: pd.DataFrame,
    *,
    title: str = "",
    indicators: Mapping[str, pd.Series] | None = None,
    trades: Sequence[Mapping] = (),
    bands: Mapping[str, tuple[float, float]] | None = None,
    zone: str = "UTC",
    price_decimals: int | None = None,
) -> go.Figure:
    """Candles (columns ts, open, high, low, close) with indicator lines and trade markers.

    Price-scale indicators (moving averages, bands, grid levels) are drawn on the candles;
    oscillators (RSI, MACD with its signal and histogram) each get a panel under them, on
    the same time axis, RSI with its oversold/overbought `bands` (default 30/70).
    `trades` are mappings with entry_ts, entry_price, amount and optionally exit_ts,
    exit_price, pnl, exit_reason; hovering a marker shows price, amount and PnL. Prices show
    `price_decimals` places (the market's step) when given.
    """
    x = _times(candles["ts"], zone)
    indicators = dict(indicators or {})
    if "macd" in indicators and "macd_signal" in indicators and "macd_hist" not in indicators:
        indicators["macd_hist"] = pd.Series(
            np.asarray(indicators["macd"], dtype=float)
            - np.asarray(indicators["macd_signal"], dtype=float)
        )
    panels = [t for t, names in PANELS.items() if any(n in indicators for n in names)]
    axis_of = {t: f"y{i + 2}" for i, t in enumerate(panels)}
    price_fmt = ",.6g" if price_decimals is None else f",.{price_decimals}f"
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
    grid_shown = False
    for name, series in indicators.items():
        panel = _panel_of(name)
        values = list(series)
        if panel is None and name.startswith("grid_"):
            fig.add_trace(
                go.Scatter(x=x, y=values, name="grid levels", mode="lines", line=GRID_LINE,
                           legendgroup="grid", showlegend=not grid_shown, hoverinfo="skip")
            )  # fmt: skip
            grid_shown = True
        elif panel is None:
            fig.add_trace(
                go.Scatter(x=x, y=values, name=label(name), mode="lines", line={"width": 1.2})
            )
        elif name == "macd_hist":
            signs = np.sign(np.nan_to_num(np.asarray(values, dtype=float)))  # red below zero
            fig.add_trace(
                go.Bar(x=x, y=values, name=label(name), opacity=0.6, yaxis=axis_of[panel],
                       marker={"color": signs, "colorscale": [[0, DOWN], [0.5, DOWN],
                               [0.5, UP], [1, UP]], "cmin": -1, "cmax": 1})
            )  # fmt: skip
        else:
            fig.add_trace(
                go.Scatter(x=x, y=values, name=label(name), mode="lines", line={"width": 1.2},
                           yaxis=axis_of[panel])
            )  # fmt: skip
    _add_markers(fig, trades, zone, price_fmt)
    layout = {**LAYOUT, **_stack(panels, axis_of, zone)}
    layout["yaxis"] = {**layout.get("yaxis", {}), "hoverformat": price_fmt}
    if "RSI" in axis_of:
        layout["shapes"], layout["annotations"] = _bands(
            axis_of["RSI"], (bands or {}).get("rsi", RSI_BANDS)
        )
    fig.update_layout(title=title, height=520 + 140 * len(panels), **layout)
    return fig


def _bands(axis: str, levels: tuple[float, float]) -> tuple[list[dict], list[dict]]:
    """Dashed oversold/overbought lines across an RSI panel, each with its label."""
    shapes, notes = [], []
    for level, text in zip(levels, ("oversold", "overbought"), strict=True):
        line = {"width": 1, "dash": "dash", "color": "#94a3b8"}
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": axis,
                       "y0": level, "y1": level, "line": line})  # fmt: skip
        notes.append({"xref": "paper", "x": 0, "xanchor": "left", "yref": axis, "y": level,
                      "yanchor": "bottom", "text": f"{text} {level:g}", "showarrow": False,
                      "font": {"size": 10, "color": "#94a3b8"}})  # fmt: skip
    return shapes, notes


def _stack(panels: list[str], axis_of: dict[str, str], zone: str) -> dict:
    """The price axis on top and one panel per oscillator under it, sharing the time axis
    (make_subplots' layout with shared x, built directly: it costs ~6 ms more per chart)."""
    x_axis = {**_x_axis(zone), "rangeslider": {"visible": False}}
    if not panels:
        return {"xaxis": x_axis}
    gap, share = 0.04, 0.22  # each panel's share of the height
    bottom = len(panels) * share
    layout: dict = {
        "yaxis": {"domain": [bottom + gap, 1.0]},
        "xaxis": {**x_axis, "anchor": axis_of[panels[-1]]},
    }
    for i, title in enumerate(panels):
        top = bottom - i * share
        key = "yaxis" + axis_of[title][1:]
        layout[key] = {
            "domain": [max(0.0, top - share + gap), top],
            "title": {"text": title, "font": {"size": 11}},
            "anchor": "x",
        }
        if title == "RSI":
            layout[key]["range"] = [0, 100]
    return layout


def _add_markers(
    fig: go.Figure, trades: Sequence[Mapping], zone: str = "UTC", price_fmt: str = ",.6g"
) -> None:
    if not trades:
        return
    entries = [t for t in trades if t.get("entry_ts") is not None]
    exits = [t for t in trades if t.get("exit_ts") is not None]
    fig.add_trace(
        go.Scatter(
            x=_times([t["entry_ts"] for t in entries], zone),
            y=[t["entry_price"] for t in entries],
            mode="markers",
            name="entries",
            marker={"symbol": "triangle-up", "size": 11, "color": ENTRY},
            customdata=[[t["amount"]] for t in entries],
            hovertemplate=f"buy %{{y:{price_fmt}}}<br>amount %{{customdata[0]:.8g}}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=_times([t["exit_ts"] for t in exits], zone),
            y=[t["exit_price"] for t in exits],
            mode="markers",
            name="exits",
            marker={"symbol": "triangle-down", "size": 11, "color": EXIT},
            customdata=[
                [t["amount"], t.get("pnl") or 0.0, words(t.get("exit_reason") or "")] for t in exits
            ],
            hovertemplate=(
                f"sell %{{y:{price_fmt}}}<br>amount %{{customdata[0]:.8g}}"
                "<br>PnL %{customdata[1]:+,.2f} (%{customdata[2]})<extra></extra>"
            ),
        )
    )


def _curve_layout(fig: go.Figure, xs: list, zone: str) -> None:
    """One point or a short span: markers, and an x range of at least an hour around the
    points with ticks to the minute (plotly's autorange would tick milliseconds)."""
    xaxis = _x_axis(zone)
    if xs:
        lo, hi = min(xs), max(xs)
        if hi - lo < pd.Timedelta(hours=1):
            pad = (pd.Timedelta(hours=1) - (hi - lo)) / 2
            xaxis["range"] = [lo - pad, hi + pad]
            xaxis["tickformat"] = "%H:%M\n%b %d"
    fig.update_layout(xaxis=xaxis)


def equity_curve(
    series: Mapping[str, pd.Series],
    *,
    title: str = "Equity",
    height: int = 320,
    zone: str = "UTC",
) -> go.Figure:
    """One line per named series indexed by time (e.g. equity and buy-and-hold); a series
    with fewer than two points is drawn as markers."""
    fig = go.Figure()
    xs: list = []
    for name, values in series.items():
        index = pd.DatetimeIndex(values.index)  # naive: UTC, as stored
        if index.tz is not None or zone != "UTC":
            index = index.tz_localize("UTC") if index.tz is None else index
            index = index.tz_convert(zone).tz_localize(None)  # the wall clock plotly draws
        mode = "lines" if len(values) >= 2 else "markers"
        fig.add_trace(
            go.Scatter(x=index, y=values.values, name=name, mode=mode, marker={"size": 9})
        )
        xs += [index.min(), index.max()] if len(index) else []
    fig.update_layout(title=title, height=height, **LAYOUT)
    _curve_layout(fig, xs, zone)
    return fig


def pnl_chart(
    curves: Mapping[str, Sequence[tuple[int, float]]],
    *,
    title: str = "PnL",
    unit: str = "USDT",
    zone: str = "UTC",
    height: int = 320,
) -> go.Figure:
    """PnL curves from (epoch ms, value) points, e.g. `pnl_curves`' realised and realised +
    open positions; one point is drawn as a marker."""
    series = {
        name: pd.Series(
            [v for _t, v in points],
            index=pd.to_datetime([t for t, _v in points], unit="ms", utc=True),
            dtype=float,
        )
        for name, points in curves.items()
    }
    fig = equity_curve(series, title=title, height=height, zone=zone)
    fig.update_layout(yaxis={"hoverformat": ",.2f", "ticksuffix": f" {unit}" if unit else ""})
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
            colorbar={"title": label(value)},
        )
    )
    fig.update_layout(title=title, height=420, xaxis_title=label(x), yaxis_title=label(y), **LAYOUT)
    return fig
