"""Backtests: hand-computed fills, fees, slippage, rounding and exits; fast walk == full walk;
bad CSVs."""

from __future__ import annotations

import io
import random

import numpy as np
import pandas as pd
import pytest

from core.backtest import vectorised as backtest_fast
from core.backtest.walk import run_backtest
from core.candles.csv_import import load_candles_csv
from core.errors import InvalidInput
from core.exchanges.base import Market
from core.exchanges.sim import sim_candles
from core.strategy.risk import Lot, Risk, _lot_exit

MKT = Market(
    symbol="X/USDT",
    base="X",
    quote="USDT",
    amount_step=0.001,
    price_step=0.01,
    min_amount=0.001,
    min_notional=1.0,
)


def frame(opens, closes=None) -> pd.DataFrame:
    opens = np.asarray(opens, dtype=float)
    closes = opens if closes is None else np.asarray(closes, dtype=float)
    ts = 1_700_000_000_000 + np.arange(len(opens), dtype=np.int64) * 60_000
    return pd.DataFrame(
        {
            "ts": ts,
            "open": opens,
            "high": np.maximum(opens, closes) + 0.5,
            "low": np.minimum(opens, closes) - 0.5,
            "close": closes,
            "volume": 1.0,
        }
    )


def dca(df, **kw):
    """DCA with dip 0 buys when flat; take-profit 2 % on the average entry."""
    params = {
        "dip_pct": 0,
        "safety_orders": kw.pop("safety", 0),
        "safety_step_pct": 5.0,
        "take_profit_pct": kw.pop("tp", 2.0),
    }
    return run_backtest(df, "dca", params, market=MKT, cash=1000.0, order_quote=100.0, **kw)


def test_signal_on_close_fills_next_open_with_fee_and_rounding():
    # Candle 0 closes at 100 -> a 100 USDT budget, sized at candle 1's open 101:
    # 100 / (101 * 1.001) = 0.98912 -> 0.989 (step 0.001), cost 99.889, fee 0.099889.
    # Candle 2 closes at 103 >= 101*1.02 = 103.02? no; candle 3 closes 104 -> sell at open of 4.
    r = dca(frame([100, 101, 103, 104, 105], [100, 102, 103, 104, 105]), fee_rate=0.001)
    t = r.trades[0]
    assert (t["entry_price"], t["amount"], t["exit_price"]) == (101.0, 0.989, 105.0)
    assert t["exit_reason"] == "take_profit"
    assert t["amount"] * 101 * 1.001 <= 100.0
    assert t["fees"] == pytest.approx(0.989 * (101 + 105) * 0.001)
    assert t["pnl"] == pytest.approx(0.989 * 4.0 - 0.989 * 206 * 0.001)
    assert r.metrics["final_equity"] == pytest.approx(1000 + t["pnl"])


def test_slippage_moves_buys_up_and_sells_down():
    r = dca(frame([100, 100, 110, 110], [100, 100, 110, 110]), fee_rate=0, slippage_bps=100)
    t = r.trades[0]
    assert t["entry_price"] == 101.0  # 100 * 1.01
    assert t["exit_price"] == 108.9  # 110 * 0.99


def test_amount_is_rounded_down_to_the_step():
    r = dca(frame([30, 30, 40, 40], [30, 30, 40, 40]), fee_rate=0)
    assert r.trades[0]["amount"] == 3.333  # 100/30 = 3.3333 -> 3.333


def test_stop_loss_and_end_of_data():
    df = frame([100, 100, 95, 94, 94, 94], [100, 100, 95, 94, 94, 94])
    r = run_backtest(
        df,
        "dca",
        {"take_profit_pct": 50},
        market=MKT,
        cash=1000.0,
        order_quote=100.0,
        fee_rate=0,
        risk=Risk(stop_loss_pct=4),
    )
    assert r.trades[0]["exit_reason"] == "stop_loss"  # close 95 <= 100*0.96=96 -> sell next open
    assert r.trades[0]["exit_price"] == 94.0
    assert r.trades[-1]["exit_reason"] == "end"  # re-entered and still open at the end


