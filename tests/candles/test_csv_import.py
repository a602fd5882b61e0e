"""CSV import: the date column under its usual names, epoch units by magnitude, Binance's
headerless kline files, absurd values refused with the line, and the size limit checked on the
bytes before parsing."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.backtest import service
from core.candles import MAX_CSV_BYTES, MAX_CSV_MB, MAX_CSV_ROWS, csv_import, load_candles_csv
from core.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01 UTC
ROWS = "1,2,0.5,1.5,10\n1.5,2,1,1.8,12\n1.8,2.5,1.2,2.2,9\n"
ISO = ("2026-01-01", "2026-01-02", "2026-01-03")


def csv_text(date_header: str, dates=ISO) -> str:
    lines = [f"{d},{row}" for d, row in zip(dates, ROWS.splitlines(), strict=True)]
    return f"{date_header},open,high,low,close,volume\n" + "\n".join(lines) + "\n"


def load(text: str | bytes) -> pd.DataFrame:
    return load_candles_csv(text.encode() if isinstance(text, str) else text)


def expect_error(text: str | bytes, *parts: str) -> str:
    with pytest.raises(InvalidInput) as info:
        load(text)
    message = info.value.message
    for part in parts:
        assert part in message, message
    assert len(message) < 400, message
    return message


@pytest.mark.parametrize(
    "name",
    [
        "date",
        "Date",
        "DATE",
        " date ",
        "datetime",
        "Datetime",
        "time",
        "Time",
        "timestamp",
        "Timestamp",
        "open_time",
        "Open_Time",
        "opentime",
        "OpenTime",
        "open time",
        "Open Time",
        "ts",
        "TS",
        "",  # unnamed first column, as pandas writes the index
    ],
)
def test_every_usual_date_column_name(name):
    df = load(csv_text(name))
    assert list(df.columns) == ["ts", "open", "high", "low", "close", "volume"]
    assert df.ts.tolist() == [T0, T0 + DAY, T0 + 2 * DAY]
    assert df.close.tolist() == [1.5, 1.8, 2.2]


def test_a_named_date_column_wins_over_the_unnamed_index():
    text = ",Date,Open,High,Low,Close\n0,2026-01-01,1,2,0.5,1.5\n1,2026-01-02,1,2,0.5,1.5\n"
    assert load(text).ts.tolist() == [T0, T0 + DAY]


def test_pandas_written_frame_reads_back():
    frame = pd.DataFrame(
        {"Open": [1.0, 1.5], "High": [2.0, 2.0], "Low": [0.5, 1.0], "Close": [1.5, 1.8]},
        index=pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True).rename("Datetime"),
    )
    assert load(frame.to_csv()).ts.tolist() == [T0, T0 + DAY]
    assert load(frame.reset_index(drop=True).set_index(frame.index).to_csv()).volume.sum() == 0


@pytest.mark.parametrize(
    ("unit", "scale"),
    [("s", 1 / 1000), ("ms", 1), ("us", 1_000), ("ns", 1_000_000)],
)
def test_epoch_numbers_give_the_same_dates_as_iso(unit, scale):
    iso = load(csv_text("timestamp"))
    dates = [str(int(T0 * scale) + int(i * DAY * scale)) for i in range(3)]
    epoch = load(csv_text("timestamp", dates))
    pd.testing.assert_frame_equal(epoch, iso)


def test_fractional_epoch_seconds_and_float_milliseconds():
    dates = ("1767225600.5", "1767312000.25", "1767398400")
    assert load(csv_text("time", dates)).ts.tolist() == [T0 + 500, T0 + DAY + 250, T0 + 2 * DAY]
    dates = ("1767225600000.0", "1767312000000.0", "1767398400000.0")
    assert load(csv_text("time", dates)).ts.tolist() == [T0, T0 + DAY, T0 + 2 * DAY]


def test_iso_variants_and_offsets():
    dates = ("2026-01-01T00:00:00Z", "2026-01-02 00:00:00+00:00", "2026-01-03T01:00:00+01:00")
    assert load(csv_text("Datetime", dates)).ts.tolist() == [T0, T0 + DAY, T0 + 2 * DAY]
    dates = ("2026-01-01", "2026-01-02 00:00", "2026-01-03 00:00:00")  # format changes mid-file
    assert load(csv_text("date", dates)).ts.tolist() == [T0, T0 + DAY, T0 + 2 * DAY]


@pytest.mark.parametrize(
    ("dates", "parts"),
    [
        (("2026-01-01", "1767312000", "2026-01-03"), ("mixes date forms", "line 2", "line 3")),
        (("1767225600", "1767312000", "2026-01-03"), ("mixes date forms", "line 4")),
        (("1767225600", "1767312000000", "1767398400"), ("mixes epoch units", "line 3")),
        (("0", "1", "2"), ("no epoch timestamp", "line 2")),
        (("1767225600", "-5", "1767398400"), ("no epoch timestamp", "line 3")),
        (("1767225600", "1767312000", "1e25"), ("no epoch timestamp", "line 4")),
        (("1767225600", "inf", "1767398400"), ("no epoch timestamp", "line 3")),
        (("2026-01-01", "yesterday", "2026-01-03"), ("unreadable date", "line 3")),
        (("2026-01-01", "", "2026-01-03"), ("unreadable date", "line 3")),
        (("2026-01-01", "2300-01-01", "2400-01-01"), ("after 2262", "line 3")),
    ],
)
def test_bad_dates_are_refused_with_the_line(dates, parts):
    expect_error(csv_text("date", dates), *parts)


@pytest.mark.parametrize(
    ("row", "parts"),
    [
        ("2026-01-02,1.5,inf,1,1.8,12", ("non-finite price", "high", "line 3")),
        ("2026-01-02,1.5,2,-inf,1.8,12", ("non-finite price", "low", "line 3")),
        ("2026-01-02,1.5,2,-1,1.8,12", ("zero or negative", "low", "line 3")),
        ("2026-01-02,1.5,2,nan,1.8,12", ("NaN", "low", "line 3")),
        ("2026-01-02,1.5,1e308,1,1.8,12", ("absurd price", "high", "line 3")),
        ("2026-01-02,1.5,2,1,1e309,12", ("non-finite price", "close", "line 3")),
        ("2026-01-02,1e13,1e13,1,1.8,12", ("absurd price", "open", "line 3")),
        ("2026-01-02,1e-13,2,1e-13,1.8,12", ("below 1e-12", "open", "line 3")),
        ("2026-01-02,1.5,2,1,1.8,nan", ("NaN", "volume", "line 3")),
        ("2026-01-02,1.5,2,1,1.8,inf", ("non-finite volume", "line 3")),
        ("2026-01-02,1.5,2,1,1.8,1e300", ("absurd volume", "line 3")),
        ("2026-01-02,1.5,2,1,1.8,-1", ("zero or negative volume", "line 3")),
        ("2026-01-02,1.5,2,1,1.8,lots", ("NaN", "volume", "line 3")),
        ("2026-01-02,1.5,2,1,,12", ("NaN", "close", "line 3")),
        ("2026-01-02,1.5,1.6,1,1.8,12", ("low/high", "line 3")),
        ("2026-01-01,1.5,2,1,1.8,12", ("duplicate", "line 3")),
        ("2025-12-31,1.5,2,1,1.8,12", ("not sorted", "line 3")),
    ],
)
def test_absurd_values_are_refused_with_the_line(row, parts):
    text = f"date,open,high,low,close,volume\n2026-01-01,1,2,0.5,1.5,10\n{row}\n"
    expect_error(text, *parts)


def test_an_empty_volume_is_zero_and_no_volume_column_is_zero():
    text = "date,open,high,low,close,volume\n2026-01-01,1,2,0.5,1.5,\n2026-01-02,1,2,0.5,1.5,3\n"
    assert load(text).volume.tolist() == [0.0, 3.0]
    assert load("date,open,high,low,close\n2026-01-01,1,2,0.5,1.5\n").volume.tolist() == [0.0]


def test_a_missing_column_names_what_was_found_briefly():
    header = "when,open,high,low,close," + ",".join("x" * 1000 for _ in range(30))
    message = expect_error(header + "\n", "missing column(s): date", "found: when")
    assert "…" in message


def binance_rows(first_open_ms: int, n: int, unit: int = 1) -> str:
    """Rows as Binance's public kline CSVs have them: no header, 12 columns."""
    lines = []
    for i in range(n):
        open_ms = first_open_ms + i * DAY
        close = 100 + i
        lines.append(
            f"{open_ms * unit},{close - 1:.8f},{close + 2:.8f},{close - 3:.8f},{close:.8f},"
            f"{1234.5 + i:.8f},{(open_ms + DAY - 1) * unit},{123456.7:.8f},{100 + i},"
            f"{600.1:.8f},{60000.2:.8f},0"
        )
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("unit", [1, 1000], ids=["ms", "us (2025 on)"])
def test_binance_kline_export_without_header(unit):
    df = load(binance_rows(T0, 3, unit))
    assert df.ts.tolist() == [T0, T0 + DAY, T0 + 2 * DAY]
    assert df.open.tolist() == [99.0, 100.0, 101.0]
    assert df.high.tolist() == [102.0, 103.0, 104.0]
    assert df.low.tolist() == [97.0, 98.0, 99.0]
    assert df.close.tolist() == [100.0, 101.0, 102.0]
    assert df.volume.tolist() == [1234.5, 1235.5, 1236.5]


