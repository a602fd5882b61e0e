"""Binance's signed endpoints of the fake exchange: account, orders, API key restrictions."""

from __future__ import annotations

from tests.fakes.binance_book import render, rules
from tests.fakes.binance_http import ApiError, _symbol
from tests.fakes.book import Book, BookError, decimal_or_none


def private_route(book: Book, method: str, path: str, params: dict, api_key: str, key):
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
        symbol = params.get("symbol") or None
        return 200, [render(o) for o in book.listing(api_key, statuses=("open",), symbol=symbol)]
    if path == "/api/v3/allOrders":
        symbol = _symbol(params)
        orders = book.listing(api_key, statuses=("open", "filled", "canceled"), symbol=symbol)
        start, end = int(params.get("startTime", 0)), int(params.get("endTime", 2**62))
        orders = [o for o in orders if start <= o.created <= end]
        return 200, [render(o) for o in orders[-min(1000, int(params.get("limit", 500))) :]]
    if path == "/api/v3/order" and method == "POST":
        return 200, render(_create(book, params, api_key), transact=True)
    if path == "/api/v3/order":
        symbol = _symbol(params)
        if "orderId" in params or "origClientOrderId" in params:
            order = book.find(
                api_key,
                order_id=params.get("orderId"),
                client_id=params.get("origClientOrderId"),
                symbol=symbol,
                visible_only=method == "GET",
            )
        else:
            raise ApiError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent.")
        if order is None:
            raise BookError("not_found")
        if method == "DELETE":
            book.cancel(api_key, order)
        return 200, render(order)
    raise ApiError(404, -1000, f"Unknown endpoint {path}.")


QUOTE_PRECISION = 8  # quoteAssetPrecision in exchangeInfo


def _create(book: Book, params: dict, api_key: str):
    """POST /api/v3/order. A MARKET order takes `quantity` (base) or `quoteOrderQty` (quote:
    a BUY buys as much base as that much quote buys, a SELL sells as much as needed to
    receive it; the executed quantity never breaks LOT_SIZE: rounded down to its step)."""
    symbol = _symbol(params)
    side, kind = params.get("side", ""), params.get("type", "")
    if side not in ("BUY", "SELL") or kind not in ("MARKET", "LIMIT"):
        raise ApiError(400, -1116, "Invalid orderType.")
    if kind == "LIMIT" and "price" not in params:
        raise ApiError(400, -1102, "Mandatory parameter 'price' was not sent.")
    quote = params.get("quoteOrderQty")
    if quote is not None and kind != "MARKET":
        raise ApiError(400, -1106, "Parameter 'quoteOrderQty' sent when not required.")
    if kind == "MARKET" and quote is None and "quantity" not in params:
        raise ApiError(
            400,
            -1102,
            "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
        )
    if quote is not None and "quantity" in params:
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    if quote is not None:
        amount = decimal_or_none(quote)
        if amount is None:
            raise ApiError(
                400,
                -1102,
                "Mandatory parameter 'quoteOrderQty' was not sent, was empty/null, or malformed.",
            )
        if -amount.as_tuple().exponent > QUOTE_PRECISION:
            raise ApiError(400, -1111, "Parameter 'quoteOrderQty' has too much precision.")
    return book.place(
        api_key,
        symbol=symbol,
        side=side.lower(),
        kind=kind.lower(),
        qty_text=quote if quote is not None else params.get("quantity", "0"),
        quote_qty=quote is not None,
        price=params.get("price") if kind == "LIMIT" else None,
        client_id=params.get("newClientOrderId", ""),
        rules=rules(symbol),
        extra={"timeInForce": params.get("timeInForce", "GTC")},
    )
