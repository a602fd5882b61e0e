"""Orders exactly once when answers are lost, orders show up late and leases pass on.

An exchange that executes an order but loses the answer, and shows it to queries only after a
delay, must never get it twice: the order stays `unknown` (never resent on the spot), the bot
places nothing else until it is found or its deadline passes, and a worker that lost its lease
neither sends nor records."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import select

from core import bots
from core.accounts import account_exchange
from core.errors import AppError, ExchangeNotSupported, OrderStateUnknown
from core.exchanges import Exchange
from core.models import BotOrder, Tick, Trade, User
from core.platform.db import read_now_ms
from core.trading import orders, scheduler
from core.trading import tick as engine
from core.trading.fills import on_filled
from tests.factories import make_bot, make_paper_account, make_user

T0 = 1_767_225_600_000
MIN = 60_000


class LateAndLossy(Exchange):
    """A paper account whose create_order executes and then loses its answer (`lose` times),
    and whose orders stay invisible to look-ups until `visible` is set."""

    visibility_window_s = 5.0
    late_request_s = 30.0  # as OKX: a request held in transit is executed up to 30 s late

    def __init__(self, paper: Exchange, *, lose: int = 1) -> None:
        self.paper, self.lose, self.visible = paper, lose, False
        self.id, self.creates, self.lookups = paper.id, 0, 0
        self.ack_only = False  # answer a create with "accepted", the fill left out
        self.refuse: AppError | None = None  # raised before any request

    def create_order(self, **order):
        if self.refuse is not None:
            raise self.refuse
        self.creates += 1
        result = self.paper.create_order(**order)
        if self.lose:
            self.lose -= 1
            raise OrderStateUnknown("the answer was lost")
        if self.ack_only:
            return replace(result, status="open", filled=0.0, average=None, cost=0.0, fee=0.0)
        return result

    def fetch_order(self, *, symbol, client_order_id):
        self.lookups += 1
        if not self.visible:
            return None
        return self.paper.fetch_order(symbol=symbol, client_order_id=client_order_id)

    def __getattr__(self, name):  # markets, candles, balance ...: the paper account's
        return getattr(self.paper, name)

    load_markets = property(lambda self: self.paper.load_markets)
    fetch_candles = property(lambda self: self.paper.fetch_candles)
    last_price = property(lambda self: self.paper.last_price)
    fetch_balance = property(lambda self: self.paper.fetch_balance)
    cancel_order = property(lambda self: self.paper.cancel_order)
    fetch_open_orders = property(lambda self: self.paper.fetch_open_orders)


@pytest.fixture
def world(rt, monkeypatch):
    with rt.session() as s:
        owner = make_user(s, username="alice")
        account = make_paper_account(s, owner=owner, balances={"USDT": 10_000})
        bot = make_bot(
            s,
            owner=owner,
            account_id=account.id,
            strategy="dca",  # buys at once, sells 0.1 % up
            params={"dip_pct": 0, "take_profit_pct": 0.1},
            order_size=500.0,
            start=True,
        )
    venue = {}

    def lossy(rt_, *, account_id, clock=None):
        if "x" not in venue:
            venue["x"] = LateAndLossy(account_exchange(rt_, account_id=account_id, clock=clock))
            venue["x"].lose = venue.get("lose", 1)
            venue["x"].ack_only = venue.get("ack_only", False)
            venue["x"].refuse = venue.get("refuse")
        return venue["x"]

    monkeypatch.setattr(engine, "account_exchange", lossy)
    return {"rt": rt, "bot": bot, "venue": venue}


def _tick(rt, bot, candle_ts, lease=None):
    return engine.run_bot_tick(
        rt, bot_id=bot.id, candle_ts=candle_ts, clock=lambda: candle_ts + MIN + 1_000, lease=lease
    )


def _orders(rt, bot):
    with rt.read() as s:
        return s.exec(select(BotOrder).where(BotOrder.bot_id == bot.id).order_by(BotOrder.id)).all()


def _check_now(rt, order_id):
    """Skip the backoff (the test does not sleep)."""
    with rt.session() as s:
        s.get(BotOrder, order_id).check_after_ms = None


def test_a_lost_answer_is_never_resent_and_the_bot_waits_until_the_order_is_found(world):
    rt, bot = world["rt"], world["bot"]
    first = _tick(rt, bot, T0 + 100 * MIN)
    venue = world["venue"]["x"]
    (order,) = _orders(rt, bot)
    assert first.startswith("failed: exchange unavailable")
    assert order.status == "unknown" and venue.creates == 1
    # Not "never placed" before a request held in transit can no longer execute (30 s here,
    # though our client gave up after its timeout) and the order had time to show (5 s).
    assert order.deadline_ms - order.sent_at_ms >= 35_000

    _check_now(rt, order.id)
    waiting = _tick(rt, bot, T0 + 101 * MIN)  # not visible yet: no second order, no decision
    assert waiting == f"failed: waiting: order {order.client_order_id} state unknown"
    assert venue.creates == 1 and [o.status for o in _orders(rt, bot)] == ["unknown"]

    venue.visible = True
    _check_now(rt, order.id)
    _tick(rt, bot, T0 + 102 * MIN)
    settled = _orders(rt, bot)[0]
    with rt.read() as s:
        trades = s.exec(select(Trade).where(Trade.bot_id == bot.id)).all()
    assert settled.status == "closed" and settled.filled > 0
    assert [t.entry_order_id for t in trades][:1] == [settled.id]
    at_exchange = venue.paper.fetch_order(symbol="BTC/USDT", client_order_id=order.client_order_id)
    assert at_exchange.filled == settled.filled  # recorded once, as the exchange holds it


def test_not_found_is_not_proof_until_the_deadline_has_passed(world):
    rt, bot = world["rt"], world["bot"]
    _tick(rt, bot, T0 + 100 * MIN)
    (order,) = _orders(rt, bot)
    venue = world["venue"]["x"]
    for _ in range(3):
        _check_now(rt, order.id)
        orders.reconcile_order(rt.session, venue, order.id, on_filled(bot.id))
    assert _orders(rt, bot)[0].status == "unknown" and venue.lookups == 3
    with rt.session() as s:
        row = s.get(BotOrder, order.id)
        row.deadline_ms, row.check_after_ms = read_now_ms(s) - 1, None
    orders.reconcile_order(rt.session, venue, order.id, on_filled(bot.id))
    assert _orders(rt, bot)[0].status == "never_placed"


def test_a_worker_that_lost_its_lease_neither_sends_nor_records(world):
    rt, bot = world["rt"], world["bot"]
    candle = T0 + 100 * MIN
    with rt.session() as s:
        s.add(Tick(bot_id=bot.id, candle_ts=candle))
    with rt.session() as s:
        ((tick_id, *_rest, old),) = scheduler.claim_ticks(
            s, tick_ids=[s.exec(select(Tick.id)).one()], worker_id="old", lease_ms=-1_000
        )
    with rt.session() as s:
        ((_id, *_rest, new),) = scheduler.claim_ticks(s, tick_ids=[tick_id], worker_id="new")
    outcome = _tick(rt, bot, candle, lease=old)
    assert outcome == f"failed: tick of bot {bot.id}: the lease was lost"
    assert _orders(rt, bot) == [] and "x" in world["venue"]
    assert world["venue"]["x"].creates == 0
    assert _tick(rt, bot, candle, lease=new).startswith("failed: exchange unavailable")


def test_start_up_reconciliation_leaves_a_running_ticks_orders_alone(world):
    rt, bot = world["rt"], world["bot"]
    candle = T0 + 100 * MIN
    with rt.session() as s:
        s.add(Tick(bot_id=bot.id, candle_ts=candle))
    with rt.session() as s:
        (claim,) = scheduler.claim_ticks(
            s, tick_ids=[s.exec(select(Tick.id)).one()], worker_id="busy"
        )
    with rt.session() as s:  # planned by the running worker, not sent yet
        orders.prepare(
            s,
            bot_id=bot.id,
            account_id=bot.account_id,
            candle_ts=candle,
            seq=0,
            symbol="BTC/USDT",
            side="buy",
            amount=0.01,
            purpose="entry",
        )
    engine.reconcile_all(rt, clock=lambda: candle + MIN + 1_000)
    assert [o.status for o in _orders(rt, bot)] == ["pending_submit"]
    with rt.session() as s:
        s.get(Tick, claim[0]).lease_until_ms = 0  # the worker died: its lease ran out
    engine.reconcile_all(rt, clock=lambda: candle + MIN + 1_000)
    assert [o.status for o in _orders(rt, bot)] == ["never_placed"]


def test_an_acknowledged_market_order_is_looked_up_until_its_fill_is_known(world):
    """Most venues answer a create with "accepted" only: the order stays open (looked up with
    backoff, the bot waiting) until the look-up shows its fill, which is then applied once."""
    rt, bot = world["rt"], world["bot"]
    world["venue"].update(lose=0, ack_only=True)
    first = _tick(rt, bot, T0 + 100 * MIN)
    (order,) = _orders(rt, bot)
    assert first == "ok: 1 order(s)" and order.status == "open" and order.filled == 0
    with rt.read() as s:
        assert s.exec(select(Trade).where(Trade.bot_id == bot.id)).all() == []
    _check_now(rt, order.id)
    assert _tick(rt, bot, T0 + 101 * MIN).startswith("failed: waiting")  # not visible yet
    world["venue"]["x"].visible = True
    _check_now(rt, order.id)
    _tick(rt, bot, T0 + 102 * MIN)
    settled = _orders(rt, bot)[0]
    with rt.read() as s:
        trades = s.exec(select(Trade).where(Trade.entry_order_id == settled.id)).all()
    assert settled.status == "closed" and settled.filled > 0 and len(trades) == 1
    assert world["venue"]["x"].creates >= 1 and _orders(rt, bot)[0].id == order.id


def test_an_order_refused_before_any_request_is_rejected_not_left_sending(world):
    rt, bot = world["rt"], world["bot"]
    world["venue"]["refuse"] = ExchangeNotSupported("this exchange is paper-only now")
    outcome = _tick(rt, bot, T0 + 100 * MIN)
    (order,) = _orders(rt, bot)
    assert order.status == "rejected" and "paper-only" in order.error
    assert outcome == "ok: 1 order(s)" and world["venue"]["x"].creates == 0


def test_a_paused_bots_unknown_order_is_settled_without_a_tick(world):
    """The worker's minute task (reconcile_all) looks unknown orders up even when their bot
    no longer ticks."""
    rt, bot = world["rt"], world["bot"]
    _tick(rt, bot, T0 + 100 * MIN)
    (order,) = _orders(rt, bot)
    with rt.session() as s:
        owner = s.get(User, bot.owner_id)
        bots.change_status(s, owner=owner, bot_id=bot.id, action="pause")
    world["venue"]["x"].visible = True
    _check_now(rt, order.id)
    assert engine.reconcile_all(rt, clock=lambda: T0 + 102 * MIN) == 1
    assert _orders(rt, bot)[0].status == "closed"