def test_binance_kline_export_with_header_and_a_bad_line():
    header = (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        "taker_buy_volume,taker_buy_quote_volume,ignore\n"
    )
    df = load(header + binance_rows(T0, 3))
    assert df.ts.tolist() == [T0, T0 + DAY, T0 + 2 * DAY]  # open_time, not close_time
    rows = binance_rows(T0, 3).splitlines()
    rows[1] = rows[1].replace("101.00000000", "inf", 1)
    expect_error("\n".join(rows) + "\n", "non-finite price", "close", "line 2")  # no header


def test_headerless_with_iso_dates_and_five_columns():
    df = load("2026-01-01,1,2,0.5,1.5\n2026-01-02,1.5,2,1,1.8\n")
    assert df.ts.tolist() == [T0, T0 + DAY] and df.volume.tolist() == [0.0, 0.0]


def test_sources_path_bytes_text_and_binary_file_objects(tmp_path):
    text = csv_text("Datetime")
    path = tmp_path / "c.csv"
    path.write_text(text)
    expected = load(text)
    for source in (str(path), path, text.encode(), io.StringIO(text), io.BytesIO(text.encode())):
        pd.testing.assert_frame_equal(load_candles_csv(source), expected)


def test_bom_and_crlf():
    text = "\ufeffDate,Open,High,Low,Close\r\n2026-01-01,1,2,0.5,1.5\r\n2026-01-02,1,2,0.5,1.5\r\n"
    assert load(text).ts.tolist() == [T0, T0 + DAY]


