"""Paper exchange invariants: balances never negative, one order per client id under races,
the same behaviour on PostgreSQL."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from core.errors import InsufficientFunds, OrderRejected
from core.exchanges.base import Candle, Exchange, Market
from core.exchanges.paper import PaperExchange
from core.models import ExchangeAccount, PaperBalance, PaperOrder, User
from tests.factories import make_user

MINUTE = 60_000
T0 = 1_700_000_080_000
ETH = Market("ETH/USDT", "ETH", "USDT", amount_step=0.001, price_step=0.01, min_notional=1.0)


class WalkFeed(Exchange):
    """A deterministic zig-zag around 100 so limit orders on both sides get crossed."""

    id = "walk"

    def load_markets(self):
        return {"ETH/USDT": ETH}

    def _candle(self, ts: int) -> Candle:
        mid = 100 + ((ts // MINUTE) % 13 - 6) * 1.5
        return Candle(ts, mid, mid + 2, mid - 2, mid + 0.5, 10.0)

    def fetch_candles(self, symbol, timeframe, since=None, limit=None):
        start = since - since % MINUTE
        return [self._candle(start + i * MINUTE) for i in range(limit or 1)]

    def last_price(self, symbol):
        return 100.0

    def fetch_balance(self):
        raise NotImplementedError

    def create_order(self, **kwargs):
        raise NotImplementedError

    def fetch_order(self, **kwargs):
        raise NotImplementedError

    def cancel_order(self, **kwargs):
        raise NotImplementedError

    def fetch_open_orders(self, symbol=None):
        raise NotImplementedError


_labels = itertools.count()


def new_account(rt, balances: dict[str, float]) -> int:
    with rt.session() as s:
        user = s.exec(select(User)).first()
        if user is None:
            user = make_user(s, username="inv")
        acc = ExchangeAccount(
            owner_id=user.id, label=f"p{next(_labels)}", exchange_id="walk", kind="paper"
        )
        s.add(acc)
        s.flush()
        s.add_all(PaperBalance(account_id=acc.id, asset=a, free=v) for a, v in balances.items())
        return acc.id


op = st.tuples(
    st.sampled_from(["buy", "sell", "limit_buy", "limit_sell", "cancel", "wait"]),
    st.floats(min_value=0.0005, max_value=40.0),
    st.floats(min_value=-8.0, max_value=8.0),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_balances_never_go_negative(rt, ops):
    now = [T0]
    paper = PaperExchange(
        rt,
        account_id=new_account(rt, {"USDT": 1000.0, "ETH": 3.0}),
        feed=WalkFeed(),
        slippage_bps=20,
        clock=lambda: now[0],
    )
    for i, (kind, amount, offset) in enumerate(ops):
        try:
            if kind == "wait":
                now[0] += int(amount * MINUTE)
            elif kind == "cancel":
                for order in paper.fetch_open_orders():
                    paper.cancel_order(symbol="ETH/USDT", client_order_id=order.client_order_id)
            else:
                side = kind.removeprefix("limit_")
                paper.create_order(
                    symbol="ETH/USDT",
                    side=side,
                    type="limit" if kind.startswith("limit") else "market",
                    amount=amount,
                    price=100 + offset if kind.startswith("limit") else None,
                    client_order_id=f"o{i}",
                )
        except (OrderRejected, InsufficientFunds):
            pass
        for asset, balance in paper.fetch_balance().items():
            assert balance.free >= 0 and balance.used >= 0, (asset, balance)


def test_same_client_id_from_many_threads_creates_one_order(rt):
    account_id = new_account(rt, {"USDT": 10_000.0})
    results, errors = [], []

    def place() -> None:
        paper = PaperExchange(rt, account_id=account_id, feed=WalkFeed(), clock=lambda: T0)
        try:
            results.append(
                paper.create_order(
                    symbol="ETH/USDT", side="buy", type="market", amount=1.0, client_order_id="x"
                )
            )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=place) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({(r.exchange_order_id, r.average) for r in results}) == 1
    with rt.read() as s:
        assert s.exec(select(func.count()).select_from(PaperOrder)).one() == 1
        eth = s.get(PaperBalance, (account_id, "ETH"))
    assert eth.free == pytest.approx(1.0)


def test_paper_book_on_postgresql(pg_rt):
    account_id = new_account(pg_rt, {"USDT": 1000.0})
    paper = PaperExchange(pg_rt, account_id=account_id, feed=WalkFeed(), clock=lambda: T0)
    first = paper.create_order(
        symbol="ETH/USDT", side="buy", type="market", amount=2.0, client_order_id="pg1"
    )
    again = paper.create_order(
        symbol="ETH/USDT", side="buy", type="market", amount=2.0, client_order_id="pg1"
    )
    assert again == first
    assert paper.fetch_balance()["ETH"].free == pytest.approx(2.0)
    with pytest.raises(InsufficientFunds):
        paper.create_order(
            symbol="ETH/USDT", side="buy", type="market", amount=20.0, client_order_id="pg2"
        )


def test_same_client_id_races_on_postgresql(pg_rt):
    account_id = new_account(pg_rt, {"USDT": 10_000.0})
    barrier = threading.Barrier(6)
    errors = []

    def place() -> None:
        paper = PaperExchange(pg_rt, account_id=account_id, feed=WalkFeed(), clock=lambda: T0)
        barrier.wait()
        try:
            paper.create_order(
                symbol="ETH/USDT", side="buy", type="market", amount=1.0, client_order_id="r"
            )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=place) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pg_rt.read() as s:
        assert s.exec(select(func.count()).select_from(PaperOrder)).one() == 1
        assert s.get(PaperBalance, (account_id, "ETH")).free == pytest.approx(1.0)