def test_trailing_stop_follows_the_highest_close():
    closes = [100, 100, 110, 120, 113, 113]
    r = run_backtest(
        frame(closes, closes),
        "dca",
        {"take_profit_pct": 100},
        market=MKT,
        cash=1000.0,
        order_quote=100.0,
        fee_rate=0,
        risk=Risk(trailing_stop_pct=5),
    )
    t = r.trades[0]
    assert t["exit_reason"] == "trailing_stop"  # 113 <= 120 * 0.95 = 114
    assert t["exit_price"] == 113.0


def test_dca_safety_order_and_take_profit_on_the_average():
    closes = [100, 100, 94, 94, 98, 98, 98]
    r = dca(frame(closes, closes), safety=1, tp=2.0, fee_rate=0)
    # Lots at 100 (1.0) and 94 (1.063): average 96.97 -> 98 >= 98.91? no ... exit at end.
    assert len(r.trades) == 2
    assert {t["entry_price"] for t in r.trades} == {100.0, 94.0}


def test_cooldown_after_a_loss_delays_the_next_entry():
    closes = [100, 100, 90, 90, 90, 90, 90, 90]
    risk = Risk(stop_loss_pct=5, cooldown_ms=3 * 60_000)
    r = run_backtest(
        frame(closes, closes),
        "dca",
        {"take_profit_pct": 50},
        market=MKT,
        cash=1000.0,
        order_quote=100.0,
        fee_rate=0,
        risk=risk,
    )
    entries = [t["entry_time"] for t in r.trades]
    assert entries[1] - r.trades[0]["exit_time"] >= 3 * 60_000


def test_max_drawdown_pauses_new_entries():
    closes = [100, 100, 50, 50, 50, 50]
    r = run_backtest(
        frame(closes, closes),
        "dca",
        {"take_profit_pct": 50},
        market=MKT,
        cash=200.0,
        order_quote=190.0,
        fee_rate=0,
        risk=Risk(max_drawdown_pct=20, stop_loss_pct=10),
    )
    # The stop-loss still closes the lot; the drawdown pause then blocks any new entry.
    assert len(r.trades) == 1 and r.trades[0]["exit_reason"] == "stop_loss"


def test_orders_under_the_minimum_are_skipped():
    mkt = Market(
        symbol="X/USDT",
        base="X",
        quote="USDT",
        amount_step=1,
        price_step=0.01,
        min_amount=1,
        min_notional=10,
    )
    r = run_backtest(frame([100] * 5), "dca", {}, market=mkt, cash=1000, order_quote=50)
    assert r.trades == []


RISKS = [
    Risk(),
    Risk(take_profit_pct=0.4, stop_loss_pct=0.3),
    Risk(trailing_stop_pct=0.2),
    Risk(take_profit_pct=0.5, trailing_stop_pct=0.25, cooldown_ms=600_000),
    Risk(stop_loss_pct=0.2, cooldown_ms=300_000),
]
SIZINGS = [
    {"order_quote": 1000},
    {},  # all the cash
    {"order_pct": 40},
    {"order_quote": 6000, "cash": 10_000},  # the cash caps it after a loss
]


@pytest.mark.parametrize("sizing", SIZINGS)
@pytest.mark.parametrize("risk", RISKS)
@pytest.mark.parametrize("strategy", ["sma_cross", "rsi", "bollinger"])
def test_numpy_path_gives_exactly_the_trades_of_the_full_walk(strategy, risk, sizing):
    a = sim_candles("ETH/USDT", "1m", 1_767_225_600_000, 5000)
    df = pd.DataFrame(a)
    fast = run_backtest(df, strategy, {}, risk=risk, **sizing)
    full = run_backtest(df, strategy, {}, risk=risk, fast=False, **sizing)
    assert fast.trades == full.trades
    assert fast.skipped == full.skipped
    assert fast.metrics == full.metrics
    assert len(full.trades) > 5


