"""Signed endpoints of the fake exchange: account, orders, API key restrictions."""

from __future__ import annotations

from tests.fakes.binance_book import MARKETS
from tests.fakes.binance_http import ApiError, _symbol


def private_route(book, method: str, path: str, params: dict, api_key: str, key):
    if path == "/api/v3/account":
        return 200, {
            "makerCommission": 10,
            "takerCommission": 10,
            "canTrade": True,
            "canWithdraw": key.withdrawals,
            "canDeposit": True,
            "accountType": "SPOT",
            "updateTime": book.now(),
            "permissions": ["SPOT"],
            "balances": [
                {"asset": a, "free": f"{v:.8f}", "locked": "0.00000000"}
                for a, v in key.balances.items()
            ],
        }
    if path == "/sapi/v1/account/apiRestrictions":
        return 200, {
            "ipRestrict": False,
            "createTime": book.now(),
            "enableWithdrawals": key.withdrawals,
            "enableInternalTransfer": False,
            "permitsUniversalTransfer": False,
            "enableVanillaOptions": False,
            "enableReading": True,
            "enableFutures": False,
            "enableMargin": False,
            "enableSpotAndMarginTrading": True,
        }
    if path == "/api/v3/openOrders":
        orders = [o for o in book.orders.get(api_key, []) if o["status"] == "NEW"]
        if "symbol" in params:
            orders = [o for o in orders if o["symbol"] == params["symbol"]]
        return 200, orders
    if path == "/api/v3/order" and method == "POST":
        return 200, _create(book, params, api_key, key)
    if path == "/api/v3/order":
        order = book.find(api_key, params.get("origClientOrderId", ""))
        if order is None:
            raise ApiError(400, -2013, "Order does not exist.")
        if method == "DELETE":
            if order["status"] != "NEW":
                raise ApiError(400, -2011, "Unknown order sent.")
            _release(book, api_key, order)
            order["status"] = "CANCELED"
        return 200, order
    raise ApiError(404, -1000, f"Unknown endpoint {path}.")


def _create(book, params: dict, api_key: str, key) -> dict:
    symbol = _symbol(params)
    base, quote, _lvl, tick, step, min_qty, min_notional = MARKETS[symbol]
    client_id = params.get("newClientOrderId") or f"auto{book.next_id}"
    if book.find(api_key, client_id) is not None:
        raise ApiError(400, -2010, "Duplicate order sent.")
    side, kind = params.get("side", ""), params.get("type", "")
    qty = float(params.get("quantity", 0))
    price = book.price(symbol) if kind == "MARKET" else float(params.get("price", 0))
    if qty < float(min_qty) or qty * price < float(min_notional):
        raise ApiError(400, -1013, "Filter failure: NOTIONAL")
    need = qty * price * 1.001 if side == "BUY" else qty
    have = key.balances.get(quote if side == "BUY" else base, 0.0)
    if need > have + 1e-12:
        raise ApiError(400, -2010, "Account has insufficient balance for requested action.")
    book.next_id += 1
    order = {
        "symbol": symbol,
        "orderId": book.next_id,
        "orderListId": -1,
        "clientOrderId": client_id,
        "transactTime": book.now(),
        "time": book.now(),
        "updateTime": book.now(),
        "price": f"{price:.8f}" if kind == "LIMIT" else "0.00000000",
        "origQty": params.get("quantity"),
        "executedQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "NEW",
        "timeInForce": params.get("timeInForce", "GTC"),
        "type": kind,
        "side": side,
        "fills": [],
    }
    book.orders.setdefault(api_key, []).append(order)
    if kind == "MARKET":
        book.fill(api_key, order, price, reserved=False)
    else:
        _reserve(book, api_key, order)
    return order


def _reserve(book, api_key: str, order: dict) -> None:
    base, quote = MARKETS[order["symbol"]][:2]
    bal = book.keys[api_key].balances
    if order["side"] == "BUY":
        bal[quote] -= float(order["origQty"]) * float(order["price"])
    else:
        bal[base] -= float(order["origQty"])


def _release(book, api_key: str, order: dict) -> None:
    base, quote = MARKETS[order["symbol"]][:2]
    bal = book.keys[api_key].balances
    if order["side"] == "BUY":
        bal[quote] += float(order["origQty"]) * float(order["price"])
    else:
        bal[base] += float(order["origQty"])
