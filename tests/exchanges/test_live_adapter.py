"""The real ccxt.binance client through LiveExchange against the fake exchange (real HTTP)."""

from __future__ import annotations

import ccxt
import pytest

from core import errors
from core.exchanges.errormap import TABLE, domain_class, to_domain
from core.exchanges.live import LiveExchange, has_testnet, required_credentials
from tests.fakes.exchange import FakeExchange

KEY, SECRET = "fake-api-key-0123456789", "fake-secret-abcdefghijklmnop"


@pytest.fixture
def fake():
    f = FakeExchange()
    f.start()
    f.add_key(KEY, SECRET)
    yield f
    f.stop()


def live(fake, *, secret=SECRET, sleeps=None, timeout_ms=2000, retries=3) -> LiveExchange:
    recorder = sleeps if sleeps is not None else []
    return LiveExchange(
        exchange_id="binance",
        api_key=KEY,
        secret=secret,
        api_url=fake.url,
        timeout_ms=timeout_ms,
        max_retries=retries,
        sleep=recorder.append,
    )


@pytest.mark.parametrize(
    ("ccxt_error", "domain"),
    [
        (ccxt.RateLimitExceeded, errors.RateLimited),
        (ccxt.DDoSProtection, errors.RateLimited),
        (ccxt.RequestTimeout, errors.ExchangeTemporaryError),
        (ccxt.NetworkError, errors.ExchangeTemporaryError),
        (ccxt.ExchangeNotAvailable, errors.ExchangeTemporaryError),
        (ccxt.AuthenticationError, errors.ExchangeAuthError),
        (ccxt.PermissionDenied, errors.ExchangeAuthError),
        (ccxt.InsufficientFunds, errors.InsufficientFunds),
        (ccxt.InvalidOrder, errors.OrderRejected),
        (ccxt.NotSupported, errors.ExchangeNotSupported),
        (ccxt.BadSymbol, errors.InvalidInput),
        (ccxt.ExchangeError, errors.ExchangeError),
    ],
)
def test_every_ccxt_error_maps_to_one_domain_error(ccxt_error, domain):
    assert domain_class(ccxt_error("x")) is domain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("binance", "binance: no answer (network error, timeout or maintenance)"),
        ("", "binance: no answer (network error, timeout or maintenance)"),
        ("binance GET https://api.x/api/v3/klines?signature=abc", "binance: no answer"),
        ('binance {"code":-1003,"msg":"Too busy"}', 'binance: {"code":-1003,"msg":"Too busy"}'),
    ],
)
def test_messages_say_something_even_when_ccxt_says_only_the_id(text, expected):
    err = to_domain(ccxt.NetworkError(text), exchange_id="binance")
    assert err.message.startswith(expected) and "signature" not in err.message


def test_the_table_covers_the_whole_ccxt_hierarchy():
    assert TABLE[-1][0] is ccxt.BaseError


def test_429_is_retried_honouring_retry_after(fake):
    sleeps: list[float] = []
    ex = live(fake, sleeps=sleeps)
    ex.load_markets()
    fake.inject("429", path="/api/v3/account", count=2, retry_after=3)
    ex.fetch_balance()
    assert fake.requests("GET", "/api/v3/account") == 3
    assert sleeps == [3.0, 3.0]


def test_5xx_is_retried_max_retries_times_then_raised(fake):
    ex = live(fake, retries=2)
    ex.load_markets()
    fake.inject("5xx", path="/api/v3/account")
    with pytest.raises(errors.ExchangeTemporaryError):
        ex.fetch_balance()
    assert fake.requests("GET", "/api/v3/account") == 3


def test_timeouts_are_retried(fake):
    ex = live(fake, retries=1, timeout_ms=300)
    ex.load_markets()
    fake.inject("timeout", path="/api/v3/account", count=1, seconds=1.0)
    assert "USDT" in ex.fetch_balance()
    assert fake.requests("GET", "/api/v3/account") == 2


@pytest.mark.parametrize("kind", ["malformed", "reset"])
@pytest.mark.parametrize("path", ["/api/v3/account", "/api/v3/klines"])
def test_broken_responses_are_temporary_never_garbage(fake, kind, path):
    ex = live(fake, retries=0)
    ex.load_markets()
    fake.inject(kind, path=path)
    with pytest.raises(errors.ExchangeTemporaryError):
        ex.fetch_balance() if path.endswith("account") else ex.fetch_candles("BTC/USDT", "1m")