def bench_candles(n: int, seed: int = 7) -> pd.DataFrame:
    """The series of bench/backtest_speed.py: a random walk of one-minute candles."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pd.DataFrame(
        {
            "ts": 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 60_000,
            "open": open_,
            "high": np.maximum(open_, close),
            "low": np.minimum(open_, close),
            "close": close,
            "volume": 1.0,
        }
    )


@pytest.mark.parametrize(
    "config",
    [
        {"order_quote": 1000.0, "cash": 1e9},  # fixed_quote
        {"cash": 10_000.0},  # all_cash
        {"order_quote": 1000.0, "cash": 1e9, "risk": Risk(stop_loss_pct=2, take_profit_pct=3)},
        {"order_quote": 1000.0, "cash": 1e9, "risk": Risk(trailing_stop_pct=1)},
    ],
    ids=["fixed_quote", "all_cash", "sl_tp", "trailing"],
)
def test_each_benchmark_configuration_gives_the_trades_of_the_full_walk(config):
    """bench/backtest_speed.py's four configurations (on 60k of its candles)."""
    df = bench_candles(60_000)
    params = {"fast": 10, "slow": 30}
    fast = run_backtest(df, "sma_cross", params, fee_rate=0.001, **config)
    full = run_backtest(df, "sma_cross", params, fee_rate=0.001, fast=False, **config)
    assert fast.trades == full.trades
    assert fast.metrics == full.metrics
    assert len(full.trades) > 1000


def test_gap_up_entry_with_all_cash_is_filled_not_skipped():
    """The cross up is decided at a close of 115 and filled at an open of 125: all the cash
    buys what it can at 125 after the fee (sized at the fill). Sized at the close (8.695 for
    1,000) the buy would cost 1,087 and be dropped for want of cash."""
    closes = [100, 100, 100, 100, 90, 115, 125, 125, 80, 80]
    opens = [100, 100, 100, 100, 100, 90, 125, 125, 125, 80]
    df = frame(opens, closes)
    for fast in (None, False):
        r = run_backtest(
            df,
            "sma_cross",
            {"fast": 2, "slow": 3},
            market=MKT,
            cash=1000.0,
            fee_rate=0.001,
            fast=fast,
        )
        assert r.skipped == []
        t = r.trades[0]
        assert (t["entry_time"], t["entry_price"]) == (df.ts[6], 125.0)  # the gap-up open
        assert t["amount"] == 7.992  # 1000 / (125 * 1.001) = 7.9920 -> 7.992
        assert t["amount"] * 125 + t["amount"] * 125 * 0.001 <= 1000.0
        assert (t["exit_time"], t["exit_price"], t["exit_reason"]) == (df.ts[9], 80.0, "signal")


MARKETS = [
    None,
    MKT,
    Market(symbol="X/USDT", base="X", quote="USDT", amount_step=1, price_step=0.25, min_amount=1),
    Market(
        symbol="X/USDT", base="X", quote="USDT", amount_step=0.25, price_step=0.5, min_notional=60
    ),
]


@pytest.mark.parametrize("seed", range(80))
def test_vectorised_path_gives_exactly_the_results_of_the_full_walk(seed, monkeypatch):
    """Random sim feeds, strategies, markets (min notional), fees, slippage, tiny cash, limits
    (stops, trailing, cooldown) and sizings (fixed quote, all the cash, % of the cash)."""
    used = []
    vector_walk = backtest_fast.walk
    monkeypatch.setattr(backtest_fast, "walk", lambda *a: used.append(vector_walk(*a)) or used[-1])
    rnd = random.Random(seed)
    symbol = rnd.choice(["BTC/USDT", "ETH/USDT", "SOL/USDT"])
    start = 1_767_225_600_000 + rnd.randrange(1000) * 60_000
    df = pd.DataFrame(sim_candles(symbol, "1m", start, rnd.choice([40, 400, 3000])))
    strategy, params = rnd.choice(
        [
            ("sma_cross", {}),
            ("sma_cross", {"fast": 3, "slow": 7}),
            ("rsi", {}),
            ("bollinger", {}),
            ("macd", {}),
            ("rsi", {"period": 2, "oversold": 45, "overbought": 55}),  # entry and exit at once
        ]
    )
    kwargs = {
        "market": rnd.choice(MARKETS),
        "fee_rate": rnd.choice([0.0, 0.001, 0.0075]),
        "slippage_bps": rnd.choice([0.0, 5.0, 13.7]),
        "cash": rnd.choice([10_000, 1e9, 150.0, 1000]),
        "risk": rnd.choice(RISKS),
        **rnd.choice(
            [
                {"order_quote": rnd.choice([1000, 33.3, 99.0, 5000.0, 0.5])},
                {},
                {"order_pct": rnd.choice([100, 25.0, 0.01])},
            ]
        ),
    }
    if rnd.random() < 0.5:  # tiny blocks and work: the later rounds and `_scan` run
        monkeypatch.setattr(backtest_fast, "_FIRST_ROUND", rnd.choice([1, 2, 8]))
        monkeypatch.setattr(backtest_fast, "_WORK", rnd.choice([0, 0.01, 0.1]))
    vector = run_backtest(df, strategy, params, **kwargs)
    full = run_backtest(df, strategy, params, fast=False, **kwargs)
    assert used == [True]
    assert vector.trades == full.trades
    assert vector.equity.equals(full.equity)
    assert vector.metrics == full.metrics
    assert vector.skipped == full.skipped


