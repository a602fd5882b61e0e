"""The fake venues' market orders sized in quote, through the real ccxt classes over HTTP.

What each venue documents, and what ccxt 4.5's `create_market_buy_order_with_cost` sends:

- Binance POST /api/v3/order type=MARKET side=BUY quoteOrderQty=<cost> (ccxt truncates the
  cost to the price precision; no quantity): "the order will buy as many BTC as quoteOrderQty
  USDT can" and "will not break LOT_SIZE": executedQty is quoteOrderQty / price rounded down
  to the step, cummulativeQuoteQty what that cost; below minNotional: -1013 "Filter failure:
  NOTIONAL". quoteOrderQty on a LIMIT order is -1106, with quantity -1128, neither -1102.
- OKX POST /api/v5/trade/batch-orders [{ordType: market, side: buy, tgtCcy: quote_ccy,
  sz: <cost>}]: sz is the quote to spend; accFillSz is what it buys, to the lot size; too
  little: sCode 51020.
- Bybit POST /v5/order/create {orderType: Market, side: Buy, qty: <cost>} with no marketUnit:
  a Spot market Buy's qty is "by value by default" (marketUnit=quoteCoin says the same);
  below minOrderAmt: retCode 170140.

The venues take a buy's fee from the coin received (or in BNB); the fakes charge every fee in
quote, so here it comes on top of the quote spent (tests.fakes.book).
"""

from __future__ import annotations

import time
from decimal import ROUND_FLOOR, Decimal

import ccxt
import pytest

from tests.fakes.book import FEE_RATE
from tests.fakes.exchange import FakeExchange
from tests.fakes.venue_clients import CREATE_PATH, by_client_id, ccxt_client

KEY, SECRET, PASSPHRASE = "cost-venue-key-0123456789", "cost-venue-secret-abcdefgh", "Pass-3"
ALL = pytest.mark.parametrize("venue", ["binance", "okx", "bybit"])
BOOK_SYMBOL = {"BTC/USDT": "BTCUSDT", "ETH/USDT": "ETHUSDT"}
COST_FIELD = {"binance": "quoteOrderQty", "okx": "sz", "bybit": "qty"}
ID_FIELD = {"binance": "newClientOrderId", "okx": "clOrdId", "bybit": "orderLinkId"}
# a cost below each venue's minimum for BTC/USDT, and the venue's own code for it
TOO_LITTLE = {
    "binance": (4.99, -1013, "Filter failure: NOTIONAL"),  # NOTIONAL minNotional 5
    "okx": (0.5, "51020", "minimum order amount"),  # minSz 0.00001 BTC
    "bybit": (0.5, 170140, "lower limit"),  # minOrderAmt 1
}


@pytest.fixture
def fakes():
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


def client(fake: FakeExchange):
    password = PASSPHRASE if fake.venue == "okx" else ""
    exchange = ccxt_client(fake, api_key=KEY, secret=SECRET, password=password)
    exchange.enableLastJsonResponse = True  # _code reads the venue's answer
    return exchange


def bought(quote: str, price: float, step: float) -> float:
    """What `quote` (as sent) buys at `price`, rounded down to `step` (worked out here, not
    with the fake's own helper)."""
    step_d = Decimal(repr(step))
    units = (Decimal(quote) / Decimal(repr(price)) / step_d).to_integral_value(ROUND_FLOOR)
    return float(units * step_d)


def _code(exchange) -> object:
    """The venue's own error code in its last answer."""
    body = exchange.last_json_response or {}
    if "sCode" in str(body):  # OKX: per order, under code "1"
        return body["data"][0]["sCode"]
    return body.get("code", body.get("retCode"))


