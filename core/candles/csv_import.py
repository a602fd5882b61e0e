"""Candles from a CSV file (date/open/high/low/close[/volume]), checked with clear messages.

What is accepted:

* The source: a file path, bytes, or a file-like object (binary or text, such as Streamlit's
  UploadedFile). Its size is checked on the bytes before anything is parsed: at most
  `MAX_CSV_BYTES`, which is `MAX_CSV_ROWS` candles at `BYTES_PER_ROW` each (a generous bound:
  a Binance kline row with 12 columns takes about 150 bytes, a pandas export about 120).
  `.streamlit/config.toml` sets `server.maxUploadSize` to `MAX_CSV_MB` to match. Then at most
  `MAX_CSV_ROWS` rows are parsed; a longer file is refused.
* A header row with the columns in any case and with spaces around them: the date column as
  one of `DATE_COLUMNS` (spaces and underscores ignored: "Open time", "open_time" and
  "opentime" are one name), or an unnamed first column (as pandas writes the index); open,
  high, low, close; volume (or vol) optional. Other columns are ignored.
* Or no header, as Binance's public kline files (open_time, open, high, low, close, volume,
  close_time, ...): recognised when every field of the first row after the first is a number;
  the columns are then date, open, high, low, close[, volume] by position.
* Dates as text (ISO 8601 and the formats pandas reads; naive dates are UTC), or epoch numbers
  whose unit is told by their magnitude: seconds below 1e11, milliseconds below 1e14,
  microseconds below 1e17, nanoseconds below 1e20. So every date from 1973-03-03 (1e8 s) to
  5138 reads right whatever the unit; numbers below 1e8 are refused (a row number, not a date),
  and so are dates after 2262-04-11 (where nanosecond timestamps end). One column holds one
  form: text and numbers mixed, or two epoch units, are refused with the line.
* Prices finite, from `MIN_PRICE` to `MAX_PRICE`; volume finite, 0 to `MAX_VOLUME` (empty = 0);
  so price x volume and every amount a backtest derives stay far from overflowing.

Every refusal is an `InvalidInput` naming the line (the header is line 1; lines are counted
without blank lines) and never quoting the file's content at length.
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings

import numpy as np
import pandas as pd

from core.errors import InvalidInput

REQUIRED = ("open", "high", "low", "close")
# Date column names, most specific first (compared lower-case without spaces and underscores).
DATE_COLUMNS = ("opentime", "timestamp", "datetime", "date", "time", "ts")
VOLUME_COLUMNS = ("volume", "vol")

MAX_CSV_ROWS = 200_000  # candles in one CSV: the backtest's limit (backtest.service.MAX_CANDLES)
BYTES_PER_ROW = 256  # an upper bound for one candle row (see the module docstring)
MAX_CSV_MB = math.ceil(MAX_CSV_ROWS * BYTES_PER_ROW / 2**20)  # 49; Streamlit's MB are MiB
MAX_CSV_BYTES = MAX_CSV_MB * 2**20

MIN_PRICE, MAX_PRICE = 1e-12, 1e12
MAX_VOLUME = 1e18

# Epoch units by magnitude: (from, below, name, then ms = value * times // divide).
EPOCH_UNITS = (
    (1e8, 1e11, "seconds", 1000, 1),
    (1e11, 1e14, "milliseconds", 1, 1),
    (1e14, 1e17, "microseconds", 1, 1_000),
    (1e17, 1e20, "nanoseconds", 1, 1_000_000),
)
MAX_TS_MS = np.iinfo(np.int64).max // 1_000_000  # 2262-04-11, the end of nanosecond time
BINANCE_COLUMNS = ("date", "open", "high", "low", "close", "volume")


def _mb(size: int) -> str:
    return f"{size / 2**20:,.1f} MB"


def _too_large(size: int, max_bytes: int) -> InvalidInput:
    return InvalidInput(
        f"The CSV file is {_mb(size)}; at most {_mb(max_bytes)} (about {MAX_CSV_ROWS:,} "
        "candles): cut it to a shorter range or a larger timeframe."
    )


def read_limited(source, max_bytes: int = MAX_CSV_BYTES) -> bytes:
    """The source's bytes, refused when over `max_bytes` before more than that is read."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        try:
            size = os.path.getsize(source)
            if size > max_bytes:
                raise _too_large(size, max_bytes)
            with open(source, "rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise InvalidInput(f"The CSV file could not be read ({type(exc).__name__}).") from None
    else:
        size = getattr(source, "size", None)  # Streamlit's UploadedFile knows its size
        if isinstance(size, int) and size > max_bytes:
            raise _too_large(size, max_bytes)
        try:
            data = source.read(max_bytes + 1)
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"The CSV file could not be read ({type(exc).__name__}).") from None
        if isinstance(data, str):
            data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    return data


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _headerless(data: bytes) -> bool:
    """True when the first row is data: at least five fields, all numbers after the first."""
    first = data.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0][:4096]
    fields = first.decode("utf-8", errors="replace").strip().split(",")
    return len(fields) >= 5 and all(_is_number(f.strip()) for f in fields[1:])


