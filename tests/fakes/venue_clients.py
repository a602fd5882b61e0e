"""The real ccxt clients, pointed at a fake venue, and how each finds an order by client id.

`ccxt_client(fake, ...)` builds the real `ccxt.binance` / `ccxt.okx` / `ccxt.bybit` and points
it at the fake the way core.exchanges.live does (`_point_at` rewrites the scheme and host of
every URL in `urls['api']`, keeping the paths). The lookups below are what ccxt 4.5 offers:

- okx: fetch_order(None, symbol, {"clOrdId": id}) -> GET /api/v5/trade/order?instId=&clOrdId=
  (okx.fetch_order maps clOrdId or the unified clientOrderId; any status; OKX error 51603 ->
  OrderNotFound). Cancel: cancel_order(None, symbol, {"clOrdId": id}) -> POST
  /api/v5/trade/cancel-order {instId, clOrdId}.
- bybit: fetch_order (UTA; needs params["acknowledged"]=True), fetch_open_order and
  fetch_closed_order all put the `id` argument into `orderId`, so id None goes out as
  `orderId=None`, which Bybit ranks above orderLinkId: nothing is found. By client id, list
  instead: fetch_open_orders(symbol, None, 1, {"orderLinkId": id}) -> GET
  /v5/order/realtime?category=spot&symbol=&orderLinkId=&limit=1, then
  fetch_canceled_and_closed_orders(symbol, None, 1, {"orderLinkId": id}) -> GET
  /v5/order/history?...&orderLinkId=. Bybit lists newest first and ccxt re-sorts oldest
  first, so limit 1 is how to get the newest of reused ids. Cancel: cancel_order(None,
  symbol, {"orderLinkId": id}) -> POST /v5/order/cancel {symbol, orderFilter, category,
  orderLinkId} (the unified clientOrderId is NOT mapped there).
- binance: fetch_order(None, symbol, {"origClientOrderId": id}) -> GET /api/v3/order;
  cancel_order the same with DELETE.
"""

from __future__ import annotations

import ccxt

from core.exchanges.live import SPOT_OPTIONS, _point_at

CREATE_PATH = {
    "binance": "/api/v3/order",
    "okx": "/api/v5/trade/batch-orders",  # ccxt's default; /api/v5/trade/order is served too
    "bybit": "/v5/order/create",
}
BALANCE_PATH = {
    "binance": "/api/v3/account",
    "okx": "/api/v5/account/balance",
    "bybit": "/v5/account/wallet-balance",
}
CANCEL_PARAM = {"binance": "origClientOrderId", "okx": "clOrdId", "bybit": "orderLinkId"}


def ccxt_client(
    fake,
    *,
    api_key: str,
    secret: str,
    password: str = "",
    timeout_ms: int = 2000,
    rate_limit: bool = False,  # ccxt's own throttle only slows tests down
):
    config = {
        "apiKey": api_key,
        "secret": secret,
        "timeout": timeout_ms,
        "enableRateLimit": rate_limit,
        "options": dict(SPOT_OPTIONS.get(fake.venue, {})),
    }
    if password:
        config["password"] = password
    exchange = getattr(ccxt, fake.venue)(config)
    _point_at(exchange, fake.url)
    return exchange


def by_client_id(exchange, symbol: str, client_id: str) -> dict:
    """The newest order with this client id (see the module's doc); ccxt.OrderNotFound if none."""
    if exchange.id == "okx":
        return exchange.fetch_order(None, symbol, {"clOrdId": client_id})
    if exchange.id == "binance":
        return exchange.fetch_order(None, symbol, {"origClientOrderId": client_id})
    params = {"orderLinkId": client_id}
    found = exchange.fetch_open_orders(symbol, None, 1, params)
    found = found or exchange.fetch_canceled_and_closed_orders(symbol, None, 1, params)
    if not found:
        raise ccxt.OrderNotFound(f"bybit: no order with orderLinkId {client_id}")
    return found[0]


def cancel_by_client_id(exchange, symbol: str, client_id: str) -> dict:
    return exchange.cancel_order(None, symbol, {CANCEL_PARAM[exchange.id]: client_id})
