"""Market orders placed in one transaction (core.exchanges.paper_bulk) end exactly as the same
orders placed one by one through PaperExchange.create_order: fills, fees, rejections,
repeated client ids, balances; accounts with resting limit orders are left to create_order."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.errors import AppError, OrderRejected
from core.exchanges import fill_amount
from core.exchanges.paper import PaperExchange
from core.exchanges.paper_bulk import MarketOrder, place_market_orders
from core.exchanges.sim import SimExchange
from core.models import PaperBalance, PaperOrder
from core.platform.runtime import start
from tests.conftest import make_settings
from tests.factories import make_paper_account, make_user

NOW = 1_767_225_600_000 + 61 * 60_000 + 20_000


def clock():
    return NOW


def accounts(rt) -> list[int]:
    with rt.session() as s:
        user = make_user(s, username="u")
        rich = make_paper_account(s, owner=user, label="rich", balances={"USDT": 50_000})
        poor = make_paper_account(s, owner=user, label="poor", balances={"USDT": 150})
        return [rich.id, poor.id]


REQUESTS = [  # (account index, symbol, side, amount, client id)
    (0, "BTC/USDT", "buy", 0.1, "a-1"),
    (1, "ETH/USDT", "buy", 0.03, "b-1"),  # ~100 USDT: fits
    (1, "ETH/USDT", "buy", 0.03, "b-2"),  # no longer fits: insufficient funds
    (0, "BTC/USDT", "buy", 0.00001, "a-2"),  # below the minimum amount
    (0, "BTC/USDT", "sell", 0.04, "a-3"),
    (1, "SOL/USDT", "sell", 1.0, "b-3"),  # nothing to sell (and no SOL row is left behind)
    (0, "BTC/USDT", "buy", 0.1, "a-1"),  # repeated client id: the first order, unchanged
    (0, "ETH/USDT", "buy", 1.0, "a-4"),
]
BUDGETS = {  # client id -> budget: buys sized at the fill price (amount: the decision's estimate)
    "b-4": 20.0,  # what is left of the poor account's cash, about
    "a-5": 0.5,  # buys less than the minimum: rejected
    "a-6": 1000.0,
}
REQUESTS += [(1, "ETH/USDT", "buy", 0.001, "b-4"), (0, "BTC/USDT", "buy", 1.0, "a-5")]
REQUESTS += [(0, "SOL/USDT", "buy", 5.0, "a-6")]


def _book(rt):
    with rt.read() as s:
        return (
            sorted((b.account_id, b.asset, b.free, b.used) for b in s.exec(select(PaperBalance))),
            sorted(
                (o.account_id, o.client_order_id, o.status, o.amount, o.average, o.fee)
                for o in s.exec(select(PaperOrder))
            ),
        )


def _summary(outcome):
    if isinstance(outcome, AppError):
        return type(outcome).__name__
    return (outcome.status, outcome.amount, outcome.average, outcome.fee, outcome.cost)


@pytest.fixture
def two(tmp_path):
    rts = [start("test", settings=make_settings(tmp_path / n)) for n in ("one", "bulk")]
    yield rts
    for rt in rts:
        rt.engine.dispose()


def test_orders_in_one_go_end_as_orders_one_by_one(two):
    single, bulk = two
    ids_single, ids_bulk = accounts(single), accounts(bulk)
    one_by_one = []
    for i, symbol, side, amount, cid in REQUESTS:
        paper = PaperExchange(single, account_id=ids_single[i], feed=SimExchange(), clock=clock)
        try:
            one_by_one.append(
                paper.create_order(
                    symbol=symbol,
                    side=side,
                    type="market",
                    amount=amount,
                    client_order_id=cid,
                    budget=BUDGETS.get(cid),
                )
            )
        except AppError as exc:
            one_by_one.append(exc)
    requests = [
        MarketOrder(ids_bulk[i], s, side, a, c, budget=BUDGETS.get(c))
        for i, s, side, a, c in REQUESTS
    ]
    together = place_market_orders(bulk, SimExchange(), requests, clock=clock)
    assert [_summary(o) for o in together] == [_summary(o) for o in one_by_one]
    assert [_summary(o) for o in together][2:4] == ["InsufficientFunds", "OrderRejected"]
    assert [_summary(o) for o in together][-2] == "OrderRejected"  # a budget under the minimum
    assert _book(bulk) == _book(single)
    for outcome, (*_x, cid) in zip(together, REQUESTS, strict=True):
        if cid in BUDGETS and not isinstance(outcome, AppError):  # spent at most the budget
            assert outcome.cost + outcome.fee <= BUDGETS[cid]
            assert outcome.cost + outcome.fee > BUDGETS[cid] * 0.99


def test_a_budget_buys_what_it_buys_at_the_fill_price_after_the_fee(rt):
    rich, poor = accounts(rt)
    feed = SimExchange()
    paper = PaperExchange(rt, account_id=poor, feed=feed, clock=clock)
    market = feed.market("ETH/USDT")
    got = paper.create_order(
        symbol="ETH/USDT",
        side="buy",
        type="market",
        amount=1.0,
        client_order_id="all",
        budget=150.0,  # all the cash; the amount 1.0 was the decision's estimate
    )
    assert got.status == "closed"
    assert got.amount == got.filled == fill_amount(150.0, got.average, market.taker_fee, market)
    assert got.cost + got.fee <= 150.0
    assert paper.fetch_balance()["USDT"].free == pytest.approx(150.0 - got.cost - got.fee)
    assert paper.fetch_balance()["USDT"].free >= 0
    for bad in ({"side": "sell"}, {"type": "limit", "price": 1000.0}, {"budget": -1.0}):
        order = {"symbol": "ETH/USDT", "side": "buy", "type": "market", "amount": 1.0}
        with pytest.raises(OrderRejected):
            paper.create_order(**(order | {"client_order_id": "x", "budget": 10.0} | bad))


def test_accounts_with_resting_limit_orders_are_left_to_the_exchange(rt):
    rich, poor = accounts(rt)
    paper = PaperExchange(rt, account_id=rich, feed=SimExchange(), clock=clock)
    paper.create_order(
        symbol="BTC/USDT", side="buy", type="limit", amount=0.01, price=1000.0, client_order_id="l"
    )
    requests = [
        MarketOrder(rich, "BTC/USDT", "buy", 0.01, "x-1"),
        MarketOrder(poor, "ETH/USDT", "buy", 0.01, "y-1"),
    ]
    outcomes = place_market_orders(rt, SimExchange(), requests, clock=clock)
    assert outcomes[0] is None and outcomes[1].status == "closed"
    with rt.read() as s:
        cids = set(s.exec(select(PaperOrder.client_order_id)).all())
    assert cids == {"l", "y-1"}