def _key(name) -> str:
    return re.sub(r"[\s_]+", "", str(name).strip().lower())


def _short(value, limit: int = 30) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse(data: bytes, max_rows: int) -> tuple[pd.DataFrame, int]:
    """The raw table and the line number of its first row."""
    headerless = _headerless(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = pd.read_csv(
                io.BytesIO(data),
                header=None if headerless else "infer",
                nrows=max_rows + 1,
                low_memory=False,
                keep_default_na=False,  # only an empty cell is missing: "nan" is refused
                na_values=[""],
                encoding="utf-8-sig",
            )
    except pd.errors.EmptyDataError:
        raise InvalidInput("The CSV file is empty (empty range).") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        detail = _short(str(exc).strip().splitlines()[-1] if str(exc).strip() else "", 160)
        raise InvalidInput(
            f"The CSV file could not be read ({type(exc).__name__}{': ' if detail else ''}"
            f"{detail})."
        ) from None
    if len(raw) > max_rows:
        raise InvalidInput(
            f"The CSV has more than {max_rows:,} candles; at most {max_rows:,}: cut it to a "
            "shorter range or a larger timeframe."
        )
    if headerless:
        raw.columns = [*BINANCE_COLUMNS, *range(len(BINANCE_COLUMNS), 99_999)][: raw.shape[1]]
        return raw, 1
    return raw, 2


def _date_column(raw: pd.DataFrame) -> object | None:
    by_key: dict[str, object] = {}
    for column in raw.columns:
        by_key.setdefault(_key(column), column)
    for name in DATE_COLUMNS:
        if name in by_key:
            return by_key[name]
    if len(raw.columns) and str(raw.columns[0]).startswith("Unnamed"):
        return raw.columns[0]
    return None


def _epoch_ms(values: pd.Series, first_line: int) -> np.ndarray:
    """Epoch numbers to ms, the unit told by magnitude, one unit for the whole column."""
    numbers = values.to_numpy()
    as_float = numbers.astype(float)
    bad = ~np.isfinite(as_float) | (as_float < EPOCH_UNITS[0][0]) | (as_float >= EPOCH_UNITS[-1][1])
    if bad.any():
        at = int(bad.argmax())
        raise InvalidInput(
            f"The CSV has a date on line {at + first_line} that is no epoch timestamp "
            f"({_short(numbers[at])}): epoch seconds, milliseconds, microseconds or nanoseconds "
            "from 1973 on, or a date as text."
        )
    unit = np.searchsorted([u[1] for u in EPOCH_UNITS], as_float, side="right")
    other = unit != unit[0]
    if other.any():
        at = int(other.argmax())
        raise InvalidInput(
            f"The CSV mixes epoch units in its date column: line {first_line} is in "
            f"{EPOCH_UNITS[unit[0]][2]}, line {at + first_line} in {EPOCH_UNITS[unit[at]][2]}."
        )
    _low, _high, _name, times, divide = EPOCH_UNITS[unit[0]]
    if np.issubdtype(numbers.dtype, np.integer):
        return numbers.astype(np.int64) * times // divide
    return np.floor(as_float * times / divide + 0.5).astype(np.int64)


def _mixed(first: int, line: int, *, text_first: bool) -> None:
    kinds = ("a date as text", "an epoch number")[:: 1 if text_first else -1]
    raise InvalidInput(
        f"The CSV mixes date forms: line {first} has {kinds[0]}, line {line} {kinds[1]}; use "
        "one form for the whole column."
    )


def _text_ms(values: pd.Series, first_line: int) -> np.ndarray:
    text = values.astype(str).str.strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dates = pd.to_datetime(text, utc=True, errors="coerce")
        if dates.isna().any():  # the format was inferred from the first row: try ISO 8601 rows
            dates = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    if dates.isna().any():
        at = int(dates.isna().to_numpy().argmax())
        if _is_number(str(values.iloc[at])):
            _mixed(first_line, at + first_line, text_first=True)
        raise InvalidInput(
            f"The CSV has an unreadable date on line {at + first_line} "
            f"({_short(values.iloc[at])!r})."
        )
    return dates.dt.as_unit("ms").astype("int64").to_numpy()


def _dates_ms(values: pd.Series, first_line: int) -> np.ndarray:
    empty = values.isna().to_numpy()
    if empty.any():
        at = int(empty.argmax())
        raise InvalidInput(f"The CSV has an unreadable date on line {at + first_line} (empty).")
    if pd.api.types.is_bool_dtype(values):
        raise InvalidInput(f"The CSV has an unreadable date on line {first_line}.")
    if pd.api.types.is_numeric_dtype(values):
        ts = _epoch_ms(values, first_line)
    elif _is_number(str(values.iloc[0])):
        numeric = pd.to_numeric(values, errors="coerce").notna().to_numpy()
        if not numeric.all():
            _mixed(first_line, int(numeric.argmin()) + first_line, text_first=False)
        ts = _epoch_ms(pd.to_numeric(values), first_line)
    else:
        ts = _text_ms(values, first_line)
    late = ts > MAX_TS_MS
    if late.any():
        at = int(late.argmax())
        raise InvalidInput(f"The CSV has a date after 2262-04-11 on line {at + first_line}.")
    return ts


def _numbers(raw: pd.DataFrame, column, name: str, first_line: int) -> np.ndarray:
    values = pd.to_numeric(raw[column], errors="coerce").to_numpy(dtype=float)
    nan = np.isnan(values)
    if name == "volume":
        nan &= ~raw[column].isna().to_numpy()  # an empty volume is 0
    if nan.any():
        at = int(nan.argmax())
        raise InvalidInput(
            f"The CSV has an empty or non-numeric value (NaN) in {name} on line {at + first_line}."
        )
    if name == "volume":
        values = np.where(np.isnan(values), 0.0, values)
        low, high, what = 0.0, MAX_VOLUME, "volume"
    else:
        low, high, what = MIN_PRICE, MAX_PRICE, "price"
    checks = (
        (~np.isfinite(values), f"a non-finite {what} (inf) in {name}"),
        (values <= 0 if what == "price" else values < 0, f"a zero or negative {what} in {name}"),
        (values < low, f"a {what} below {low:g} in {name}"),
        (values > high, f"an absurd {what} (above {high:g}) in {name}"),
    )
    for bad, text in checks:
        if bad.any():
            raise InvalidInput(f"The CSV has {text} on line {int(bad.argmax()) + first_line}.")
    return values


def load_candles_csv(
    source, *, max_bytes: int = MAX_CSV_BYTES, max_rows: int = MAX_CSV_ROWS
) -> pd.DataFrame:
    """Candles from a CSV path, bytes or file-like object, checked (see the module docstring).
    Returns ts (epoch ms UTC), open, high, low, close, volume, oldest first."""
    data = read_limited(source, max_bytes)
    raw, first_line = _parse(data, max_rows)
    columns: dict[str, object] = {}
    for column in raw.columns:
        columns.setdefault(str(column).strip().lower(), column)
    date_col = _date_column(raw)
    volume_col = next((columns[n] for n in VOLUME_COLUMNS if n in columns), None)
    missing = [c for c in REQUIRED if c not in columns] + ([] if date_col is not None else ["date"])
    if missing:
        found = ", ".join(_short(c, 20) for c in list(raw.columns)[:8])
        more = ", …" if len(raw.columns) > 8 else ""
        raise InvalidInput(
            f"The CSV is missing column(s): {', '.join(missing)} (found: {found}{more}). "
            f"The date column may be named {', '.join(('open_time', *DATE_COLUMNS[1:]))} "
            "or be the unnamed first column."
        )
    if raw.empty:
        raise InvalidInput("The CSV has no rows (empty range).")
    df = pd.DataFrame({"ts": _dates_ms(raw[date_col], first_line)})
    for name in REQUIRED:
        df[name] = _numbers(raw, columns[name], name, first_line)
    df["volume"] = 0.0 if volume_col is None else _numbers(raw, volume_col, "volume", first_line)
    ts = df["ts"].to_numpy()
    duplicated = df["ts"].duplicated().to_numpy()
    if duplicated.any():
        at = int(duplicated.argmax())
        raise InvalidInput(f"The CSV has duplicate timestamps (line {at + first_line}).")
    backwards = np.diff(ts) < 0
    if backwards.any():
        at = int(backwards.argmax()) + 1
        raise InvalidInput(
            f"The CSV timestamps are not sorted oldest first (line {at + first_line} is earlier "
            "than the line before it)."
        )
    lo_oc = np.minimum(df["open"].to_numpy(), df["close"].to_numpy())
    hi_oc = np.maximum(df["open"].to_numpy(), df["close"].to_numpy())
    outside = (df["low"].to_numpy() > lo_oc) | (df["high"].to_numpy() < hi_oc)
    if outside.any():
        raise InvalidInput(
            "The CSV has rows where low/high do not contain open and close (line "
            f"{int(outside.argmax()) + first_line})."
        )
    return df.reset_index(drop=True)
