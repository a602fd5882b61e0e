"""The sim feed: deterministic across processes, gap-free, consistent OHLC and timeframes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from core.errors import ExchangeNotSupported, InvalidInput
from core.exchanges.sim import SimExchange, sim_candles

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
NOW = T0 + 30 * 86_400_000


def _sim(seed: int = 42) -> SimExchange:
    return SimExchange(seed=seed, now_ms=lambda: NOW)


def test_identical_candles_from_two_processes():
    code = (
        "import json; from core.exchanges.sim import sim_candles;"
        f"a = sim_candles('SOL/USDT', '5m', {T0}, 300);"
        "print(json.dumps([a['close'].tolist(), a['high'].tolist()]))"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    here = sim_candles("SOL/USDT", "5m", T0, 300)
    assert runs[0].stdout == runs[1].stdout
    assert json.loads(runs[0].stdout)[0] == here["close"].tolist()


@pytest.mark.parametrize("timeframe", ["1m", "15m", "1h", "4h", "1d"])
def test_no_gaps_and_consistent_ohlc(timeframe):
    a = sim_candles("BTC/USDT", timeframe, T0, 200)
    step = np.diff(a["ts"])
    assert (step == step[0]).all() and a["ts"][0] % step[0] == 0
    assert (a["low"] <= np.minimum(a["open"], a["close"])).all()
    assert (a["high"] >= np.maximum(a["open"], a["close"])).all()
    assert np.allclose(a["open"][1:], a["close"][:-1])  # continuous
    assert (a["volume"] > 0).all()


@pytest.mark.parametrize(
    ("big", "small", "n"), [("1h", "1m", 60), ("1d", "1h", 24), ("4h", "15m", 16)]
)
def test_a_candle_is_the_aggregate_of_its_smaller_candles(big, small, n):
    agg = sim_candles("ETH/USDT", big, T0, 3)
    parts = sim_candles("ETH/USDT", small, T0, 3 * n)
    for i in range(3):
        m = slice(i * n, (i + 1) * n)
        assert agg["open"][i] == parts["open"][m][0]
        assert agg["close"][i] == parts["close"][m][-1]
        assert agg["high"][i] == parts["high"][m].max()
        assert agg["low"][i] == parts["low"][m].min()
        assert agg["volume"][i] == pytest.approx(parts["volume"][m].sum())


def test_overlapping_windows_agree_whatever_is_asked_first():
    late = sim_candles("BTC/USDT", "1m", T0 + 500 * 60_000, 100)
    wide = sim_candles("BTC/USDT", "1m", T0, 1000)
    assert np.array_equal(wide["close"][500:600], late["close"])


def test_short_and_long_ranges_give_bit_identical_candles():
    long = sim_candles("SOL/USDT", "1m", T0, 20_000)  # long enough for the gather route
    for offset in (0, 7_777, 19_900):
        short = sim_candles("SOL/USDT", "1m", T0 + offset * 60_000, 100)
        for field in ("open", "high", "low", "close", "volume"):
            assert np.array_equal(short[field], long[field][offset : offset + 100])


def test_different_seeds_give_different_markets():
    a = sim_candles("BTC/USDT", "1h", T0, 500, seed=1)
    b = sim_candles("BTC/USDT", "1h", T0, 500, seed=2)
    assert not np.allclose(a["close"], b["close"])


def test_different_symbols_move_independently():
    a = sim_candles("BTC/USDT", "1h", T0, 2000)
    b = sim_candles("ETH/USDT", "1h", T0, 2000)
    ra, rb = np.diff(np.log(a["close"])), np.diff(np.log(b["close"]))
    assert abs(np.corrcoef(ra, rb)[0, 1]) < 0.3


def _daily_returns(seed: int) -> np.ndarray:
    return np.diff(np.log(sim_candles("BTC/USDT", "1d", T0, 730, seed=seed)["close"]))


def test_daily_volatility_is_a_few_percent():
    for seed in (1, 2, 3):
        assert 0.01 < _daily_returns(seed).std() < 0.08


def test_there_are_calm_and_wild_months():
    daily = _daily_returns(7)
    monthly = [daily[i : i + 30].std() for i in range(0, 720, 30)]
    assert max(monthly) > 1.5 * min(monthly)


def test_returns_are_not_strongly_autocorrelated():
    close = sim_candles("BTC/USDT", "1m", T0, 200_000)["close"]
    for lag_minutes in (1, 60):
        r = np.diff(np.log(close[::lag_minutes]))
        assert abs(np.corrcoef(r[1:], r[:-1])[0, 1]) < 0.2


def test_occasional_jumps_happen():
    hourly = np.diff(np.log(sim_candles("BTC/USDT", "1h", T0, 24 * 365)["close"]))
    big = np.abs(hourly) > 0.02
    assert 0 < big.sum() < 0.02 * len(hourly)


def test_prices_stay_near_the_market_level():
    close = sim_candles("DOGE/USDT", "1d", T0 - 2 * 365 * 86_400_000, 4 * 365)["close"]
    assert close.min() > 0.15 / 4 and close.max() < 0.15 * 4


def test_fetch_candles_ends_with_the_forming_candle_at_now():
    sim = _sim()
    candles = sim.fetch_candles("BTC/USDT", "1m", limit=10)
    assert len(candles) == 10
    assert candles[-1].ts == NOW - NOW % 60_000
    assert candles[-1].close == pytest.approx(sim.last_price("BTC/USDT"))
    assert all(b.ts - a.ts == 60_000 for a, b in zip(candles, candles[1:], strict=False))


def test_since_returns_only_candles_up_to_now():
    sim = _sim()
    candles = sim.fetch_candles("BTC/USDT", "1h", since=NOW - 5 * 3_600_000, limit=100)
    assert len(candles) == 6
    assert candles[0].ts == NOW - 5 * 3_600_000


def test_an_unaligned_since_starts_at_the_next_candle():
    candles = _sim().fetch_candles("BTC/USDT", "1h", since=NOW - 5 * 3_600_000 + 1, limit=100)
    assert candles[0].ts == NOW - 4 * 3_600_000


def test_closed_fetched_candles_equal_the_pure_function():
    candles = _sim().fetch_candles("ETH/USDT", "15m", since=NOW - 100 * 900_000, limit=50)
    a = sim_candles("ETH/USDT", "15m", NOW - 100 * 900_000, 50)
    assert [c.close for c in candles] == a["close"].tolist()
    assert [c.ts for c in candles] == a["ts"].tolist()


def test_limit_is_capped_at_5000():
    assert len(_sim().fetch_candles("BTC/USDT", "1m", limit=9000)) == 5000


MID = NOW + 37 * 60_000 + 25_000  # 37 min 25 s into an hour


def test_the_forming_candle_is_the_aggregate_of_the_minutes_so_far():
    sim = SimExchange(now_ms=lambda: MID)
    hour = sim.fetch_candles("BTC/USDT", "1h", limit=1)[0]
    minutes = sim.fetch_candles("BTC/USDT", "1m", since=hour.ts)
    assert len(minutes) == 38
    assert hour.open == minutes[0].open and hour.close == minutes[-1].close
    assert hour.high == max(c.high for c in minutes) and hour.low == min(c.low for c in minutes)
    assert hour.volume == pytest.approx(sum(c.volume for c in minutes))


def test_the_forming_candle_never_shows_the_future():
    now = SimExchange(now_ms=lambda: MID).fetch_candles("BTC/USDT", "1h", limit=1)[0]
    final = sim_candles("BTC/USDT", "1h", MID, 1)
    later = [
        SimExchange(now_ms=lambda t=t: t).fetch_candles("BTC/USDT", "1h", limit=1)[0]
        for t in (MID + 60_000, MID + 20 * 60_000)
    ]
    assert now.high <= later[0].high <= later[1].high <= final["high"][0]
    assert now.low >= later[0].low >= later[1].low >= final["low"][0]
    assert now.volume < later[0].volume < later[1].volume < final["volume"][0]


def test_the_price_moves_within_a_minute_and_meets_its_close():
    minute = NOW - NOW % 60_000
    prices = [
        SimExchange(now_ms=lambda t=t: t).last_price("SOL/USDT")
        for t in (minute, minute + 30_000, minute + 60_000)
    ]
    closed = sim_candles("SOL/USDT", "1m", minute, 1)
    assert prices[0] == pytest.approx(closed["open"][0])
    assert prices[2] == pytest.approx(closed["close"][0])
    assert min(prices[0], prices[2]) <= prices[1] <= max(prices[0], prices[2])


def test_markets_carry_precision_minimums_and_fees():
    markets = _sim().load_markets()
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT", "DOGE/USDT"} <= set(markets)
    for m in markets.values():
        assert m.amount_step > 0 and m.price_step > 0 and m.min_amount > 0
        assert m.min_notional == 5.0 and m.taker_fee == m.maker_fee == 0.001


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"symbol": "NOPE/USDT", "timeframe": "1m"}, "NOPE/USDT"),
        ({"symbol": "BTC/USDT", "timeframe": "7m"}, "timeframe"),
        ({"symbol": "BTC/USDT", "timeframe": "1m", "since": NOW + 60_000}, "future"),
        ({"symbol": "BTC/USDT", "timeframe": "1m", "limit": 0}, "limit"),
    ],
)
def test_bad_input_is_refused_clearly(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        _sim().fetch_candles(**kwargs)


def test_the_pure_function_refuses_unknown_symbols_and_timeframes():
    with pytest.raises(InvalidInput, match="NOPE/USDT"):
        sim_candles("NOPE/USDT", "1m", T0, 10)
    with pytest.raises(InvalidInput, match="timeframe"):
        sim_candles("BTC/USDT", "2m", T0, 10)


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        (
            "create_order",
            {
                "symbol": "BTC/USDT",
                "side": "buy",
                "type": "market",
                "amount": 1,
                "client_order_id": "x",
            },
        ),
        ("fetch_order", {"symbol": "BTC/USDT", "client_order_id": "x"}),
        ("cancel_order", {"symbol": "BTC/USDT", "client_order_id": "x"}),
        ("fetch_open_orders", {}),
        ("fetch_balance", {}),
    ],
)
def test_trading_is_refused_with_a_pointer_to_paper_accounts(method, kwargs):
    with pytest.raises(ExchangeNotSupported, match="paper account"):
        getattr(_sim(), method)(**kwargs)