@pytest.mark.parametrize("kind", ["malformed", "lost", "5xx", "reset"])
def test_a_create_without_a_clear_answer_is_sent_once_and_its_state_unknown(fake, kind):
    """No lookup and no resend inside the adapter: the caller re-checks over the window."""
    ex = live(fake, timeout_ms=1000)
    ex.load_markets()
    fake.inject(kind, path="/api/v3/order", count=1)
    gets_before = fake.requests("GET", "/api/v3/order")
    with pytest.raises(errors.OrderStateUnknown):
        ex.create_order(
            symbol="BTC/USDT", side="buy", type="market", amount=0.001, client_order_id="sb-9-9-0"
        )
    assert fake.requests("POST", "/api/v3/order") == 1
    assert fake.requests("GET", "/api/v3/order") == gets_before  # no lookup either
    placed = [o["clientOrderId"] for o in fake.orders(KEY)]
    assert placed == (["sb-9-9-0"] if kind in ("malformed", "lost") else [])
    found = ex.fetch_order(symbol="BTC/USDT", client_order_id="sb-9-9-0")
    assert (found is not None) is bool(placed)
    if found is not None:
        assert found.client_order_id == "sb-9-9-0" and found.status == "closed"


def test_a_bad_secret_is_an_auth_error_sent_once_and_never_echoed(fake):
    ex = live(fake, secret="wrong-secret-0123456789")
    ex.load_markets()
    with pytest.raises(errors.ExchangeAuthError) as err:
        ex.fetch_balance()
    assert fake.requests("GET", "/api/v3/account") == 1
    assert "wrong-secret" not in err.value.message and KEY not in err.value.message


def test_insufficient_funds_and_rejections_are_not_retried(fake):
    ex = live(fake)
    with pytest.raises(errors.InsufficientFunds):
        ex.create_order(
            symbol="BTC/USDT", side="buy", type="market", amount=5.0, client_order_id="sb-1-1-0"
        )
    with pytest.raises(errors.OrderRejected):
        ex.create_order(
            symbol="BTC/USDT", side="buy", type="market", amount=0.00001, client_order_id="sb-1-1-1"
        )
    assert fake.requests("POST", "/api/v3/order") == 2


def test_order_lookup_by_client_id(fake):
    ex = live(fake)
    ex.create_order(
        symbol="ETH/USDT",
        side="buy",
        type="limit",
        amount=10.0,
        price=1.0,
        client_order_id="sb-2-5-0",
    )
    assert ex.fetch_order(symbol="ETH/USDT", client_order_id="sb-2-5-0").status == "open"
    assert ex.fetch_order(symbol="ETH/USDT", client_order_id="never-sent") is None
    assert [o.client_order_id for o in ex.fetch_open_orders("ETH/USDT")] == ["sb-2-5-0"]
    assert ex.cancel_order(symbol="ETH/USDT", client_order_id="sb-2-5-0").status == "canceled"


def test_candles_paginate_and_bad_input_is_refused(fake):
    ex = live(fake)
    page = ex.fetch_candles("BTC/USDT", "1m", limit=5)
    assert len(page) == 5 and all(
        b.ts - a.ts == 60_000 for a, b in zip(page, page[1:], strict=False)
    )
    with pytest.raises(errors.InvalidInput, match="NOPE"):
        ex.fetch_candles("NOPE/USDT", "1m")
    with pytest.raises(errors.InvalidInput, match="timeframe"):
        ex.fetch_candles("BTC/USDT", "7m")
    with pytest.raises(errors.InvalidInput, match="future"):
        ex.fetch_candles("BTC/USDT", "1m", since=page[-1].ts + 10 * 86_400_000)


def test_unknown_exchange_and_missing_testnet_are_refused():
    with pytest.raises(errors.InvalidInput, match="Unknown exchange"):
        LiveExchange(exchange_id="nosuchexchange")
    assert has_testnet("binance")
    assert required_credentials("binance") == ["apiKey", "secret"]
    no_testnet = next(e for e in ("bitstamp", "kraken", "gemini") if not has_testnet(e))
    with pytest.raises(errors.InvalidInput, match="testnet"):
        LiveExchange(exchange_id=no_testnet, sandbox=True)


def test_the_visibility_window_comes_from_the_table(fake):
    assert live(fake).visibility_window_s == 5.0
    assert LiveExchange(exchange_id="bitfinex").visibility_window_s == 0.0


def test_key_permissions_report_withdrawals(fake):
    fake.add_key("withdraw-key-0123456789", "withdraw-secret-0123456789", withdrawals=True)
    ex = LiveExchange(
        exchange_id="binance",
        api_key="withdraw-key-0123456789",
        secret="withdraw-secret-0123456789",
        api_url=fake.url,
    )
    assert ex.fetch_key_permissions()["withdrawals_enabled"] is True
    assert live(fake).fetch_key_permissions()["withdrawals_enabled"] is False
