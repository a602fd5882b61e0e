"""Binance's HTTP dialect of the fake exchange: routing, signature checks, Binance JSON."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qsl, urlsplit

from core.exchanges.base import TIMEFRAMES
from tests.fakes.binance_book import MARKETS, exchange_info, render
from tests.fakes.book import BookError, Key
from tests.fakes.http_base import ApiError, VenueHandler

__all__ = ["ApiError", "BinanceHandler", "Handler", "_symbol", "klines"]

RECV_WINDOW = 5000
BOOK_ERRORS = {  # BookError reason -> (HTTP status, Binance code, message)
    "duplicate": (400, -2010, "Duplicate order sent."),
    "insufficient": (400, -2010, "Account has insufficient balance for requested action."),
    "min_qty": (400, -1013, "Filter failure: LOT_SIZE"),
    "lot_size": (400, -1013, "Filter failure: LOT_SIZE"),
    "tick_size": (400, -1013, "Filter failure: PRICE_FILTER"),
    "min_notional": (400, -1013, "Filter failure: NOTIONAL"),
    "not_found": (400, -2013, "Order does not exist."),
    "not_open": (400, -2011, "Unknown order sent."),
}


class BinanceHandler(VenueHandler):
    candle_paths = ("/api/v3/klines",)
    render_order = staticmethod(render)

    def error_body(self, exc: ApiError) -> dict:
        return {"code": exc.code, "msg": exc.msg}

    def rate_limit_body(self) -> dict:
        return {"code": -1003, "msg": "Too many requests; IP banned until later."}

    def book_error(self, exc: BookError) -> ApiError:
        return ApiError(*BOOK_ERRORS[exc.reason])

    def _signed(self, params: dict, body: str) -> tuple[str, Key]:
        book = self.book
        api_key = self.headers.get("X-MBX-APIKEY", "")
        key = book.keys.get(api_key)
        if key is None:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        signature = params.get("signature", "")
        payload = "&".join(p for p in (urlsplit(self.path).query, body) if p)
        payload = payload.replace(f"&signature={signature}", "").replace(
            f"signature={signature}", ""
        )
        expected = hmac.new(key.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise ApiError(400, -1022, "Signature for this request is not valid.")
        ts = int(params.get("timestamp", 0))
        window = int(params.get("recvWindow", RECV_WINDOW))
        if abs(book.now() - ts) > window and abs(time.time() * 1000 - ts) > window:
            raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return api_key, key

    def route(self, method: str, path: str, params: dict, body: str):
        book = self.book
        params = {**params, **dict(parse_qsl(body, keep_blank_values=True))}
        if path == "/api/v3/ping":
            return 200, {}
        if path == "/api/v3/time":
            return 200, {"serverTime": book.now()}
        if path == "/api/v3/exchangeInfo":
            return 200, exchange_info(book.now())
        if path == "/api/v3/klines":
            return 200, klines(book, params)
        if path in ("/api/v3/ticker/price", "/api/v3/ticker/24hr"):
            symbol = _symbol(params)
            price = f"{book.price(symbol):.8f}"
            if path.endswith("price"):
                return 200, {"symbol": symbol, "price": price}
            return 200, {
                "symbol": symbol,
                "lastPrice": price,
                "openPrice": price,
                "highPrice": price,
                "lowPrice": price,
                "volume": "0",
                "quoteVolume": "0",
                "closeTime": book.now(),
                "openTime": book.now(),
            }
        api_key, key = self._signed(params, body)
        with book.lock:
            book.settle_limits(api_key)
            from tests.fakes.binance_orders import private_route

            return private_route(book, method, path, params, api_key, key)


Handler = BinanceHandler  # the name the fake had when it spoke Binance only


def _symbol(params: dict) -> str:
    symbol = params.get("symbol", "")
    if symbol not in MARKETS:
        raise ApiError(400, -1121, "Invalid symbol.")
    return symbol


INTERVALS = TIMEFRAMES  # Binance interval names are ours


def klines(book, params: dict) -> list[list]:
    symbol = _symbol(params)
    step = INTERVALS.get(params.get("interval", ""))
    if step is None:
        raise ApiError(400, -1120, "Invalid interval.")
    limit = min(1000, int(params.get("limit", 500)))
    now = book.now()
    last_open = now - now % step
    if "startTime" in params:
        start = int(params["startTime"])
        start += (-start) % step
    elif "endTime" in params:
        start = int(params["endTime"]) - int(params["endTime"]) % step - (limit - 1) * step
    else:
        start = last_open - (limit - 1) * step
    end = min(last_open, int(params.get("endTime", last_open)))
    count = max(0, min(limit, (end - start) // step + 1))
    rows = book.price_source(symbol, step, start, count) if count else []
    return [
        [
            t,
            f"{o:.8f}",
            f"{h:.8f}",
            f"{lo:.8f}",
            f"{c:.8f}",
            f"{v:.8f}",
            t + step - 1,
            "0",
            1,
            "0",
            "0",
            "0",
        ]
        for t, o, h, lo, c, v in rows
    ]