@ALL
@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT"])
def test_a_cost_buy_buys_what_the_quote_buys_at_the_price_rounded_down_to_the_step(
    fakes, venue, symbol
):
    fake = fakes(venue)
    exchange = client(fake)
    exchange.load_markets()
    price, step = fake.book.price(BOOK_SYMBOL[symbol]), exchange.market(symbol)["precision"]
    exchange.create_market_buy_order_with_cost(symbol, 123.456789, {"clientOrderId": "cost7"})
    (sent,) = fake.posted(CREATE_PATH[venue])
    assert sent[ID_FIELD[venue]] == "cost7"
    wire = sent[COST_FIELD[venue]]  # the cost as ccxt sent it: truncated to its precision
    assert Decimal(wire) <= Decimal("123.456789") and Decimal(wire) > Decimal("123.3")
    order = by_client_id(exchange, symbol, "cost7")
    amount = bought(wire, price, step["amount"])
    assert order["status"] == "closed" and order["filled"] == pytest.approx(amount, abs=1e-12)
    assert order["average"] == pytest.approx(price, rel=1e-9)
    spent = amount * price
    assert spent <= float(wire) < spent + step["amount"] * price  # nothing more fits
    assert order["fee"] == {"cost": pytest.approx(spent * FEE_RATE, abs=1e-8), "currency": "USDT"}
    balance = fake.book.keys[KEY].balances
    assert balance["USDT"] == pytest.approx(100_000 - spent * (1 + FEE_RATE), abs=1e-8)
    assert balance[symbol.split("/")[0]] == pytest.approx(
        (1.0 if symbol == "BTC/USDT" else 0.0) + amount, abs=1e-12
    )


@ALL
def test_the_request_carries_the_venues_own_cost_field(fakes, venue):
    fake = fakes(venue)
    exchange = client(fake)
    exchange.create_market_buy_order_with_cost("BTC/USDT", 50.0, {"clientOrderId": "wire1"})
    (sent,) = fake.posted(CREATE_PATH[venue])
    if venue == "binance":
        assert (sent["type"], sent["side"], sent["quoteOrderQty"]) == ("MARKET", "BUY", "50")
        assert "quantity" not in sent
        assert fake.orders(KEY)[0]["origQuoteOrderQty"] == "50.00000000"
    elif venue == "okx":
        assert (sent["ordType"], sent["side"], sent["tgtCcy"], sent["sz"]) == (
            "market",
            "buy",
            "quote_ccy",
            "50",
        )
    else:  # Bybit's default unit for a Spot market Buy is the quote coin: ccxt relies on it
        assert (sent["orderType"], sent["side"], sent["qty"]) == ("Market", "Buy", "50")
        assert sent.get("marketUnit", "quoteCoin") == "quoteCoin"
        assert fake.orders(KEY)[0]["marketUnit"] == "quoteCoin"


def test_bybit_takes_market_unit_quote_coin_and_base_coin_as_documented(fakes):
    fake = fakes("bybit")
    exchange = client(fake)
    exchange.load_markets()
    price = fake.book.price("BTCUSDT")
    exchange.create_order("BTC/USDT", "market", "buy", 60.0, None, {"marketUnit": "quoteCoin"})
    exchange.create_order("BTC/USDT", "market", "buy", 0.002, None, {"marketUnit": "baseCoin"})
    first, second = fake.orders(KEY)
    assert [s["marketUnit"] for s in fake.posted("/v5/order/create")] == ["quoteCoin", "baseCoin"]
    assert float(first["cumExecQty"]) == pytest.approx(bought("60", price, 1e-6), abs=1e-12)
    assert float(second["cumExecQty"]) == pytest.approx(0.002)  # base: as before


@ALL
def test_a_cost_below_the_minimum_is_refused_with_the_venues_own_code(fakes, venue):
    fake = fakes(venue)
    exchange = client(fake)
    cost, code, words = TOO_LITTLE[venue]
    with pytest.raises((ccxt.InvalidOrder, ccxt.BadRequest), match=words):  # Binance: -1013
        exchange.create_market_buy_order_with_cost("BTC/USDT", cost, {"clientOrderId": "tiny1"})
    assert _code(exchange) == code
    assert fake.orders(KEY) == [] and fake.book.keys[KEY].balances["USDT"] == 100_000


