"""The request ccxt ACTUALLY sends, for every exchange in the capability table.

The real ccxt class with dummy credentials, markets from a canned dict, and `fetch` replaced by
a recorder: it answers the account-mode probes some exchanges make first, answers what a test
gives, and raises `ccxt.NetworkError` for everything else. Nothing leaves the process.
"""

from __future__ import annotations

import copy
import json
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

import ccxt
import pytest

from core import errors
from core.exchanges import capabilities as caps
from core.exchanges.live import LiveExchange

CID = "sb-12-1796093280-0"
SYMBOL = "BTC/USDT"
MARKET_IDS = {
    "binance": "BTCUSDT",
    "okx": "BTC-USDT",
    "bybit": "BTCUSDT",
    "kucoin": "BTC-USDT",
    "gate": "BTC_USDT",
    "bitget": "BTCUSDT",
    "kraken": "XXBTZUSDT",
    "coinbase": "BTC-USDT",
    "mexc": "BTCUSDT",
    "htx": "btcusdt",
    "cryptocom": "BTC_USDT",
    "bitstamp": "btcusdt",
    "bingx": "BTC-USDT",
}
# Account-mode probes made before an order call: answered "classic account" (ALT: unified).
PROBES = {
    "bybit": {
        "/v5/user/query-api": {"retCode": 0, "result": {"uta": 1, "unified": 0}},
        "/v5/account/info": {"retCode": 0, "result": {"unifiedMarginStatus": 6}},
    },
    "kucoin": {"/api/ua/v1/account/mode": {"code": "200000", "data": {"selfAccountMode": "X"}}},
    "gate": {"/api/v4/account/detail": {"key": {"mode": 1}}},
    "bitget": {"/api/v3/account/settings": ccxt.PermissionDenied("not a UTA account")},
    "htx": {"/v1/account/accounts": {"status": "ok", "data": [{"id": 7, "type": "spot"}]}},
}
ALT_PROBES = {
    "kucoin": {
        "/api/ua/v1/account/mode": {"code": "200000", "data": {"selfAccountMode": "UNIFIED"}}
    },
    "bitget": {"/api/v3/account/settings": {"code": "00000", "data": {}}},
    "gate": {"/api/v4/account/detail": {"key": {"mode": 2}}},
}


class Sent(NamedTuple):
    method: str
    path: str
    fields: dict  # query, form or JSON body, merged

    def mentions(self, text: str) -> bool:
        return text in self.path or text in json.dumps(self.fields)


def _fields(url: str, body) -> dict:
    fields = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if isinstance(body, bytes):
        body = body.decode()
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            data = dict(parse_qsl(body, keep_blank_values=True))
        if isinstance(data, list):  # okx places orders through batch-orders
            data = data[0]
        fields.update(data.get("params", data) if isinstance(data, dict) else {})
    return fields


def _matches(key: str, method: str, url: str) -> bool:
    verb, _, fragment = key.partition(" ")
    if fragment and verb.isupper():
        return verb == method and fragment in url
    return key in url


def market(exchange_id: str) -> dict:
    info = {"orderTypes": ["LIMIT", "MARKET"]} if exchange_id == "binance" else {}
    if exchange_id == "kraken":
        info = {"altname": "XBTUSDT", "wsname": "XBT/USDT"}
    return {
        "id": MARKET_IDS[exchange_id],
        "symbol": SYMBOL,
        "base": "BTC",
        "quote": "USDT",
        "baseId": "BTC",
        "quoteId": "USDT",
        "settle": None,
        "settleId": None,
        "type": "spot",
        "spot": True,
        "margin": False,
        "swap": False,
        "future": False,
        "option": False,
        "contract": False,
        "linear": None,
        "inverse": None,
        "active": True,
        "contractSize": None,
        "taker": 0.001,
        "maker": 0.001,
        "info": info,
        "precision": {"amount": 0.00001, "price": 0.01},
        "limits": {"amount": {"min": 0.00001}, "price": {}, "cost": {}},
    }


