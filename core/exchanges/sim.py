"""The "sim" exchange: a deterministic, seeded market for the offline demo and the tests.

Every price is a pure function of (seed, symbol, minute): log-price is a sum of smooth
value-noise octaves (minutes to months) whose grid values come from a counter-based hash, the
fast octaves scaled by a slow "volatility regime" noise, plus occasional hashed jumps that fade
over a day or two. So any range costs time proportional to its length, not to its distance from
an origin; two processes, or two calls in any order, get identical candles. One-minute candles
open at the price of their minute and close at the price of the next (continuous, like crypto);
larger timeframes aggregate their one-minute candles. Market data only: trade it through a
paper account.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable

import numpy as np

from core.errors import ExchangeNotSupported, InvalidInput
from core.exchanges.base import Balance, Candle, Exchange, Market, OrderResult, timeframe_ms

MINUTE = 60_000
MAX_LIMIT = 5000
# symbol: (price level, price step, amount step, min amount)
MARKETS: dict[str, tuple[float, float, float, float]] = {
    "BTC/USDT": (60_000.0, 0.01, 0.00001, 0.00001),
    "ETH/USDT": (3_000.0, 0.01, 0.0001, 0.0001),
    "SOL/USDT": (150.0, 0.01, 0.001, 0.001),
    "BNB/USDT": (600.0, 0.01, 0.001, 0.001),
    "XRP/USDT": (0.6, 0.0001, 0.1, 0.1),
    "DOGE/USDT": (0.15, 0.00001, 1.0, 1.0),
    "ADA/USDT": (0.5, 0.0001, 0.1, 0.1),
}
# (period in minutes, amplitude in log-price, scaled by the volatility regime?)
OCTAVES = (
    (5, 0.0015, True),
    (30, 0.003, True),
    (240, 0.007, True),
    (1440, 0.016, True),
    (10_080, 0.05, False),
    (43_200, 0.11, False),
    (172_800, 0.22, False),
)
JUMP_BLOCK, JUMP_P, JUMP_DECAY, JUMP_LOOKBACK = 360, 0.04, 1440.0, 12  # blocks of 6 h
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a well-distributed 64-bit hash of each element."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _uniform(key: int, idx: np.ndarray) -> np.ndarray:
    """Hash (key, idx) to floats in [-1, 1)."""
    h = _mix(idx.astype(np.int64).view(np.uint64) ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53) * 2.0 - 1.0


def _value_noise(key: int, x: np.ndarray) -> np.ndarray:
    i = np.floor(x)
    t = x - i
    t = t * t * (3.0 - 2.0 * t)  # smoothstep: no kinks at grid points
    a = _uniform(key, i.astype(np.int64))
    b = _uniform(key, i.astype(np.int64) + 1)
    return a + (b - a) * t


def _key(seed: int, symbol: str, part: int) -> int:
    base = (seed * 0x9E3779B97F4A7C15 + zlib.crc32(symbol.encode()) * 0x632BE59BD9B4E019) & (
        2**64 - 1
    )
    return int(_mix(np.array([base + part], dtype=np.uint64))[0])


def log_prices(symbol: str, minutes: np.ndarray, seed: int = 42) -> np.ndarray:
    """Log-price at the start of each absolute minute index in `minutes`."""
    level = MARKETS[symbol][0]
    m = minutes.astype(np.float64)
    regime = np.exp(0.6 * _value_noise(_key(seed, symbol, 1), m / 4320.0))  # ~3-day regimes
    out = np.full(m.shape, np.log(level))
    for n, (period, amp, scaled) in enumerate(OCTAVES):
        wave = amp * _value_noise(_key(seed, symbol, 10 + n), m / period)
        out += wave * regime if scaled else wave
    out += 0.0006 * regime * _uniform(_key(seed, symbol, 2), minutes)  # tick-level jitter
    return out + _jumps(symbol, minutes, seed)


def _jumps(symbol: str, minutes: np.ndarray, seed: int) -> np.ndarray:
    block = minutes // JUMP_BLOCK
    total = np.zeros(minutes.shape)
    k_hit, k_at, k_size = (_key(seed, symbol, p) for p in (3, 4, 5))
    for back in range(JUMP_LOOKBACK):
        b = block - back
        hit = (_uniform(k_hit, b) + 1.0) / 2.0 < JUMP_P
        at = b * JUMP_BLOCK + ((_uniform(k_at, b) + 1.0) / 2.0 * JUMP_BLOCK).astype(np.int64)
        size = 0.05 * _uniform(k_size, b)
        age = (minutes - at).astype(np.float64)
        total += np.where(hit & (age >= 0), size * np.exp(-np.maximum(age, 0) / JUMP_DECAY), 0.0)
    return total


def sim_candles(
    symbol: str, timeframe: str, start_ms: int, count: int, seed: int = 42
) -> dict[str, np.ndarray]:
    """`count` candles from the one containing `start_ms`: arrays ts, open, high, low, close,
    volume (the hot path: no per-candle Python objects)."""
    if symbol not in MARKETS:
        raise InvalidInput(f"Symbol {symbol!r} is not traded on sim.")
    step = timeframe_ms(timeframe)
    first = start_ms - start_ms % step
    per = step // MINUTE
    minutes = np.arange(first // MINUTE, first // MINUTE + count * per + 1, dtype=np.int64)
    price = np.exp(log_prices(symbol, minutes, seed))
    o, c = price[:-1], price[1:]
    wick = 1.0 + 0.0008 * np.abs(_uniform(_key(seed, symbol, 6), minutes[:-1]))
    wick_low = 1.0 - 0.0008 * np.abs(_uniform(_key(seed, symbol, 7), minutes[:-1]))
    h = np.maximum(o, c) * wick
    lo = np.minimum(o, c) * wick_low
    vol = (1.0 + _uniform(_key(seed, symbol, 8), minutes[:-1])) * 5.0 + 0.5
    vol *= 10_000.0 / MARKETS[symbol][0] ** 0.5 * (1.0 + 200.0 * np.abs(np.log(c / o)) * 100)
    if per > 1:
        o = o[::per]
        c = c[per - 1 :: per]
        h = h.reshape(count, per).max(axis=1)
        lo = lo.reshape(count, per).min(axis=1)
        vol = vol.reshape(count, per).sum(axis=1)
    ts = first + np.arange(count, dtype=np.int64) * step
    return {"ts": ts, "open": o, "high": h, "low": lo, "close": c, "volume": vol}


class SimExchange(Exchange):
    """Market data of the simulated market; orders go through a paper account instead."""

    id = "sim"

    def __init__(self, *, seed: int = 42, now_ms: Callable[[], int] | None = None) -> None:
        self.seed = seed
        self._now = now_ms or (lambda: int(time.time() * 1000))
        self._markets = {
            symbol: Market(
                symbol=symbol,
                base=symbol.split("/")[0],
                quote="USDT",
                amount_step=amount_step,
                price_step=price_step,
                min_amount=min_amount,
                min_notional=5.0,
            )
            for symbol, (_level, price_step, amount_step, min_amount) in MARKETS.items()
        }

    def load_markets(self) -> dict[str, Market]:
        return self._markets

    def fetch_candles(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        self.market(symbol)
        step = timeframe_ms(timeframe)
        now = self._now()
        limit = min(MAX_LIMIT, 500 if limit is None else int(limit))
        if limit <= 0:
            raise InvalidInput("limit must be a positive number of candles.")
        forming = now - now % step
        if since is None:
            start = forming - (limit - 1) * step
        else:
            if since > now:
                raise InvalidInput("'since' is in the future.")
            start = since - since % step
            if start < since:
                start += step
            limit = min(limit, (forming - start) // step + 1)
            if limit <= 0:
                return []
        arrays = sim_candles(symbol, timeframe, start, limit, self.seed)
        candles = [
            Candle(int(t), float(o), float(h), float(lo), float(c), float(v))
            for t, o, h, lo, c, v in zip(*arrays.values(), strict=True)
        ]
        if candles and candles[-1].ts == forming:  # the forming candle closes at "now"
            price = self.last_price(symbol)
            last = candles[-1]
            candles[-1] = last._replace(
                close=price, high=max(last.high, price), low=min(last.low, price)
            )
        return candles

    def last_price(self, symbol: str) -> float:
        self.market(symbol)
        minute = np.array([self._now() // MINUTE], dtype=np.int64)
        return float(np.exp(log_prices(symbol, minute, self.seed))[0])

    def _no_orders(self, *_args, **_kwargs):
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
