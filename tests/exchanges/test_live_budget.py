"""Buys sized at the fill price through LiveExchange: the real ccxt clients against the fake
Binance, OKX and Bybit over HTTP on 127.0.0.1.

`create_order(..., budget=B)` on an exchange whose capability row has `cost_buy` sends ccxt's
`create_market_buy_order_with_cost(B / (1 + taker fee))`: the venue spends that quote at its
price and the amount is what it buys there. Elsewhere the amount is sized from the last price
with PRICE_MARGIN and an ordinary amount order goes out.
"""

from __future__ import annotations

import dataclasses
import time
from decimal import ROUND_FLOOR, Decimal

import ccxt
import pytest

from core import errors
from core.exchanges import capabilities as caps
from core.exchanges.base import fill_amount
from core.exchanges.live import PRICE_MARGIN, LiveExchange
from tests.exchanges.test_capabilities_wire import CREATE, SYMBOL, sent_id, wired
from tests.fakes.book import FEE_RATE
from tests.fakes.exchange import FakeExchange
from tests.fakes.venue_clients import CREATE_PATH

KEY, SECRET, PASSPHRASE = "budget-key-0123456789", "budget-secret-0123456789", "Pass-4"
CID = "sb-7-1796000000-0"
VENUES = ["binance", "okx", "bybit"]
BOOK_SYMBOL = {"BTC/USDT": "BTCUSDT", "ETH/USDT": "ETHUSDT"}
# where each venue's create request carries the quote to spend, and our id
COST_FIELD = {"binance": "quoteOrderQty", "okx": "sz", "bybit": "qty"}
ID_FIELD = {"binance": "newClientOrderId", "okx": "clOrdId", "bybit": "orderLinkId"}


@pytest.fixture
def venue_fake():
    started: list[FakeExchange] = []

    def make(venue: str, balances: dict | None = None) -> FakeExchange:
        frozen = int(time.time() * 1000)  # one price for the whole test
        fake = FakeExchange(venue=venue, now_ms=lambda: frozen)
        fake.start()
        fake.add_key(KEY, SECRET, passphrase=PASSPHRASE, balances=balances)
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


def live(fake: FakeExchange) -> LiveExchange:
    return LiveExchange(
        exchange_id=fake.venue,
        api_key=KEY,
        secret=SECRET,
        password=PASSPHRASE if fake.venue == "okx" else None,
        api_url=fake.url,
        timeout_ms=2000,
        sleep=lambda _s: None,
    )


def truncated(value: float, step: float) -> Decimal:
    """`value` cut down to a multiple of `step` (ccxt's cost_to_precision: TRUNCATE)."""
    step_d = Decimal(repr(step))
    return (Decimal(repr(value)) / step_d).to_integral_value(ROUND_FLOOR) * step_d


def bought(quote: Decimal, price: float, step: float) -> float:
    step_d = Decimal(repr(step))
    return float((quote / Decimal(repr(price)) / step_d).to_integral_value(ROUND_FLOOR) * step_d)


def settled(ex: LiveExchange, result, symbol: str = SYMBOL):
    """The order's fill: from the answer (Binance), else looked up by our id (OKX and Bybit
    acknowledge a create with the ids only)."""
    if result.status == "closed":
        return result
    assert result.status == "open" and result.filled == 0  # acknowledged, not yet reported
    return ex.fetch_order(symbol=symbol, client_order_id=CID)