def test_fixed_quote_sizing_falls_back_to_one_by_one_when_the_cash_caps(monkeypatch):
    """Plenty of cash: every amount at once; cash that runs short: each buy sized in turn."""
    used = []
    fixed = backtest_fast._fixed
    monkeypatch.setattr(backtest_fast, "_fixed", lambda *a: used.append(fixed(*a)) or used[-1])
    df = pd.DataFrame(sim_candles("ETH/USDT", "1m", 1_767_225_600_000, 3000))
    rich = run_backtest(df, "sma_cross", {}, cash=1e9, order_quote=1000)
    poor = run_backtest(df, "sma_cross", {}, cash=1100, order_quote=1000)
    assert used == [True, False]
    assert len(rich.trades) > 5
    assert (
        poor.trades
        == run_backtest(df, "sma_cross", {}, cash=1100, order_quote=1000, fast=False).trades
    )


@pytest.mark.parametrize("seed", range(12))
def test_exit_search_finds_the_first_exit_of_every_candidate(seed, monkeypatch):
    """Blocks, later rounds and the search left for the chain (`_scan`) against a loop."""
    rng = np.random.default_rng(seed)
    n = 3000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    exit_idx = np.flatnonzero(rng.random(n) < [0.0, 0.002, 0.05][seed % 3])
    signal = set(exit_idx.tolist())
    first = np.sort(rng.choice(np.arange(1, n), 200, replace=False))
    p_in = close[first - 1] * rng.uniform(0.99, 1.01, len(first))
    risk = [
        Risk(stop_loss_pct=1, take_profit_pct=2),
        Risk(trailing_stop_pct=1.5),
        Risk(stop_loss_pct=3, take_profit_pct=1, trailing_stop_pct=0.8),
        Risk(take_profit_pct=50),  # mostly no hit before the exit signal or the end
    ][seed % 4]
    monkeypatch.setattr(backtest_fast, "_FIRST_ROUND", [1, 4, 256][seed % 3])
    monkeypatch.setattr(backtest_fast, "_WORK", [0.05, 4][seed % 2])
    monkeypatch.setattr(backtest_fast, "_BLOCK_CELLS", [8, 1 << 20][seed % 2])
    exits = backtest_fast._Exits(close, exit_idx, first, p_in, backtest_fast._Limits.of(risk))
    for c, s in enumerate(first.tolist()):
        price = float(p_in[c])
        lot = Lot(amount=1.0, entry_price=price, entry_ts=0, entry_fee=0.0, peak=price)
        want = (n, "signal")
        for j in range(s, n):
            lot.peak = max(lot.peak, float(close[j]))  # as `decide` does first
            if j in signal:
                want = (j, "signal")
                break
            reason = _lot_exit(lot, float(close[j]), risk)
            if reason:
                want = (j, str(reason))
                break
        j, code = exits.get(c)
        assert (j, backtest_fast.REASONS[code]) == want


@pytest.mark.parametrize("step", [1e-8, 0.001, 0.01, 0.25, 0.5, 1, 5, 0.05])
def test_vectorised_rounding_is_the_markets_rounding(step):
    rng = np.random.default_rng(int(step * 1e8) % 2**32)
    values = np.concatenate(
        [rng.uniform(0, 1000, 3000), np.arange(3000) * (step / 4), rng.uniform(0, 1, 1000)]
    )
    mkt = Market("X/USDT", "X", "USDT", amount_step=step, price_step=step)
    floor = backtest_fast.to_steps(values, step, "floor")
    nearest = backtest_fast.to_steps(values, step, "round")
    assert floor.tolist() == [mkt.round_amount(v) for v in values.tolist()]
    assert nearest.tolist() == [mkt.round_price(v) for v in values.tolist()]


