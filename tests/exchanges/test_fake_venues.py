"""The fake OKX and Bybit (and Binance) against the real ccxt classes over real HTTP.

Each client is the real `ccxt.okx` / `ccxt.bybit` / `ccxt.binance`, pointed at the fake the way
core.exchanges.live does it; how each venue's ccxt class finds an order by client id is in
tests.fakes.venue_clients.
"""

from __future__ import annotations

import time

import ccxt
import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.venue_clients import (
    BALANCE_PATH,
    CREATE_PATH,
    by_client_id,
    cancel_by_client_id,
    ccxt_client,
)

KEY, SECRET, PASSPHRASE = "fake-venue-key-0123456789", "fake-venue-secret-abcdefghij", "Pass-1"
BOTH = pytest.mark.parametrize("venue", ["okx", "bybit"])
ALL = pytest.mark.parametrize("venue", ["binance", "okx", "bybit"])
FIRST_SIGNED = {"okx": "/api/v5/asset/currencies", "bybit": "/v5/asset/coin/query-info"}


@pytest.fixture
def fakes():
    started: list[FakeExchange] = []

    def make(venue: str, **switches) -> FakeExchange:
        fake = FakeExchange(venue=venue, **switches)
        fake.start()
        fake.add_key(KEY, SECRET, passphrase=PASSPHRASE)
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


def client(fake: FakeExchange, *, key=KEY, secret=SECRET, password=PASSPHRASE, timeout_ms=2000):
    password = password if fake.venue == "okx" else ""
    return ccxt_client(fake, api_key=key, secret=secret, password=password, timeout_ms=timeout_ms)


def buy(exchange, client_id: str, *, amount=0.001, price=None, symbol="BTC/USDT") -> dict:
    kind = "market" if price is None else "limit"
    return exchange.create_order(symbol, kind, "buy", amount, price, {"clientOrderId": client_id})


@BOTH
def test_markets_load_with_the_venues_precision_and_limits(fakes, venue):
    markets = client(fakes(venue)).load_markets()
    btc, eth = markets["BTC/USDT"], markets["ETH/USDT"]
    assert btc["spot"] and btc["active"] and (btc["base"], btc["quote"]) == ("BTC", "USDT")
    expected = {"okx": (1e-8, 0.1, 1e-5), "bybit": (1e-6, 0.01, 4.8e-5)}[venue]
    assert (btc["precision"]["amount"], btc["precision"]["price"]) == expected[:2]
    assert btc["limits"]["amount"]["min"] == expected[2]
    assert eth["precision"]["price"] == 0.01
    assert all(m["spot"] for m in markets.values())


@BOTH
def test_ohlcv_comes_back_oldest_first_one_candle_apart(fakes, venue):
    exchange = client(fakes(venue))
    latest = exchange.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    now = exchange.milliseconds()
    assert len(latest) == 5 and latest[-1][0] == now - now % 60_000
    assert all(b[0] - a[0] == 60_000 for a, b in zip(latest, latest[1:], strict=False))
    since = latest[0][0] - 100 * 60_000
    since -= since % 300_000
    page = exchange.fetch_ohlcv("ETH/USDT", "5m", since=since, limit=3)
    assert [row[0] for row in page] == [since + i * 300_000 for i in range(3)]
    assert all(row[3] <= min(row[1], row[4]) <= max(row[1], row[4]) <= row[2] for row in page)


@BOTH
def test_balance_shows_free_and_what_a_resting_order_holds(fakes, venue):
    exchange = client(fakes(venue))
    before = exchange.fetch_balance()
    assert before["USDT"]["free"] == 100_000 and before["BTC"]["total"] == 1
    buy(exchange, "rest1", amount=0.01, price=10_000)
    after = exchange.fetch_balance()
    assert after["USDT"]["used"] == pytest.approx(100.0)
    assert after["USDT"]["free"] == pytest.approx(100_000 - 100.0)


@ALL
def test_a_market_buy_with_a_client_id_fills_and_is_found_by_that_id(fakes, venue):
    fake = fakes(venue)
    exchange = client(fake)
    buy(exchange, "mkt1")
    order = by_client_id(exchange, "BTC/USDT", "mkt1")
    assert order["clientOrderId"] == "mkt1" and order["status"] == "closed"
    assert order["filled"] == pytest.approx(0.001) and order["fee"]["currency"] == "USDT"
    assert order["cost"] == pytest.approx(0.001 * order["average"])
    assert exchange.fetch_balance()["BTC"]["total"] == pytest.approx(1.001)
    assert len(fake.orders(KEY)) == 1


@ALL
def test_a_duplicate_id_of_an_open_order_is_refused_but_a_filled_ones_is_reused(fakes, venue):
    fake = fakes(venue)
    exchange = client(fake)
    buy(exchange, "lim1", price=10_000)
    with pytest.raises(ccxt.InvalidOrder):
        buy(exchange, "lim1", price=10_000)
    first = buy(exchange, "mkt2")
    second = buy(exchange, "mkt2")
    assert first["id"] != second["id"]
    assert by_client_id(exchange, "BTC/USDT", "mkt2")["id"] == second["id"]  # the newest
    cancel_by_client_id(exchange, "BTC/USDT", "lim1")
    buy(exchange, "lim1", price=10_000)  # cancelled: its id is free again
    assert [o["status"] for o in exchange.fetch_open_orders("BTC/USDT")] == ["open"]
    assert len(fake.orders(KEY)) == 4


