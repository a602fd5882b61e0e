"""HTTP handler of the fake exchange: routing, signature checks, faults, Binance JSON."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from core.exchanges.base import TIMEFRAMES
from tests.fakes.binance_book import MARKETS, Key

RECV_WINDOW = 5000


class ApiError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --- plumbing -------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        query = url.query
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(dict(parse_qsl(body, keep_blank_values=True)))
        if url.path.startswith("/__fake__/"):
            return self._control(method, url.path, body)
        fake.count(method, url.path, params.get("symbol"))
        fault = fake.take_fault(url.path)
        if fault and self._before(fault):
            return None
        try:
            status, payload = self._route(method, url.path, params, query, body)
        except ApiError as exc:
            status, payload = exc.status, {"code": exc.code, "msg": exc.msg}
        if fault and fault["kind"] == "lost":
            return self._drop()  # the order (if any) is booked; the answer never arrives
        self._send(status, payload, malformed=bool(fault and fault["kind"] == "malformed"))
        return None

    def _before(self, fault: dict) -> bool:
        """Apply a fault that acts before routing; True if the request is answered."""
        kind = fault["kind"]
        if kind in ("latency", "timeout"):
            time.sleep(fault["seconds"] or (5.0 if kind == "timeout" else 0.2))
            return kind == "timeout" and self._drop()
        if kind == "429":
            self._send(
                429,
                {"code": -1003, "msg": "Too many requests; IP banned until later."},
                headers={"Retry-After": str(fault["retry_after"])},
            )
            return True
        if kind == "5xx":  # what a gateway in front of the exchange answers
            data = b"<html><body>503 Service Temporarily Unavailable</body></html>"
            self.send_response(503)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        if kind == "reset":
            return self._drop()
        return False

    def _drop(self) -> bool:
        with contextlib.suppress(OSError):  # already closed by the client: nothing to drop
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True
        return True

    def _send(
        self, status: int, payload, *, headers: dict | None = None, malformed: bool = False
    ) -> None:
        data = b'{"oops": ' if malformed else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _control(self, method: str, path: str, body: str) -> None:
        fake = self.server.fake
        data = json.loads(body or "{}")
        if path == "/__fake__/faults" and method == "POST":
            fake.inject(data.pop("kind"), **data)
        elif path == "/__fake__/keys" and method == "POST":
            fake.add_key(
                data["key"],
                data["secret"],
                withdrawals=bool(data.get("withdrawals")),
                balances=data.get("balances"),
            )
        elif path == "/__fake__/reset" and method == "POST":
            fake.clear_faults()
        elif path == "/__fake__/stats":
            return self._send(
                200,
                {
                    "requests": dict(fake.stats),
                    "klines_by_symbol": dict(fake.klines_by_symbol),
                    "orders": {k[:4]: v for k, v in fake.book.orders.items()},
                },
            )
        return self._send(200, {"ok": True})

    # --- Binance API ------------------------------------------------------------------------
    def _signed(self, params: dict, query: str, body: str) -> tuple[str, Key]:
        book = self.server.fake.book
        api_key = self.headers.get("X-MBX-APIKEY", "")
        key = book.keys.get(api_key)
        if key is None:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        signature = params.get("signature", "")
        payload = "&".join(p for p in (query, body) if p)
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

    def _route(self, method: str, path: str, params: dict, query: str, body: str):
        book = self.server.fake.book
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
        api_key, key = self._signed(params, query, body)
        with book.lock:
            book.settle_limits(api_key)
            from tests.fakes.binance_orders import private_route

            return private_route(book, method, path, params, api_key, key)


def _symbol(params: dict) -> str:
    symbol = params.get("symbol", "")
    if symbol not in MARKETS:
        raise ApiError(400, -1121, "Invalid symbol.")
    return symbol


def exchange_info(now: int) -> dict:
    symbols = []
    for symbol, (base, quote, _lvl, tick, step, min_qty, min_notional) in MARKETS.items():
        symbols.append(
            {
                "symbol": symbol,
                "status": "TRADING",
                "baseAsset": base,
                "baseAssetPrecision": 8,
                "quoteAsset": quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8,
                "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "icebergAllowed": False,
                "ocoAllowed": False,
                "quoteOrderQtyMarketAllowed": True,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "permissions": ["SPOT"],
                "permissionSets": [["SPOT"]],
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": tick,
                        "maxPrice": "10000000",
                        "tickSize": tick,
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": min_qty,
                        "maxQty": "9000000",
                        "stepSize": step,
                    },
                    {
                        "filterType": "NOTIONAL",
                        "minNotional": min_notional,
                        "applyMinToMarket": True,
                        "maxNotional": "9000000",
                        "applyMaxToMarket": False,
                        "avgPriceMins": 5,
                    },
                ],
            }
        )
    return {
        "timezone": "UTC",
        "serverTime": now,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": symbols,
    }


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
