"""Candles: the shared cache (one download per market and candle, whatever the number of
bots) and CSV import for backtests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.candles.csv_import import MAX_CSV_BYTES, MAX_CSV_MB, MAX_CSV_ROWS, load_candles_csv
from core.platform.lazy import lazy_names

__all__ = [
    "MAX_CSV_BYTES",
    "MAX_CSV_MB",
    "MAX_CSV_ROWS",
    "MAX_LIMIT",
    "clear_memory_cache",
    "closed_candles",
    "download_candles",
    "load_candles_csv",
    "read_cached",
]


# The cache needs the database stack: imported on first use (PEP 562), so reading a CSV does not.
_LAZY = {
    name: "core.candles.cache"
    for name in (
        "MAX_LIMIT",
        "clear_memory_cache",
        "closed_candles",
        "download_candles",
        "read_cached",
    )
}
if TYPE_CHECKING:
    from core.candles.cache import (
        MAX_LIMIT,
        clear_memory_cache,
        closed_candles,
        download_candles,
        read_cached,
    )


__getattr__ = lazy_names(__name__, _LAZY, globals())