def wired(exchange_id: str, answers: dict | None = None, probes: dict | None = None):
    """(LiveExchange, requests sent but the probes); `answers`: url fragment -> JSON or error."""
    ex = LiveExchange(
        exchange_id=exchange_id,
        api_key="test-key-0123456789",
        secret="dGVzdC1zZWNyZXQtMDEyMzQ1Njc4OTAx",
        password="test-passphrase",
        max_retries=0,
        sleep=lambda _s: None,
    )
    client = ex.client
    client.enableRateLimit = False
    client.set_markets([market(exchange_id)])
    if exchange_id == "kraken":  # as its fetch_markets does: orders name the market so
        client.options["marketsByAltname"] = {"XBTUSDT": client.markets[SYMBOL]}
    probing = {**PROBES.get(exchange_id, {}), **(probes or {})}
    sent: list[Sent] = []

    def fetch(url, method="GET", headers=None, body=None):
        def pick(table: dict):  # keys: a url fragment, optionally after "GET " / "DELETE " ...
            return next((v for k, v in table.items() if _matches(k, method, url)), None)

        canned = pick(probing)
        if canned is None:
            sent.append(Sent(method, urlsplit(url).path, _fields(url, body)))
            canned = pick(answers or {})
        if canned is None:
            raise ccxt.NetworkError(f"{exchange_id} {method} {url}")
        if isinstance(canned, Exception):
            raise canned
        return copy.deepcopy(canned)

    client.fetch = fetch
    return ex, sent


def create(ex: LiveExchange, side: str = "buy", type: str = "limit"):
    price = 50_000.0 if type == "limit" else None
    return ex.create_order(
        symbol=SYMBOL, side=side, type=type, amount=0.001, price=price, client_order_id=CID
    )


EXCHANGES = caps.live_exchange_ids()
# The order endpoint, and where our (exchange-form) id goes: field name, or None (in the path).
CREATE = {
    "binance": "/api/v3/order",
    "okx": "/api/v5/trade/batch-orders",
    "bybit": "/v5/order/create",
    "kucoin": "/api/v1/orders",
    "gate": "/api/v4/spot/orders",
    "bitget": "/api/v2/spot/trade/place-order",
    "kraken": "/0/private/AddOrder",
    "coinbase": "/api/v3/brokerage/orders",
    "mexc": "/api/v3/order",
    "htx": "/v1/order/orders/place",
    "cryptocom": "/exchange/v1/private/create-order",
    "bitstamp": "/api/v2/",
    "bingx": "/openApi/spot/v1/trade/order",
}
DIRECT = {
    "binance": ("/api/v3/order", "origClientOrderId"),
    "okx": ("/api/v5/trade/order", "clOrdId"),
    "kucoin": (f"/api/v1/order/client-order/{CID}", None),
    "bitget": ("/api/v2/spot/trade/orderInfo", "clientOid"),
    "mexc": ("/api/v3/order", "origClientOrderId"),
    "htx": ("/v1/order/orders/getClientOrder", "clientOrderId"),
    "bitstamp": ("/api/v2/order_status/", "client_order_id"),
}


def sent_id(cap: caps.Capability) -> str:
    return cap.wire_prefix + caps.to_wire(cap, CID)


@pytest.mark.parametrize("exchange_id", EXCHANGES)
@pytest.mark.parametrize(("side", "type"), [("buy", "limit"), ("sell", "market")])
def test_create_puts_our_id_in_the_exchange_field_and_sends_once(exchange_id, side, type):
    cap = caps.capability(exchange_id)
    ex, sent = wired(exchange_id)
    with pytest.raises(errors.OrderStateUnknown):  # the recorder's NetworkError
        create(ex, side, type)
    assert len(sent) == 1, sent  # no lookup, no resend
    assert sent[0].method == "POST" and sent[0].path.startswith(CREATE[exchange_id])
    assert sent[0].fields[cap.wire_field] == sent_id(cap)


@pytest.mark.parametrize(
    "error", [ccxt.RequestTimeout, ccxt.ExchangeNotAvailable, ccxt.BadResponse]
)
@pytest.mark.parametrize("exchange_id", ["binance", "okx", "bybit"])
def test_any_temporary_error_leaves_the_state_unknown_after_one_request(exchange_id, error):
    ex, sent = wired(exchange_id, {CREATE[exchange_id]: error(f"{exchange_id} no answer")})
    with pytest.raises(errors.OrderStateUnknown):
        create(ex)
    assert [s.path for s in sent] == [CREATE[exchange_id]]


@pytest.mark.parametrize("exchange_id", sorted(DIRECT))
def test_a_direct_lookup_sends_our_id_to_the_lookup_endpoint(exchange_id):
    cap = caps.capability(exchange_id)
    path, field = DIRECT[exchange_id]
    ex, sent = wired(exchange_id, {path: ccxt.OrderNotFound(f"{exchange_id} no such order")})
    assert ex.fetch_order(symbol=SYMBOL, client_order_id=CID) is None  # not found (yet)
    assert [s.path for s in sent] == [path]
    assert field is None or sent[0].fields[field] == caps.to_wire(cap, CID)
    assert not {"orderId", "ordId", "order_id", "id", "txid"} & set(sent[0].fields)
    assert not any(s.mentions("None") or "null" in json.dumps(s.fields) for s in sent)


