"""Strategies: parameter schemas refuse bad input; signals on hand-checkable series;
the short-window decision agrees with the full signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import InvalidInput
from core.exchanges.sim import sim_candles
from core.strategy import get_strategy, list_strategies


def test_registry_lists_the_built_ins_and_refuses_unknown_names():
    names = {s.name for s in list_strategies()}
    assert {"sma_cross", "rsi", "bollinger", "macd", "dca", "grid"} <= names
    with pytest.raises(InvalidInput, match="choose one of"):
        get_strategy("moon")


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("sma_cross", {"fast": 30, "slow": 10}, "smaller"),
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


def test_sma_cross_on_a_hand_checkable_series():
    close = np.array([5, 4, 3, 2, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1], dtype=float)
    df = pd.DataFrame({"ts": range(15), "close": close})
    out = get_strategy("sma_cross").signals(df, {"fast": 2, "slow": 4})
    assert out.index[out.entry].tolist() == [6]  # sma2 3.5 > sma4 2.5 after 2.0 <= 2.0
    assert out.index[out.exit].tolist() == [11]


def test_rsi_entry_when_leaving_oversold():
    close = np.array([10, 9, 8, 7, 6, 5, 6, 7], dtype=float)
    out = get_strategy("rsi").signals(
        pd.DataFrame({"close": close}), {"period": 3, "oversold": 30, "overbought": 70}
    )
    assert out.entry.tolist()[6] is True


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("sma_cross", {}),
        ("rsi", {}),
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
    close = sim_candles("BTC/USDT", "1m", 1_767_225_600_000, 4000)["close"]
    full = strategy.signals(pd.DataFrame({"close": close}), params)
    window = strategy.window(params)
    assert full.entry.any() or name == "grid"
    for i in range(window + 100, 4000, 7):
        entry, exit_ = strategy.last_signal(close[i - window + 1 : i + 1], params)
        assert (entry, exit_) == (bool(full.entry[i]), bool(full.exit[i]))
