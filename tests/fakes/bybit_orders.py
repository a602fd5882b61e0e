"""Bybit's signed endpoints of the fake exchange: key info, account, wallet, coins, orders.

Orders by client id: POST /v5/order/create takes `orderLinkId` (letters, digits, - and _, up
to 36); GET /v5/order/realtime (open orders; `openOnly=1`: recent closed ones; asked by orderId or
orderLinkId: that order whatever its status, which ccxt's bybit.fetch_order assumes) and GET
/v5/order/history (closed orders) filter by `orderId`, else `orderLinkId`, else `symbol`
(Bybit's documented priority: ccxt's fetch_order/fetch_open_order/fetch_closed_order with id
None send `orderId=None`, which matches nothing); POST /v5/order/cancel takes `orderId` or
`orderLinkId`.
An orderLinkId is refused (110072) only while an order with it is open.
"""

from __future__ import annotations

import json
import re

from tests.fakes.book import Book, BookError, Order, decimal_or_none
from tests.fakes.bybit_http import QUOTE_PRECISION, ok, rules, spot_symbol
from tests.fakes.http_base import ApiError

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
STATUS = {"open": "New", "filled": "Filled", "canceled": "Cancelled"}
CLOSED = ("filled", "canceled")
COINS = {"BTC": "BTC", "ETH": "ETH", "SOL": "SOL", "USDT": "TRX"}


def private_route(book: Book, method, path, params, body, api_key, key):
    if path == "/v5/user/query-api":
        return ok(book, _api_info(api_key, key.withdrawals))
    if path == "/v5/account/info":
        return ok(
            book,
            {
                "unifiedMarginStatus": 6,  # UTA 2.0 pro
                "marginMode": "REGULAR_MARGIN",
                "isMasterTrader": False,
                "spotHedgingStatus": "OFF",
                "updatedTime": str(book.now()),
            },
        )
    if path == "/v5/asset/coin/query-info":
        return ok(book, {"rows": [_coin(c, chain) for c, chain in COINS.items()]})
    if path == "/v5/account/wallet-balance":
        if params.get("accountType") != "UNIFIED":
            raise ApiError(200, 10001, "accountType only support UNIFIED.")
        wanted = set(filter(None, params.get("coin", "").split(","))) or set(key.balances)
        return ok(book, {"list": [_wallet(key, book.frozen(api_key), wanted)]})
    if path == "/v5/order/create" and method == "POST":
        order = _create(book, api_key, json.loads(body or "{}"))
        return ok(book, {"orderId": str(order.id), "orderLinkId": order.client_id})
    if path == "/v5/order/cancel" and method == "POST":
        request = json.loads(body or "{}")
        symbol = spot_symbol(request)
        order_id, link_id = request.get("orderId") or None, request.get("orderLinkId") or None
        if order_id is None and link_id is None:
            raise ApiError(200, 10001, "params error: orderId or orderLinkId is required")
        order = book.find(
            api_key, order_id=order_id, client_id=link_id, symbol=symbol, visible_only=False
        )
        if order is None:
            raise BookError("not_found")
        book.cancel(api_key, order)
        return ok(book, {"orderId": str(order.id), "orderLinkId": order.client_id})
    if path == "/v5/order/realtime":
        closed = str(params.get("openOnly", "0")) != "0"
        statuses = CLOSED if closed else ("open",)
        if params.get("orderId") or params.get("orderLinkId"):
            statuses = ("open", *CLOSED)  # by id: any status (ccxt's fetch_order relies on it)
        return ok(book, _listing(book, api_key, params, statuses))
    if path == "/v5/order/history":
        wanted = {"Filled": ("filled",), "Cancelled": ("canceled",)}
        statuses = wanted.get(params.get("orderStatus", ""), CLOSED)
        return ok(book, _listing(book, api_key, params, statuses))
    raise ApiError(404, 10001, "path not found")


def _create(book: Book, api_key: str, request: dict) -> Order:
    symbol = spot_symbol(request)
    side, kind = request.get("side"), request.get("orderType")
    link_id = request.get("orderLinkId") or ""
    if side not in ("Buy", "Sell"):
        raise ApiError(200, 10001, "params error: side invalid")
    if kind not in ("Market", "Limit"):
        raise ApiError(200, 10001, "params error: orderType invalid")
    if link_id and not LINK_ID.match(link_id):
        raise ApiError(200, 10001, "params error: orderLinkId invalid")
    if not request.get("qty") or (kind == "Limit" and not request.get("price")):
        raise ApiError(200, 10001, "params error: qty or price is required")
    # A Spot market order's qty: in quote for a Buy unless marketUnit says baseCoin (Bybit's
    # default, which ccxt's create_market_buy_order_with_cost relies on: it sends no
    # marketUnit), in base for a Sell unless quoteCoin. Other order types ignore marketUnit.
    unit = request.get("marketUnit") or ("quoteCoin" if side == "Buy" else "baseCoin")
    if unit not in ("baseCoin", "quoteCoin"):
        raise ApiError(200, 10001, "params error: marketUnit invalid")
    quote_qty = kind == "Market" and unit == "quoteCoin"
    if quote_qty and _decimals(str(request["qty"])) > _decimals(QUOTE_PRECISION):
        raise ApiError(200, 170148, "Market order amount decimal too long.")
    return book.place(
        api_key,
        symbol=symbol,
        side=side.lower(),
        kind=kind.lower(),
        qty_text=str(request["qty"]),
        quote_qty=quote_qty,
        price=str(request["price"]) if kind == "Limit" else None,
        client_id=link_id,
        rules=rules(symbol),
        extra={
            "qty": str(request["qty"]),
            "marketUnit": unit if kind == "Market" else "",
            "timeInForce": request.get("timeInForce") or ("IOC" if kind == "Market" else "GTC"),
        },
    )


