"""The fake exchanges' shared state: keys, balances, orders and prices (no HTTP, no dialect).

One book, three HTTP dialects (binance_*, okx_*, bybit_*). The book keeps orders in a neutral
shape; each dialect validates its own parameters, renders its own JSON and maps `BookError`
reasons to its own error codes. Semantics the venues document, switchable per book:

- `reject_reused_ids=False`: a client order id is unique among OPEN orders only; a filled or
  cancelled order's id may be sent again and creates a NEW order (queries by that id then
  answer the newest one). True refuses any id ever used (the old fake's behaviour).
- `visibility_delay_ms=0`: an accepted order shows up in queries (fetch order, open and closed
  lists) only this long after it was accepted. The matching engine knows it at once: balances,
  duplicate checks and cancels see it immediately. Measured on the wall clock (monotonic), so
  tests can wait for it even when the book's price clock is a fake one.

Fills: a market order fills at once at the current price, a limit order rests (its funds
reserved) until a later signed request finds the price through its limit. The fee is 0.1 % of
the cost, charged in the quote asset, on every venue.

Market orders sized in quote (`quote_qty`: Binance quoteOrderQty, OKX tgtCcy=quote_ccy with
`sz`, Bybit marketUnit=quoteCoin with `qty`; each dialect decides when its parameters mean a
quote size) trade what the quote amount buys (or sells for) at the price, rounded DOWN to the
amount step: the quote that goes to the trade never exceeds the amount sent. The venues
document that amount as what is spent on the trade itself, never the fee (they take a buy's
fee from the asset received, or in BNB); here, where every fee is charged in quote, it is
charged on top of it. Refusals: a quote amount below the min notional (`min_notional`), a
quantity below the min quantity (`min_qty`), not enough funds for the amount sent and for
the cost plus fee (`insufficient`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

FEE_RATE = 0.001
MARKETS = {  # symbol: (base, quote, price level, tick, step, min qty, min notional) (Binance's)
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
    passphrase: str = ""  # OKX signs with one; the other venues ignore it
    withdrawals: bool = False
    balances: dict[str, float] = field(default_factory=lambda: {"USDT": 100_000.0, "BTC": 1.0})


@dataclass(frozen=True)
class Rules:
    """A venue's trading rules for one market (strings, as the venues publish them)."""

    tick: str
    step: str
    min_qty: str
    min_notional: str = "0"


class BookError(Exception):
    """A refusal. `reason`: duplicate, insufficient, min_qty, min_notional, lot_size,
    tick_size, not_found or not_open; each dialect maps it to its own code and message."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class Order:
    id: int
    client_id: str
    symbol: str  # "BTCUSDT"
    side: str  # "buy" | "sell"
    kind: str  # "market" | "limit"
    qty: float
    qty_text: str
    price: float | None  # the limit price
    created: int
    visible_at: float  # time.monotonic() from which queries see it
    status: str = "open"  # "open" | "filled" | "canceled"
    updated: int = 0
    filled: float = 0.0
    cost: float = 0.0
    fee: float = 0.0
    avg: float = 0.0
    extra: dict = field(default_factory=dict)  # what a dialect wants echoed back
    quote_qty: float = 0.0  # a market order sized in quote: the quote amount sent

    @property
    def base(self) -> str:
        return MARKETS[self.symbol][0]

    @property
    def quote(self) -> str:
        return MARKETS[self.symbol][1]

    def reserved(self) -> tuple[str, float]:
        """(asset, amount) a resting limit order holds."""
        if self.side == "buy":
            return self.quote, self.qty * (self.price or 0.0)
        return self.base, self.qty


def _multiple(value: str, step: str) -> bool:
    try:
        return Decimal(value) % Decimal(step) == 0
    except InvalidOperation:
        return False


def decimal_or_none(value) -> Decimal | None:
    """A finite number sent as text, else None (the dialects refuse it in their own words)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def quote_fill(quote: Decimal, price: float, step: str) -> str:
    """The quantity a quote amount trades at `price`: quote / price rounded DOWN to `step`,
    as text in the step's decimals (what the venues report as the executed quantity)."""
    step_d = Decimal(step)
    units = (quote / Decimal(repr(float(price))) / step_d).to_integral_value(rounding=ROUND_FLOOR)
    return f"{(units * step_d).quantize(step_d)}"