BYBIT_NONE = {"retCode": 0, "retMsg": "OK", "result": {"list": [], "nextPageCursor": ""}}
CRYPTOCOM_NONE = {"id": 1, "code": 0, "result": {"data": []}}
BINGX_NONE = {"code": 0, "msg": "", "data": {"orders": []}}
LISTS = {  # the list endpoints, in the order asked, each answered "no orders"
    "bybit": {"/v5/order/realtime": BYBIT_NONE, "/v5/order/history": BYBIT_NONE},
    "gate": {"/api/v4/spot/open_orders": [], "/api/v4/spot/orders": []},
    "kraken": {
        "/0/private/OpenOrders": {"error": [], "result": {"open": {}}},
        "/0/private/ClosedOrders": {"error": [], "result": {"closed": {}, "count": 0}},
    },
    "coinbase": {
        "/api/v3/brokerage/orders/historical/batch": {"orders": [], "has_next": False},
        "/api/v3/brokerage/orders/historical/batch ": None,  # asked twice: OPEN, then all
    },
    "cryptocom": {
        "/exchange/v1/private/get-open-orders": CRYPTOCOM_NONE,
        "/exchange/v1/private/get-order-history": CRYPTOCOM_NONE,
    },
    "bingx": {
        "/openApi/spot/v1/trade/openOrders": BINGX_NONE,
        "/openApi/spot/v1/trade/historyOrders": BINGX_NONE,
    },
}


@pytest.mark.parametrize("exchange_id", sorted(LISTS))
def test_a_list_lookup_asks_open_then_done_orders_and_none_is_not_found(exchange_id):
    cap = caps.capability(exchange_id)
    answers = {k.strip(): v for k, v in LISTS[exchange_id].items() if v is not None}
    ex, sent = wired(exchange_id, answers)
    assert ex.fetch_order(symbol=SYMBOL, client_order_id=CID) is None
    expected = [k.strip() for k in LISTS[exchange_id]]
    assert [s.path for s in sent] == expected
    if cap.lookup_param:  # filtered by our id on the exchange
        field = {"bybit": "orderLinkId", "kraken": "cl_ord_id"}[exchange_id]
        assert all(s.fields[field] == caps.to_wire(cap, CID) for s in sent)
    assert not any(s.mentions("None") for s in sent)


@pytest.mark.parametrize("exchange_id", sorted(caps.TABLE))
def test_no_lookup_or_cancel_sends_an_order_id_of_none(exchange_id):
    cap = caps.capability(exchange_id)
    ex, sent = wired(exchange_id)
    for call in (ex.fetch_order, ex.cancel_order):
        with pytest.raises(errors.ExchangeTemporaryError):  # the recorder answers nothing
            call(symbol=SYMBOL, client_order_id=CID)
    assert sent, "a request was built"
    for request in sent:
        assert not request.mentions("None") and "null" not in json.dumps(request.fields)
    if cap.cancel_param:  # cancelled by our id, directly
        assert any(r.mentions(caps.to_wire(cap, CID)) for r in sent[1:])


@pytest.mark.parametrize(
    ("exchange_id", "create_path", "lookup_path"),
    [
        ("kucoin", "/api/ua/v1/unified/order/place", "/api/ua/v1/unified/order/detail"),
        ("bitget", "/api/v3/trade/place-order", "/api/v3/trade/order-info"),
        ("gate", "/api/v4/spot/orders", "/api/v4/spot/open_orders"),
    ],
)
def test_unified_accounts_use_their_own_endpoints_with_our_id(
    exchange_id, create_path, lookup_path
):
    cap = caps.capability(exchange_id)
    ex, sent = wired(exchange_id, probes=ALT_PROBES[exchange_id])
    with pytest.raises(errors.OrderStateUnknown):
        create(ex)
    with pytest.raises(errors.ExchangeTemporaryError):
        ex.fetch_order(symbol=SYMBOL, client_order_id=CID)
    assert [s.path for s in sent] == [create_path, lookup_path]
    assert sent[0].fields[cap.wire_field] == sent_id(cap)
    if exchange_id == "gate":
        assert sent[0].fields["account"] == sent[1].fields["account"] == "unified"
    else:
        assert sent[1].fields["clientOid"] == CID


@pytest.mark.parametrize("exchange_id", ["bitget", "coinbase", "gate", "htx"])
def test_a_market_buy_in_base_amount_is_refused_before_sending_where_ccxt_wants_a_cost(
    exchange_id,
):
    """ccxt takes these market buys as a quote cost (amount * price) only: refused, not sent."""
    ex, sent = wired(exchange_id)
    with pytest.raises(errors.OrderRejected, match="price"):
        create(ex, "buy", "market")
    assert sent == []