def flat(level: float):
    """A price source at `level` for every candle."""

    def source(symbol, interval_ms, start_ms, count):
        return [
            (start_ms + i * interval_ms, level, level, level, level, 10.0) for i in range(count)
        ]

    return source


@ALL
def test_a_cost_beyond_the_balance_is_insufficient_funds_and_books_nothing(fakes, venue):
    fake = fakes(venue, balances={"USDT": 100.0})
    fake.book.price_source = flat(50_000.0)  # 100 USDT buys exactly 0.002 BTC
    exchange = client(fake)
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_market_buy_order_with_cost("BTC/USDT", 100.5, {"clientOrderId": "poor1"})
    # the fee comes on top of the quote spent: 100 + 0.1 is more than the balance
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_market_buy_order_with_cost("BTC/USDT", 100.0, {"clientOrderId": "poor2"})
    assert fake.orders(KEY) == []
    exchange.create_market_buy_order_with_cost("BTC/USDT", 99.9, {"clientOrderId": "poor3"})
    amount = bought("99.9", 50_000.0, exchange.market("BTC/USDT")["precision"]["amount"])
    assert fake.book.keys[KEY].balances == {
        "USDT": pytest.approx(100.0 - amount * 50_000 * (1 + FEE_RATE)),
        "BTC": pytest.approx(amount),
    }


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({"type": "LIMIT", "price": "50000", "timeInForce": "GTC", "quantity": "0.001"}, -1106,
         "'quoteOrderQty' sent when not required"),
        ({"type": "MARKET", "quantity": "0.001"}, -1128, "Combination of optional parameters"),
        ({"type": "MARKET", "quoteOrderQty": None}, -1102, "must be sent, but both were empty"),
        ({"type": "MARKET", "quoteOrderQty": "10.123456789"}, -1111, "too much precision"),
    ],
)  # fmt: skip
def test_binance_refuses_quote_order_qty_where_it_does_not_belong(fakes, fields, code, words):
    fake = fakes("binance")
    exchange = client(fake)
    request = {"symbol": "BTCUSDT", "side": "BUY", "quoteOrderQty": "50"} | fields
    with pytest.raises(ccxt.BaseError, match=words):
        exchange.privatePostOrder({k: v for k, v in request.items() if v is not None})
    assert _code(exchange) == code and fake.orders(KEY) == []


@pytest.mark.parametrize("venue", ["binance", "okx", "bybit"])
def test_a_market_sell_sized_in_quote_sells_what_brings_at_most_that_quote(fakes, venue):
    fake = fakes(venue)
    exchange = client(fake)
    exchange.load_markets()
    price, step = fake.book.price("BTCUSDT"), exchange.market("BTC/USDT")["precision"]["amount"]
    if venue == "binance":
        exchange.privatePostOrder(
            {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quoteOrderQty": "100"}
        )
    elif venue == "okx":
        exchange.create_order("BTC/USDT", "market", "sell", 100, None, {"tgtCcy": "quote_ccy"})
    else:
        exchange.create_order("BTC/USDT", "market", "sell", 100, None, {"marketUnit": "quoteCoin"})
    (order,) = fake.book.orders[KEY]
    assert order.side == "sell" and order.qty == pytest.approx(bought("100", price, step))
    assert order.cost <= 100.0


@pytest.mark.parametrize("venue", ["okx", "bybit"])
def test_limit_orders_ignore_the_quote_unit(fakes, venue):
    """OKX's tgtCcy and Bybit's marketUnit are for Spot market orders only."""
    fake = fakes(venue)
    exchange = client(fake)
    unit = {"tgtCcy": "quote_ccy"} if venue == "okx" else {"marketUnit": "quoteCoin"}
    exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 10_000, unit)
    (order,) = fake.book.orders[KEY]
    assert (order.kind, order.qty, order.status) == ("limit", 0.01, "open")
