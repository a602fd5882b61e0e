"""Batched ticks (core.trading.batch) give exactly what one-by-one ticks give, in a bounded
number of SQL statements per batch, and keep the single-tick rules for the exceptions."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event
from sqlmodel import select

from core.models import Bot, BotEvent, BotOrder, PaperBalance, PaperOrder, Trade
from core.platform.runtime import start
from core.trading import batch as engine_batch
from core.trading import signal
from core.trading import tick as engine
from core.trading.round import QUIET
from tests.conftest import make_settings
from tests.factories import make_bot, make_paper_account, make_user

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
MIN = 60_000
START = T0 + 100 * MIN

MIX = [  # (strategy, params, extra spec fields): signals, risk exits, DCA and % sizing
    ("sma_cross", {"fast": 3, "slow": 8}, {}),
    ("sma_cross", {"fast": 3, "slow": 8}, {"take_profit_pct": 0.2, "stop_loss_pct": 0.2}),
    ("sma_cross", {"fast": 5, "slow": 20}, {"order_size_type": "pct", "order_size": 30.0}),
    # RSI 7: with Wilder's RSI 14 this bot's one trade in the 150 candles exits on the signal
    ("rsi", {"period": 7}, {"trailing_stop_pct": 0.3}),
    ("dca", {"dip_pct": 0.3, "lookback": 30, "safety_orders": 2}, {}),
    ("sma_cross", {"fast": 3, "slow": 8}, {"max_drawdown_pct": 0.5}),
]


def populate(rt, copies: int = 2) -> list[int]:
    """The same bots in every database: two paper accounts shared by several bots each."""
    with rt.session() as s:
        owner = make_user(s, username="alice", role="admin")
        accounts = [
            make_paper_account(s, owner=owner, label=f"p{i}", balances={"USDT": 3_000})
            for i in range(2)
        ]
        ids = []
        for n in range(copies):
            for i, (strategy, params, extra) in enumerate(MIX):
                bot = make_bot(
                    s,
                    owner=owner,
                    account_id=accounts[(n + i) % 2].id,
                    name=f"b{n}-{i}",
                    symbol=("BTC/USDT", "ETH/USDT")[i % 2],
                    strategy=strategy,
                    params=params,
                    start=True,
                    **({"order_size": 1000.0} | extra),
                )
                ids.append(bot.id)
    return ids


def clock_for(candle_ts: int):
    return lambda: candle_ts + MIN + 1_000


def snapshot(rt) -> dict:
    with rt.read() as s:
        return {
            "orders": sorted(
                (o.client_order_id, o.side, o.amount, o.status, o.average, o.fee, o.purpose)
                for o in s.exec(select(BotOrder))
            ),
            "paper": sorted(
                (p.client_order_id, p.amount, p.average, p.status)
                for p in s.exec(select(PaperOrder))
            ),
            "trades": sorted(
                (t.bot_id, t.entry_ts, t.exit_ts, t.entry_price, t.exit_price, t.pnl, t.status)
                for t in s.exec(select(Trade))
            ),
            "bots": sorted(
                (b.id, b.status, _without_ids(b.state), b.last_candle_ts, b.consecutive_failures)
                for b in s.exec(select(Bot))
            ),
            "events": sorted(  # each bot's own events in order (ids interleave across bots)
                (
                    (e.bot_id, e.kind, e.message)
                    for e in s.exec(select(BotEvent).order_by(BotEvent.id))
                ),
                key=lambda e: e[0],
            ),
            "balances": sorted(
                (b.account_id, b.asset, b.free, b.used) for b in s.exec(select(PaperBalance))
            ),
        }


def _without_ids(state: str) -> dict:
    """Row ids (trade ids in lots) depend on how bots interleave, not on what they did."""
    data = json.loads(state)
    for lot in data.get("lots", []):
        lot.pop("trade_id", None)
    return data


@pytest.fixture
def two_runtimes(tmp_path):
    runtimes = [start("test", settings=make_settings(tmp_path / name)) for name in ("one", "b")]
    yield runtimes
    for rt in runtimes:
        rt.engine.dispose()


# ~11 s: 150 candles x 12 bots, on both paths
@pytest.mark.slow
def test_batched_ticks_give_the_same_orders_trades_and_states_as_single_ticks(
    two_runtimes, monkeypatch
):
    single, batched = two_runtimes
    alone = []
    monkeypatch.setattr(engine_batch, "run_bot_tick", lambda rt, **kw: alone.append(kw))
    ids = populate(single)
    assert populate(batched) == ids
    signal.clear_cache()
    outcomes_single, outcomes_batched = [], []
    for k in range(150):
        candle = START + k * MIN
        for bot_id in ids:
            one = engine.run_bot_tick(
                single, bot_id=bot_id, candle_ts=candle, clock=clock_for(candle)
            )
            outcomes_single.append(one)
        refs = [(k * 1000 + i, bot_id, candle) for i, bot_id in enumerate(reversed(ids))]
        result = engine_batch.run_ticks(batched, refs, clock=clock_for(candle))
        outcomes_batched.extend(result[ref[0]] for ref in sorted(refs, key=lambda r: r[1]))
    assert outcomes_batched == outcomes_single
    assert alone == []  # every tick, orders included, ran on the batched path
    _lots_point_at_their_open_trades(batched)
    mine, theirs = snapshot(batched), snapshot(single)
    assert len(mine["trades"]) > 20 and {"entry", "safety", "signal", "trailing_stop"} <= {
        o[6] for o in mine["orders"]
    }
    assert mine == theirs


def _lots_point_at_their_open_trades(rt) -> None:
    with rt.read() as s:
        trades = {t.id: t for t in s.exec(select(Trade))}
        lots = [(b.id, lot) for b in s.exec(select(Bot)) for lot in json.loads(b.state)["lots"]]
    assert lots and all(t.status == "open" for t in trades.values() if t.exit_ts is None)
    assert sorted(trades[lot["trade_id"]].id for _b, lot in lots) == sorted(
        t.id for t in trades.values() if t.status == "open"
    )
    for bot_id, lot in lots:
        trade = trades[lot["trade_id"]]
        expected = (bot_id, lot["entry_ts"], lot["amount"])
        assert (trade.bot_id, trade.entry_ts, trade.amount) == expected


def _count_statements(rt, run) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)
    return len(seen)


def _quiet_candle(rt, bot_id: int) -> int:
    """A candle on which the bot's sma_cross (5, 20) gives no signal."""
    from core.exchanges.sim import sim_candles
    from core.strategy import Candles, get_strategy

    with rt.read() as s:
        symbol = s.get(Bot, bot_id).symbol
    strategy = get_strategy("sma_cross")
    params = strategy.validate({"fast": 5, "slow": 20})
    for k in range(30, 200):
        candles = Candles.of(sim_candles(symbol, "1m", START + (k - 21) * MIN, 22))
        if strategy.last_signal(candles, params) == (False, False):
            return START + k * MIN
    raise AssertionError("no quiet candle found")