class UploadedFile(io.BytesIO):
    """Like Streamlit's UploadedFile: a BytesIO that knows its size."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.size = len(data)


def valid_csv_of_bytes(size: int) -> bytes:
    """A valid candle CSV of at least `size` bytes (long rows of padded numbers)."""
    price = "1." + "0" * 200
    row_len = len(f"1767225600,{price},{price},{price},{price},1\n")
    n = size // row_len + 1
    ts = 1_767_225_600 + 60 * np.arange(n)
    body = "".join(f"{t},{price},{price},{price},{price},1\n" for t in ts)
    return ("date,open,high,low,close,volume\n" + body).encode()


def test_a_file_over_the_byte_limit_is_refused_before_parsing(monkeypatch, tmp_path):
    small = valid_csv_of_bytes(50_000)
    assert len(load_candles_csv(small, max_bytes=len(small))) > 50  # valid under the limit
    big = valid_csv_of_bytes(MAX_CSV_BYTES + 1)
    assert len(big) > MAX_CSV_BYTES

    def no_parsing(*args, **kwargs):
        raise AssertionError("pd.read_csv was called on a file over the limit")

    monkeypatch.setattr(pd, "read_csv", no_parsing)
    monkeypatch.setattr(csv_import.pd, "read_csv", no_parsing)
    path = tmp_path / "big.csv"
    path.write_bytes(big)
    sources = (big, path, str(path), UploadedFile(big), io.BytesIO(big))
    for source in sources:
        with pytest.raises(InvalidInput, match=r"at most 49\.0 MB") as info:
            load_candles_csv(source)
        assert len(info.value.message) < 200


def test_an_uploaded_file_is_refused_by_its_size_without_being_read():
    class Unreadable(UploadedFile):
        def read(self, *args):
            raise AssertionError("read")

    with pytest.raises(InvalidInput, match="at most"):
        load_candles_csv(Unreadable(b"x" * 10_001), max_bytes=10_000)


def test_the_row_limit_is_checked_with_at_most_one_extra_row_parsed(monkeypatch):
    rows = "".join(f"{T0 // 1000 + 60 * i},1,2,0.5,1.5,1\n" for i in range(30))
    text = "date,open,high,low,close,volume\n" + rows
    assert len(load_candles_csv(text.encode(), max_rows=30)) == 30
    seen = []
    real = pd.read_csv

    def spy(*args, **kwargs):
        seen.append(kwargs.get("nrows"))
        return real(*args, **kwargs)

    monkeypatch.setattr(csv_import.pd, "read_csv", spy)
    with pytest.raises(InvalidInput, match="more than 29 candles"):
        load_candles_csv(text.encode(), max_rows=29)
    assert seen == [30]


def test_the_limits_agree_with_the_backtest_and_streamlit():
    assert MAX_CSV_ROWS == service.MAX_CANDLES
    assert MAX_CSV_BYTES == MAX_CSV_MB * 2**20 >= MAX_CSV_ROWS * csv_import.BYTES_PER_ROW
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_CSV_MB


def test_a_real_size_file_of_the_row_limit_fits_the_byte_limit():
    """A pandas export of MAX_CSV_ROWS minute candles with full-precision floats."""
    rng = np.random.default_rng(0)
    close = 42_000 * np.exp(np.cumsum(rng.normal(0, 0.001, MAX_CSV_ROWS)))
    frame = pd.DataFrame(
        {
            "open": close * (1 + rng.normal(0, 1e-4, MAX_CSV_ROWS)),
            "close": close,
            "volume": rng.random(MAX_CSV_ROWS) * 1e3,
        },
        index=pd.date_range("2026-01-01", periods=MAX_CSV_ROWS, freq="min", tz="UTC"),
    )
    frame["high"] = frame[["open", "close"]].max(axis=1) * 1.001
    frame["low"] = frame[["open", "close"]].min(axis=1) * 0.999
    data = frame.to_csv(index_label="Datetime").encode()
    assert len(data) < MAX_CSV_BYTES
    assert len(load_candles_csv(data)) == MAX_CSV_ROWS


def test_an_unreadable_file_is_named_briefly():
    expect_error(b"", "empty")
    expect_error(b"date,open,high,low,close\n1,2\n3,4,5,6,7,8,9\n", "could not be read")
    expect_error(b"\xff\xfe\x00garbage\x00" * 100, "could not be read")
