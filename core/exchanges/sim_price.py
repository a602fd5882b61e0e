"""The price model of the sim exchange: pure functions of (seed, symbol, minute).

Log-price is a sum of smooth value-noise octaves whose periods double from 2 minutes to about
half a year, with amplitudes growing like the square root of the period (so returns scale like a
random walk between those limits, and the price stays within a plausible band forever). Grid
values come from a counter-based hash of (seed, symbol, octave, grid index): any minute costs
O(octaves), whatever its distance from an origin, and nothing depends on earlier calls. A slow
noise sets the volatility regime that scales the fast octaves; sparse hashed jumps ramp in over
minutes and fade out over days; intrabar wicks and volume are hashed per minute.

The hot path works on one contiguous range of minutes, which lets every octave hash only its
few grid points in that range and gather them, instead of hashing every minute.
"""

from __future__ import annotations

import functools
import zlib
from typing import NamedTuple

import numpy as np

MINUTE = 60_000
DAY_MIN = 1440


class SymbolSpec(NamedTuple):
    level: float  # typical price, quote per base
    quote_volume: float  # typical traded value per minute, in quote
    price_step: float
    amount_step: float
    min_amount: float


SYMBOLS: dict[str, SymbolSpec] = {
    "BTC/USDT": SymbolSpec(60_000.0, 2_500_000.0, 0.01, 0.00001, 0.00001),
    "ETH/USDT": SymbolSpec(3_000.0, 1_200_000.0, 0.01, 0.0001, 0.0001),
    "SOL/USDT": SymbolSpec(150.0, 400_000.0, 0.01, 0.001, 0.001),
    "BNB/USDT": SymbolSpec(600.0, 150_000.0, 0.01, 0.001, 0.001),
    "XRP/USDT": SymbolSpec(0.6, 200_000.0, 0.0001, 0.1, 0.1),
    "DOGE/USDT": SymbolSpec(0.15, 150_000.0, 0.00001, 1.0, 1.0),
    "ADA/USDT": SymbolSpec(0.5, 60_000.0, 0.0001, 0.1, 0.1),
    "LINK/USDT": SymbolSpec(15.0, 50_000.0, 0.001, 0.01, 0.01),
}

# Octave periods in minutes (2 min .. ~182 days). Amplitude ~ sqrt(period) up to a week, then
# flatter, so multi-month trends stay within a believable range (roughly 0.4x..2.5x the level).
PERIODS = tuple(2**k for k in range(1, 19))
DAILY_SIGMA = 0.016  # log amplitude scale of the one-day octave
REGIME_CUTOFF = 4 * DAY_MIN  # octaves shorter than this follow the volatility regime
AMPLITUDES = tuple(
    DAILY_SIGMA
    * (p / DAY_MIN) ** (0.5 if p <= 7 * DAY_MIN else 0.3)
    * (7.0**0.2 if p > 7 * DAY_MIN else 1.0)
    for p in PERIODS
)
REGIME_PERIODS = ((7 * DAY_MIN, 0.55), (DAY_MIN, 0.25))  # (period, log amplitude)
JUMP_BLOCK, JUMP_P, JUMP_RAMP, JUMP_LIFE = 360, 0.05, 12, 4 * DAY_MIN  # 6 h blocks, 4-day fade
JUMP_LOOKBACK = JUMP_LIFE // JUMP_BLOCK + 1
# Per-minute jitter: the smooth octaves alone make minute returns strongly autocorrelated
# (+0.6); white jitter on the level pulls that back to about zero, as in real trades.
JITTER = 0.0006
WICK = 0.0004  # typical sub-minute excursion beyond open/close, in log-price, at regime 1

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_MASK = 2**64 - 1
# Hash streams per (seed, symbol): regime octaves, price octaves, then per-minute and jump streams.
_NOISE_PERIODS = np.array([p for p, _a in REGIME_PERIODS] + list(PERIODS), dtype=np.int64)
_N_NOISE = len(_NOISE_PERIODS)
_JITTER, _WICK_UP, _WICK_DOWN, _VOLUME, _JUMP_HIT, _JUMP_AT, _JUMP_SIZE = range(
    _N_NOISE, _N_NOISE + 7
)
_SMALL = 50_000  # below this many (octave, minute) pairs, hash every pair in one 2-D call


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a well-distributed 64-bit hash of each element."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _unit(keys: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Hash (key, idx) to floats in [0, 1); `keys` broadcasts against `idx`."""
    h = _mix(_mix(idx.astype(np.int64).view(np.uint64)) ^ keys)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


@functools.lru_cache(maxsize=1024)
def stream_keys(seed: int, symbol: str) -> np.ndarray:
    """64-bit keys of every hash stream of (seed, symbol); crc32, not hash(), so every process
    agrees. Cached: a pure function of its arguments, bounded in size."""
    base = seed * 0x9E3779B97F4A7C15 + zlib.crc32(symbol.encode()) * 0x632BE59BD9B4E019
    parts = [(base + part) & _MASK for part in range(_JUMP_SIZE + 1)]
    keys = _mix(np.array(parts, dtype=np.uint64))
    keys.flags.writeable = False
    return keys


