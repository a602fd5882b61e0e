"""The fake exchange's state: keys, balances, orders and prices (no HTTP here)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

MARKETS = {  # symbol: (base, quote, price level, tick, step, min qty, min notional)
    "BTCUSDT": ("BTC", "USDT", 60_000.0, "0.01", "0.00001", "0.00001", "5"),
    "ETHUSDT": ("ETH", "USDT", 3_000.0, "0.01", "0.0001", "0.0001", "5"),
    "SOLUSDT": ("SOL", "USDT", 150.0, "0.01", "0.001", "0.001", "5"),
}
for _i in range(17):  # enough markets for a 20-market benchmark
    MARKETS[f"C{_i:02d}USDT"] = (f"C{_i:02d}", "USDT", 10.0 + _i, "0.001", "0.01", "0.01", "5")


def default_prices(symbol: str, interval_ms: int, start_ms: int, count: int) -> list[tuple]:
    """Deterministic candles: a smooth wave per symbol (tests need stable, moving prices)."""
    level = MARKETS[symbol][2]
    seed = sum(map(ord, symbol))
    rows = []
    for i in range(count):
        t = start_ms + i * interval_ms
        minute = t / 60_000
        o = level * (1 + 0.01 * math.sin(minute / 7 + seed) + 0.003 * math.sin(minute / 1.3))
        c = level * (
            1
            + 0.01 * math.sin((minute + interval_ms / 60_000) / 7 + seed)
            + 0.003 * math.sin((minute + interval_ms / 60_000) / 1.3)
        )
        rows.append((t, o, max(o, c) * 1.0005, min(o, c) * 0.9995, c, 10.0))
    return rows


@dataclass
class Key:
    secret: str
    withdrawals: bool = False
    balances: dict[str, float] = field(default_factory=lambda: {"USDT": 100_000.0, "BTC": 1.0})


@dataclass
class Book:
    """Everything the fake knows; guarded by one lock (the server is threaded)."""

    now_ms: object = None  # callable; None = wall clock
    price_source: object = default_prices
    keys: dict[str, Key] = field(default_factory=dict)
    orders: dict[str, list[dict]] = field(default_factory=dict)  # api key -> orders
    lock: threading.RLock = field(default_factory=threading.RLock)
    next_id: int = 1000

    def now(self) -> int:
        return int(self.now_ms()) if self.now_ms else int(time.time() * 1000)

    def price(self, symbol: str) -> float:
        now = self.now()
        start = now - now % 60_000
        return self.price_source(symbol, 60_000, start, 1)[0][1]  # open of the current minute

    def find(self, api_key: str, client_id: str) -> dict | None:
        return next(
            (o for o in self.orders.get(api_key, []) if o["clientOrderId"] == client_id), None
        )

    def settle_limits(self, api_key: str) -> None:
        for order in self.orders.get(api_key, []):
            if order["status"] != "NEW":
                continue
            price = self.price(order["symbol"])
            limit = float(order["price"])
            if (order["side"] == "BUY" and price <= limit) or (
                order["side"] == "SELL" and price >= limit
            ):
                self.fill(api_key, order, limit, reserved=True)

    def fill(self, api_key: str, order: dict, price: float, *, reserved: bool) -> None:
        base, quote = MARKETS[order["symbol"]][:2]
        bal = self.keys[api_key].balances
        qty = float(order["origQty"])
        cost = qty * price
        fee = cost * 0.001
        if order["side"] == "BUY":
            bal[quote] = bal.get(quote, 0.0) + (cost if reserved else 0.0) - cost - fee
            bal[base] = bal.get(base, 0.0) + qty
        else:
            bal[base] = bal.get(base, 0.0) + (qty if reserved else 0.0) - qty
            bal[quote] = bal.get(quote, 0.0) + cost - fee
        order.update(
            status="FILLED",
            executedQty=order["origQty"],
            cummulativeQuoteQty=f"{cost:.8f}",
            updateTime=self.now(),
            fills=[
                {
                    "price": f"{price:.8f}",
                    "qty": order["origQty"],
                    "commission": f"{fee:.8f}",
                    "commissionAsset": quote,
                }
            ],
        )
