"""The fake venues' faults, refusals and command line, seen through the real ccxt classes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import ccxt
import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.venue_clients import BALANCE_PATH, by_client_id, ccxt_client
from tests.servers import free_port

KEY, SECRET, PASSPHRASE = "fault-venue-key-0123456789", "fault-venue-secret-abcdefgh", "Pass-2"


@pytest.fixture(params=["okx", "bybit"])
def fake(request):
    f = FakeExchange(venue=request.param)
    f.start()
    f.add_key(KEY, SECRET, passphrase=PASSPHRASE)
    yield f
    f.stop()


def client(fake, *, timeout_ms=2000):
    password = PASSPHRASE if fake.venue == "okx" else ""
    return ccxt_client(fake, api_key=KEY, secret=SECRET, password=password, timeout_ms=timeout_ms)


def test_429_is_rate_limit_exceeded_with_the_retry_after_header(fake):
    exchange = client(fake)
    exchange.load_markets()
    fake.inject("429", path=BALANCE_PATH[fake.venue], count=1, retry_after=7)
    with pytest.raises(ccxt.RateLimitExceeded):
        exchange.fetch_balance()
    headers = {k.lower(): v for k, v in exchange.last_response_headers.items()}
    assert headers["retry-after"] == "7"
    assert exchange.fetch_balance()["USDT"]["total"] == 100_000  # the next one goes through


def test_5xx_is_exchange_not_available(fake):
    exchange = client(fake)
    exchange.load_markets()
    fake.inject("5xx", path=BALANCE_PATH[fake.venue], count=1)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        exchange.fetch_balance()


def test_a_timeout_outlasts_the_client_and_latency_only_slows_it(fake):
    exchange = client(fake, timeout_ms=300)
    exchange.load_markets()
    fake.inject("timeout", path=BALANCE_PATH[fake.venue], count=1, seconds=0.6)
    with pytest.raises(ccxt.RequestTimeout):
        exchange.fetch_balance()
    fake.inject("latency", path=BALANCE_PATH[fake.venue], count=1, seconds=0.1)
    started = time.monotonic()
    assert exchange.fetch_balance()["BTC"]["total"] == 1
    assert time.monotonic() - started >= 0.1


def test_a_stale_timestamp_is_refused_as_an_invalid_nonce(fake):
    exchange = client(fake)
    exchange.load_markets()
    exchange.options["timeDifference"] = 60_000  # ccxt signs a minute in the past
    with pytest.raises(ccxt.InvalidNonce):
        exchange.fetch_balance()


@pytest.mark.parametrize(
    ("amount", "error"),
    [(5.0, ccxt.InsufficientFunds), (0.000001, ccxt.InvalidOrder)],
)
def test_venue_refusals_map_to_ccxt_errors_and_book_nothing(fake, amount, error):
    exchange = client(fake)
    with pytest.raises(error):
        exchange.create_order("BTC/USDT", "market", "buy", amount, None, {"clientOrderId": "r1"})
    assert fake.orders(KEY) == []


def test_client_ids_follow_each_venues_format(fake):
    exchange = client(fake)
    dashed = {"clientOrderId": "sb-7-100-0"}
    if fake.venue == "okx":  # clOrdId: letters and digits only, up to 32
        with pytest.raises(ccxt.BadRequest):
            exchange.create_order("BTC/USDT", "market", "buy", 0.001, None, dashed)
        assert fake.orders(KEY) == []
    else:  # orderLinkId: letters, digits, - and _, up to 36
        exchange.create_order("BTC/USDT", "market", "buy", 0.001, None, dashed)
        with pytest.raises(ccxt.BadRequest):
            exchange.create_order(
                "BTC/USDT", "market", "buy", 0.001, None, {"clientOrderId": "x" * 37}
            )
        assert [o["orderLinkId"] for o in fake.orders(KEY)] == ["sb-7-100-0"]


def test_a_market_buy_by_cost_spends_that_much_quote(fake):
    exchange = client(fake)
    exchange.create_market_buy_order_with_cost("ETH/USDT", 100.0, {"clientOrderId": "cost1"})
    order = by_client_id(exchange, "ETH/USDT", "cost1")
    assert order["status"] == "closed" and order["cost"] == pytest.approx(100.0, rel=1e-3)
    assert exchange.fetch_balance()["ETH"]["total"] == pytest.approx(
        100.0 / order["average"], rel=1e-3
    )


def test_an_order_is_fetched_by_exchange_id_and_okx_takes_single_orders_too(fake):
    exchange = client(fake)
    if fake.venue == "okx":  # ccxt's default is /trade/batch-orders; the fake serves both
        exchange.options["createOrder"] = "privatePostTradeOrder"
    placed = exchange.create_order(
        "BTC/USDT", "market", "sell", 0.01, None, {"clientOrderId": "s1"}
    )
    params = {"acknowledged": True} if fake.venue == "bybit" else {}
    order = exchange.fetch_order(placed["id"], "BTC/USDT", params)
    assert (order["clientOrderId"], order["side"], order["status"]) == ("s1", "sell", "closed")
    create_path = "/api/v5/trade/order" if fake.venue == "okx" else "/v5/order/create"
    assert fake.requests("POST", create_path) == 1


def test_bybit_fetch_order_by_link_id_alone_finds_nothing_as_ccxt_sends_order_id_none():
    fake = FakeExchange(venue="bybit")
    fake.start()
    try:
        fake.add_key(KEY, SECRET)
        exchange = client(fake)
        exchange.create_order("BTC/USDT", "market", "buy", 0.001, None, {"clientOrderId": "b1"})
        with pytest.raises(ccxt.OrderNotFound):
            exchange.fetch_order(None, "BTC/USDT", {"orderLinkId": "b1", "acknowledged": True})
        assert "orderId=None" in exchange.last_request_url  # Bybit: orderId beats orderLinkId
        assert by_client_id(exchange, "BTC/USDT", "b1")["clientOrderId"] == "b1"
    finally:
        fake.stop()


@pytest.mark.parametrize("venue", [None, "okx", "bybit"])  # None: today's flags, Binance
def test_the_command_line_starts_one_venue(venue):
    port = free_port()
    args = [sys.executable, "-m", "tests.fakes.exchange", "--port", str(port)]
    args += ["--key", KEY, "--secret", SECRET, "--passphrase", PASSPHRASE]
    args += ["--venue", venue] if venue else []
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/__fake__/stats", timeout=1) as answer:
                    stats = json.load(answer)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        assert stats["venue"] == (venue or "binance")
        request = urllib.request.Request(
            f"{base}/__fake__/settings", data=b'{"visibility_delay_ms": 0}', method="POST"
        )
        urllib.request.urlopen(request, timeout=2).close()
        exchange = ccxt_client(
            _Remote(venue or "binance", base), api_key=KEY, secret=SECRET, password=PASSPHRASE
        )
        assert exchange.fetch_balance()["USDT"]["total"] == 100_000
    finally:
        proc.terminate()
        proc.wait(10)


class _Remote:
    """A fake running in another process, as ccxt_client needs it."""

    def __init__(self, venue: str, url: str) -> None:
        self.venue, self.url = venue, url