def test_statements_per_batch_do_not_grow_with_the_number_of_bots(rt):
    ids = [b for b in populate(rt, copies=12)]
    with rt.read() as s:  # the % sized sma_cross (5, 20) bots: quiet on most candles
        quiet = [
            b.id for b in s.exec(select(Bot).where(Bot.order_size_type == "pct")) if b.id in ids
        ]
    candle = _quiet_candle(rt, quiet[0])
    warm = engine_batch.run_ticks(rt, [(0, quiet[0], candle)], clock=clock_for(candle))
    assert warm == {0: QUIET}

    def batch(bot_ids):
        refs = [(i, b, candle) for i, b in enumerate(bot_ids)]
        outcomes = engine_batch.run_ticks(rt, refs, clock=clock_for(candle))
        assert set(outcomes.values()) == {QUIET}

    few = _count_statements(rt, lambda: batch(quiet[1:3]))
    many = _count_statements(rt, lambda: batch(quiet[3:]))
    assert len(quiet[3:]) >= 9
    assert few == many <= 12


def test_a_batch_skips_bots_not_running_and_ticks_already_done(rt):
    ids = populate(rt, copies=1)
    candle = START
    with rt.session() as s:
        s.get(Bot, ids[0]).status = "paused"
        done = s.get(Bot, ids[1])
        done.last_candle_ts = candle
    refs = [(1, ids[0], candle), (2, ids[1], candle), (3, 999_999, candle)]
    outcomes = engine_batch.run_ticks(rt, refs, clock=clock_for(candle))
    assert outcomes == {
        1: "skipped: not running",
        2: "skipped: already done",
        3: "skipped: not running",
    }


def test_a_failing_strategy_in_a_batch_puts_only_its_bots_in_error(rt, monkeypatch):
    ids = populate(rt, copies=1)
    from core.strategy.builtin import RsiReversion

    def boom(self, close, params):
        raise ZeroDivisionError("strategy bug")

    monkeypatch.setattr(RsiReversion, "compute", boom)
    signal.clear_cache()
    candle = START
    outcomes = engine_batch.run_ticks(
        rt, [(i, b, candle) for i, b in enumerate(ids)], clock=clock_for(candle)
    )
    with rt.read() as s:
        status = {b.id: (b.strategy, b.status) for b in s.exec(select(Bot))}
    errors = [i for i, o in outcomes.items() if o.startswith("error")]
    assert [status[ids[i]] for i in errors] == [("rsi", "error")]
    assert all(st == "running" for name, st in status.values() if name != "rsi")