@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT"])
@pytest.mark.parametrize("venue", VENUES)
def test_a_budget_buys_at_the_fill_price_through_the_venues_cost_field(venue_fake, venue, symbol):
    fake = venue_fake(venue)
    ex = live(fake)
    market = ex.market(symbol)
    price = fake.book.price(BOOK_SYMBOL[symbol])
    budget = 1234.5678
    result = ex.create_order(
        symbol=symbol, side="buy", type="market", amount=0.001, client_order_id=CID, budget=budget
    )
    # one request to the order endpoint, carrying the venue's cost field and our id
    (sent,) = fake.posted(CREATE_PATH[venue])
    assert sent[ID_FIELD[venue]] == caps.to_wire(caps.capability(venue), CID)
    cost_step = ex.client.market(symbol)["precision"].get("cost") or market.price_step
    wire = truncated(budget / (1 + market.taker_fee), cost_step)
    assert Decimal(sent[COST_FIELD[venue]]) == wire
    if venue == "binance":
        assert (sent["type"], sent["side"]) == ("MARKET", "BUY") and "quantity" not in sent
    elif venue == "okx":
        assert (sent["ordType"], sent["side"], sent["tgtCcy"]) == ("market", "buy", "quote_ccy")
    else:  # no marketUnit: a Bybit Spot market Buy's qty is in quote by default
        assert (sent["orderType"], sent["side"]) == ("Market", "Buy")
        assert sent.get("marketUnit", "quoteCoin") == "quoteCoin"
    fill = settled(ex, result, symbol)
    # the amount is what B / (1 + fee) buys at the venue's price, rounded down to its step
    amount = bought(wire, price, market.amount_step)
    assert fill.status == "closed" and fill.amount == pytest.approx(amount, abs=1e-12)
    assert fill.filled == pytest.approx(amount, abs=1e-12)
    assert fill.average == pytest.approx(price, rel=1e-9)
    assert fill.cost == pytest.approx(amount * price, abs=1e-6)
    assert fill.fee == pytest.approx(amount * price * FEE_RATE, abs=1e-6)
    assert fill.cost + fill.fee <= budget
    balances = fake.book.keys[KEY].balances
    assert 100_000 - balances["USDT"] == pytest.approx(fill.cost + fill.fee, abs=1e-6)
    assert fake.requests("POST", CREATE_PATH[venue]) == 1


@pytest.mark.parametrize("venue", VENUES)
def test_all_the_cash_is_spent_without_exceeding_it(venue_fake, venue):
    """A budget of the whole balance: the venue's own check (the quote sent, and what the
    fill costs with its fee) passes, and the account never goes below zero."""
    fake = venue_fake(venue, balances={"USDT": 500.0})
    ex = live(fake)
    result = ex.create_order(
        symbol=SYMBOL, side="buy", type="market", amount=0.0, client_order_id=CID, budget=500.0
    )
    fill = settled(ex, result)
    assert fill.status == "closed" and fill.filled > 0
    left = fake.book.keys[KEY].balances["USDT"]
    assert 0 <= left == pytest.approx(500.0 - fill.cost - fill.fee, abs=1e-6)
    assert left < 1.0  # all but the rounding to the cost precision and the amount step


@pytest.mark.parametrize("venue", VENUES)
def test_a_budget_below_the_minimum_is_rejected_by_the_venue(venue_fake, venue):
    fake = venue_fake(venue)
    ex = live(fake)
    with pytest.raises(errors.OrderRejected):
        ex.create_order(
            symbol=SYMBOL, side="buy", type="market", amount=0.0, client_order_id=CID, budget=0.5
        )
    assert fake.requests("POST", CREATE_PATH[venue]) == 1 and fake.orders(KEY) == []


