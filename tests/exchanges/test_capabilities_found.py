"""Finding OUR order by client id, per exchange, from the exchange's own (canned) answers.

Each answer is the venue's JSON, parsed by the real ccxt class: the adapter must pick our order
(client id in the exchange's form), never a foreign one, and cancel it by our id or, where ccxt
cannot cancel by client id, by the exchange order id it found.
"""

from __future__ import annotations

import pytest

from core import errors
from core.exchanges import capabilities as caps
from tests.exchanges.test_capabilities_wire import CID, SYMBOL, wired

OURS, FOREIGN = "1001", "2002"
T0 = 1_700_000_000_000


def _wire(exchange_id: str) -> str:
    cap = caps.capability(exchange_id)
    return cap.wire_prefix + caps.to_wire(cap, CID)


def _binance_like(cid, oid, client_key="clientOrderId"):
    return {
        "symbol": "BTCUSDT",
        "orderId": oid,
        client_key: cid,
        "price": "50000",
        "origQty": "0.001",
        "executedQty": "0.001",
        "cummulativeQuoteQty": "50",
        "status": "FILLED",
        "type": "LIMIT",
        "side": "BUY",
        "time": T0,
        "updateTime": T0,
    }


def _bybit(*rows):
    listed = [
        {
            "symbol": "BTCUSDT",
            "orderId": oid,
            "orderLinkId": cid,
            "side": "Buy",
            "orderType": "Limit",
            "price": "50000",
            "qty": "0.001",
            "cumExecQty": "0.001",
            "cumExecValue": "50",
            "avgPrice": "50000",
            "orderStatus": "Filled",
            "createdTime": str(T0),
            "updatedTime": str(T0),
            "cumExecFee": "0",
            "leavesQty": "0",
        }
        for cid, oid in rows
    ]
    return {"retCode": 0, "retMsg": "OK", "result": {"list": listed, "nextPageCursor": ""}}


def _gate(cid, oid, status="closed"):
    return {
        "id": oid,
        "text": cid,
        "create_time_ms": str(T0),
        "update_time_ms": str(T0),
        "currency_pair": "BTC_USDT",
        "status": status,
        "type": "limit",
        "account": "spot",
        "side": "buy",
        "amount": "0.001",
        "price": "50000",
        "left": "0",
        "filled_total": "50",
        "fee": "0",
        "fee_currency": "BTC",
    }


def _kraken(cid, status="closed"):
    return {
        "refid": None,
        "userref": 0,
        "cl_ord_id": cid,
        "status": status,
        "opentm": T0 / 1000,
        "descr": {"pair": "XBTUSDT", "type": "buy", "ordertype": "limit", "price": "50000"},
        "vol": "0.001",
        "vol_exec": "0.001",
        "cost": "50",
        "fee": "0",
        "price": "50000",
    }


def _coinbase(*rows):
    orders = [
        {
            "order_id": oid,
            "product_id": "BTC-USDT",
            "side": "BUY",
            "client_order_id": cid,
            "status": "FILLED",
            "order_type": "LIMIT",
            "created_time": "2023-11-14T22:13:20Z",
            "order_configuration": {
                "limit_limit_gtc": {"base_size": "0.001", "limit_price": "50000"}
            },
            "filled_size": "0.001",
            "average_filled_price": "50000",
            "total_fees": "0",
        }
        for cid, oid in rows
    ]
    return {"orders": orders, "has_next": False}


def _cryptocom(*rows):
    data = [
        {
            "order_id": oid,
            "client_oid": cid,
            "instrument_name": "BTC_USDT",
            "side": "BUY",
            "order_type": "LIMIT",
            "status": "FILLED",
            "quantity": "0.001",
            "limit_price": "50000",
            "cumulative_quantity": "0.001",
            "cumulative_value": "50",
            "avg_price": "50000",
            "create_time": T0,
            "update_time": T0,
        }
        for cid, oid in rows
    ]
    return {"id": 1, "code": 0, "result": {"data": data}}


def _bingx(*rows):
    orders = [
        _binance_like(cid, int(oid), "clientOrderID") | {"symbol": "BTC-USDT"} for cid, oid in rows
    ]
    return {"code": 0, "msg": "", "data": {"orders": orders}}


