"""Bybit's HTTP dialect (REST v5, unified trading account) of the fake exchange.

Every answer is `{"retCode": 0, "retMsg": "OK", "result": {...}, "retExtInfo": {}, "time": ms}`;
a refusal has Bybit's non-zero retCode (ccxt's bybit.handle_errors matches it against its
`exceptions['exact']` table). Signed requests carry X-BAPI-API-KEY / -TIMESTAMP /
-RECV-WINDOW / -SIGN; the signature is hex(HMAC-SHA256(secret, timestamp + api key +
recv window + query string (GET) or JSON body (POST))).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from core.exchanges.base import TIMEFRAMES
from tests.fakes.book import MARKETS, BookError, Key, Rules
from tests.fakes.http_base import ApiError, VenueHandler

SPOT = {  # Bybit's own spot rules: symbol -> (basePrecision, tickSize, minOrderQty, minOrderAmt)
    "BTCUSDT": ("0.000001", "0.01", "0.000048", "1"),
    "ETHUSDT": ("0.00001", "0.01", "0.00062", "1"),
    "SOLUSDT": ("0.001", "0.01", "0.011", "1"),
}
QUOTE_PRECISION = "0.00000001"  # lotSizeFilter.quotePrecision: a quote qty's decimals
INTERVALS = {"60": "1h", "120": "2h", "240": "4h", "360": "6h", "720": "12h", "D": "1d"}
BOOK_ERRORS = {  # BookError reason -> (retCode, retMsg)
    "duplicate": (110072, "OrderLinkedID is duplicate"),
    "insufficient": (170131, "Insufficient balance."),
    "min_qty": (170136, "Order quantity lower than the minimum."),
    "min_notional": (170140, "Order value exceeded lower limit."),
    "lot_size": (170137, "Order volume decimal too long."),
    "tick_size": (170134, "Order price decimal too long."),
    "not_found": (110001, "Order does not exist."),
    "not_open": (110001, "order not exists or too late to cancel"),
}


def rules(symbol: str) -> Rules:
    step, tick, min_qty, min_amt = SPOT[symbol]
    return Rules(tick=tick, step=step, min_qty=min_qty, min_notional=min_amt)


def spot_symbol(params: dict) -> str:
    if params.get("category") != "spot":
        raise ApiError(200, 10001, "params error: category only support spot here")
    if params.get("symbol") not in SPOT:
        raise ApiError(200, 10001, "params error: Not supported symbols")
    return params["symbol"]


def ok(book, result: dict) -> tuple[int, dict]:
    envelope = {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}}
    return 200, {**envelope, "time": book.now()}


class BybitHandler(VenueHandler):
    candle_paths = ("/v5/market/kline",)

    @staticmethod
    def render_order(order) -> dict:
        from tests.fakes.bybit_orders import render

        return render(order)

    def error_body(self, exc: ApiError) -> dict:
        body = {"retCode": exc.code, "retMsg": exc.msg, "result": {}, "retExtInfo": {}}
        return {**body, "time": self.book.now()}

    def rate_limit_body(self) -> dict:
        return self.error_body(ApiError(429, 10006, "Too many visits!"))

    def book_error(self, exc: BookError) -> ApiError:
        return ApiError(200, *BOOK_ERRORS[exc.reason])

    def _signed(self, method: str, body: str) -> tuple[str, Key]:
        book, headers = self.book, self.headers
        api_key = headers.get("X-BAPI-API-KEY", "")
        stamp, sign = headers.get("X-BAPI-TIMESTAMP", ""), headers.get("X-BAPI-SIGN", "")
        window = headers.get("X-BAPI-RECV-WINDOW", "5000")
        key = book.keys.get(api_key)
        if key is None:
            raise ApiError(401, 10003, "API key is invalid.")
        try:
            ts, recv = int(stamp), int(window)
        except ValueError:
            raise ApiError(200, 10001, "params error: timestamp or recv_window") from None
        if not any(now - recv <= ts < now + 1000 for now in (book.now(), time.time() * 1000)):
            raise ApiError(
                200,
                10002,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts}],server_timestamp[{book.now()}],recv_window[{recv}]",
            )
        signed = body if method == "POST" else self.path.partition("?")[2]
        payload = f"{stamp}{api_key}{window}{signed}"
        expected = hmac.new(key.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sign, expected):
            raise ApiError(401, 10004, "error sign! please check your signature generation.")
        return api_key, key

    def route(self, method: str, path: str, params: dict, body: str):
        book = self.book
        if path == "/v5/market/time":
            now = book.now()
            return ok(book, {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)})
        if path == "/v5/market/instruments-info":
            category = params.get("category", "")
            if category not in ("spot", "linear", "inverse", "option"):
                raise ApiError(200, 10001, "params error: category is invalid")
            listed = [instrument(s) for s in SPOT] if category == "spot" else []
            return ok(book, {"category": category, "list": listed, "nextPageCursor": ""})
        if path == "/v5/market/kline":
            symbol = spot_symbol(params)
            return ok(book, {"category": "spot", "symbol": symbol, "list": kline(book, params)})
        if path == "/v5/market/tickers":
            return ok(book, {"category": "spot", "list": [ticker(book, spot_symbol(params))]})
        if not path.startswith("/v5/"):
            raise ApiError(404, 10001, "path not found")
        api_key, key = self._signed(method, body)
        with book.lock:
            book.settle_limits(api_key)
            from tests.fakes.bybit_orders import private_route

            return private_route(book, method, path, params, body, api_key, key)


def instrument(symbol: str) -> dict:
    step, tick, min_qty, min_amt = SPOT[symbol]
    base, quote = MARKETS[symbol][:2]
    return {
        "symbol": symbol,
        "baseCoin": base,
        "quoteCoin": quote,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": step,
            "quotePrecision": QUOTE_PRECISION,
            "minOrderQty": min_qty,
            "maxOrderQty": "9000",
            "minOrderAmt": min_amt,
            "maxOrderAmt": "4000000",
        },
        "priceFilter": {"tickSize": tick},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
    }


def ticker(book, symbol: str) -> dict:
    price = f"{book.price(symbol):.8f}"
    fields = ("bid1Price", "ask1Price", "lastPrice", "prevPrice24h", "highPrice24h")
    return {
        "symbol": symbol,
        **dict.fromkeys(fields + ("lowPrice24h", "usdIndexPrice"), price),
        **dict.fromkeys(("bid1Size", "ask1Size", "turnover24h", "volume24h"), "0"),
        "price24hPcnt": "0",
    }


def kline(book, params: dict) -> list[list]:
    """Newest first; `start`/`end` are inclusive bounds, `limit` 1..1000 (default 200)."""
    interval = params.get("interval", "")
    step = TIMEFRAMES.get(INTERVALS.get(interval, f"{interval}m"))
    if step is None:
        raise ApiError(200, 10001, "params error: interval invalid")
    limit = max(1, min(1000, int(params.get("limit") or 200)))
    now = book.now()
    last = now - now % step
    if params.get("end"):
        end = int(params["end"])
        last = min(last, end - end % step)
    if params.get("start"):
        start = int(params["start"])
        first = start + (-start) % step
        last = min(last, first + (limit - 1) * step)  # from `start` on, as Bybit pages
    else:
        first = last - (limit - 1) * step
    count = max(0, (last - first) // step + 1)
    rows = book.price_source(params["symbol"], step, first, count) if count else []
    return [
        [str(t), f"{o:.8f}", f"{h:.8f}", f"{lo:.8f}", f"{c:.8f}", f"{v:.8f}", f"{v * c:.8f}"]
        for t, o, h, lo, c, v in reversed(rows)
    ]
