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
    assert names == ["price", "sma", "entries", "exits"]
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
