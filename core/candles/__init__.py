"""Candles: the shared cache (one download per market and candle, whatever the number of
bots) and CSV import for backtests."""

from __future__ import annotations

from core.candles.cache import (
    MAX_LIMIT,
    clear_memory_cache,
    closed_candles,
    download_candles,
    read_cached,
)
from core.candles.csv_import import load_candles_csv

__all__ = [
    "MAX_LIMIT",
    "clear_memory_cache",
    "closed_candles",
    "download_candles",
    "load_candles_csv",
    "read_cached",
]
