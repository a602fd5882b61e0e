"""The one exchange interface the engine and pages talk to, and its value types.

Three implementations: `live.LiveExchange` (ccxt), `paper.PaperExchange` (fills simulated,
book in the database) and `sim.SimExchange` (a deterministic market-data feed). Amounts are
in base currency, prices and costs in quote currency, timestamps in epoch milliseconds (UTC).
Errors are always `core.errors` exchange errors, never library exceptions.
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from core.errors import InvalidInput

TIMEFRAMES: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}

DEFAULT_FEE = 0.001  # 0.1 %: used when a market does not say

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit"]
OrderStatus = Literal["open", "closed", "canceled", "rejected"]


def timeframe_ms(timeframe: str) -> int:
    """Milliseconds in one candle of `timeframe`; refuses unknown timeframes."""
    try:
        return TIMEFRAMES[timeframe]
    except KeyError:
        allowed = ", ".join(TIMEFRAMES)
        raise InvalidInput(f"Unknown timeframe {timeframe!r}: use one of {allowed}.") from None


def candle_open(ts_ms: int, timeframe: str) -> int:
    """Open time of the candle that contains `ts_ms` (candles align to the UTC epoch)."""
    step = timeframe_ms(timeframe)
    return ts_ms - ts_ms % step


def last_closed_open(now_ms: int, timeframe: str) -> int:
    """Open time of the newest candle that has closed at `now_ms`."""
    return candle_open(now_ms, timeframe) - timeframe_ms(timeframe)


class Candle(NamedTuple):
    ts: int  # open time, epoch ms UTC
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class Market:
    symbol: str  # unified, e.g. "BTC/USDT"
    base: str
    quote: str
    amount_step: float  # amounts are multiples of this
    price_step: float  # prices are multiples of this
    min_amount: float = 0.0
    min_notional: float = 0.0  # minimum amount * price, in quote
    taker_fee: float = DEFAULT_FEE
    maker_fee: float = DEFAULT_FEE

    def round_amount(self, amount: float) -> float:
        """Round down to the amount step (never buy or sell more than asked)."""
        return to_step(amount, self.amount_step, math.floor)

    def round_price(self, price: float) -> float:
        return to_step(price, self.price_step, round)


def fill_amount(budget: float, price: float, fee_rate: float, market: Market) -> float:
    """What `budget` (quote, fee included) buys at `price`: rounded down to the amount step,
    with amount * price + fee <= budget; 0.0 below the market's min amount or min notional.
    Every buy with a budget (backtest, paper, live without a cost-based market buy) is sized
    by this at its fill price."""
    if not budget > 0 or not price > 0:
        return 0.0
    amount = market.round_amount(budget / (price * (1 + fee_rate)))
    cost = amount * price
    if cost + cost * fee_rate > budget:  # the division or the step's rounding went up
        step = market.amount_step
        amount = market.round_amount(amount - step) if step else amount * (1 - 2.0**-50)
    if amount <= 0 or amount < market.min_amount or amount * price < market.min_notional:
        return 0.0
    return amount


@functools.lru_cache(maxsize=256)
def step_decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step))) if step < 1 else 0


def to_step(value: float, step: float, how) -> float:
    if not step:
        return value
    return round(how(value / step + 1e-9) * step, step_decimals(step))


@dataclass(frozen=True)
class Balance:
    free: float
    used: float = 0.0

    @property
    def total(self) -> float:
        return self.free + self.used


@dataclass
class OrderResult:
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: float
    status: OrderStatus
    price: float | None = None  # limit price; None for market orders
    exchange_order_id: str | None = None
    filled: float = 0.0
    average: float | None = None  # average fill price
    cost: float = 0.0  # filled * average, in quote
    fee: float = 0.0  # in fee_currency
    fee_currency: str | None = None
    timestamp: int | None = None  # ms
    info: dict = field(default_factory=dict, repr=False)


class Exchange(ABC):
    """What every exchange implementation offers. Not thread-safe: one instance per thread."""

    id: str

    @abstractmethod
    def load_markets(self) -> dict[str, Market]:
        """All tradable markets by unified symbol (cached by the implementation)."""

    def market(self, symbol: str) -> Market:
        """The market for `symbol`, or `InvalidInput` naming the unknown symbol."""
        markets = self.load_markets()
        if symbol not in markets:
            raise InvalidInput(f"Symbol {symbol!r} is not traded on {self.id}.")
        return markets[symbol]

    @abstractmethod
    def fetch_candles(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        """Candles with open time >= `since` (oldest first), at most `limit` of them.

        The last candle may still be forming; callers that want closed candles drop it.
        """

    @abstractmethod
    def last_price(self, symbol: str) -> float: ...

    @abstractmethod
    def fetch_balance(self) -> dict[str, Balance]: ...

    @abstractmethod
    def create_order(
        self,
        *,
        symbol: str,
        side: Side,
        type: OrderType,
        amount: float,
        client_order_id: str,
        price: float | None = None,
        budget: float | None = None,
    ) -> OrderResult:
        """Place an order. Idempotent by `client_order_id`: a repeat returns the existing order.

        `budget` (market buys): the quote to spend, fee included; the amount is what it buys at
        the fill price (`fill_amount`), `amount` only the estimate made at the decision."""

    @abstractmethod
    def fetch_order(self, *, symbol: str, client_order_id: str) -> OrderResult | None:
        """The order with this client id, or None if it is not found (yet): no proof that it
        was never placed until `visibility_window_s` and `late_request_s` have passed."""

    @property
    def visibility_window_s(self) -> float:
        """Seconds a new order may take to show in `fetch_order` (0: at once)."""
        return 0.0

    @property
    def late_request_s(self) -> float:
        """Seconds after its timestamp a delayed order request may still be executed."""
        return 0.0

    @abstractmethod
    def cancel_order(self, *, symbol: str, client_order_id: str) -> OrderResult: ...

    @abstractmethod
    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderResult]: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
