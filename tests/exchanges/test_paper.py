"""Paper exchange fills: price, slippage, fees, precision, minimums, funds, limit orders."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.errors import InsufficientFunds, InvalidInput, OrderRejected
from core.exchanges.base import Candle, Exchange, Market
from core.exchanges.paper import PaperExchange
from core.models import ExchangeAccount, PaperBalance, PaperOrder, User
from tests.factories import make_user

T0 = 1_700_000_080_000  # 40 s into a minute
MINUTE = 60_000
BTC = Market(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    amount_step=0.0001,
    price_step=0.01,
    min_amount=0.0001,
    min_notional=5.0,
    taker_fee=0.001,
    maker_fee=0.0008,
)


class StubFeed(Exchange):
    """Flat 1m candles (open 100, high 101, low 99) unless a test sets one."""

    id = "stub"

    def __init__(self) -> None:
        self.candles: dict[int, Candle] = {}

    def load_markets(self) -> dict[str, Market]:
        return {"BTC/USDT": BTC}

    def candle(self, ts: int) -> Candle:
        return self.candles.get(ts, Candle(ts, 100.0, 101.0, 99.0, 100.0, 1.0))

    def fetch_candles(self, symbol, timeframe, since=None, limit=None):
        start = since - since % MINUTE
        return [self.candle(start + i * MINUTE) for i in range(limit or 1)]

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


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def make_account(rt, balances: dict[str, float], label: str = "paper") -> int:
    with rt.session() as s:
        user = s.exec(select(User).where(User.username == "pat")).first()
        if user is None:
            user = make_user(s, username="pat")
        acc = ExchangeAccount(owner_id=user.id, label=label, exchange_id="stub", kind="paper")
        s.add(acc)
        s.flush()
        s.add_all(PaperBalance(account_id=acc.id, asset=a, free=v) for a, v in balances.items())
        return acc.id


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def feed() -> StubFeed:
    return StubFeed()


@pytest.fixture
def paper(rt, feed, clock) -> PaperExchange:
    account_id = make_account(rt, {"USDT": 1000.0, "BTC": 1.0})
    return PaperExchange(rt, account_id=account_id, feed=feed, slippage_bps=10, clock=clock)


def buy(paper, amount=1.0, cid="c1", **kw):
    return paper.create_order(
        symbol="BTC/USDT", side="buy", type="market", amount=amount, client_order_id=cid, **kw
    )


def test_market_buy_fills_at_the_open_of_the_current_minute_plus_slippage(paper, feed):
    feed.candles[T0 - 40_000] = Candle(T0 - 40_000, 200.0, 210.0, 190.0, 205.0, 1.0)
    result = buy(paper, amount=2.0)
    assert result.status == "closed"
    assert result.average == pytest.approx(200.2)  # 200 + 10 bps
    assert result.filled == 2.0


def test_market_buy_charges_the_taker_fee_in_quote(paper):
    result = buy(paper, amount=2.0)
    assert result.fee_currency == "USDT"
    assert result.fee == pytest.approx(2.0 * 100.1 * 0.001)
    balances = paper.fetch_balance()
    assert balances["USDT"].free == pytest.approx(1000 - 200.2 - 0.2002)
    assert balances["BTC"].free == pytest.approx(3.0)


def test_market_sell_fills_below_the_open(paper):
    result = paper.create_order(
        symbol="BTC/USDT", side="sell", type="market", amount=0.5, client_order_id="s1"
    )
    assert result.average == pytest.approx(99.9)
    assert paper.fetch_balance()["USDT"].free == pytest.approx(1000 + 49.95 * 0.999)


def test_amount_is_rounded_down_to_the_step(paper):
    assert buy(paper, amount=0.123456).amount == pytest.approx(0.1234)


def test_below_min_amount_is_rejected_and_nothing_is_written(rt, paper):
    with pytest.raises(OrderRejected, match="below the minimum"):
        buy(paper, amount=0.00005)
    with rt.read() as s:
        assert s.exec(select(PaperOrder)).all() == []


def test_below_min_notional_is_rejected(paper):
    with pytest.raises(OrderRejected, match="order value"):
        buy(paper, amount=0.04)  # 4 USDT < 5


def test_insufficient_balance_is_refused_and_changes_nothing(paper):
    before = paper.fetch_balance()
    with pytest.raises(InsufficientFunds, match="USDT"):
        buy(paper, amount=20.0)
    assert paper.fetch_balance() == before
    assert paper.fetch_order(symbol="BTC/USDT", client_order_id="c1") is None


def test_selling_more_than_held_is_refused(paper):
    with pytest.raises(InsufficientFunds, match="BTC"):
        paper.create_order(
            symbol="BTC/USDT", side="sell", type="market", amount=1.5, client_order_id="s1"
        )


def test_repeated_client_order_id_returns_the_first_order_and_changes_nothing(paper, feed):
    first = buy(paper, amount=1.0)
    after_first = paper.fetch_balance()
    feed.candles[T0 - 40_000] = Candle(T0 - 40_000, 300.0, 300.0, 300.0, 300.0, 1.0)
    again = buy(paper, amount=3.0)
    assert again == first
    assert paper.fetch_balance() == after_first


def test_invalid_order_parameters_are_rejected(paper):
    with pytest.raises(OrderRejected):
        buy(paper, amount=float("nan"))
    with pytest.raises(OrderRejected):
        paper.create_order(
            symbol="BTC/USDT", side="buy", type="limit", amount=1, client_order_id="l0"
        )


def test_unknown_symbol_is_refused(paper):
    with pytest.raises(InvalidInput, match="DOGE/USDT"):
        paper.create_order(
            symbol="DOGE/USDT", side="buy", type="market", amount=1, client_order_id="d"
        )


def limit(paper, side, price, amount=1.0, cid="l1"):
    return paper.create_order(
        symbol="BTC/USDT", side=side, type="limit", amount=amount, price=price, client_order_id=cid
    )


def test_resting_limit_buy_reserves_quote_with_the_maker_fee(paper):
    order = limit(paper, "buy", 95.0)
    assert order.status == "open"
    balance = paper.fetch_balance()["USDT"]
    assert balance.used == pytest.approx(95.0 * 1.0008)
    assert balance.total == pytest.approx(1000.0)


def test_limit_buy_fills_at_its_price_when_a_later_candle_crosses(paper, feed, clock):
    limit(paper, "buy", 95.0)
    next_open = T0 - 40_000 + MINUTE
    feed.candles[next_open + MINUTE] = Candle(next_open + MINUTE, 97, 98, 94, 96, 1)
    clock.now = next_open + 3 * MINUTE
    result = paper.fetch_order(symbol="BTC/USDT", client_order_id="l1")
    assert (result.status, result.average) == ("closed", 95.0)
    assert result.fee == pytest.approx(95.0 * 0.0008)
    balances = paper.fetch_balance()
    assert balances["USDT"].used == pytest.approx(0.0, abs=1e-9)
    assert balances["USDT"].free == pytest.approx(1000 - 95.0 * 1.0008)
    assert balances["BTC"].free == pytest.approx(2.0)


def test_limit_is_not_filled_by_its_own_candle(paper, feed, clock):
    own = T0 - 40_000
    feed.candles[own] = Candle(own, 100, 100, 90, 100, 1)  # crossed before the order existed
    limit(paper, "buy", 95.0)
    clock.now = own + 2 * MINUTE
    assert paper.fetch_open_orders()[0].client_order_id == "l1"


def test_limit_is_not_filled_by_a_candle_still_forming(paper, feed, clock):
    limit(paper, "buy", 95.0)
    forming = T0 - 40_000 + MINUTE
    feed.candles[forming] = Candle(forming, 100, 100, 90, 100, 1)
    clock.now = forming + 30_000
    assert len(paper.fetch_open_orders("BTC/USDT")) == 1


def test_limit_sell_reserves_base_and_fills_when_high_crosses(paper, feed, clock):
    limit(paper, "sell", 105.0, amount=0.5)
    assert paper.fetch_balance()["BTC"].used == pytest.approx(0.5)
    later = T0 - 40_000 + 2 * MINUTE
    feed.candles[later] = Candle(later, 101, 106, 100, 104, 1)
    clock.now = later + MINUTE
    balances = paper.fetch_balance()
    assert balances["BTC"].total == pytest.approx(0.5)
    assert balances["USDT"].free == pytest.approx(1000 + 52.5 * 0.9992)


def test_marketable_limit_fills_at_once_capped_at_its_price(paper):
    result = limit(paper, "buy", 100.05)  # open 100 + 10 bps = 100.10 > limit
    assert (result.status, result.average) == ("closed", 100.05)
    assert result.fee == pytest.approx(100.05 * 0.001)  # taker


def test_cancel_releases_the_reservation(paper):
    limit(paper, "buy", 95.0)
    canceled = paper.cancel_order(symbol="BTC/USDT", client_order_id="l1")
    assert canceled.status == "canceled"
    assert paper.fetch_balance()["USDT"] == paper.fetch_balance()["USDT"].__class__(1000.0, 0.0)
    assert paper.fetch_open_orders() == []


def test_limit_buy_beyond_free_balance_is_refused(paper):
    with pytest.raises(InsufficientFunds):
        limit(paper, "buy", 90.0, amount=11.2)


def test_the_book_is_shared_by_every_instance_of_the_account(rt, paper, feed, clock):
    buy(paper, amount=1.0)
    other = PaperExchange(rt, account_id=paper.account_id, feed=feed, clock=clock)
    assert other.fetch_order(symbol="BTC/USDT", client_order_id="c1").status == "closed"
    assert other.fetch_balance() == paper.fetch_balance()


def test_a_live_account_is_not_a_paper_account(rt, feed):
    with rt.session() as s:
        user = make_user(s, username="liv")
        acc = ExchangeAccount(owner_id=user.id, label="live", exchange_id="binance")
        s.add(acc)
        s.flush()
        account_id = acc.id
    with pytest.raises(InvalidInput, match="not a paper account"):
        PaperExchange(rt, account_id=account_id, feed=feed)
