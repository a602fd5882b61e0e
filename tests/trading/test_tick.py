"""Bot ticks on paper accounts over the sim feed: orders, fills, PnL, exactly-once reruns,
failures isolated to one bot, and parity with the backtester."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import select

from core import bots
from core.accounts.connect import account_exchange
from core.backtest.walk import run_backtest
from core.exchanges.sim import sim_candles
from core.models import Bot, BotEvent, BotOrder, PaperOrder, Trade
from core.strategy.risk import Risk
from core.trading import signal
from core.trading import tick as engine
from tests.factories import make_bot, make_paper_account, make_user

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
MIN = 60_000


@pytest.fixture
def owner(rt):
    with rt.session() as s:
        return make_user(s, username="alice", role="admin")


@pytest.fixture
def account(rt, owner):
    with rt.session() as s:
        return make_paper_account(s, owner=owner, balances={"USDT": 10_000})


def running_bot(rt, owner, account, **fields) -> Bot:
    """A started SMA 3/8 bot on BTC/USDT 1m spending 1000 USDT a buy, unless `fields` say."""
    fields = {"params": {"fast": 3, "slow": 8}, "order_size": 1000.0} | fields
    with rt.session() as s:
        return make_bot(s, owner=owner, account_id=account.id, start=True, **fields)


def tick(rt, bot, candle_ts):
    return engine.run_bot_tick(
        rt, bot_id=bot.id, candle_ts=candle_ts, clock=lambda: candle_ts + MIN + 1_000
    )


def run_ticks(rt, bot, n, start=T0 + 100 * MIN):
    return [tick(rt, bot, start + i * MIN) for i in range(n)]


def test_bot_trades_and_pnl_plus_fees_add_up_to_the_balance_change(rt, owner, account):
    bot = running_bot(rt, owner, account)
    outcomes = run_ticks(rt, bot, 300)
    assert all(o.startswith("ok") for o in outcomes), outcomes[:5]
    paper = account_exchange(rt, account_id=account.id, clock=lambda: T0 + 500 * MIN)
    with rt.read() as s:
        trades = s.exec(select(Trade).where(Trade.bot_id == bot.id)).all()
        filled = s.exec(select(BotOrder).where(BotOrder.status == "closed")).all()
    closed = [t for t in trades if t.status == "closed"]
    assert len(closed) >= 3
    balances = paper.fetch_balance()
    usdt = balances["USDT"].free
    btc = balances.get("BTC").free if "BTC" in balances else 0.0
    open_cost = sum(t.amount * t.entry_price + t.entry_fee for t in trades if t.status == "open")
    assert usdt - 10_000 == pytest.approx(sum(t.pnl for t in closed) - open_cost, abs=1e-6)
    assert btc == pytest.approx(sum(t.amount for t in trades if t.status == "open"))
    assert len(filled) == sum(1 + (t.status == "closed") for t in trades)


def test_a_rerun_of_the_same_tick_places_no_second_order(rt, owner, account):
    bot = running_bot(rt, owner, account)
    run_ticks(rt, bot, 200)
    with rt.session() as s:  # pretend the tick was reclaimed: forget it was finished
        row = s.get(Bot, bot.id)
        last = row.last_candle_ts
        row.last_candle_ts = last - MIN
        s.add(row)
    before = _counts(rt)
    assert tick(rt, bot, last).startswith("ok")
    assert _counts(rt) == before


def test_crash_after_pending_submit_is_reconciled_exactly_once(rt, owner, account):
    bot = running_bot(rt, owner, account)
    outcomes = run_ticks(rt, bot, 200)
    with rt.read() as s:
        first = s.exec(select(BotOrder).order_by(BotOrder.id)).first()
    # Simulate "order reached the exchange, process died before recording it".
    with rt.session() as s:
        row = s.get(BotOrder, first.id)
        row.status = "pending_submit"
        s.add(row)
    with rt.read() as s:
        pending = len(s.exec(select(BotOrder).where(BotOrder.status == "pending_submit")).all())
    assert pending == 1 and outcomes
    settled = engine.reconcile_all(rt, clock=lambda: T0 + 400 * MIN)
    assert settled == 1
    with rt.read() as s:
        assert s.get(BotOrder, first.id).status == "closed"
        papers = s.exec(select(func.count()).select_from(PaperOrder)).one()
        records = s.exec(
            select(func.count()).select_from(BotOrder).where(BotOrder.status == "closed")
        ).one()
    assert papers == records


def test_a_strategy_that_raises_puts_only_its_bot_in_error(rt, owner, account, monkeypatch):
    good = running_bot(rt, owner, account, name="good")
    bad = running_bot(rt, owner, account, name="bad", strategy="rsi", params={})
    from core.strategy.builtin import RsiReversion

    def boom(self, close, params):
        raise ZeroDivisionError("strategy bug")

    monkeypatch.setattr(RsiReversion, "compute", boom)
    assert tick(rt, bad, T0 + 100 * MIN).startswith("error")
    assert tick(rt, good, T0 + 100 * MIN).startswith("ok")
    with rt.read() as s:
        assert s.get(Bot, bad.id).status == "error"
        assert "ZeroDivisionError" in s.get(Bot, bad.id).status_reason
        assert s.get(Bot, good.id).status == "running"
        events = s.exec(
            select(BotEvent).where(BotEvent.bot_id == bad.id, BotEvent.kind == "error")
        ).all()
    assert events


def test_stopped_bots_do_not_tick(rt, owner, account):
    bot = running_bot(rt, owner, account)
    with rt.session() as s:
        bots.change_status(s, owner=owner, bot_id=bot.id, action="stop")
    assert tick(rt, bot, T0 + 100 * MIN) == "skipped: not running"


PARITY = {
    "sma_cross": ({"fast": 3, "slow": 8}, {"take_profit_pct": 0.3, "stop_loss_pct": 0.3}, 10),
    "scheduled_dca": (
        {
            "dip_pct": 0,
            "safety_orders": 4,
            "safety_step_pct": 0.5,
            "take_profit_pct": 0.1,
            "every_minutes": 7,
        },
        {},
        1,
    ),
}


@pytest.mark.parametrize("case", sorted(PARITY))
def test_paper_bot_and_backtest_agree_trade_for_trade(rt, owner, account, case):
    params, risk, warm = PARITY[case]
    strategy = "dca" if "dca" in case else case
    n, start = 400, T0 + 100 * MIN
    bot = running_bot(rt, owner, account, strategy=strategy, params=params, **risk)
    run_ticks(rt, bot, n, start=start)
    a = sim_candles("BTC/USDT", "1m", start - (warm - 1) * MIN, n + warm)
    df = pd.DataFrame(a)
    paper = account_exchange(rt, account_id=account.id)
    market = paper.market("BTC/USDT")
    result = run_backtest(
        df,
        strategy,
        params,
        market=market,
        fee_rate=market.taker_fee,
        slippage_bps=5,
        cash=10_000,
        order_quote=1000.0,
        risk=Risk(**risk),
    )
    with rt.read() as s:
        trades = s.exec(
            select(Trade).where(Trade.bot_id == bot.id).order_by(Trade.entry_ts, Trade.id)
        ).all()
        purposes = set(s.exec(select(BotOrder.purpose).where(BotOrder.bot_id == bot.id)).all())
    backtested = sorted(result.trades, key=lambda t: t["entry_time"])
    closed = [t for t in trades if t.status == "closed"]
    assert len(trades) == len(backtested) and len(closed) > 3
    for mine, theirs in zip(trades, backtested, strict=True):
        assert mine.entry_ts == theirs["entry_time"]
        assert mine.entry_price == pytest.approx(theirs["entry_price"], abs=0.005)
        assert mine.amount == theirs["amount"]
        if mine.status == "closed":
            assert mine.exit_ts == theirs["exit_time"]
            assert mine.exit_price == pytest.approx(theirs["exit_price"], abs=0.005)
        else:  # still open on the paper bot: the backtest closed it at the last close
            assert theirs["exit_reason"] == "end"
    pnl = sum(t["pnl"] for t in backtested if t["exit_reason"] != "end")
    assert sum(t.pnl for t in closed) == pytest.approx(pnl, abs=0.01)
    # Final equity to the cent: the paper account's cash plus what is still held, sold at the
    # last close with the fee (as the backtest closes it, marked "end").
    held = sum(t.amount for t in trades if t.status == "open")
    last = float(df["close"].iloc[-1])
    cash = paper.fetch_balance()["USDT"].total
    paper_equity = cash + held * last - held * last * market.taker_fee
    assert paper_equity == pytest.approx(result.metrics["final_equity"], abs=0.01)
    if "dca" in case:
        assert "scheduled" in purposes


def _counts(rt):
    with rt.read() as s:
        return (
            s.exec(select(func.count()).select_from(BotOrder)).one(),
            s.exec(select(func.count()).select_from(PaperOrder)).one(),
            json.loads(s.exec(select(Bot)).first().state)["lots"].__len__(),
        )


@pytest.mark.parametrize("action", ["stop", "pause"])
def test_a_bot_stopped_while_its_tick_reads_the_market_places_no_order(
    rt, owner, account, monkeypatch, action
):
    """The single-tick path (every live bot) reads the bot, then the candles, then decides:
    a Stop or Pause committed in between is seen under the row lock and nothing is sent."""
    bot = running_bot(rt, owner, account, strategy="dca", params={"dip_pct": 0})
    real = signal.compute

    def stop_meanwhile(*args, **kwargs):
        with rt.session() as s:
            bots.change_status(s, owner=owner, bot_id=bot.id, action=action)
        return real(*args, **kwargs)

    monkeypatch.setattr(signal, "compute", stop_meanwhile)
    outcome = tick(rt, bot, T0 + 100 * MIN)
    with rt.read() as s:
        placed = s.exec(select(BotOrder).where(BotOrder.bot_id == bot.id)).all()
        row = s.get(Bot, bot.id)
    assert outcome == "skipped: not running"
    assert placed == [] and row.last_candle_ts is None
