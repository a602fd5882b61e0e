"""core.strategy.risk.decide, one row per rule: what a closed candle leads to, exactly.

Every row starts from: candle ts T closing at 100, 1,000 USDT free, a 100 USDT order, a 0.1 %
fee, signal mode, no risk limits, no lots; it changes only what it names. A buy carries its
budget, min(order quote, cash), and the amount that budget buys at the close after the fee,
budget / (close * 1.001) rounded down to the 0.001 step (the fill sizes it again at its price).
"""

from __future__ import annotations

import pytest

from core.exchanges import Market
from core.strategy.risk import BotState, Intent, Lot, Risk, decide

T = 1_767_225_600_000
MARKET = Market(
    symbol="X/USDT",
    base="X",
    quote="USDT",
    amount_step=0.001,
    price_step=0.01,
    min_amount=0.001,
    min_notional=1.0,
)
DCA = {"safety_orders": 2, "safety_step_pct": 1.0, "take_profit_pct": 1.0}
GRID = {"lower": 90.0, "upper": 110.0, "levels": 5}


def lot(entry: float, amount: float = 1.0, *, peak=None, target=None, level=None) -> dict:
    return {"entry": entry, "amount": amount, "peak": peak, "target": target, "level": level}


def buy(purpose: str, amount: float, level: int | None = None, budget: float = 100.0) -> Intent:
    return Intent("buy", purpose, amount, level=level, budget=budget)


def sell(purpose: str, amount: float, lots: tuple[int, ...]) -> Intent:
    return Intent("sell", purpose, amount, lots)


# id: (state, decide() arguments, intents, paused afterwards)
RULES = {
    # entries when flat
    "flat, entry signal: buy the order quote (100 / 100.1 -> 0.999)": (
        {},
        {"entry": True},
        [buy("entry", 0.999)],
        False,
    ),
    "flat, no signal: nothing": ({}, {}, [], False),
    "little cash caps the budget (50 / 100.1 -> 0.499)": (
        {},
        {"entry": True, "cash": 50.0},
        [buy("entry", 0.499, budget=50.0)],
        False,
    ),
    "a buy under the min notional is skipped": (
        {},
        {"entry": True, "order_quote": 0.5},
        [],
        False,
    ),
    # exits
    "exit signal sells every lot, no buy on the same candle": (
        {"lots": [lot(100), lot(95, 0.5)]},
        {"exit_signal": True, "entry": True},
        [sell("signal", 1.5, (0, 1))],
        False,
    ),
    "exit now comes before the exit signal": (
        {"lots": [lot(100)], "exit_requested": True},
        {"exit_signal": True},
        [sell("exit_now", 1.0, (0,))],
        False,
    ),
    "take-profit at entry * (1 + 5 %)": (
        {"lots": [lot(100)]},
        {"close": 105.5, "risk": Risk(take_profit_pct=5)},
        [sell("take_profit", 1.0, (0,))],
        False,
    ),
    "below the take-profit: hold": (
        {"lots": [lot(100)]},
        {"close": 104.9, "risk": Risk(take_profit_pct=5)},
        [],
        False,
    ),
    "a lot's own target is its take-profit, reached exactly": (
        {"lots": [lot(100, target=102.0)]},
        {"close": 102.0},
        [sell("take_profit", 1.0, (0,))],
        False,
    ),
    "stop-loss at entry * (1 - 2 %)": (
        {"lots": [lot(100)]},
        {"close": 97.9, "risk": Risk(stop_loss_pct=2)},
        [sell("stop_loss", 1.0, (0,))],
        False,
    ),
    "above the stop-loss: hold": (
        {"lots": [lot(100)]},
        {"close": 98.1, "risk": Risk(stop_loss_pct=2)},
        [],
        False,
    ),
    "each lot on its own: the stop of the first": (
        {"lots": [lot(100), lot(90)]},
        {"close": 94.0, "risk": Risk(stop_loss_pct=5, take_profit_pct=5, max_open_positions=2)},
        [sell("stop_loss", 1.0, (0,))],
        False,
    ),
    "each lot on its own: the target of the second": (
        {"lots": [lot(100), lot(90)]},
        {"close": 96.0, "risk": Risk(stop_loss_pct=5, take_profit_pct=5, max_open_positions=2)},
        [sell("take_profit", 1.0, (1,))],
        False,
    ),
    "trailing stop 5 % under the highest close (110 -> 104.5)": (
        {"lots": [lot(100, peak=110)]},
        {"close": 104.0, "risk": Risk(trailing_stop_pct=5)},
        [sell("trailing_stop", 1.0, (0,))],
        False,
    ),
    "above the trailing stop: hold": (
        {"lots": [lot(100, peak=110)]},
        {"close": 105.0, "risk": Risk(trailing_stop_pct=5)},
        [],
        False,
    ),
    # cooldown
    "in the cooldown: no entry": ({"cooldown_until": T + 1}, {"entry": True}, [], False),
    "the cooldown ends at its candle": (
        {"cooldown_until": T},
        {"entry": True},
        [buy("entry", 0.999)],
        False,
    ),
    # max drawdown and the paused state
    "12 % below the equity peak with a 10 % limit: paused, no entry": (
        {"peak_equity": 1000.0},
        {"entry": True, "cash": 880.0, "risk": Risk(max_drawdown_pct=10)},
        [],
        True,
    ),
    "5 % below the equity peak with a 10 % limit: trading on": (
        {"peak_equity": 1000.0},
        {"entry": True, "cash": 950.0, "risk": Risk(max_drawdown_pct=10)},
        [buy("entry", 0.999)],
        False,
    ),
    "other bots spent the shared account's cash: the bot's own equity did not move": (
        {"capital": 1000.0, "peak_equity": 1000.0},
        {"entry": True, "cash": 100.0, "risk": Risk(max_drawdown_pct=10)},
        [buy("entry", 0.999, budget=100.0)],
        False,
    ),
    "the bot's own losses, 12 % of its capital with a 10 % limit: paused": (
        {"capital": 1000.0, "realised": -120.0, "peak_equity": 1000.0},
        {"entry": True, "cash": 5000.0, "risk": Risk(max_drawdown_pct=10)},
        [],
        True,
    ),
    "an open lot's loss counts (100 -> 88 on 10 units, fee 0.1): paused": (
        {"capital": 1000.0, "peak_equity": 1000.0, "lots": [lot(100, 10.0)]},
        {"close": 88.0, "cash": 0.0, "risk": Risk(max_drawdown_pct=12)},
        [],
        True,
    ),
    "paused: no entry": ({"paused": True}, {"entry": True}, [], True),
    "paused: exits still happen": (
        {"paused": True, "lots": [lot(100)]},
        {"close": 97.0, "risk": Risk(stop_loss_pct=2)},
        [sell("stop_loss", 1.0, (0,))],
        True,
    ),
    # max open positions
    "max open positions reached: no entry": (
        {"lots": [lot(100), lot(99)]},
        {"entry": True, "risk": Risk(max_open_positions=2)},
        [],
        False,
    ),
    "under max open positions: another entry": (
        {"lots": [lot(100)]},
        {"entry": True, "risk": Risk(max_open_positions=2)},
        [buy("entry", 0.999)],
        False,
    ),
    "one position by default": ({"lots": [lot(100)]}, {"entry": True}, [], False),
    # DCA
    "dca flat, entry signal: the base order": (
        {},
        {"entry": True, "mode": "dca", "params": DCA},
        [buy("entry", 0.999)],
        False,
    ),
    "dca 1 % under the last buy: a safety order (100 / (98.9 * 1.001) -> 1.010)": (
        {"lots": [lot(100)]},
        {"close": 98.9, "mode": "dca", "params": DCA},
        [buy("safety", 1.01)],
        False,
    ),
    "dca less than the step under the last buy: nothing": (
        {"lots": [lot(100)]},
        {"close": 99.5, "mode": "dca", "params": DCA},
        [],
        False,
    ),
    "dca take-profit on the average entry (99 * 1.01)": (
        {"lots": [lot(100), lot(98)]},
        {"close": 100.0, "mode": "dca", "params": DCA},
        [sell("take_profit", 2.0, (0, 1))],
        False,
    ),
    "dca with 1 + safety_orders lots: no more buys": (
        {"lots": [lot(100), lot(98.9), lot(97.8)]},
        {"close": 96.0, "mode": "dca", "params": DCA},
        [],
        False,
    ),
    # grid 90 / 95 / 100 / 105 / 110: a lot per level the price falls through
    "grid: the price fell through 100: a lot at that level (100 / (99 * 1.001) -> 1.009)": (
        {"last_close": 101.0},
        {"close": 99.0, "mode": "grid", "params": GRID},
        [buy("grid", 1.009, level=2)],
        False,
    ),
    "grid: a gap through three levels buys the highest one": (
        {"last_close": 106.0},
        {"close": 94.0, "mode": "grid", "params": GRID},
        [buy("grid", 1.062, level=3)],
        False,
    ),
    "grid: no level crossed, no buy": (
        {"last_close": 99.5},
        {"close": 99.0, "mode": "grid", "params": GRID},
        [],
        False,
    ),
    "grid: far below the range, nothing is crossed, no buy": (
        {"last_close": 50.0},
        {"close": 49.0, "mode": "grid", "params": GRID},
        [],
        False,
    ),
    "grid: the first decision has no previous close: no buy": (
        {},
        {"close": 99.0, "mode": "grid", "params": GRID},
        [],
        False,
    ),
    "grid: a level that holds a lot is not bought again": (
        {"last_close": 101.0, "lots": [lot(100, level=2)]},
        {"close": 99.0, "mode": "grid", "params": GRID},
        [],
        False,
    ),
}


