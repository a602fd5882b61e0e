"""OKX's HTTP dialect (REST v5) of the fake exchange: signing, envelopes, public endpoints.

Every answer is `{"code": "0", "msg": "", "data": [...]}`; a refusal has a non-zero code, and
order operations report theirs per order in `data[i].sCode` under `code: "1"`, as OKX does
(ccxt's okx.handle_errors matches both against its `exceptions['exact']` table).
Signed requests carry OK-ACCESS-KEY / -SIGN / -TIMESTAMP / -PASSPHRASE; the signature is
base64(HMAC-SHA256(secret, timestamp + method + request path with query + body)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime

from core.exchanges.base import TIMEFRAMES
from tests.fakes.book import MARKETS, BookError, Key, Rules
from tests.fakes.http_base import ApiError, VenueHandler

TIME_WINDOW_MS = 30_000  # OKX refuses requests whose timestamp is 30 s off
SPOT = {  # OKX's own spot rules: instId -> (book symbol, tickSz, lotSz, minSz)
    "BTC-USDT": ("BTCUSDT", "0.1", "0.00000001", "0.00001"),
    "ETH-USDT": ("ETHUSDT", "0.01", "0.000001", "0.0001"),
    "SOL-USDT": ("SOLUSDT", "0.01", "0.000001", "0.01"),
}
BOOK_ERRORS = {  # BookError reason -> (sCode, sMsg)
    "duplicate": ("51016", "Duplicated clOrdId"),
    "insufficient": ("51008", "Order failed. Insufficient balance in account."),
    "min_qty": ("51020", "Your order should meet or exceed the minimum order amount."),
    "min_notional": ("51020", "Your order should meet or exceed the minimum order amount."),
    "lot_size": ("51121", "Order quantity must be a multiple of the lot size."),
    "tick_size": ("51000", "Parameter px error"),
    "not_found": ("51400", "Cancellation failed as the order does not exist."),
    "not_open": ("51402", "Order cancellation failed as the order has been completed."),
}


def rules(inst_id: str) -> Rules:
    _symbol, tick, lot, min_sz = SPOT[inst_id]
    return Rules(tick=tick, step=lot, min_qty=min_sz)


def inst_symbol(inst_id: str | None) -> str:
    if inst_id not in SPOT:
        raise ApiError(200, "51001", "Instrument ID does not exist")
    return SPOT[inst_id][0]


def ok(data: list) -> tuple[int, dict]:
    return 200, {"code": "0", "msg": "", "data": data}


class OkxHandler(VenueHandler):
    candle_paths = ("/api/v5/market/candles", "/api/v5/market/history-candles")

    @staticmethod
    def render_order(order) -> dict:
        from tests.fakes.okx_orders import render

        return render(order)

    def error_body(self, exc: ApiError) -> dict:
        return {"code": str(exc.code), "msg": exc.msg, "data": exc.data or []}

    def rate_limit_body(self) -> dict:
        return {"code": "50011", "msg": "Too Many Requests", "data": []}

    def book_error(self, exc: BookError) -> ApiError:
        code, msg = BOOK_ERRORS[exc.reason]
        return ApiError(200, "1", "Operation failed.", [{"sCode": code, "sMsg": msg}])

    def symbol_of(self, params: dict) -> str | None:
        return SPOT.get(params.get("instId", ""), (None,))[0]

    def _signed(self, method: str, body: str) -> tuple[str, Key]:
        headers, book = self.headers, self.book
        api_key, sign = headers.get("OK-ACCESS-KEY", ""), headers.get("OK-ACCESS-SIGN", "")
        stamp, phrase = headers.get("OK-ACCESS-TIMESTAMP", ""), headers.get("OK-ACCESS-PASSPHRASE")
        for value, code, name in (
            (api_key, "50103", "OK-ACCESS-KEY"),
            (phrase, "50104", "OK-ACCESS-PASSPHRASE"),
            (sign, "50106", "OK-ACCESS-SIGN"),
            (stamp, "50107", "OK-ACCESS-TIMESTAMP"),
        ):
            if not value:
                raise ApiError(401, code, f"Request header {name} can't be empty.")
        try:
            ts = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000
        except ValueError:
            raise ApiError(401, "50112", "Invalid OK-ACCESS-TIMESTAMP") from None
        if min(abs(book.now() - ts), abs(time.time() * 1000 - ts)) > TIME_WINDOW_MS:
            raise ApiError(401, "50102", "Timestamp request expired")
        key = book.keys.get(api_key)
        if key is None:
            raise ApiError(401, "50111", "Invalid OK-ACCESS-KEY")
        if not hmac.compare_digest(phrase, key.passphrase):
            raise ApiError(401, "50105", "OK-ACCESS-PASSPHRASE incorrect")
        prehash = f"{stamp}{method}{self.path}{body}"
        digest = hmac.new(key.secret.encode(), prehash.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(sign, base64.b64encode(digest).decode()):
            raise ApiError(401, "50113", "Invalid Sign")
        return api_key, key

    def route(self, method: str, path: str, params: dict, body: str):
        book = self.book
        if path == "/api/v5/public/time":
            return ok([{"ts": str(book.now())}])
        if path == "/api/v5/public/instruments":
            kind = params.get("instType", "")
            if kind not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
                raise ApiError(400, "51000", "Parameter instType error")
            return ok([instrument(i) for i in SPOT] if kind == "SPOT" else [])
        if path in self.candle_paths:
            return ok(candles(book, params))
        if path == "/api/v5/market/ticker":
            return ok([ticker(book, params.get("instId"))])
        if not path.startswith("/api/v5/"):
            raise ApiError(404, "404", "Not Found")
        api_key, key = self._signed(method, body)
        with book.lock:
            book.settle_limits(api_key)
            from tests.fakes.okx_orders import private_route

            return private_route(book, method, path, params, body, api_key, key)


def instrument(inst_id: str) -> dict:
    symbol, tick, lot, min_sz = SPOT[inst_id]
    base, quote = MARKETS[symbol][:2]
    blank = ("alias", "ctMult", "ctType", "ctVal", "ctValCcy", "expTime", "instFamily")
    return {
        **dict.fromkeys(blank, ""),
        **dict.fromkeys(("optType", "settleCcy", "stk", "uly", "maxStopSz"), ""),
        "instType": "SPOT",
        "instId": inst_id,
        "instIdCode": 10_000 + list(SPOT).index(inst_id),
        "baseCcy": base,
        "quoteCcy": quote,
        "category": "1",
        "lever": "10",
        "listTime": "1606468572000",
        "lotSz": lot,
        "minSz": min_sz,
        "tickSz": tick,
        "maxLmtSz": "9999999999",
        "maxMktSz": "1000000",
        "maxLmtAmt": "20000000",
        "maxMktAmt": "1000000",
        "maxTwapSz": "9999999999",
        "maxIcebergSz": "9999999999",
        "maxTriggerSz": "9999999999",
        "ruleType": "normal",
        "state": "live",
    }


def ticker(book, inst_id: str | None) -> dict:
    symbol = inst_symbol(inst_id)
    price, now = f"{book.price(symbol):.8f}", str(book.now())
    fields = ("last", "askPx", "bidPx", "open24h", "high24h", "low24h", "sodUtc0", "sodUtc8")
    return {
        "instType": "SPOT",
        "instId": inst_id,
        **dict.fromkeys(fields, price),
        **dict.fromkeys(("lastSz", "askSz", "bidSz", "volCcy24h", "vol24h"), "0"),
        "ts": now,
    }


def candles(book, params: dict) -> list[list]:
    """Newest first; `after`/`before` page to older/newer than a timestamp (exclusive)."""
    symbol = inst_symbol(params.get("instId"))
    bar = params.get("bar", "1m").removesuffix("utc")
    step = TIMEFRAMES.get(bar if bar.endswith("m") else bar.lower())
    if step is None:
        raise ApiError(400, "51000", "Parameter bar error")
    limit = max(1, min(300, int(params.get("limit") or 100)))
    now = book.now()
    last = now - now % step
    if params.get("after"):
        upper = int(params["after"]) - 1
        last = min(last, upper - upper % step)
    first = 0
    if params.get("before"):
        lower = int(params["before"]) + 1
        first = lower + (-lower) % step
    start = max(first, last - (limit - 1) * step)
    count = max(0, (last - start) // step + 1)
    rows = book.price_source(symbol, step, start, count) if count else []
    return [
        [str(t), f"{o:.8f}", f"{h:.8f}", f"{lo:.8f}", f"{c:.8f}", f"{v:.8f}"]
        + [f"{v * c:.8f}", f"{v * c:.8f}", "0" if t == now - now % step else "1"]
        for t, o, h, lo, c, v in reversed(rows)
    ]
