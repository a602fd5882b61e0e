"""The Backtest page's service: settings checks, the three candle sources, sweeps, bot prefill."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from core.backtest import display as show
from core.backtest import service as svc
from core.backtest.sweep import (
    MAX_RUNS,
    METRICS,
    SweepAxis,
    run_sweep,
    settings_for_row,
    sweep_grid,
)
from core.bots import BotSpec
from core.errors import ExchangeTemporaryError, InvalidInput
from core.exchanges.sim import SimExchange
from core.platform.config import load_settings
from core.platform.runtime import start
from core.strategy import indicators as ind
from core.strategy import reuse_indicators

NOW = int(datetime(2026, 11, 20, 12, 30, tzinfo=UTC).timestamp() * 1000)
BASE = svc.BacktestSettings(
    strategy="sma_cross",
    params={"fast": 5, "slow": 20},
    symbol="BTC/USDT",
    timeframe="1h",
    start=date(2026, 10, 1),
    end=date(2026, 10, 31),
)


def checked(**changes) -> svc.BacktestSettings:
    return svc.check_settings(replace(BASE, **changes), now_ms=NOW)


class CountingSim(SimExchange):
    """The sim feed on a fixed clock, counting candle requests."""

    def __init__(self) -> None:
        super().__init__(now_ms=lambda: NOW)
        self.requests = 0

    def fetch_candles(self, symbol, timeframe, since=None, limit=None):
        self.requests += 1
        return super().fetch_candles(symbol, timeframe, since=since, limit=limit)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": "yesterday"}, "is not a date"),
        ({"start": None}, "Pick both a start and an end date"),
        ({"start": date(2026, 11, 2), "end": date(2026, 11, 1)}, "start date is after the end"),
        ({"start": date(2026, 12, 1), "end": date(2026, 12, 31)}, "in the future"),
        ({"timeframe": "1d", "start": date(2026, 11, 20), "end": date(2026, 11, 20)}, "empty"),
        ({"timeframe": "1m", "start": date(2025, 1, 1)}, "at most 200,000"),
        ({"fee_pct": 7.0}, "fee"),
        ({"fee_pct": -0.1}, "fee"),
        ({"slippage_bps": -1}, "slippage"),
        ({"cash": 0}, "starting cash must be a number above 0"),
        ({"cash": float("nan")}, "starting cash"),
        ({"order_size_type": "pct", "order_size": 150}, "% of balance"),
        ({"order_size_type": "quote", "order_size": 0}, "order size"),
        ({"stop_loss_pct": 120}, "Stop-loss"),
        ({"params": {"fast": 30, "slow": 20}}, "fast average must be shorter than the slow"),
        ({"strategy": "nope"}, "Unknown strategy"),
        ({"symbol": "PEPE/USDT"}, "not traded on sim"),
        ({"timeframe": "7m"}, "Unknown timeframe"),
        ({"source": "ftp"}, "Unknown candle source"),
        ({"source": "cache", "exchange": "nowhere"}, "Unknown exchange"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(changes, message):
    with pytest.raises(InvalidInput, match=message):
        checked(**changes)


def test_checked_settings_are_coerced_and_zero_means_off():
    s = checked(params={"fast": "7"}, symbol=" btc/usdt ", take_profit_pct=0, stop_loss_pct=3)
    assert s.params == {"fast": 7, "slow": 30}
    assert s.symbol == "BTC/USDT"
    assert (s.take_profit_pct, s.stop_loss_pct) == (None, 3.0)
    assert s.risk.stop_loss_pct == 3.0


def test_the_end_date_covers_its_whole_day_and_only_closed_candles_count():
    first, last = svc.date_range_ms(checked(), NOW)
    assert first == int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
    assert last == int(datetime(2026, 10, 31, 23, tzinfo=UTC).timestamp() * 1000)
    today = checked(start=date(2026, 11, 20), end=date(2026, 11, 20))
    _first, last = svc.date_range_ms(today, NOW)
    assert last == int(datetime(2026, 11, 20, 11, tzinfo=UTC).timestamp() * 1000)  # 12:00 forms


def test_sim_source_is_deterministic_and_covers_the_range():
    s = checked()
    a = svc.load_candles(None, s, now_ms=NOW)
    b = svc.load_candles(None, s, now_ms=NOW)
    pd.testing.assert_frame_equal(a.candles, b.candles)
    assert len(a.candles) == 31 * 24
    assert a.market.symbol == "BTC/USDT" and a.market.min_notional > 0
    r1, r2 = svc.run(s, a), svc.run(s, b)
    assert r1.result.trades == r2.result.trades and r1.result.trades
    assert r1.result.metrics == r2.result.metrics
    assert set(r1.indicators) == {"sma_fast", "sma_slow"}


def test_cache_source_downloads_what_is_missing_once_then_reads_the_cache():
    rt = start("test", settings=load_settings())
    s = checked(source="cache", exchange="sim")
    feed = CountingSim()
    seen: list[tuple[int, int]] = []
    first = svc.load_candles(
        rt, s, now_ms=NOW, feed=feed, progress=lambda d, t: seen.append((d, t))
    )
    assert first.downloaded == 31 * 24 and feed.requests == 1
    assert seen[0] == (0, 744) and seen[-1] == (744, 744)
    again = svc.load_candles(rt, s, now_ms=NOW, feed=feed)
    assert again.downloaded == 0 and feed.requests == 1  # nothing asked the second time
    pd.testing.assert_frame_equal(first.candles, again.candles)
    # The cache holds exactly what the offline sim source computes.
    sim = svc.load_candles(None, checked(), now_ms=NOW).candles
    pd.testing.assert_frame_equal(again.candles, sim, check_dtype=False)
    wider = svc.load_candles(rt, replace(s, start=date(2026, 9, 30)), now_ms=NOW, feed=feed)
    assert wider.downloaded == 24 and feed.requests == 2  # only the missing day


class Unreachable(CountingSim):
    def market(self, symbol):
        raise ExchangeTemporaryError("sim: connection refused")


def test_an_unreachable_exchange_is_a_friendly_error_and_what_is_cached_stays():
    rt = start("test", settings=load_settings())
    s = checked(source="cache", exchange="sim")
    with pytest.raises(ExchangeTemporaryError, match="could not be reached .*try again later"):
        svc.load_candles(rt, s, now_ms=NOW, feed=Unreachable())


def test_long_ranges_are_merged_for_the_chart_keeping_highs_lows_and_the_last_close():
    s = checked(timeframe="1m", start=date(2026, 11, 1), end=date(2026, 11, 10))
    loaded = svc.load_candles(None, s, now_ms=NOW)
    run = svc.run(s, loaded)
    bars, ind = show.chart_bars(run.candles, run.indicators, max_bars=1000)
    assert len(bars) <= 1000 and len(ind["sma_fast"]) == len(bars)
    assert bars["high"].max() == run.candles["high"].max()
    assert bars["low"].min() == run.candles["low"].min()
    assert bars["close"].iloc[-1] == run.candles["close"].iloc[-1]
    assert ind["sma_slow"].iloc[-1] == run.indicators["sma_slow"].iloc[-1]
    curve = show.thin(run.result.equity, 500)
    assert len(curve) <= 501 and curve.iloc[-1] == run.result.equity.iloc[-1]
    short = loaded.candles.head(50)
    assert show.chart_bars(short, {}, max_bars=1000)[0] is short


CSV = "Date,Open,High,Low,Close,Volume\n" + "".join(
    f"2026-01-{d:02d},{100 + d},{102 + d},{99 + d},{101 + d},5\n" for d in range(1, 29)
)


def test_csv_source_reads_the_upload_and_filters_the_date_range():
    s = svc.check_settings(replace(BASE, source="csv", symbol="", start=None, end=None), now_ms=NOW)
    loaded = svc.load_candles(None, s, csv=CSV.encode(), now_ms=NOW)
    assert len(loaded.candles) == 28 and loaded.market.symbol == "X/USDT"
    part = replace(s, start=date(2026, 1, 10), end=date(2026, 1, 19))
    loaded = svc.load_candles(None, part, csv=CSV.encode(), now_ms=NOW)
    assert len(loaded.candles) == 10
    run = svc.run(replace(s, params={"fast": 2, "slow": 3}), loaded)
    assert run.result.metrics["buy_and_hold_return_pct"] == pytest.approx((120 / 111 - 1) * 100)


@pytest.mark.parametrize(
    ("csv", "changes", "message"),
    [
        (None, {}, "Upload a CSV"),
        (b"date,open,high,low\n2026-01-01,1,2,0.5\n", {}, "missing column"),
        (CSV.encode(), {"start": date(2027, 1, 1), "end": date(2027, 2, 1)}, "empty range"),
        (b"date,open,high,low,close\n2026-01-01,1,2,0.5,nan\n", {}, "NaN"),
    ],
    ids=["no-file", "missing-column", "empty-range", "nan"],
)
def test_bad_csv_uploads_are_refused_by_name(csv, changes, message):
    s = replace(BASE, source="csv", **{"start": None, "end": None, **changes})
    with pytest.raises(InvalidInput, match=message):
        svc.load_candles(None, s, csv=csv, now_ms=NOW)


def test_trades_export_has_times_and_every_trade():
    s = checked()
    run = svc.run(s, svc.load_candles(None, s, now_ms=NOW))
    text = show.trades_csv(run.result.trades).decode()
    lines = text.strip().splitlines()
    assert lines[0].startswith("Entry time (UTC),Exit time (UTC),Entry price,Exit price,Amount")
    assert len(lines) == len(run.result.trades) + 1 and lines[1][19] == "Z"  # ISO-8601 UTC
    marked = show.chart_trades(run.result.trades)
    assert marked[0]["entry_ts"] == run.result.trades[0]["entry_time"]


def test_sweep_runs_every_valid_combination_and_skips_the_rest_with_a_reason():
    s = checked()
    loaded = svc.load_candles(None, s, now_ms=NOW)
    seen: list[tuple[int, int]] = []
    result = run_sweep(
        s,
        loaded,
        [SweepAxis("fast", 5, 25, 10), SweepAxis("slow", 10, 30, 10)],
        progress=lambda d, t: seen.append((d, t)),
    )
    # fast 5,15,25 x slow 10,20,30: fast >= slow for (15,10), (25,10), (25,20).
    assert len(result.table) == 6 and len(result.skipped) == 3
    assert {r["reason"] for r in result.skipped} == {
        "The fast average must be shorter than the slow one."
    }
    assert seen[0] == (0, 9) and seen[-1] == (9, 9)
    returns = result.table["total_return_pct"].tolist()
    assert returns == sorted(returns, reverse=True)
    best = settings_for_row(s, result, 0)
    single = svc.run(best, loaded).result.metrics
    assert single["total_return_pct"] == pytest.approx(returns[0])
    assert single["num_trades"] == result.table["num_trades"].iloc[0]


def test_one_parameter_sweep_of_a_float_parameter():
    s = checked(strategy="rsi", params={})
    loaded = svc.load_candles(None, s, now_ms=NOW)
    result = run_sweep(s, loaded, [SweepAxis("oversold", 20, 35, 2.5)])
    assert result.table["oversold"].sort_values().tolist() == [20, 22.5, 25, 27.5, 30, 32.5, 35]
    assert result.skipped == []


@pytest.mark.parametrize(
    ("strategy", "axes"),
    [
        ("sma_cross", [SweepAxis("fast", 3, 9, 3), SweepAxis("slow", 20, 30, 5)]),
        ("macd", [SweepAxis("signal", 5, 9, 2), SweepAxis("fast", 8, 12, 4)]),
        ("bollinger", [SweepAxis("period", 10, 30, 10), SweepAxis("deviations", 1.5, 2.5, 0.5)]),
        ("rsi", [SweepAxis("oversold", 25, 35, 5), SweepAxis("overbought", 65, 75, 5)]),
    ],
)
def test_a_sweep_shares_indicators_and_gives_the_metrics_of_separate_runs(strategy, axes):
    s = checked(strategy=strategy, params={})
    loaded = svc.load_candles(None, s, now_ms=NOW)
    result = run_sweep(s, loaded, axes)
    assert len(result.table) > 3
    for i in range(len(result.table)):
        alone = svc.run(settings_for_row(s, result, i), loaded).result.metrics
        row = result.table.iloc[i]
        assert {k: row[k] for k in METRICS} == pytest.approx(
            {k: alone[k] for k in METRICS}, rel=0, abs=0, nan_ok=True
        )


def test_indicators_of_the_candles_are_computed_once_inside_reuse():
    loaded = svc.load_candles(None, checked(), now_ms=NOW)
    close = np.asarray(loaded.candles["close"], dtype=float)
    with reuse_indicators(close):
        again = np.asarray(loaded.candles.reset_index(drop=True)["close"], dtype=float)
        first = ind.sma(close, 20)
        assert ind.sma(again, 20) is first  # the same memory: shared
        assert not first.flags.writeable
        assert ind.sma(close, 21) is not first
        assert ind.sma(close * 1.0, 20) is not ind.sma(close * 1.0, 20)  # not the candles
        macd = ind.macd(close, 12, 26, 9)
        assert ind.macd(again, 12, 26, 9) is macd
    assert ind.sma(close, 20) is not first and ind.sma(close, 20).flags.writeable
    np.testing.assert_array_equal(ind.sma(close, 20), first)


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ([SweepAxis("fast", 2, 500, 1)], f"at most {MAX_RUNS}"),
        ([SweepAxis("fast", 2, 100, 1), SweepAxis("slow", 10, 100, 10)], "would run 990"),
        ([SweepAxis("fast", 1, 10, 1)], "between 2 and 500"),
        ([SweepAxis("fast", 10, 5, 1)], "starts after it stops"),
        ([SweepAxis("fast", 5, 10, 0)], "step"),
        ([SweepAxis("nope", 5, 10, 1)], "not a numeric parameter"),
        ([SweepAxis("fast", 5, 10, 1), SweepAxis("fast", 5, 10, 1)], "two different"),
        ([], "one or two"),
    ],
)
def test_bad_sweeps_are_refused_before_anything_runs(axes, message):
    with pytest.raises(InvalidInput, match=message):
        sweep_grid("sma_cross", axes)


def test_a_sweep_too_heavy_for_its_candles_is_refused_before_running(monkeypatch):
    monkeypatch.setattr("core.backtest.sweep.MAX_CANDLE_RUNS", 1_000)
    s = checked()
    loaded = svc.load_candles(None, s, now_ms=NOW)  # 744 candles: 2 runs are too many
    with pytest.raises(InvalidInput, match="2 backtests over 744 candles is too much"):
        run_sweep(s, loaded, [SweepAxis("fast", 5, 6, 1)])


def test_integer_axes_round_to_whole_values():
    grid = sweep_grid("sma_cross", [SweepAxis("fast", 2, 4, 0.5)])
    assert [g["fast"] for g in grid] == [2, 3, 4]


def test_bot_prefill_carries_the_settings_into_a_valid_bot_spec():
    s = checked(
        order_size_type="quote",
        order_size=250.0,
        take_profit_pct=4,
        trailing_stop_pct=2,
        max_open_positions=2,
        cooldown_minutes=15,
    )
    prefill = svc.bot_prefill(s)
    assert prefill["exchange"] == "sim" and prefill["name"] == "SMA crossover BTC/USDT 1h"
    spec_fields = {k: v for k, v in prefill.items() if k not in ("exchange",)}
    spec = BotSpec(account_id=1, **spec_fields)
    assert (spec.strategy, spec.params, spec.order_size) == (
        "sma_cross",
        {"fast": 5, "slow": 20},
        250,
    )
    assert (spec.take_profit_pct, spec.trailing_stop_pct, spec.stop_loss_pct) == (4, 2, None)
    assert (spec.max_open_positions, spec.cooldown_minutes) == (2, 15)
    csv = svc.bot_prefill(replace(s, source="csv"))
    assert csv["exchange"] is None