def _smooth(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    t = t * t * (3.0 - 2.0 * t)  # smoothstep: no kinks at grid points
    a = a * 2.0 - 1.0
    return a + (b * 2.0 - 1.0 - a) * t


def _noise_rows(keys: np.ndarray, minutes: np.ndarray):
    """Value noise in [-1, 1) of each octave over contiguous `minutes`, one row per octave.

    Two routes, bit-identical: short ranges hash every (octave, minute) pair in one 2-D call;
    long ranges hash each octave's few grid points and gather (memory stays one row at a time).
    """
    if len(minutes) * _N_NOISE <= _SMALL:
        periods = _NOISE_PERIODS[:, None]
        cell = minutes[None, :] // periods
        k = keys[:_N_NOISE, None]
        t = (minutes[None, :] - cell * periods) * (1.0 / periods)
        yield from _smooth(_unit(k, cell), _unit(k, cell + 1), t)
        return
    for key, period in zip(keys[:_N_NOISE], _NOISE_PERIODS.tolist(), strict=True):
        cell = minutes // period
        first = int(cell[0])
        grid = _unit(key, np.arange(first, int(cell[-1]) + 2, dtype=np.int64))
        local = cell - first
        t = (minutes - cell * period) * (1.0 / period)
        yield _smooth(grid[local], grid[local + 1], t)


def _jumps(keys: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Sparse jumps: a hashed ±2..9 % step in 5 % of 6 h blocks, ramped in over a few minutes
    and faded out over four days, so each minute sums a bounded set of events."""
    out = np.zeros(minutes.shape)
    m0, m1 = int(minutes[0]), int(minutes[-1])
    blocks = np.arange(m0 // JUMP_BLOCK - JUMP_LOOKBACK, m1 // JUMP_BLOCK + 1, dtype=np.int64)
    hit, at, u = _unit(keys[_JUMP_HIT : _JUMP_SIZE + 1, None], blocks)
    sel = hit < JUMP_P
    starts = blocks[sel] * JUMP_BLOCK + (at[sel] * JUMP_BLOCK).astype(np.int64)
    u = u[sel] * 2.0 - 1.0
    sizes = np.sign(u) * (0.02 + 0.07 * u * u)
    for start, size in zip(starts.tolist(), sizes.tolist(), strict=True):
        lo, hi = max(start, m0), min(start + JUMP_LIFE, m1 + 1)
        if lo >= hi:
            continue
        age = np.arange(lo - start, hi - start, dtype=np.float64)
        ramp = np.minimum(age / JUMP_RAMP, 1.0)
        ramp = ramp * ramp * (3.0 - 2.0 * ramp)
        fade = 0.5 + 0.5 * np.cos(np.pi * age / JUMP_LIFE)
        out[lo - m0 : hi - m0] += size * ramp * fade
    return out


def log_path(
    symbol: str, first_minute: int, count: int, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """(log-price, volatility regime) at the start of each minute from `first_minute` on."""
    keys = stream_keys(seed, symbol)
    minutes = np.arange(first_minute, first_minute + count, dtype=np.int64)
    rows = _noise_rows(keys, minutes)
    vol = np.zeros(count)
    for _period, amp in REGIME_PERIODS:
        vol += amp * next(rows)
    vol = np.exp(vol)
    fast = np.zeros(count)
    slow = np.full(count, np.log(SYMBOLS[symbol].level))
    for period, amp in zip(PERIODS, AMPLITUDES, strict=True):
        if period < REGIME_CUTOFF:
            fast += amp * next(rows)
        else:
            slow += amp * next(rows)
    fast += JITTER * (_unit(keys[_JITTER], minutes) * 2.0 - 1.0)
    return slow + fast * vol + _jumps(keys, minutes), vol


def minute_candles(
    symbol: str, first_minute: int, count: int, seed: int = 42
) -> tuple[np.ndarray, ...]:
    """(open, high, low, close, volume) of `count` one-minute candles from `first_minute`.

    A minute opens at its own price and closes at the next minute's, so candles are continuous.
    """
    logp, vol = log_path(symbol, first_minute, count + 1, seed)
    lo_, lc = logp[:-1], logp[1:]
    vol = vol[:-1]
    idx = np.arange(first_minute, first_minute + count, dtype=np.int64)
    keys = stream_keys(seed, symbol)
    up, down, noise = _unit(keys[_WICK_UP : _VOLUME + 1, None], idx)
    # Wicks: exponential excursions beyond the body, wider in wild regimes.
    high = np.exp(np.maximum(lo_, lc) - np.log1p(-up) * WICK * vol)
    low = np.exp(np.minimum(lo_, lc) + np.log1p(-down) * WICK * vol)
    o, c = np.exp(lo_), np.exp(lc)
    # Volume: more in wild regimes, on big moves and in the busy hours of the UTC day.
    move = np.abs(lc - lo_) / (WICK * 2.0)
    hour = np.cos(2.0 * np.pi * ((idx % DAY_MIN) / DAY_MIN - 0.6))
    quote = SYMBOLS[symbol].quote_volume * vol * (0.6 + 0.4 * np.minimum(move, 5.0))
    volume = quote * (1.0 + 0.3 * hour) * np.exp(0.6 * (noise - 0.5)) / c
    return o, high, low, c, volume
