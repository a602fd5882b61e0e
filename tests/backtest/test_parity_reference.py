"""Parity with an independent backtester: backtesting.py 0.6.6 (requirements-dev.txt) on the
daily Google prices it ships (`backtesting.test.GOOG`, 2004-2013), an SMA 10/20 crossover.

The same conventions on both sides: the signal on the close, the fill at the next open
(backtesting.py's default trade_on_close=False), a commission of `FEE` of the value on each side,
all the cash in whole units, long only (the reference buys on a cross up when flat and closes
on a cross down: Steadybot holds one long position). backtesting.py sizes an all-cash order
(`buy()`, size 1 - 2**-52 of the equity) at the fill as int(cash * (1 - 2**-52) // (open +
open * commission)): Steadybot's `fill_amount` with an amount step of 1 (cash / (open * (1 + fee))
rounded down). So every trade is the same: dates, prices, sizes and PnL.

Where the conventions differ (README, "Backtests"): the crossover test (backtesting.py: fast <
slow before and fast > slow now; Steadybot: <= before, an exact tie of the averages then counts
as below, which GOOG never has), and the position still open at the end, which backtesting.py
(finalize_trades=True) closes at the last bar's OPEN and Steadybot at the last CLOSE (reason
"end"); its entry is the same.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from core.backtest import run_backtest
from core.exchanges import Market

backtesting = pytest.importorskip("backtesting", minversion="0.6.6")
from backtesting import Backtest, Strategy  # noqa: E402
from backtesting.lib import crossover  # noqa: E402
from backtesting.test import GOOG, SMA  # noqa: E402

FEE, CASH, FAST, SLOW = 0.002, 10_000.0, 10, 20
WHOLE_UNITS = Market("GOOG/USD", "GOOG", "USD", amount_step=1.0, price_step=1e-8)


class LongSmaCross(Strategy):
    """backtesting.py's own SmaCross example, long only."""

    n1, n2 = FAST, SLOW

    def init(self):
        self.sma1 = self.I(SMA, self.data.Close, self.n1)
        self.sma2 = self.I(SMA, self.data.Close, self.n2)

    def next(self):
        if crossover(self.sma1, self.sma2):
            if not self.position:
                self.buy()  # all the equity, whole units
        elif crossover(self.sma2, self.sma1):
            self.position.close()


@pytest.fixture(scope="module")
def both():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its progress bar and end-of-data notices
        stats = Backtest(GOOG, LongSmaCross, cash=CASH, commission=FEE, finalize_trades=True).run()
    ts = GOOG.index.to_numpy().astype("datetime64[ms]").astype(np.int64)
    candles = pd.DataFrame({"ts": ts, **{c.lower(): GOOG[c].to_numpy(float) for c in GOOG.columns}})
    ours = run_backtest(
        candles,
        "sma_cross",
        {"fast": FAST, "slow": SLOW},
        market=WHOLE_UNITS,
        fee_rate=FEE,
        cash=CASH,
    )
    return stats, stats._trades, ours, candles


def when(ms: int) -> pd.Timestamp:
    return pd.Timestamp(ms, unit="ms")


def test_every_closed_trade_is_the_reference_trade(both):
    _stats, ref, ours, _candles = both
    assert len(ours.trades) == len(ref) == 47
    assert ours.skipped == []
    for mine, theirs in zip(ours.trades[:-1], ref.itertuples(), strict=False):
        assert when(mine["entry_time"]) == theirs.EntryTime
        assert when(mine["exit_time"]) == theirs.ExitTime
        assert mine["entry_price"] == theirs.EntryPrice
        assert mine["exit_price"] == theirs.ExitPrice
        assert mine["amount"] == theirs.Size  # all the cash, whole units, after the fee
        assert mine["fees"] == pytest.approx(theirs.Commission, rel=1e-12)
        assert mine["pnl"] == pytest.approx(theirs.PnL, rel=1e-12)
        assert mine["exit_reason"] == "signal"


def test_gap_up_entries_are_filled_with_what_the_cash_buys_at_the_open(both):
    """Entries whose fill opened above the signal's close: sized at the fill, none dropped."""
    _stats, ref, ours, candles = both
    close = candles["close"].to_numpy()
    gaps = [
        t
        for t, bar in zip(ours.trades, ref.EntryBar, strict=True)
        if t["entry_price"] > close[bar - 1]
    ]
    assert len(gaps) >= 10
    for t in gaps:
        assert t["amount"] * t["entry_price"] * (1 + FEE) <= CASH + sum(
            x["pnl"] for x in ours.trades if x["exit_time"] <= t["entry_time"]
        )


def test_the_position_open_at_the_end_differs_only_in_its_exit_price(both):
    """backtesting.py closes it at the last bar's open, Steadybot at the last close."""
    stats, ref, ours, candles = both
    mine, theirs = ours.trades[-1], ref.iloc[-1]
    last = candles.iloc[-1]
    assert when(mine["entry_time"]) == theirs.EntryTime
    assert mine["amount"] == theirs.Size and mine["entry_price"] == theirs.EntryPrice
    assert when(mine["exit_time"]) == theirs.ExitTime == GOOG.index[-1]
    assert (theirs.ExitPrice, mine["exit_price"], mine["exit_reason"]) == (
        last.open,
        last.close,
        "end",
    )
    # The final equity differs by that last exit alone.
    moved = mine["amount"] * (last.close - last.open) * (1 - FEE)
    assert ours.metrics["final_equity"] == pytest.approx(stats["Equity Final [$]"] + moved)