def test_without_a_cost_buy_the_amount_is_sized_from_the_last_price_with_the_margin(
    venue_fake, monkeypatch
):
    row = dataclasses.replace(caps.TABLE["binance"], cost_buy=False)
    monkeypatch.setitem(caps.TABLE, "binance", row)
    fake = venue_fake("binance")
    ex = live(fake)
    market = ex.market(SYMBOL)
    budget = 1000.0
    last = ex.last_price(SYMBOL)
    assert last == pytest.approx(fake.book.price("BTCUSDT"))
    tickers = fake.requests("GET", "/api/v3/ticker/price") + fake.requests(
        "GET", "/api/v3/ticker/24hr"
    )
    expected = fill_amount(budget * (1 - PRICE_MARGIN), last, market.taker_fee, market)
    result = ex.create_order(
        symbol=SYMBOL, side="buy", type="market", amount=0.001, client_order_id=CID, budget=budget
    )
    after = fake.requests("GET", "/api/v3/ticker/price") + fake.requests(
        "GET", "/api/v3/ticker/24hr"
    )
    assert after == tickers + 1  # the freshest price, asked for at the order
    (sent,) = fake.posted("/api/v3/order")
    assert "quoteOrderQty" not in sent and float(sent["quantity"]) == pytest.approx(expected)
    assert sent["newClientOrderId"] == CID
    assert result.status == "closed" and result.filled == pytest.approx(expected)
    assert result.cost + result.fee <= budget * (1 - PRICE_MARGIN)


def test_without_a_cost_buy_a_budget_too_small_at_the_last_price_is_never_sent(
    venue_fake, monkeypatch
):
    monkeypatch.setitem(
        caps.TABLE, "binance", dataclasses.replace(caps.TABLE["binance"], cost_buy=False)
    )
    fake = venue_fake("binance")
    with pytest.raises(errors.OrderRejected, match="minimum"):
        live(fake).create_order(
            symbol=SYMBOL, side="buy", type="market", amount=0.0, client_order_id=CID, budget=4.0
        )
    assert fake.requests("POST", "/api/v3/order") == 0


@pytest.mark.parametrize(
    "order",
    [
        {"side": "sell", "type": "market"},
        {"side": "buy", "type": "limit", "price": 50_000.0},
        {"side": "sell", "type": "limit", "price": 70_000.0},
        {"side": "buy", "type": "market", "budget": 0.0},
        {"side": "buy", "type": "market", "budget": -5.0},
        {"side": "buy", "type": "market", "budget": float("nan")},
    ],
)
@pytest.mark.parametrize("venue", VENUES)
def test_a_budget_on_anything_but_a_market_buy_is_refused_before_any_request(
    venue_fake, venue, order
):
    fake = venue_fake(venue)
    with pytest.raises(errors.OrderRejected, match="budget"):
        live(fake).create_order(
            **({"symbol": SYMBOL, "amount": 0.001, "client_order_id": CID, "budget": 100.0} | order)
        )
    assert sum(fake.stats.values()) == 0  # not even the markets were loaded


@pytest.mark.parametrize("exchange_id", sorted(caps.TABLE))
def test_cost_buy_is_what_ccxt_says_the_exchange_supports(exchange_id):
    has = getattr(ccxt, exchange_id)().has.get("createMarketBuyOrderWithCost")
    assert caps.TABLE[exchange_id].cost_buy is bool(has)


@pytest.mark.parametrize(
    "exchange_id", [e for e in caps.live_exchange_ids() if caps.TABLE[e].cost_buy]
)
def test_every_cost_buy_carries_our_id_in_the_exchanges_field_and_is_sent_once(exchange_id):
    """The cost-based market buy, as ccxt builds it for each exchange that has one (no
    network: the recorder of test_capabilities_wire), still carries our client id."""
    cap = caps.capability(exchange_id)
    ex, sent = wired(exchange_id)
    if exchange_id == "kucoin":  # its cost precision, from the market's info as KuCoin lists it
        ex.client.markets[SYMBOL]["info"]["quoteIncrement"] = "0.01"
    with pytest.raises(errors.OrderStateUnknown):  # the recorder's NetworkError
        ex.create_order(
            symbol=SYMBOL,
            side="buy",
            type="market",
            amount=0.001,
            client_order_id="sb-12-1796093280-0",
            budget=1001.0,
        )
    assert len(sent) == 1, sent
    assert sent[0].method == "POST" and sent[0].path.startswith(CREATE[exchange_id])
    assert sent[0].fields[cap.wire_field] == sent_id(cap)
    assert sent[0].mentions("1000")  # 1001 / 1.001: the cost, in the exchange's own field