@dataclass
class Book:
    """Everything a fake knows; guarded by one lock (the servers are threaded)."""

    now_ms: object = None  # callable; None = wall clock
    price_source: object = default_prices
    reject_reused_ids: bool = False
    visibility_delay_ms: int = 0
    keys: dict[str, Key] = field(default_factory=dict)
    orders: dict[str, list[Order]] = field(default_factory=dict)  # api key -> orders
    lock: threading.RLock = field(default_factory=threading.RLock)
    next_id: int = 1000

    def now(self) -> int:
        return int(self.now_ms()) if self.now_ms else int(time.time() * 1000)

    def price(self, symbol: str) -> float:
        now = self.now()
        start = now - now % 60_000
        return self.price_source(symbol, 60_000, start, 1)[0][1]  # open of the current minute

    # --- queries (what the venue's query endpoints see) -----------------------------------
    @staticmethod
    def visible(order: Order) -> bool:
        return time.monotonic() >= order.visible_at

    def find(
        self,
        api_key: str,
        *,
        client_id: str | None = None,
        order_id: str | None = None,
        symbol: str | None = None,
        visible_only: bool = True,
    ) -> Order | None:
        """The newest order with this exchange id, else with this client id."""
        for order in reversed(self.orders.get(api_key, [])):
            if symbol and order.symbol != symbol:
                continue
            if visible_only and not self.visible(order):
                continue
            if order_id is not None and str(order.id) == str(order_id):
                return order
            if order_id is None and client_id is not None and order.client_id == client_id:
                return order
        return None

    def listing(
        self, api_key: str, *, statuses: tuple[str, ...], symbol: str | None = None
    ) -> list[Order]:
        """Visible orders in these statuses, oldest first."""
        return [
            o
            for o in self.orders.get(api_key, [])
            if o.status in statuses and (not symbol or o.symbol == symbol) and self.visible(o)
        ]

    def frozen(self, api_key: str) -> dict[str, float]:
        held: dict[str, float] = {}
        for order in self.orders.get(api_key, []):
            if order.status == "open" and order.kind == "limit":
                asset, amount = order.reserved()
                held[asset] = held.get(asset, 0.0) + amount
        return held

    # --- the matching engine --------------------------------------------------------------
    def place(
        self,
        api_key: str,
        *,
        symbol: str,
        side: str,
        kind: str,
        qty_text: str,
        client_id: str,
        rules: Rules,
        price: str | None = None,
        quote_qty: bool = False,
        extra: dict | None = None,
    ) -> Order:
        """Accept or refuse an order. `price`: the limit price as sent; `quote_qty`: a market
        order whose size (`qty_text`) is in quote units (see the module's doc)."""
        if client_id and any(
            o.client_id == client_id and (self.reject_reused_ids or o.status == "open")
            for o in self.orders.get(api_key, [])
        ):
            raise BookError("duplicate", client_id)
        at = self.price(symbol) if kind == "market" else float(price or 0)
        if kind == "limit" and not _multiple(price or "", rules.tick):
            raise BookError("tick_size", str(price))
        spend = 0.0
        if quote_qty:
            amount = decimal_or_none(qty_text)
            if kind != "market" or amount is None or amount <= 0:
                raise BookError("lot_size", qty_text)
            if amount < Decimal(rules.min_notional):
                raise BookError("min_notional", qty_text)
            spend, qty_text = float(amount), quote_fill(amount, at, rules.step)
        elif not _multiple(qty_text, rules.step):
            raise BookError("lot_size", qty_text)
        qty = float(qty_text)
        if qty <= 0 or qty < float(rules.min_qty):
            raise BookError("min_qty", qty_text)
        if qty * at < float(rules.min_notional):
            raise BookError("min_notional", qty_text)
        base, quote = MARKETS[symbol][:2]
        balances = self.keys[api_key].balances
        need = qty * at * (1 + FEE_RATE) if side == "buy" else qty
        if side == "buy":  # a quote-sized buy may spend all it was given
            need = max(need, spend)
        if need > balances.get(quote if side == "buy" else base, 0.0) + 1e-12:
            raise BookError("insufficient", quote if side == "buy" else base)
        self.next_id += 1
        now = self.now()
        order = Order(
            id=self.next_id,
            client_id=client_id or f"auto{self.next_id}",
            symbol=symbol,
            side=side,
            kind=kind,
            qty=qty,
            qty_text=qty_text,
            price=at if kind == "limit" else None,
            created=now,
            updated=now,
            visible_at=time.monotonic() + self.visibility_delay_ms / 1000,
            extra=dict(extra or {}),
            quote_qty=spend,
        )
        self.orders.setdefault(api_key, []).append(order)
        if kind == "market":
            self.fill(api_key, order, at, reserved=False)
        else:
            asset, amount = order.reserved()
            balances[asset] = balances.get(asset, 0.0) - amount
        return order

    def cancel(self, api_key: str, order: Order) -> Order:
        if order.status != "open":
            raise BookError("not_open", order.status)
        asset, amount = order.reserved()
        balances = self.keys[api_key].balances
        balances[asset] = balances.get(asset, 0.0) + amount
        order.status, order.updated = "canceled", self.now()
        return order

    def settle_limits(self, api_key: str) -> None:
        for order in self.orders.get(api_key, []):
            if order.status != "open" or order.kind != "limit":
                continue
            price, limit = self.price(order.symbol), order.price or 0.0
            crossed = price <= limit if order.side == "buy" else price >= limit
            if crossed:
                self.fill(api_key, order, limit, reserved=True)

    def fill(self, api_key: str, order: Order, price: float, *, reserved: bool) -> None:
        base, quote = order.base, order.quote
        bal = self.keys[api_key].balances
        qty = order.qty
        cost = qty * price
        fee = cost * FEE_RATE
        if order.side == "buy":
            bal[quote] = bal.get(quote, 0.0) + (cost if reserved else 0.0) - cost - fee
            bal[base] = bal.get(base, 0.0) + qty
        else:
            bal[base] = bal.get(base, 0.0) + (qty if reserved else 0.0) - qty
            bal[quote] = bal.get(quote, 0.0) + cost - fee
        order.status, order.filled, order.cost, order.fee = "filled", qty, cost, fee
        order.avg, order.updated = price, self.now()
