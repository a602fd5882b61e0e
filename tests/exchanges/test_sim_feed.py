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


def test_an_hour_is_the_aggregate_of_its_minutes():
    hour = sim_candles("ETH/USDT", "1h", T0, 3)
    minutes = sim_candles("ETH/USDT", "1m", T0, 180)
    for i in range(3):
        m = slice(i * 60, (i + 1) * 60)
        assert hour["open"][i] == pytest.approx(minutes["open"][m][0])
        assert hour["close"][i] == pytest.approx(minutes["close"][m][-1])
        assert hour["high"][i] == pytest.approx(minutes["high"][m].max())
        assert hour["low"][i] == pytest.approx(minutes["low"][m].min())
        assert hour["volume"][i] == pytest.approx(minutes["volume"][m].sum())


def test_overlapping_windows_agree_whatever_is_asked_first():
    late = sim_candles("BTC/USDT", "1m", T0 + 500 * 60_000, 100)
    wide = sim_candles("BTC/USDT", "1m", T0, 1000)
    assert np.array_equal(wide["close"][500:600], late["close"])


def test_seeds_differ_and_prices_look_like_crypto():
    a = sim_candles("BTC/USDT", "1d", T0, 365, seed=1)
    b = sim_candles("BTC/USDT", "1d", T0, 365, seed=2)
    assert not np.allclose(a["close"], b["close"])
    daily = np.diff(np.log(a["close"]))
    assert 0.005 < daily.std() < 0.08  # a few percent a day
    monthly = [daily[i : i + 30].std() for i in range(0, 330, 30)]
    assert max(monthly) > 1.3 * min(monthly)  # calm and wild periods


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


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"symbol": "NOPE/USDT", "timeframe": "1m"}, "NOPE/USDT"),
        ({"symbol": "BTC/USDT", "timeframe": "7m"}, "timeframe"),
        ({"symbol": "BTC/USDT", "timeframe": "1m", "since": NOW + 60_000}, "future"),
    ],
)
def test_bad_input_is_refused_clearly(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        _sim().fetch_candles(**kwargs)


def test_orders_are_refused_with_a_pointer_to_paper_accounts():
    with pytest.raises(ExchangeNotSupported, match="paper account"):
        _sim().create_order(
            symbol="BTC/USDT", side="buy", type="market", amount=1, client_order_id="x"
        )