def found_answers(exchange_id: str, cid: str) -> dict:
    """url fragment -> answer: a foreign order among the open ones, ours (`cid`) done."""
    mine, other = (cid, OURS), ("someone-else", FOREIGN)
    return {
        "binance": lambda: {"/api/v3/order": _binance_like(cid, int(OURS))},
        "mexc": lambda: {"GET /api/v3/order": _binance_like(cid, OURS)},
        "okx": lambda: {
            "/api/v5/trade/order": {
                "code": "0",
                "msg": "",
                "data": [
                    {
                        "instType": "SPOT",
                        "instId": "BTC-USDT",
                        "ordId": OURS,
                        "clOrdId": cid,
                        "px": "50000",
                        "sz": "0.001",
                        "ordType": "limit",
                        "side": "buy",
                        "state": "filled",
                        "accFillSz": "0.001",
                        "avgPx": "50000",
                        "cTime": str(T0),
                        "uTime": str(T0),
                        "fee": "0",
                        "feeCcy": "BTC",
                    }
                ],
            }
        },
        "kucoin": lambda: {
            "/api/v1/order/client-order/": {
                "code": "200000",
                "data": {
                    "id": OURS,
                    "clientOid": cid,
                    "symbol": "BTC-USDT",
                    "type": "limit",
                    "side": "buy",
                    "price": "50000",
                    "size": "0.001",
                    "dealSize": "0.001",
                    "dealFunds": "50",
                    "isActive": False,
                    "cancelExist": False,
                    "createdAt": T0,
                },
            }
        },
        "bitget": lambda: {
            "/api/v2/spot/trade/orderInfo": {
                "code": "00000",
                "data": [
                    {
                        "symbol": "BTCUSDT",
                        "orderId": OURS,
                        "clientOid": cid,
                        "price": "50000",
                        "size": "0.001",
                        "orderType": "limit",
                        "side": "buy",
                        "status": "filled",
                        "baseVolume": "0.001",
                        "quoteVolume": "50",
                        "priceAvg": "50000",
                        "cTime": str(T0),
                        "uTime": str(T0),
                    }
                ],
            }
        },
        "htx": lambda: {
            "/v1/order/orders/getClientOrder": {
                "status": "ok",
                "data": {
                    "id": int(OURS),
                    "symbol": "btcusdt",
                    "account-id": 7,
                    "client-order-id": cid,
                    "amount": "0.001",
                    "price": "50000",
                    "created-at": T0,
                    "type": "buy-limit",
                    "field-amount": "0.001",
                    "field-cash-amount": "50",
                    "field-fees": "0",
                    "state": "filled",
                },
            }
        },
        "bitstamp": lambda: {
            "/api/v2/order_status/": {
                "id": int(OURS),
                "datetime": "2023-11-14 22:13:20",
                "type": "0",
                "status": "Finished",
                "market": "BTC/USDT",
                "transactions": [],
                "amount_remaining": "0",
                "client_order_id": cid,
            }
        },
        "bybit": lambda: {"/v5/order/realtime": _bybit(other), "/v5/order/history": _bybit(mine)},
        "gate": lambda: {
            "/api/v4/spot/open_orders": [
                {
                    "currency_pair": "BTC_USDT",
                    "total": 1,
                    "orders": [_gate("t-someone", FOREIGN, "open")],
                }
            ],
            "GET /api/v4/spot/orders": [_gate(cid, OURS)],
        },
        "kraken": lambda: {
            "/0/private/OpenOrders": {
                "error": [],
                "result": {"open": {FOREIGN: _kraken("x", "open")}},
            },
            "/0/private/ClosedOrders": {
                "error": [],
                "result": {"closed": {OURS: _kraken(cid)}, "count": 1},
            },
        },
        "coinbase": lambda: {
            "order_status=OPEN": _coinbase(other),
            "/orders/historical/batch": _coinbase(other, mine),
        },
        "cryptocom": lambda: {
            "get-open-orders": _cryptocom(other),
            "get-order-history": _cryptocom(mine),
        },
        "bingx": lambda: {"/trade/openOrders": _bingx(other), "/trade/historyOrders": _bingx(mine)},
    }[exchange_id]()


@pytest.mark.parametrize("exchange_id", caps.live_exchange_ids())
def test_our_order_is_found_by_its_client_id(exchange_id):
    ex, _sent = wired(exchange_id, found_answers(exchange_id, _wire(exchange_id)))
    order = ex.fetch_order(symbol=SYMBOL, client_order_id=CID)
    assert order is not None, exchange_id
    assert order.client_order_id == CID and order.exchange_order_id == OURS
    assert order.symbol == SYMBOL and order.status == "closed"


LIST_LOOKUPS = [e for e in caps.live_exchange_ids() if caps.capability(e).lookup == "lists"]


@pytest.mark.parametrize("exchange_id", LIST_LOOKUPS)
def test_a_listed_order_with_another_client_id_is_not_ours(exchange_id):
    ex, _sent = wired(exchange_id, found_answers(exchange_id, "someone-else-2"))
    assert ex.fetch_order(symbol=SYMBOL, client_order_id=CID) is None


DIRECT_LOOKUPS = [e for e in caps.live_exchange_ids() if e not in LIST_LOOKUPS]


@pytest.mark.parametrize("exchange_id", DIRECT_LOOKUPS)
def test_a_direct_answer_about_another_order_is_no_answer_not_a_not_found(exchange_id):
    """If the exchange ignored our id it answered about some other order: that proves nothing,
    so the order stays unknown (a temporary error), never "not found"."""
    ex, _sent = wired(exchange_id, found_answers(exchange_id, "someone-else-2"))
    with pytest.raises(errors.ExchangeTemporaryError, match="got someone-else-2"):
        ex.fetch_order(symbol=SYMBOL, client_order_id=CID)


BY_ORDER_ID = [e for e in caps.live_exchange_ids() if caps.capability(e).cancel_param is None]


@pytest.mark.parametrize("exchange_id", BY_ORDER_ID)
def test_cancel_looks_our_order_up_then_cancels_its_exchange_id(exchange_id):
    ex, sent = wired(exchange_id, found_answers(exchange_id, _wire(exchange_id)))
    with pytest.raises(errors.ExchangeTemporaryError):  # the cancel itself is not answered
        ex.cancel_order(symbol=SYMBOL, client_order_id=CID)
    cancel = sent[-1]
    assert cancel.mentions(OURS) and not cancel.mentions("None"), cancel
    assert not cancel.mentions(FOREIGN)


def test_cancelling_an_order_that_cannot_be_found_is_refused():
    ex, _sent = wired("gate", {"/api/v4/spot/open_orders": [], "/api/v4/spot/orders": []})
    with pytest.raises(errors.OrderRejected, match="not found"):
        ex.cancel_order(symbol=SYMBOL, client_order_id=CID)
