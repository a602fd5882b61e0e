"""OKX's signed endpoints of the fake exchange: balance, key config, currencies and orders.

Orders by client id: POST /api/v5/trade/order and /trade/batch-orders take `clOrdId` (letters
and digits, up to 32). A SPOT market order's `sz` is in the currency `tgtCcy` names
(`quote_ccy`: the quote to spend or receive; default quote_ccy for buys, base_ccy for sells;
other order types ignore it); GET /api/v5/trade/order takes `instId` plus `ordId` or `clOrdId`
(ordId wins); POST /api/v5/trade/cancel-order the same. A clOrdId is refused (51016) only
while an order with it is live.
"""

from __future__ import annotations

import json
import re

from tests.fakes.book import Book, BookError, Order
from tests.fakes.http_base import ApiError
from tests.fakes.okx_http import BOOK_ERRORS, SPOT, inst_symbol, ok, rules

CLIENT_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
STATE = {"open": "live", "filled": "filled", "canceled": "canceled"}
INST_ID = {symbol: inst_id for inst_id, (symbol, *_rest) in SPOT.items()}
CHAINS = {"BTC": "BTC-Bitcoin", "ETH": "ETH-ERC20", "SOL": "SOL-Solana", "USDT": "USDT-TRC20"}


def private_route(book: Book, method, path, params, body, api_key, key):
    if path == "/api/v5/account/balance":
        held = book.frozen(api_key)
        wanted = set(filter(None, params.get("ccy", "").split(","))) or set(key.balances)
        details = _details(key, held, wanted)
        return ok([{"uTime": str(book.now()), "totalEq": "", "details": details}])
    if path == "/api/v5/account/config":
        perm = "read_only,withdraw,trade" if key.withdrawals else "read_only,trade"
        return ok([_config(api_key, perm)])
    if path == "/api/v5/asset/currencies":
        return ok([_currency(ccy, chain) for ccy, chain in CHAINS.items()])
    if path in ("/api/v5/trade/order", "/api/v5/trade/batch-orders") and method == "POST":
        requests = json.loads(body or "{}")
        batch = isinstance(requests, list)
        results = [_place(book, api_key, r) for r in (requests if batch else [requests])]
        if all(r["sCode"] != "0" for r in results):
            msg = "All operations failed" if batch else "Operation failed."
            raise ApiError(200, "1", msg, results)
        return ok(results)
    if path == "/api/v5/trade/cancel-order" and method == "POST":
        request = json.loads(body or "{}")
        order = _lookup(book, api_key, request, visible_only=False)
        try:
            book.cancel(api_key, order)
        except BookError as exc:
            code, msg = BOOK_ERRORS[exc.reason]
            raise ApiError(200, "1", "Operation failed.", [_ack(order, code, msg)]) from None
        return ok([_ack(order, "0", "")])
    if path == "/api/v5/trade/order":
        order = _lookup(book, api_key, params, visible_only=True)
        return ok([render(order)])
    if path == "/api/v5/trade/orders-pending":
        return ok(_listing(book, api_key, params, ("open",)))
    if path in ("/api/v5/trade/orders-history", "/api/v5/trade/orders-history-archive"):
        if not params.get("instType"):
            raise ApiError(200, "50014", "Parameter instType can not be empty")
        state = params.get("state")
        statuses = {"filled": ("filled",), "canceled": ("canceled",)}.get(state or "")
        return ok(_listing(book, api_key, params, statuses or ("filled", "canceled")))
    raise ApiError(404, "404", "Not Found")


def _place(book: Book, api_key: str, request: dict) -> dict:
    client_id = request.get("clOrdId", "")
    refused = {"clOrdId": client_id, "ordId": "", "tag": request.get("tag", "")}
    inst_id, side, kind = request.get("instId"), request.get("side"), request.get("ordType")
    error = None
    if inst_id not in SPOT:
        error = ("51001", "Instrument ID does not exist")
    elif client_id and not CLIENT_ID.match(client_id):
        error = ("51000", "Parameter clOrdId error")
    elif side not in ("buy", "sell") or kind not in ("market", "limit"):
        error = ("51000", f"Parameter {'side' if side not in ('buy', 'sell') else 'ordType'} error")
    elif request.get("tdMode") != "cash":
        error = ("51000", "Parameter tdMode error")
    elif kind == "limit" and not request.get("px"):
        error = ("51000", "Parameter px error")
    tgt = request.get("tgtCcy") or ("quote_ccy" if side == "buy" else "base_ccy")
    if not error and tgt not in ("base_ccy", "quote_ccy"):
        error = ("51000", "Parameter tgtCcy error")
    if error:
        return {**refused, "sCode": error[0], "sMsg": error[1], "ts": str(book.now())}
    try:
        order = book.place(
            api_key,
            symbol=SPOT[inst_id][0],
            side=side,
            kind=kind,
            qty_text=str(request.get("sz", "0")),
            quote_qty=kind == "market" and tgt == "quote_ccy",  # tgtCcy: SPOT market orders
            price=str(request["px"]) if kind == "limit" else None,
            client_id=client_id,
            rules=rules(inst_id),
            extra={"tgtCcy": tgt, "sz": str(request.get("sz", "")), "tag": request.get("tag", "")},
        )
    except BookError as exc:
        code, msg = BOOK_ERRORS[exc.reason]
        return {**refused, "sCode": code, "sMsg": msg, "ts": str(book.now())}
    return _ack(order, "0", "Order placed")


