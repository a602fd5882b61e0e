"""Strategies: parameter schemas refuse bad input; signals on hand-checkable series; the
short-window decision agrees with the full signals; a strategy gets the whole candle frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import core.strategy as strategy_face
from core.backtest import run_backtest
from core.errors import InvalidInput
from core.exchanges.sim import sim_candles
from core.strategy import Candles, Param, Strategy, get_strategy, list_strategies


def test_registry_lists_the_built_ins_and_refuses_unknown_names():
    names = {s.name for s in list_strategies()}
    assert {"sma_cross", "rsi", "bollinger", "macd", "dca", "grid"} <= names
    with pytest.raises(InvalidInput, match="choose one of"):
        get_strategy("moon")


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("sma_cross", {"fast": 30, "slow": 10}, "shorter than the slow"),
        ("sma_cross", {"fast": "ten"}, "number"),
        ("sma_cross", {"fast": 1}, "between"),
        ("sma_cross", {"fast": 2.5}, "whole"),
        ("sma_cross", {"speed": 3}, "Unknown parameter"),
        ("rsi", {"oversold": float("nan")}, "finite"),
        ("grid", {"lower": 10, "upper": 5}, "lower"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(name, raw, message):
    with pytest.raises(InvalidInput, match=message):
        get_strategy(name).validate(raw)


def test_defaults_are_filled_and_numbers_coerced():
    assert get_strategy("sma_cross").validate({"fast": "5"}) == {"fast": 5, "slow": 30}


def flat(close) -> pd.DataFrame:
    """Candles whose open, high and low are the close (volume 1)."""
    close = np.asarray(close, dtype=float)
    one = np.ones(len(close))
    return pd.DataFrame(
        {"ts": range(len(close)), "open": close, "high": close, "low": close, "close": close}
        | {"volume": one}
    )


def test_sma_cross_on_a_hand_checkable_series():
    df = flat([5, 4, 3, 2, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1])
    out = get_strategy("sma_cross").signals(df, {"fast": 2, "slow": 4})
    assert out.index[out.entry].tolist() == [6]  # sma2 3.5 > sma4 2.5 after 2.0 <= 2.0
    assert out.index[out.exit].tolist() == [11]


def test_rsi_entry_when_leaving_oversold():
    df = flat([10, 9, 8, 7, 6, 5, 6, 7])
    params = {"period": 3, "oversold": 30, "overbought": 70}
    out = get_strategy("rsi").signals(df, params)
    assert out.index[out.entry].tolist() == [6]
    # Wilder's averages: gain (0*2 + 1)/3, loss (1*2 + 0)/3 -> RSI 33.3 on candle 6; then gain
    # 5/9, loss 4/9 -> 55.6 (Cutler's simple averages would say 66.7)
    rsi = get_strategy("rsi").indicators(df, params)["rsi"]
    assert rsi[6] == pytest.approx(100 / 3) and rsi[7] == pytest.approx(500 / 9)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("sma_cross", {}),
        ("rsi", {}),
        ("rsi", {"period": 40, "oversold": 45, "overbought": 55}),
        ("bollinger", {}),
        ("macd", {}),
        ("macd", {"fast": 5, "slow": 40, "signal": 15}),
        ("dca", {"dip_pct": 0.3, "lookback": 30}),
        ("grid", {}),
    ],
)
def test_last_signal_on_a_tick_window_agrees_with_full_signals(name, raw):
    """A bot tick reads `window(params)` candles; its decision must be the backtest's."""
    strategy = get_strategy(name)
    params = strategy.validate(raw)
    frame = sim_candles("BTC/USDT", "1m", 1_767_225_600_000, 4000)
    full = strategy.signals(pd.DataFrame(frame), params)
    candles = Candles.of(frame)
    window = strategy.window(params)
    assert full.entry.any() or name == "grid"
    for i in range(window + 100, 4000, 7):
        entry, exit_ = strategy.last_signal(candles[i - window + 1 : i + 1], params)
        assert (entry, exit_) == (bool(full.entry[i]), bool(full.exit[i]))


class Breakout(Strategy):
    """A test strategy on high, low and volume: buy when the close clears the highest high of
    the previous `n` candles on more volume than any of them; sell below their lowest low."""

    name, title = "breakout", "Breakout"
    params = (Param("n", int, 3, 1, 100),)

    def warmup(self, p: dict) -> int:
        return p["n"]

    def compute(self, candles: Candles, p: dict):
        n, size = p["n"], len(candles)
        top, bottom, loud = (np.full(size, np.nan) for _ in range(3))
        if size > n:
            view = np.lib.stride_tricks.sliding_window_view
            top[n:] = view(candles.high, n)[:-1].max(axis=1)
            bottom[n:] = view(candles.low, n)[:-1].min(axis=1)
            loud[n:] = view(candles.volume, n)[:-1].max(axis=1)
        entry = (candles.close > top) & (candles.volume > loud)
        exit_ = candles.close < bottom
        return {"top": top, "bottom": bottom}, entry, exit_


def test_a_strategy_reads_high_low_and_volume():
    df = pd.DataFrame(
        {
            "ts": range(8),
            "open": [10, 10, 10, 10, 10, 10, 10, 10],
            "high": [11, 12, 11, 11, 11, 13, 13, 12],
            "low": [9, 9, 8, 9, 9, 9, 10, 9],
            "close": [10, 11, 10, 11.5, 12.5, 11, 13.5, 7.5],
            "volume": [5, 5, 5, 6, 4, 9, 10, 5],
        }
    )
    strategy, params = Breakout(), Breakout().validate({})
    out = strategy.signals(df, params)
    # candle 3: close 11.5 <= the highest high 12; candle 4: 12.5 > 12 but volume 4 <= 6;
    # candle 5: 11 <= 11; candle 6: 13.5 > 13 on volume 10 > 9; candle 7: 7.5 < the lowest low 9
    assert out.index[out.entry].tolist() == [6]
    assert out.index[out.exit].tolist() == [7]
    assert strategy.indicators(df, params)["top"][6] == 13
    candles = Candles.of(df)
    assert strategy.last_signal(candles[:7], params) == (True, False)
    assert strategy.last_signal(candles[3:], params) == (False, True)
    assert strategy.last_signal(candles[:3], params) == (False, False)  # still warming up


def test_a_backtest_hands_a_strategy_every_column(monkeypatch):
    """run_backtest gives `compute` open, high, low, close and volume as they are in the
    candles (the tick: tests/trading/test_signal.py)."""
    seen: list[Candles] = []

    class Spy(Breakout):
        name = "spy"

        def compute(self, candles, p):
            seen.append(candles)
            return super().compute(candles, p)

    monkeypatch.setitem(strategy_face.REGISTRY, "spy", Spy())
    frame = pd.DataFrame(sim_candles("BTC/USDT", "1h", 1_767_225_600_000, 500))
    result = run_backtest(frame, "spy", {"n": 20})
    assert len(result.trades) > 0
    for column in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(seen[0], column), frame[column].to_numpy(dtype=float))
    assert not np.array_equal(seen[0].high, seen[0].low)


def test_grid_price_note_says_what_a_grid_outside_the_price_will_do():
    from core.strategy import grid_price_note

    grid = {"lower": 58_000.0, "upper": 62_000.0, "levels": 10}
    assert grid_price_note(grid, 60_000.0) is None
    assert grid_price_note(grid, None) is None
    assert "below the grid" in grid_price_note(grid, 2_980.0)
    assert "above the grid" in grid_price_note(grid, 70_000.0)
