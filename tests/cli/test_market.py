"""download-candles: bad input is one clear error line, exit 2 and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import cli

GOOD = ["--exchange", "sim", "--symbol", "BTC/USDT", "--timeframe", "1h", "--since", "2024-01-01"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["download-candles", *args])
    out, err = capsys.readouterr()
    return code, out, err


def with_arg(name: str, value: str) -> list[str]:
    args = list(GOOD)
    args[args.index(name) + 1] = value
    return args


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("--timeframe", "7m", "Unknown timeframe '7m'"),
        ("--since", "last tuesday", "--since 'last tuesday' is not a date"),
        ("--since", "2999-01-01", "--since is in the future"),
        ("--exchange", "nosuchexchange", "Unknown exchange 'nosuchexchange'"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(capsys, tmp_path: Path, name, value, message):
    code, out, err = run(capsys, *with_arg(name, value))
    assert code == 2
    assert err.strip().splitlines() == [f"error: {err.strip().removeprefix('error: ')}"]
    assert message in err
    assert not (tmp_path / "data").exists()  # no database was created


def test_until_before_since_is_refused(capsys, tmp_path: Path):
    code, _, err = run(capsys, *GOOD, "--until", "2023-12-31")
    assert (code, err.strip()) == (2, "error: --until is before --since.")
    assert not (tmp_path / "data").exists()


def test_an_unknown_symbol_is_refused(capsys, tmp_path: Path):
    code, _, err = run(capsys, *with_arg("--symbol", "NOPE/USDT"))
    assert (code, err.strip()) == (2, "error: Symbol 'NOPE/USDT' is not traded on sim.")
    assert not (tmp_path / "data").exists()


def two_days_ago() -> str:
    return (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")


def test_sim_history_downloads_offline_and_a_rerun_fetches_nothing(capsys):
    args = with_arg("--since", two_days_ago())
    code, out, err = run(capsys, *args)
    assert code == 0 and " new candle(s)" in out
    assert "candle" in err  # the progress bar goes to stderr
    first_new = int(out.split(": ")[1].split(" new")[0])
    assert first_new in (47, 48)
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert f": 0 new candle(s) in 0 request(s); {first_new} already cached" in out
