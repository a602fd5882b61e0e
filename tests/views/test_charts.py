"""Chart builders produce the traces a person expects to see."""

from __future__ import annotations

import pandas as pd

from core.views import charts


def _candles(n: int = 5) -> pd.DataFrame:
    ts = [1_700_000_000_000 + i * 60_000 for i in range(n)]
    close = [100.0 + i for i in range(n)]
    return pd.DataFrame(
        {
            "ts": ts,
            "open": close,
            "high": [c + 1 for c in close],
            "low": [c - 1 for c in close],
            "close": close,
            "volume": [1.0] * n,
        }
    )


def test_candlestick_has_indicators_and_entry_exit_markers_with_pnl_hover():
    candles = _candles()
    trades = [
        {
            "entry_ts": candles.ts[1],
            "entry_price": 101.0,
            "amount": 0.5,
            "exit_ts": candles.ts[3],
            "exit_price": 103.0,
            "pnl": 0.9,
            "exit_reason": "tp",
        }
    ]
    fig = charts.candlestick(candles, indicators={"sma": candles.close}, trades=trades)
    names = [t.name for t in fig.data]
    assert names == ["price", "SMA", "entries", "exits"]
    exits = fig.data[3]
    assert list(exits.y) == [103.0]
    assert exits.customdata[0][1] == 0.9
    assert "PnL" in exits.hovertemplate
    assert fig.layout.uirevision == "keep"


def test_candlestick_without_trades_has_no_marker_traces():
    fig = charts.candlestick(_candles())
    assert [t.name for t in fig.data] == ["price"]


def test_equity_curve_one_line_per_series():
    idx = pd.date_range("2026-01-01", periods=3, freq="D")
    fig = charts.equity_curve(
        {"bot": pd.Series([1, 2, 3], index=idx), "buy & hold": pd.Series([1, 1, 2], index=idx)}
    )
    assert [t.name for t in fig.data] == ["bot", "buy & hold"]


def test_heatmap_pivots_the_sweep_table():
    table = pd.DataFrame(
        {"fast": [5, 5, 10, 10], "slow": [20, 30, 20, 30], "ret": [1.0, 2.0, 3.0, 4.0]}
    )
    fig = charts.heatmap(table, x="fast", y="slow", value="ret")
    assert fig.data[0].z.tolist() == [[1.0, 3.0], [2.0, 4.0]]


def test_rsi_gets_its_own_panel_under_the_candles_with_its_bands():
    candles = _candles(20)
    rsi = pd.Series([50.0] * 20)
    fig = charts.candlestick(
        candles, indicators={"sma_fast": candles.close, "rsi": rsi}, bands={"rsi": (25, 75)}
    )
    traces = {t.name: t for t in fig.data}
    assert traces["Fast SMA"].yaxis in (None, "y")  # price overlays stay on the candles
    assert traces["RSI"].yaxis == "y2"  # the oscillator is in the second row
    price, panel = fig.layout.yaxis.domain, fig.layout.yaxis2.domain
    assert panel[1] < price[0]  # under the candles
    assert fig.layout.xaxis.anchor == "y2" and fig.layout.yaxis2.anchor == "x"  # one time axis
    assert tuple(fig.layout.yaxis2.range) == (0, 100)
    assert sorted(s.y0 for s in fig.layout.shapes) == [25, 75]
    assert {s.yref for s in fig.layout.shapes} == {"y2"}
    assert fig.layout.xaxis.rangeslider.visible is False


def test_rsi_bands_default_to_30_and_70():
    fig = charts.candlestick(_candles(), indicators={"rsi": pd.Series([50.0] * 5)})
    assert sorted(s.y0 for s in fig.layout.shapes) == [30, 70]


def test_macd_has_its_signal_and_a_red_green_histogram_in_its_panel():
    candles = _candles(6)
    macd = pd.Series([1.0, 2.0, 0.5, -1.0, -2.0, 0.0])
    signal = pd.Series([0.0] * 6)
    fig = charts.candlestick(candles, indicators={"macd": macd, "macd_signal": signal})
    traces = {t.name: t for t in fig.data}
    assert {traces[n].yaxis for n in ("MACD", "Signal", "Histogram")} == {"y2"}
    hist = traces["Histogram"]
    assert hist.type == "bar" and list(hist.y) == list(macd - signal)
    assert list(hist.marker.color) == [1, 1, 1, -1, -1, 0]  # sign: green up, red down


def test_rsi_and_macd_together_make_three_rows():
    n = 5
    fig = charts.candlestick(
        _candles(n),
        indicators={"rsi": pd.Series([50.0] * n), "macd": pd.Series([0.0] * n),
                    "macd_signal": pd.Series([0.0] * n)},
    )  # fmt: skip
    y1, y2, y3 = fig.layout.yaxis.domain, fig.layout.yaxis2.domain, fig.layout.yaxis3.domain
    assert y3[1] < y2[0] and y2[1] < y1[0]
    assert fig.layout.xaxis.anchor == "y3"


def test_grid_levels_are_one_legend_entry_on_the_candles():
    levels = {f"grid_{i}": pd.Series([100.0 + i] * 5) for i in range(4)}
    fig = charts.candlestick(_candles(), indicators=levels)
    grid = [t for t in fig.data if t.name == "grid levels"]
    assert len(grid) == 4 and [t.showlegend for t in grid] == [True, False, False, False]
    assert all(t.yaxis in (None, "y") for t in grid)


def test_times_are_drawn_in_the_viewers_zone_and_hover_to_the_minute():
    candles = _candles(2)  # 2023-11-14 22:13 UTC
    fig = charts.candlestick(candles, zone="Europe/Berlin", price_decimals=2)
    first = pd.Timestamp(fig.data[0].x[0])
    assert (first.hour, first.minute) == (23, 13)
    assert fig.layout.xaxis.hoverformat == "%Y-%m-%d %H:%M Europe/Berlin"
    assert fig.layout.yaxis.hoverformat == ",.2f"


def test_a_one_point_pnl_curve_is_a_marker_with_a_readable_time_axis():
    fig = charts.pnl_chart({"Realised": [(1_700_000_000_000, 1.5)]}, title="PnL")
    (trace,) = fig.data
    assert trace.mode == "markers" and list(trace.y) == [1.5]
    lo, hi = (pd.Timestamp(v) for v in fig.layout.xaxis.range)
    assert hi - lo >= pd.Timedelta(hours=1)  # not a millisecond-wide axis
    assert ".%L" not in (fig.layout.xaxis.tickformat or "") and "%S" not in (
        fig.layout.xaxis.hoverformat or ""
    )
    two = charts.pnl_chart({"Realised": [(1_700_000_000_000, 0.0), (1_700_003_600_000, 2.0)]})
    assert two.data[0].mode == "lines"


def test_the_legend_sits_above_the_plot_never_over_the_first_points():
    """A curve starts at 0 at the top left, where a legend inside the plot would hide it."""
    fig = charts.pnl_chart({"Realised": [(1_700_000_000_000, 0.0), (1_700_003_600_000, -2.0)]})
    legend = fig.layout.legend
    assert legend.yanchor == "bottom" and legend.y >= 1  # its lower edge on the plot's top
    assert (legend.x, legend.xanchor) == (1, "right")  # clear of the title on the left