def test_metrics_are_consistent_with_the_trades():
    df = pd.DataFrame(sim_candles("BTC/USDT", "1h", 1_767_225_600_000, 2000))
    r = run_backtest(df, "sma_cross", {"fast": 5, "slow": 20}, cash=10_000, order_quote=5000)
    m = r.metrics
    assert m["num_trades"] == len(r.trades)
    assert m["final_equity"] == pytest.approx(10_000 + sum(t["pnl"] for t in r.trades))
    assert 0 <= m["max_drawdown_pct"] <= 100 and 0 <= m["exposure_pct"] <= 100


CSV_OK = "date,open,high,low,close,volume\n2026-01-01,1,2,0.5,1.5,10\n2026-01-02,1.5,2,1,1.8,12\n"


def test_csv_with_pandas_index_column_and_any_case():
    text = ",Open,HIGH,low,Close,Volume\n2026-01-01,1,2,0.5,1.5,10\n2026-01-02,1.5,2,1,1.8,1\n"
    df = load_candles_csv(io.StringIO(text))
    assert list(df.columns) == ["ts", "open", "high", "low", "close", "volume"]
    assert df.ts.iloc[1] - df.ts.iloc[0] == 86_400_000
    assert len(load_candles_csv(io.StringIO(CSV_OK))) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,open,high,low\n2026-01-01,1,2,0.5\n", "missing column"),
        ("date,open,high,low,close\n2026-01-02,1,2,0.5,1\n2026-01-01,1,2,0.5,1\n", "not sorted"),
        ("date,open,high,low,close\n2026-01-01,1,2,0.5,1\n2026-01-01,1,2,0.5,1\n", "duplicate"),
        ("date,open,high,low,close\n2026-01-01,1,2,0.5,\n", "NaN"),
        ("date,open,high,low,close\n2026-01-01,0,2,-1,1\n", "zero or negative"),
        ("date,open,high,low,close\n2026-01-01,1,2,0.5,1\n2026-01-02,1,2,-3,-2\n", "negative"),
        ("date,open,high,low,close\n2026-01-01,1,2,0.5,1\n2026-01-02,1,2,x,1\n", "NaN"),
        (
            "date,open,high,low,close\n2026-01-01,1,2,.5,1\n2026-01-02,1,2,.5,1\n2026-01-01,1,2,.5,1\n",
            "dupl",
        ),
        ("date,open,high,low,close\n2026-01-01,1,2,1.5,1\n", "low/high"),
        ("date,open,high,low,close\n", "empty range"),
        ("date,open,high,low,close\nyesterday,1,2,0.5,1\n", "unreadable date"),
    ],
)
def test_bad_csv_names_the_problem(text, message):
    with pytest.raises(InvalidInput, match=message):
        load_candles_csv(io.StringIO(text))


def test_dca_on_a_schedule_buys_every_n_minutes_up_to_the_lot_limit():
    df = frame([100.0] * 15)
    params = {
        "dip_pct": 0,
        "safety_orders": 3,
        "safety_step_pct": 5.0,
        "take_profit_pct": 50.0,
        "every_minutes": 3,
    }
    r = run_backtest(df, "dca", params, market=MKT, cash=1000.0, order_quote=100.0, fee_rate=0)
    ts = df["ts"].tolist()
    # Decisions on candles 0, 3, 6, 9 fill at the next opens; then 4 lots = 1 + 3 safety.
    assert [t["entry_time"] for t in r.trades] == [ts[1], ts[4], ts[7], ts[10]]
    assert all(t["exit_reason"] == "end" and t["amount"] == 1.0 for t in r.trades)


def test_dca_schedule_starts_again_after_take_profit():
    closes = [100, 100, 100, 103, 103, 103, 103, 103]
    df = frame(closes, closes)
    params = {
        "dip_pct": 50,  # the dip never comes: only the schedule buys
        "lookback": 2,
        "safety_orders": 0,
        "safety_step_pct": 5.0,
        "take_profit_pct": 2.0,
        "every_minutes": 4,
    }
    r = run_backtest(df, "dca", params, market=MKT, cash=1000.0, order_quote=100.0, fee_rate=0)
    ts = df["ts"].tolist()
    first, second = r.trades
    assert (first["entry_time"], first["exit_time"], first["exit_reason"]) == (
        ts[1],
        ts[4],
        "take_profit",
    )
    assert (second["entry_time"], second["exit_reason"]) == (ts[5], "end")
