"""Strategy parameters: every problem at once, each under its parameter, in a trader's words."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.strategy import get_strategy, list_strategies


def test_every_parameter_has_a_title():
    assert all(p.title for s in list_strategies() for p in s.params)


def test_problems_lists_each_bad_parameter_at_once():
    values, problems = get_strategy("rsi").problems(
        {"period": 1, "oversold": "low", "overbought": 150}
    )
    assert problems == [
        ("period", "RSI length must be between 2 and 200."),
        ("oversold", "Oversold level must be a number."),
        ("overbought", "Overbought level must be between 51 and 99."),
    ]
    assert values == {}


@pytest.mark.parametrize(
    ("name", "raw", "field", "message"),
    [
        (
            "sma_cross",
            {"fast": 30, "slow": 10},
            "fast",
            "The fast average must be shorter than the slow one.",
        ),
        (
            "macd",
            {"fast": 30, "slow": 10},
            "fast",
            "The fast EMA must be shorter than the slow one.",
        ),
        ("grid", {"lower": 0, "upper": 10}, "lower", "The lower price must be above 0."),
        (
            "grid",
            {"lower": 10, "upper": 5},
            "upper",
            "The upper price must be above the lower price.",
        ),
        (
            "grid",
            {"lower": 1, "upper": 2e9},
            "upper",
            "Upper price must be between 0 and 1,000,000,000.",
        ),
        (
            "sma_cross",
            {"speed": 1},
            "",
            "Unknown parameter(s) for sma_cross: speed. Known: fast, slow.",
        ),
    ],
)
def test_cross_field_rules_name_the_field_to_fix(name, raw, field, message):
    _values, problems = get_strategy(name).problems(raw)
    assert problems == [(field, message)]
    with pytest.raises(InvalidInput) as caught:  # validate raises the same first message
        get_strategy(name).validate(raw)
    assert caught.value.message == message