def _state(fields: dict) -> BotState:
    fields = dict(fields)
    lots = [
        Lot(
            amount=spec["amount"],
            entry_price=spec["entry"],
            entry_ts=T - 60_000,
            entry_fee=0.1,
            peak=spec["entry"] if spec["peak"] is None else spec["peak"],
            target=spec["target"],
            level=spec["level"],
        )
        for spec in fields.pop("lots", [])
    ]
    return BotState(lots=lots, **fields)


@pytest.mark.parametrize(("state", "args", "intents", "paused"), RULES.values(), ids=RULES)
def test_decide(state, args, intents, paused):
    call = {
        "ts": T,
        "close": 100.0,
        "entry": False,
        "exit_signal": False,
        "mode": "signal",
        "params": {},
        "risk": Risk(),
        "market": MARKET,
        "cash": 1000.0,
        "order_quote": 100.0,
        "fee_rate": 0.001,
    } | args
    bot = _state(state)
    assert decide(bot, **call) == intents
    assert bot.paused is paused


def test_decide_raises_each_lots_peak_and_the_equity_peak_to_the_close():
    bot = _state({"lots": [lot(100, peak=110), lot(100, peak=130)], "peak_equity": 1000.0})
    decide(
        bot, ts=T, close=120.0, entry=False, exit_signal=False, mode="signal", params={},
        risk=Risk(), market=MARKET, cash=1000.0, order_quote=100.0, fee_rate=0.001,
    )  # fmt: skip
    assert [lot.peak for lot in bot.lots] == [120.0, 130.0]
    assert bot.peak_equity == 1000.0 + 2 * 120.0
