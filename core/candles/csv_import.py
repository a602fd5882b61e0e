"""Candles from a CSV file (date/open/high/low/close/volume), checked with clear messages."""

from __future__ import annotations

import pandas as pd

from core.errors import InvalidInput

REQUIRED = ("open", "high", "low", "close")


def load_candles_csv(source) -> pd.DataFrame:
    """Columns are matched case-insensitively; a first unnamed column (as pandas writes the
    index) counts as the date column. Returns ts (epoch ms UTC), open, high, low, close, volume."""
    try:
        raw = pd.read_csv(source)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"The CSV file could not be read ({type(exc).__name__}).") from None
    columns = {str(c).strip().lower(): c for c in raw.columns}
    date_col = columns.get("date") or columns.get("time") or columns.get("timestamp")
    if date_col is None and len(raw.columns) and str(raw.columns[0]).startswith("Unnamed"):
        date_col = raw.columns[0]
    missing = [c for c in REQUIRED if c not in columns] + ([] if date_col is not None else ["date"])
    if missing:
        raise InvalidInput(f"The CSV is missing column(s): {', '.join(missing)}.")
    if raw.empty:
        raise InvalidInput("The CSV has no rows (empty range).")
    dates = pd.to_datetime(raw[date_col], utc=True, errors="coerce")
    if dates.isna().any():
        row = int(dates.isna().to_numpy().argmax()) + 2
        raise InvalidInput(f"The CSV has an unreadable date on line {row}.")
    df = pd.DataFrame({"ts": dates.dt.as_unit("ms").astype("int64")})
    for name in (*REQUIRED, "volume"):
        col = columns.get(name)
        values = pd.to_numeric(raw[col], errors="coerce") if col is not None else 0.0
        df[name] = values
    prices = df[list(REQUIRED)]
    if prices.isna().any().any():
        bad = prices.columns[prices.isna().any()].tolist()
        raise InvalidInput(f"The CSV has empty or non-numeric values (NaN) in: {', '.join(bad)}.")
    if (prices <= 0).any().any():
        raise InvalidInput("The CSV has zero or negative prices.")
    if df["ts"].duplicated().any():
        raise InvalidInput("The CSV has duplicate timestamps.")
    if not df["ts"].is_monotonic_increasing:
        raise InvalidInput("The CSV timestamps are not sorted oldest first.")
    if (
        (df["low"] > df[["open", "close"]].min(axis=1))
        | (df["high"] < df[["open", "close"]].max(axis=1))
    ).any():
        raise InvalidInput("The CSV has rows where low/high do not contain open and close.")
    df["volume"] = df["volume"].fillna(0.0)
    return df.reset_index(drop=True)