def _ack(order: Order, code: str, msg: str) -> dict:
    return {
        "clOrdId": order.client_id,
        "ordId": str(order.id),
        "tag": order.extra.get("tag", ""),
        "ts": str(order.updated),
        "sCode": code,
        "sMsg": msg,
    }


def _lookup(book: Book, api_key: str, params: dict, *, visible_only: bool) -> Order:
    symbol = inst_symbol(params.get("instId"))
    order_id, client_id = params.get("ordId") or None, params.get("clOrdId") or None
    if order_id is None and client_id is None:
        raise ApiError(200, "50015", "Either parameter ordId or clOrdId is required.")
    order = book.find(
        api_key,
        order_id=order_id,
        client_id=client_id,
        symbol=symbol,
        visible_only=visible_only,
    )
    if order is None and visible_only:
        raise ApiError(200, "51603", "Order does not exist")
    if order is None:
        code, msg = BOOK_ERRORS["not_found"]
        refused = {"clOrdId": client_id or "", "ordId": order_id or "", "sCode": code, "sMsg": msg}
        raise ApiError(200, "1", "Operation failed.", [refused])
    return order


def _listing(book: Book, api_key: str, params: dict, statuses: tuple) -> list[dict]:
    if params.get("instType", "SPOT") != "SPOT":
        return []
    symbol = inst_symbol(params["instId"]) if params.get("instId") else None
    orders = book.listing(api_key, statuses=statuses, symbol=symbol)
    if params.get("ordType"):
        orders = [o for o in orders if o.kind == params["ordType"]]
    begin, end = int(params.get("begin") or 0), int(params.get("end") or 2**62)
    orders = [o for o in orders if begin <= o.created <= end]
    limit = max(1, min(100, int(params.get("limit") or 100)))
    return [render(o) for o in reversed(orders)][:limit]


def render(order: Order) -> dict:
    """An order as GET /api/v5/trade/order answers it (fee negative, in the quote asset)."""
    blank = ("ccy", "pxUsd", "pxVol", "pxType", "posSide", "lever", "tradeId", "cancelSource")
    tp_sl = ("tpTriggerPx", "tpOrdPx", "slTriggerPx", "slOrdPx", "algoClOrdId", "algoId")
    filled = order.status == "filled"
    return {
        **dict.fromkeys(blank + tp_sl + ("attachAlgoClOrdId", "stpId", "quickMgnType"), ""),
        "instType": "SPOT",
        "instId": INST_ID.get(order.symbol, order.symbol),
        "tgtCcy": order.extra.get("tgtCcy", ""),
        "ordId": str(order.id),
        "clOrdId": order.client_id,
        "tag": order.extra.get("tag", ""),
        "px": f"{order.price}" if order.kind == "limit" else "",
        "sz": order.extra.get("sz") or order.qty_text,
        "ordType": order.kind,
        "side": order.side,
        "tdMode": "cash",
        "accFillSz": order.qty_text if filled else "0",
        "fillPx": f"{order.avg}" if filled else "",
        "fillSz": order.qty_text if filled else "0",
        "fillTime": str(order.updated) if filled else "",
        "avgPx": f"{order.avg}" if filled else "",
        "state": STATE[order.status],
        "feeCcy": order.quote,
        "fee": f"{-order.fee:.8f}" if filled else "0",
        "rebateCcy": order.base,
        "rebate": "0",
        "pnl": "0",
        "source": "",
        "category": "normal",
        "reduceOnly": "false",
        "isTpLimit": "false",
        "stpMode": "cancel_maker",
        "uTime": str(order.updated),
        "cTime": str(order.created),
    }


def _details(key, held: dict, wanted: set) -> list[dict]:
    rows = []
    for ccy in sorted(wanted):
        free, frozen = key.balances.get(ccy, 0.0), held.get(ccy, 0.0)
        total = f"{free + frozen:.8f}"
        rows.append(
            {
                "ccy": ccy,
                "eq": total,
                "cashBal": total,
                "availBal": f"{free:.8f}",
                "availEq": "",  # only margin accounts report it
                "frozenBal": f"{frozen:.8f}",
                "ordFrozen": f"{frozen:.8f}",
                "upl": "0",
                "uTime": "",
            }
        )
    return rows


def _config(api_key: str, perm: str) -> dict:
    return {
        "uid": "44705892343619584",
        "mainUid": "44705892343619584",
        "acctLv": "1",  # spot mode
        "posMode": "net_mode",
        "autoLoan": False,
        "greeksType": "PA",
        "level": "Lv1",
        "levelTmp": "",
        "ctIsoMode": "automatic",
        "mgnIsoMode": "automatic",
        "roleType": "0",
        "spotRoleType": "0",
        "opAuth": "0",
        "kycLv": "2",
        "label": f"fake key {api_key[:4]}",
        "ip": "",
        "perm": perm,
        "type": "0",
    }


def _currency(ccy: str, chain: str) -> dict:
    return {
        "ccy": ccy,
        "name": ccy,
        "chain": chain,
        "canDep": True,
        "canWd": True,
        "canInternal": True,
        "minDep": "0.0001",
        "minWd": "0.001",
        "maxWd": "1000000",
        "wdTickSz": "8",
        "fee": "0.0002",
        "minFee": "0.0002",
        "maxFee": "0.0004",
        "mainNet": True,
        "needTag": False,
    }