@ALL
def test_reject_reused_ids_refuses_any_id_ever_used(fakes, venue):
    exchange = client(fakes(venue, reject_reused_ids=True))
    buy(exchange, "once")
    with pytest.raises(ccxt.InvalidOrder):
        buy(exchange, "once")


@ALL
def test_an_order_is_not_found_by_client_id_until_the_visibility_delay_passes(fakes, venue):
    fake = fakes(venue, visibility_delay_ms=1500)
    exchange = client(fake)
    exchange.load_markets()
    sent = time.monotonic()
    created = buy(exchange, "late1")
    assert created["clientOrderId"] == "late1"  # the create answer itself is immediate
    with pytest.raises(ccxt.OrderNotFound):
        by_client_id(exchange, "BTC/USDT", "late1")
    assert exchange.fetch_closed_orders("BTC/USDT") == []
    assert exchange.fetch_balance()["BTC"]["total"] == pytest.approx(1.001)  # it did execute
    buy(exchange, "open1", price=10_000)
    with pytest.raises(ccxt.InvalidOrder):  # the engine knows it at once: the id is taken
        buy(exchange, "open1", price=10_000)
    while True:
        try:
            found = by_client_id(exchange, "BTC/USDT", "late1")
            break
        except ccxt.OrderNotFound:
            assert time.monotonic() - sent < 5
            time.sleep(0.1)
    assert time.monotonic() - sent >= 1.5 and found["status"] == "closed"


@BOTH
def test_open_and_closed_orders_are_listed_and_cancel_by_client_id_works_once(fakes, venue):
    exchange = client(fakes(venue))
    buy(exchange, "open2", price=1000, symbol="ETH/USDT", amount=0.01)
    buy(exchange, "done2", symbol="ETH/USDT", amount=0.01)
    assert [o["clientOrderId"] for o in exchange.fetch_open_orders("ETH/USDT")] == ["open2"]
    closed = exchange.fetch_closed_orders("ETH/USDT")
    assert [(o["clientOrderId"], o["status"]) for o in closed] == [("done2", "closed")]
    cancel_by_client_id(exchange, "ETH/USDT", "open2")
    assert exchange.fetch_open_orders("ETH/USDT") == []
    assert by_client_id(exchange, "ETH/USDT", "open2")["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        cancel_by_client_id(exchange, "ETH/USDT", "open2")
    with pytest.raises(ccxt.OrderNotFound):
        by_client_id(exchange, "ETH/USDT", "never-sent")


@pytest.mark.parametrize(
    ("venue", "wrong"),
    [("okx", "secret"), ("okx", "key"), ("okx", "password"), ("bybit", "secret"), ("bybit", "key")],
)
def test_wrong_credentials_are_an_authentication_error(fakes, venue, wrong):
    fake = fakes(venue)
    exchange = client(fake, **{wrong: "wrong-" + {"key": KEY, "secret": SECRET}.get(wrong, "x")})
    with pytest.raises(ccxt.AuthenticationError):
        exchange.fetch_balance()
    # load_markets' first signed request (the currencies) is refused once and not retried
    assert fake.requests("GET", FIRST_SIGNED[venue]) == 1
    assert fake.requests("GET", BALANCE_PATH[venue]) == 0


@BOTH
@pytest.mark.parametrize("withdrawals", [False, True])
def test_key_permissions_say_whether_the_key_can_withdraw(fakes, venue, withdrawals):
    fake = fakes(venue)
    fake.add_key("perm-key-000000001", "perm-secret-00001", passphrase="P", withdrawals=withdrawals)
    exchange = client(fake, key="perm-key-000000001", secret="perm-secret-00001", password="P")
    if venue == "okx":
        perm = exchange.privateGetAccountConfig()["data"][0]["perm"].split(",")
        assert "trade" in perm and ("withdraw" in perm) is withdrawals
    else:
        info = exchange.privateGetV5UserQueryApi()["result"]
        assert info["readOnly"] == 0 and info["permissions"]["Spot"] == ["SpotTrade"]
        assert ("Withdraw" in info["permissions"]["Wallet"]) is withdrawals


@ALL
def test_a_lost_answer_executes_the_order_yet_the_client_sees_a_network_error(fakes, venue):
    fake = fakes(venue)
    exchange = client(fake)
    exchange.load_markets()
    fake.inject("lost", path=CREATE_PATH[venue], count=1)
    with pytest.raises(ccxt.NetworkError):
        buy(exchange, "lost1")
    assert by_client_id(exchange, "BTC/USDT", "lost1")["status"] == "closed"
    assert len(fake.orders(KEY)) == 1 and fake.requests("POST", CREATE_PATH[venue]) == 1
