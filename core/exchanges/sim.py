"""The "sim" exchange: a deterministic, seeded market for the offline demo, tests and benches.

Prices come from `sim_price`: a pure function of (seed, symbol, minute), so any range costs time
proportional to its length, and two processes, or two calls in any order, get identical
candles. One-minute candles open at the price of their minute and close at the price of the
next (continuous, like crypto); larger timeframes aggregate their one-minute candles exactly.
Only candles that have opened by "now" are served; the last one is forming and closes at the
current price, interpolated within its minute. Market data only: trade it through a paper
account.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from core.errors import ExchangeNotSupported, InvalidInput
from core.exchanges.base import Balance, Candle, Exchange, Market, OrderResult, timeframe_ms
from core.exchanges.sim_price import MINUTE, SYMBOLS, log_path, minute_candles

MAX_LIMIT = 5000
DEFAULT_LIMIT = 500
MIN_NOTIONAL = 5.0  # USDT, like the big spot venues
FIELDS = ("ts", "open", "high", "low", "close", "volume")


def _check_symbol(symbol: str) -> None:
    if symbol not in SYMBOLS:
        raise InvalidInput(f"Symbol {symbol!r} is not traded on sim.")


def _aggregate(o, h, lo, c, v, per: int) -> tuple[np.ndarray, ...]:
    """Group one-minute arrays into candles of `per` minutes (len(o) is a multiple of per)."""
    if per == 1:
        return o, h, lo, c, v
    n = len(o) // per
    return (
        o[::per],
        h.reshape(n, per).max(axis=1),
        lo.reshape(n, per).min(axis=1),
        c[per - 1 :: per],
        v.reshape(n, per).sum(axis=1),
    )


def sim_candles(
    symbol: str, timeframe: str, start_ms: int, count: int, seed: int = 42
) -> dict[str, np.ndarray]:
    """`count` closed-form candles from the one containing `start_ms`, as numpy arrays keyed
    ts, open, high, low, close, volume: the hot path, no per-candle Python objects.

    Ignores "now": these are the candles as they are once closed. `SimExchange` serves only
    what has opened by its clock.
    """
    _check_symbol(symbol)
    step = timeframe_ms(timeframe)
    if count < 0:
        raise InvalidInput("count must not be negative.")
    first = start_ms - start_ms % step
    per = step // MINUTE
    arrays = _aggregate(*minute_candles(symbol, first // MINUTE, count * per, seed), per)
    ts = first + np.arange(count, dtype=np.int64) * step
    return dict(zip(FIELDS, (ts, *arrays), strict=True))


def price_at(symbol: str, ts_ms: int, seed: int = 42) -> float:
    """The price at `ts_ms`: log-linear between the prices at the start of its minute and the
    next, so it moves every second and meets the minute's close at the minute's end."""
    _check_symbol(symbol)
    logp, _vol = log_path(symbol, ts_ms // MINUTE, 2, seed)
    frac = (ts_ms % MINUTE) / MINUTE
    return float(np.exp(logp[0] + (logp[1] - logp[0]) * frac))


def forming_candle(symbol: str, timeframe: str, now_ms: int, seed: int = 42) -> Candle:
    """The candle containing `now_ms`, built only from what has happened by then: its closed
    minutes, plus the current minute from its open to the current price (no wick yet, volume
    pro rata)."""
    _check_symbol(symbol)
    step = timeframe_ms(timeframe)
    first_min = (now_ms - now_ms % step) // MINUTE
    current = now_ms // MINUTE
    o, h, lo, c, v = minute_candles(symbol, first_min, current - first_min + 1, seed)
    price = price_at(symbol, now_ms, seed)
    frac = (now_ms % MINUTE) / MINUTE
    h[-1], lo[-1] = max(o[-1], price), min(o[-1], price)
    c[-1], v[-1] = price, v[-1] * frac
    return Candle(
        first_min * MINUTE, float(o[0]), float(h.max()), float(lo.min()), price, float(v.sum())
    )


def _markets() -> dict[str, Market]:
    return {
        symbol: Market(
            symbol=symbol,
            base=symbol.split("/")[0],
            quote=symbol.split("/")[1],
            amount_step=spec.amount_step,
            price_step=spec.price_step,
            min_amount=spec.min_amount,
            min_notional=MIN_NOTIONAL,
            taker_fee=0.001,
            maker_fee=0.001,
        )
        for symbol, spec in SYMBOLS.items()
    }


class SimExchange(Exchange):
    """Market data of the simulated market; orders go through a paper account instead.

    `seed` picks the market's history; `now_ms` is the clock (default: the wall clock), so
    tests and replays can stand anywhere in time.
    """

    id = "sim"

    def __init__(self, *, seed: int = 42, now_ms: Callable[[], int] | None = None) -> None:
        self.seed = seed
        self._now = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._markets = _markets()

    def load_markets(self) -> dict[str, Market]:
        return self._markets

    def fetch_candles(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        """Candles with open time >= `since` (or the latest `limit`, default 500, max 5000),
        ending at the latest with the forming candle, whose close is the current price."""
        self.market(symbol)
        step = timeframe_ms(timeframe)
        limit = DEFAULT_LIMIT if limit is None else int(limit)
        if limit <= 0:
            raise InvalidInput("limit must be a positive number of candles.")
        limit = min(limit, MAX_LIMIT)
        now = self._now()
        forming = now - now % step
        if since is None:
            start = forming - (limit - 1) * step
        elif since > now:
            raise InvalidInput(f"since={since} is in the future (now is {now}).")
        else:
            start = -(-since // step) * step  # first open time >= since
        count = min(limit, (forming - start) // step + 1)
        if count <= 0:
            return []
        closed = count - 1 if start + (count - 1) * step == forming else count
        arrays = sim_candles(symbol, timeframe, start, closed, self.seed)
        candles = [
            Candle(int(t), float(o), float(h), float(lo), float(c), float(v))
            for t, o, h, lo, c, v in zip(*arrays.values(), strict=True)
        ]
        if closed < count:
            candles.append(forming_candle(symbol, timeframe, now, self.seed))
        return candles

    def last_price(self, symbol: str) -> float:
        self.market(symbol)
        return price_at(symbol, self._now(), self.seed)

    def _no_orders(self):
        raise ExchangeNotSupported(
            "The sim feed is market data only; trade it through a paper account."
        )

    def fetch_balance(self) -> dict[str, Balance]:
        return self._no_orders()

    def create_order(self, **kwargs) -> OrderResult:
        return self._no_orders()

    def fetch_order(self, **kwargs) -> OrderResult | None:
        return self._no_orders()

    def cancel_order(self, **kwargs) -> OrderResult:
        return self._no_orders()

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderResult]:
        return self._no_orders()