def _decimals(text: str) -> int:
    number = decimal_or_none(text)
    return max(0, -number.as_tuple().exponent) if number is not None else 99


def _listing(book: Book, api_key: str, params: dict, statuses: tuple) -> dict:
    category = params.get("category", "")
    if category != "spot":
        return {"category": category, "list": [], "nextPageCursor": ""}
    symbol = spot_symbol(params) if params.get("symbol") else None
    orders = book.listing(api_key, statuses=statuses)
    if params.get("orderId"):  # Bybit's priority: orderId > orderLinkId > symbol
        orders = [o for o in orders if str(o.id) == params["orderId"]]
    elif params.get("orderLinkId"):
        orders = [o for o in orders if o.client_id == params["orderLinkId"]]
    elif symbol:
        orders = [o for o in orders if o.symbol == symbol]
    start, end = int(params.get("startTime") or 0), int(params.get("endTime") or 2**62)
    orders = [o for o in orders if start <= o.created <= end]
    limit = max(1, min(50, int(params.get("limit") or 20)))
    listed = [render(o) for o in reversed(orders)][:limit]
    return {"category": "spot", "list": listed, "nextPageCursor": ""}


def render(order: Order) -> dict:
    """An order as GET /v5/order/realtime and /history list it (spot: no tpslMode field)."""
    filled = order.status == "filled"
    zero = ("triggerPrice", "takeProfit", "stopLoss", "slLimitPrice", "tpLimitPrice")
    return {
        **dict.fromkeys(zero, "0"),
        **dict.fromkeys(("blockTradeId", "stopOrderType", "orderIv", "triggerBy"), ""),
        "orderId": str(order.id),
        "orderLinkId": order.client_id,
        "symbol": order.symbol,
        "price": f"{order.price}" if order.kind == "limit" else "0",
        "qty": order.extra.get("qty") or order.qty_text,
        "side": order.side.capitalize(),
        "isLeverage": "0",
        "positionIdx": 0,
        "orderStatus": STATUS[order.status],
        "cancelType": "CancelByUser" if order.status == "canceled" else "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": f"{order.avg}" if filled else "",
        "leavesQty": "0" if order.status != "open" else order.qty_text,
        "leavesValue": "0" if order.status != "open" else f"{order.qty * (order.price or 0)}",
        "cumExecQty": order.qty_text if filled else "0",
        "cumExecValue": f"{order.cost:.8f}",
        "cumExecFee": f"{order.fee:.8f}",
        "cumFeeDetail": {order.quote: f"{order.fee:.8f}"} if filled else {},
        "timeInForce": order.extra.get("timeInForce", "GTC"),
        "orderType": order.kind.capitalize(),
        "marketUnit": order.extra.get("marketUnit", ""),
        "triggerDirection": 0,
        "reduceOnly": False,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "placeType": "",
        "createdTime": str(order.created),
        "updatedTime": str(order.updated),
    }


def _api_info(api_key: str, withdrawals: bool) -> dict:
    wallet = ["AccountTransfer", "Withdraw"] if withdrawals else ["AccountTransfer"]
    permissions = dict.fromkeys(("ContractTrade", "Options", "Derivatives", "Exchange"), [])
    return {
        "id": "13770661",
        "note": "fake key",
        "apiKey": api_key,
        "readOnly": 0,
        "secret": "",
        "permissions": {**permissions, "Spot": ["SpotTrade"], "Wallet": wallet, "NFT": []},
        "ips": ["*"],
        "type": 1,
        "deadlineDay": 83,
        "unified": 0,
        "uta": 1,
        "userID": 24617703,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
        "parentUid": "0",
        "kycLevel": "LEVEL_1",
        "kycRegion": "",
    }


def _wallet(key, held: dict, wanted: set) -> dict:
    coins = []
    for coin in sorted(wanted):
        free, locked = key.balances.get(coin, 0.0), held.get(coin, 0.0)
        total = f"{free + locked:.8f}"
        coins.append(
            {
                "coin": coin,
                "equity": total,
                "walletBalance": total,
                "locked": f"{locked:.8f}",
                "availableToWithdraw": "",  # deprecated for UTA: Bybit sends ""
                "borrowAmount": "0",
                "accruedInterest": "0",
                "totalOrderIM": "0",
                "totalPositionIM": "0",
                "usdValue": "",
                "unrealisedPnl": "0",
            }
        )
    return {"accountType": "UNIFIED", "totalEquity": "", "coin": coins}


def _coin(coin: str, chain: str) -> dict:
    return {
        "name": coin,
        "coin": coin,
        "remainAmount": "1000000",
        "chains": [
            {
                "chainType": chain,
                "chain": chain,
                "confirmation": "1",
                "withdrawFee": "0.0005",
                "depositMin": "0",
                "withdrawMin": "0.001",
                "chainDeposit": "1",
                "chainWithdraw": "1",
                "minAccuracy": "8",
                "withdrawPercentageFee": "0",
            }
        ],
    }
